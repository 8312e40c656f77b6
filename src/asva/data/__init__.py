"""asva.data: AVSync15-format audio-video datasets (layout, checks, clip sampling)."""
from asva.data.avsync import AVSyncDataset, collate
from asva.data.validate import BadEntry, Entry, scan_split

__all__ = ["AVSyncDataset", "BadEntry", "Entry", "collate", "scan_split"]
