"""asva.media."""
