"""Frame preprocessing shared by the evaluation networks (sync classifier, FID Inception).

The official evaluation resizes every frame straight to a square ("squash", aspect ratio not
kept) with bicubic antialiased interpolation on float frames in [0, 1], without clamping, and then
normalises per network.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def to_unit_float(frames: torch.Tensor, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 in [0, 255] -> float / 255; a float tensor must already lie in [0, 1]."""
    if frames.dtype == torch.uint8:
        return frames.to(dtype) / 255
    if not frames.is_floating_point():
        raise ValueError(f"frames must be uint8 or float in [0, 1], got dtype {frames.dtype}")
    lo, hi = float(frames.min()), float(frames.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(
            f"float frames must lie in [0, 1] (uint8 / 255), got values in [{lo:.4g}, {hi:.4g}]; "
            "model-space frames in [-1, 1] need (x + 1) / 2 first"
        )
    return frames.to(dtype)


def squash_resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """(n, c, h, w) float -> (n, c, size, size): bicubic, antialias, no aspect ratio, no clamp."""
    if images.ndim != 4:
        raise ValueError(f"images must be (n, c, h, w), got shape {tuple(images.shape)}")
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bicubic", align_corners=False, antialias=True)


def normalize_channels(images: torch.Tensor, mean, std) -> torch.Tensor:
    """(n, c, h, w) -> (x - mean) / std per channel."""
    mean_t = torch.tensor(mean, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    return (images - mean_t) / std_t


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
