"""Grid videos and contact sheets of (3, f, h, w) uint8 clips, with optional labels.

    frames = grid_video([[tile_a, tile_b], [tile_c, tile_d]])   # (3, f, 2 * h, 2 * w), rows x columns
    sheet = contact_sheet([("AVSyncD", clip), ("Static", clip2)], num_frames=8)   # (3, H, W) uint8
    sheet = contact_sheet([("", clip)], num_frames=clip.shape[1])   # one clip's frames in a row, no label

`asva compare` (`asva.baselines.compare`) and `asva animate --sheet` use them. Labels are drawn into the
frames with Pillow's default font (nothing is downloaded).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from PIL import Image, ImageDraw, ImageFont

LABEL_HEIGHT = 14  # pixels of the label strip (font size 11)


def _font() -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=11)
    except (OSError, TypeError, ValueError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def resize_clip(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(3, f, h, w) uint8 -> (3, f, size, size): nearest-neighbour for whole-number upscales (crisp pixels),
    bilinear otherwise."""
    if frames.ndim != 4 or frames.shape[0] != 3:
        raise ValueError(f"a clip must be (3, f, h, w), got {tuple(frames.shape)}")
    if frames.shape[-2:] == (size, size):
        return frames
    flat = rearrange(frames, "c f h w -> f c h w").float()
    whole = size % frames.shape[-1] == 0 and size % frames.shape[-2] == 0
    out = F.interpolate(flat, size=(size, size), mode="nearest" if whole else "bilinear", align_corners=None
                        if whole else False)
    return rearrange(out.round().clamp(0, 255).to(torch.uint8), "f c h w -> c f h w")


def draw_labels(frames: torch.Tensor, top: str = "", bottom: str = "") -> torch.Tensor:
    """(3, f, h, w) uint8 with `top` / `bottom` written in white on black strips inside every frame."""
    c, f, h, w = frames.shape
    strip = np.zeros((h, w), dtype=bool)  # where the label strips cover the frame
    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    for text, y in ((top, 0), (bottom, h - LABEL_HEIGHT)):
        if text:
            strip[max(y, 0):y + LABEL_HEIGHT] = True
            draw.text((2, y + 1), text, fill=255, font=_font())
    if not strip.any():
        return frames
    ink = torch.from_numpy(np.array(layer) > 127)  # (h, w)
    out = frames.clone()
    out[:, :, torch.from_numpy(strip)] = 0
    out[:, :, ink] = 255
    return out


def pad_frames(frames: torch.Tensor, num_frames: int) -> torch.Tensor:
    """(3, f, h, w) -> (3, num_frames, h, w): the last frame held (clips driven by shorter audio)."""
    short = num_frames - frames.shape[1]
    if short < 0:
        raise ValueError(f"clip has {frames.shape[1]} frames, more than {num_frames}")
    return torch.cat([frames, frames[:, -1:].expand(-1, short, -1, -1)], dim=1) if short else frames


def grid_video(rows: list[list[torch.Tensor]]) -> torch.Tensor:
    """Tiles (3, f_i, h, w), rows x columns, all the same size -> (3, max f, rows * h, columns * w)."""
    if not rows or any(len(r) != len(rows[0]) for r in rows) or not rows[0]:
        raise ValueError("a grid needs the same positive number of tiles in every row")
    if len({tuple(t.shape[-2:]) for r in rows for t in r}) != 1:
        raise ValueError("all tiles of a grid must have the same height and width")
    f = max(t.shape[1] for r in rows for t in r)
    return torch.cat([torch.cat([pad_frames(t, f) for t in r], dim=3) for r in rows], dim=2)


def contact_sheet(clips: list[tuple[str, torch.Tensor]], num_frames: int = 8) -> torch.Tensor:
    """One row per labelled clip (3, f, h, w): `num_frames` evenly spaced frames (a shorter clip holds its
    last frame) after a label column -> (3, rows * h, label width + num_frames * w) uint8. When every
    label is "", there is no label column."""
    if not clips:
        raise ValueError("a contact sheet needs at least one clip")
    if num_frames < 1:
        raise ValueError(f"a contact sheet needs num_frames >= 1, got {num_frames}")
    h, w = clips[0][1].shape[-2:]
    labelled = any(name for name, _ in clips)
    label_w = max(w, 6 * max(len(name) for name, _ in clips) + 6)
    rows = []
    for name, clip in clips:
        index = torch.linspace(0, clip.shape[1] - 1, min(num_frames, clip.shape[1])).round().long()
        frames = rearrange(pad_frames(clip[:, index], num_frames), "c f h w -> c h (f w)")
        if labelled:
            label = Image.new("L", (label_w, h), 0)
            ImageDraw.Draw(label).text((3, h // 2 - 6), name, fill=255, font=_font())
            frames = torch.cat([torch.from_numpy(np.array(label)).expand(3, -1, -1), frames], dim=2)
        rows.append(frames)
    return torch.cat(rows, dim=1)
