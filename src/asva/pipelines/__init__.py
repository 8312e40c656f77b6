"""asva.pipelines."""
