"""asva.models."""
