"""Peak memory of preparing a 27-megapixel photo for `asva animate` (the official transform).

Usage: python benchmarks/bench_large_image.py [--size 256]

Writes a 6000 x 4500 RGB PNG, then does what `asva animate` does with it: read_image (uint8), the
crop note, fit_frames (one float copy of the crop). Prints the process's peak RSS before and after.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="output side (default 256)")
    args = parser.parse_args()
    from asva.media import crop_note, fit_frames, read_image

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo.png"
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 256, (4500, 6000, 3), dtype=np.uint8)).save(path, compress_level=0)
        before = peak_mb()
        pixels = read_image(path)
        print(crop_note(*pixels.shape[-2:], args.size))
        out = fit_frames(pixels[:, None], args.size)
        print(f"27-MP photo -> {tuple(out.shape)}: peak RSS {peak_mb():.0f} MB "
              f"(before reading: {before:.0f} MB, which includes building the test image)")


if __name__ == "__main__":
    main()
