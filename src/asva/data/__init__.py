"""asva.data."""
