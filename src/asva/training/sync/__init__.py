"""asva.training.sync: training the sync classifier (`asva train-sync`); its evaluation is
`asva.evaluation.sync_classifier` (`asva eval-sync`).

    from asva.training.sync import SyncTrainConfig, train_sync, contrastive_sync_loss
"""
from __future__ import annotations

from asva.utils import lazy_getattr

_EXPORTS = {
    "ContrastiveOutput": "asva.training.sync.loss",
    "SyncTrainConfig": "asva.training.sync.config",
    "contrastive_sync_loss": "asva.training.sync.loss",
    "pair_logits": "asva.training.sync.loss",
    "train_sync": "asva.training.sync.trainer",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
