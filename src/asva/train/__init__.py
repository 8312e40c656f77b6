"""asva.train."""
