"""asva.metrics."""
