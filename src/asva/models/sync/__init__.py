"""The audio-visual synchronisation classifier behind RelSync and AlignSync.

    from asva.models.sync import load_sync_classifier, score_clips
    net = load_sync_classifier("checkpoints/avsync/vggss_sync_contrast/ckpts/checkpoint-40000/modules")
    phi = score_clips(net, mels, videos_uint8)      # (b,) raw logits
"""
from .config import SyncClassifierConfig, list_presets
from .convert import (
                      SYNC_RENAMES,
                      convert_sync_checkpoint,
                      load_sync_classifier,
                      load_sync_model,
                      save_sync_classifier,
)
from .model import SyncClassifier, SyncHead, score_clips
from .preprocess import CLIP_MEAN, CLIP_STD, preprocess_sync_video

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "SYNC_RENAMES",
    "SyncClassifier",
    "SyncClassifierConfig",
    "SyncHead",
    "convert_sync_checkpoint",
    "list_presets",
    "load_sync_classifier",
    "load_sync_model",
    "preprocess_sync_video",
    "save_sync_classifier",
    "score_clips",
]
