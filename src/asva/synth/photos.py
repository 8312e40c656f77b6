"""Photographic backdrops for synthetic clips (`asva synth --backgrounds photos`).

The photos are nine CC0 / public-domain images bundled in `asva/assets/photos/` (sources and
licences in its SOURCES.md). A backdrop is a random square crop of one of them (a third to all of
its side), maybe mirrored, resized to the frame and dimmed so that the drawn objects stay brighter.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

PHOTOS_DIR = Path(__file__).resolve().parent.parent / "assets" / "photos"
BACKGROUNDS = ("flat", "photos", "mixed")  # mixed: each clip flat or photo with probability 1/2


@lru_cache(maxsize=1)
def load_photos() -> tuple[np.ndarray, ...]:
    """The bundled photos, each (256, 256, 3) float32 in [0, 1], sorted by file name."""
    from PIL import Image

    files = sorted(PHOTOS_DIR.glob("*.jpg"))
    if not files:
        raise FileNotFoundError(f"no background photos in {PHOTOS_DIR}")
    return tuple(np.asarray(Image.open(f).convert("RGB"), np.float32) / 255.0 for f in files)


def photo_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random dimmed crop of a bundled photo, (size, size, 3) float32 in [0, 1]."""
    from PIL import Image

    photos = load_photos()
    photo = photos[int(rng.integers(len(photos)))]
    side = photo.shape[0]
    crop = int(rng.uniform(1 / 3, 1.0) * side)
    x0, y0 = (int(v) for v in rng.integers(0, side - crop + 1, 2))
    patch = photo[y0:y0 + crop, x0:x0 + crop]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    img = Image.fromarray(np.clip(np.rint(patch * 255), 0, 255).astype(np.uint8))
    img = np.asarray(img.resize((size, size), Image.BILINEAR), np.float32) / 255.0
    return (img * np.float32(rng.uniform(0.45, 0.8))).astype(np.float32)
