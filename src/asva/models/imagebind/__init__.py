"""asva.models.imagebind."""
