"""The official frame transform: aspect crop, antialiased bilinear resize on float frames in [0, 1].

This is `load_and_transform_images_stable_diffusion` of the official code (avgen/data/utils.py),
pinned by the golden case `data_transform`:

1. uint8 -> float32 / 255, never rounded back to uint8;
2. crop to the output's aspect ratio: if th / tw >= h / w keep the centred `int(h / (th / tw))`
   columns, else the centred `int(w * (th / tw))` rows (`int()` truncates; a tie trims the width);
3. `F.interpolate(mode="bilinear", align_corners=False, antialias=True)` to exactly (th, tw),
   skipped when the crop already has that size (this equals torchvision's tensor `Resize`);
4. the official `CenterCrop(size)` that follows is a no-op in every reachable case.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange

from asva.utils import Size, as_hw, normalize_size, parse_size  # noqa: F401  (re-exported)


def crop_box(h: int, w: int, size: Size) -> tuple[int, int, int, int]:
    """(top, height, left, width) of the official aspect crop of an h x w frame for output `size`."""
    th, tw = as_hw(size)
    target, current = float(th) / tw, float(h) / w
    if target >= current:  # trim the width
        kept = int(h / target)
        return 0, h, (w - kept) // 2, kept
    kept = int(w * target)
    return (h - kept) // 2, kept, 0, w


def crop_note(h: int, w: int, size: Size) -> str | None:
    """One line saying what the aspect crop removes from an h x w input, or None when nothing is cut."""
    top, height, left, width = crop_box(h, w, size)
    th, tw = as_hw(size)
    if (height, width) == (h, w):
        return None
    if width < w:
        cut = f"{left} columns on the left and {w - width - left} on the right"
    else:
        cut = f"{top} rows at the top and {h - height - top} at the bottom"
    return (f"input is {h}x{w} (h x w) but the output is {th}x{tw}: centre-cropped to {height}x{width} "
            f"({cut} cut) before resizing")


def fit_frames(frames: torch.Tensor, size: Size, *, chunk: int = 8) -> torch.Tensor:
    """uint8 (c, f, h, w) -> float32 (c, f, th, tw) in [0, 1] by the official transform (module doc).

    Only the crop is converted to float, `chunk` frames at a time, so a 27-megapixel still holds one
    float copy (~0.3 GB) at most. Float input in [0, 1] is accepted as it is (not rescaled).
    """
    if frames.ndim != 4:
        raise ValueError(f"frames must be (c, f, h, w), got shape {tuple(frames.shape)}")
    th, tw = as_hw(size)
    c, f, h, w = frames.shape
    top, height, left, width = crop_box(h, w, (th, tw))
    crop = frames[:, :, top : top + height, left : left + width]
    out = torch.empty((f, c, th, tw), dtype=torch.float32)
    for i in range(0, f, chunk):
        src = rearrange(crop[:, i : i + chunk], "c f h w -> f c h w")
        part = torch.empty(src.shape, dtype=torch.float32).copy_(src)  # the one float copy, contiguous
        if frames.dtype == torch.uint8:
            part.div_(255)
        if (height, width) != (th, tw):
            part = F.interpolate(part, size=(th, tw), mode="bilinear", align_corners=False, antialias=True)
        out[i : i + chunk] = part
    return rearrange(out, "f c h w -> c f h w")



def fit_image(pixels: torch.Tensor, size: Size) -> tuple[torch.Tensor, str | None]:
    """uint8 (3, h, w) -> (float32 (3, th, tw) in [-1, 1] by the official transform, the crop note).

    What `asva animate --image`, `asva compare` and the demo give the pipelines: `fit_frames` (the one
    float copy, of the crop) rescaled in place, and `crop_note`'s line (None when nothing is cut).
    """
    if pixels.ndim != 3 or pixels.dtype != torch.uint8:
        raise ValueError(f"pixels must be uint8 (3, h, w), got {pixels.dtype} {tuple(pixels.shape)}")
    note = crop_note(*pixels.shape[-2:], size)
    return fit_frames(pixels[:, None], size)[:, 0].mul_(2).sub_(1), note
