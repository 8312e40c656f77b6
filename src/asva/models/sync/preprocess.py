"""The sync classifier's frame preprocessing: squash-resize and CLIP normalisation
(the shared conversions live in `asva.media.frames`)."""
from __future__ import annotations

import torch
from einops import rearrange

from asva.media.frames import normalize_channels, squash_resize, to_unit_float

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def preprocess_sync_video(video: torch.Tensor, size: int = 224) -> torch.Tensor:
    """Frames for the sync classifier: (b, 3, f, h, w) or (3, f, h, w), uint8 or float in [0, 1]
    -> (b, 3, f, size, size) float32, squash-resized and CLIP-normalised."""
    if video.ndim == 4:
        video = video.unsqueeze(0)
    if video.ndim != 5 or video.shape[1] != 3:
        raise ValueError(f"video must be (b, 3, f, h, w) or (3, f, h, w), got shape {tuple(video.shape)}")
    f = video.shape[2]
    frames = rearrange(to_unit_float(video), "b c f h w -> (b f) c h w")
    frames = normalize_channels(squash_resize(frames, size), CLIP_MEAN, CLIP_STD)
    return rearrange(frames, "(b f) c h w -> b c f h w", f=f)
