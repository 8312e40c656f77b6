"""Image preprocessing for ImageBind's vision branch: the official recipe and ASVA's squash.

- `official` (ImageBind's `load_and_transform_vision_data`): PIL bicubic resize of the shorter side
  to 224 (PIL widens its kernel when downscaling), centre crop 224, /255, CLIP normalisation.
- `squash` (ASVA's evaluation, `compute_clip.py`): the whole image in [0, 1] resized straight to
  224 x 224 with antialiased bicubic on the float tensor (no aspect ratio, no clamp), CLIP normalisation.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from asva.media.frames import normalize_channels, squash_resize, to_unit_float
from asva.models.sync.preprocess import CLIP_MEAN, CLIP_STD

MODES = ("official", "squash")


def resize_shorter_center_crop(image: Image.Image, size: int = 224) -> Image.Image:
    """torchvision `Resize(size, BICUBIC)` then `CenterCrop(size)` on a PIL image."""
    w, h = image.size
    if w <= h:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    if (new_w, new_h) != (w, h):
        image = image.resize((new_w, new_h), Image.BICUBIC)
    left, top = int(round((new_w - size) / 2.0)), int(round((new_h - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def _as_uint8_batch(images) -> torch.Tensor | list[Image.Image]:
    """PIL image(s) -> list of RGB PIL images; a tensor -> (n, 3, h, w)."""
    if isinstance(images, Image.Image):
        return [images.convert("RGB")]
    if isinstance(images, Sequence) and images and all(isinstance(i, Image.Image) for i in images):
        return [i.convert("RGB") for i in images]
    if isinstance(images, torch.Tensor):
        batch = images.unsqueeze(0) if images.ndim == 3 else images
        if batch.ndim != 4 or batch.shape[1] != 3:
            raise ValueError(f"images must be (3, h, w) or (n, 3, h, w), got shape {tuple(images.shape)}")
        return batch
    raise ValueError(f"images must be PIL images or a (n, 3, h, w) tensor, got {type(images).__name__}")


def _pil_to_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)  # (3, h, w)


def preprocess_image(images, mode: str = "official", size: int = 224) -> torch.Tensor:
    """PIL image(s), or uint8 (3, h, w) / (n, 3, h, w) -> (n, 3, size, size) float32, CLIP-normalised.

    `mode="squash"` also takes float tensors in [0, 1]; `official` needs 8-bit pixels (PIL resampling).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    batch = _as_uint8_batch(images)
    if mode == "official":
        if isinstance(batch, torch.Tensor):
            if batch.dtype != torch.uint8:
                raise ValueError(f"the official preprocessing needs uint8 pixels, got {batch.dtype}")
            batch = [Image.fromarray(t.permute(1, 2, 0).cpu().numpy()) for t in batch]
        pixels = torch.stack([_pil_to_tensor(resize_shorter_center_crop(i, size)) for i in batch])
        return normalize_channels(to_unit_float(pixels), CLIP_MEAN, CLIP_STD)
    if isinstance(batch, list):
        batch = torch.stack([_pil_to_tensor(i) for i in batch]) if len({i.size for i in batch}) == 1 else None
        if batch is None:
            raise ValueError("squash-resizing a list of PIL images needs them all the same size")
    return normalize_channels(squash_resize(to_unit_float(batch), size), CLIP_MEAN, CLIP_STD)
