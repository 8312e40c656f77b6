"""asva: audio-synchronized visual animation (AVSyncD, AVSync15, and their metrics)."""

__version__ = "0.1.0"
