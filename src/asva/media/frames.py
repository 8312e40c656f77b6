"""Frame value ranges and the evaluation networks' resize: the one home of these conversions.

Three ranges meet in asva: uint8 [0, 255] (files, metrics), model space [-1, 1] (the VAE, the
pipeline), and unit floats [0, 1] (the evaluation networks' input before normalisation).

    to_model_range(uint8)  -> float in [-1, 1]        x / 127.5 - 1
    to_uint8(model_space)  -> uint8                   round((x + 1) * 127.5), clamped
    unit_to_uint8(unit)    -> uint8                   round(x * 255), clamped
    to_unit_float(uint8)   -> float in [0, 1]         x / 255 (a float input must already be in [0, 1])
    squash_resize(images, size)                       the official evaluation's resize to a square

The official evaluation resizes every frame straight to a square ("squash", aspect ratio not kept)
with bicubic antialiased interpolation on float frames in [0, 1], without clamping, and then
normalises per network (`normalize_channels`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def to_model_range(frames: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1] (the VAE's input range)."""
    if frames.dtype != torch.uint8:
        raise ValueError(f"expected uint8 frames, got {frames.dtype}")
    return frames.float() / 127.5 - 1.0


def to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """Float frames in [-1, 1] (model space) -> uint8 [0, 255], rounded to nearest and clamped."""
    if not frames.is_floating_point():
        raise ValueError(f"expected float frames in [-1, 1], got {frames.dtype}")
    return ((frames.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def unit_to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """Float frames in [0, 1] (the official transform's output) -> uint8, rounded to nearest and clamped."""
    if not frames.is_floating_point():
        raise ValueError(f"expected float frames in [0, 1], got {frames.dtype}")
    return (frames.float() * 255).round().clamp(0, 255).to(torch.uint8)


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
