"""asva.training.sync: training (`asva train-sync`) and evaluation (`asva eval-sync`) of the sync classifier.

    from asva.training.sync import SyncTrainConfig, train_sync, contrastive_sync_loss
"""
from asva.data.shifted import ShiftedClipConfig, ShiftedClipDataset, clip_starts

from .loss import ContrastiveOutput, contrastive_sync_loss, pair_logits
from .trainer import SyncTrainConfig, train_sync

__all__ = [
    "ContrastiveOutput",
    "ShiftedClipConfig",
    "ShiftedClipDataset",
    "SyncTrainConfig",
    "clip_starts",
    "contrastive_sync_loss",
    "pair_logits",
    "train_sync",
]
