"""asva.synth."""
