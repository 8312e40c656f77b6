"""asva.training.avsyncd: training AVSyncD and the I2VD baseline (`asva train`)."""
