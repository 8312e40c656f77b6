"""Media decode speed: one line per figure.

Usage: python benchmarks/bench_media.py
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from asva.media import read_audio, read_video, write_video


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        frames = torch.randint(0, 256, (3, 96, 128, 128), dtype=torch.uint8)  # 4 s at 24 fps
        write_video(path, frames, fps=24, audio=0.1 * torch.randn(4 * 16000))
        for name, fn in [("read_video 4 s 128 px at 6 fps", lambda: read_video(path, fps=6, size=128)),
                         ("read_audio 4 s 16 kHz", lambda: read_audio(path))]:
            fn()
            begin = time.perf_counter()
            for _ in range(5):
                fn()
            print(f"{name}: {(time.perf_counter() - begin) / 5:.3f} s")


if __name__ == "__main__":
    main()
