"""The audio-visual synchronisation classifier behind RelSync and AlignSync.

    from asva.models.sync import load_sync_classifier, score_clips
    net = load_sync_classifier("checkpoints/avsync/vggss_sync_contrast/ckpts/checkpoint-40000/modules")
    phi = score_clips(net, mels, videos_uint8)      # (b,) raw logits
"""
from __future__ import annotations

from asva.utils import lazy_getattr

_EXPORTS = {
    "CLIP_MEAN": "asva.models.sync.preprocess",
    "CLIP_STD": "asva.models.sync.preprocess",
    "SYNC_RENAMES": "asva.models.sync.convert",
    "SyncClassifier": "asva.models.sync.model",
    "SyncClassifierConfig": "asva.models.sync.config",
    "SyncHead": "asva.models.sync.model",
    "convert_sync_checkpoint": "asva.models.sync.convert",
    "list_presets": "asva.models.sync.config",
    "load_sync_classifier": "asva.models.sync.convert",
    "load_sync_model": "asva.models.sync.convert",
    "preprocess_sync_video": "asva.models.sync.preprocess",
    "save_sync_classifier": "asva.models.sync.convert",
    "score_clips": "asva.models.sync.model",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
