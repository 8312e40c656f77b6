"""Aspect-preserving centre crop then bilinear resize, shared by the video and image readers."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange


def center_crop_resize(frames: torch.Tensor, size: int, *, chunk: int = 16) -> torch.Tensor:
    """Crop uint8 frames (c, f, h, w) to their centred square, then resize to (c, f, size, size).

    The square has side min(h, w), offset (h - side) // 2 and (w - side) // 2. The resize is
    `F.interpolate(mode="bilinear", align_corners=False, antialias=False)` in float32, rounded
    to the nearest integer. Frames go through in chunks to bound memory on large sources.
    """
    if size <= 0:
        raise ValueError(f"size must be a positive integer, got {size}")
    c, f, h, w = frames.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = frames[:, :, top : top + side, left : left + side]
    if side == size:
        return square.contiguous()
    out = torch.empty((f, c, size, size), dtype=torch.uint8)
    for i in range(0, f, chunk):
        part = rearrange(square[:, i : i + chunk], "c f h w -> f c h w").float()
        part = F.interpolate(part, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
        out[i : i + chunk] = part.round_().clamp_(0, 255).to(torch.uint8)
    return rearrange(out, "f c h w -> c f h w")
