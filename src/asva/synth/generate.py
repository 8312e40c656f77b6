"""Write an AVSync15-format dataset of synthetic clips (see docs/synth.md).

    OUT/videos/<class>/<class>_<index>.mp4   H.264 + AAC, 24 fps, 16 kHz mono
    OUT/videos/<class>/<class>_<index>.json  the clip's sidecar (ground-truth events, boxes, ...)
    OUT/train.txt, OUT/test.txt              one "<class>/<file>.mp4" per line
    OUT/class_mapping.json                   {"<class>": "<prompt>"}

Every file is written atomically; the list files and the class mapping are written last, so
an interrupted run leaves no dataset that looks complete.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from asva.media import write_video
from asva.synth.classes import CLASSES
from asva.synth.photos import BACKGROUNDS
from asva.synth.scene import make_clip
from asva.utils import atomic_path


@dataclass(frozen=True)
class SynthConfig:
    """What to generate. `classes=None` means every class; `workers` processes render clips."""

    out: Path
    videos_per_class: int
    seed: int = 0
    size: int = 128
    classes: tuple[str, ...] | None = None
    two_object_fraction: float = 0.2
    test_fraction: float = 0.2
    workers: int = 2
    backgrounds: str = "flat"  # "photos": crops of the bundled photographs; "mixed": either

    def __post_init__(self):
        if self.videos_per_class < 1:
            raise ValueError(f"videos per class must be at least 1, got {self.videos_per_class}")
        if self.size < 32 or self.size % 2:
            raise ValueError(f"size must be an even number of pixels >= 32, got {self.size}")
        unknown = [c for c in self.classes or () if c not in CLASSES]
        if unknown:
            raise ValueError(f"unknown class(es) {unknown}; expected some of {sorted(CLASSES)}")
        if self.classes is not None and (not self.classes or len(set(self.classes)) != len(self.classes)):
            raise ValueError(f"classes must be a non-empty list without repeats, got {list(self.classes)}")
        if not 0.0 <= self.two_object_fraction <= 1.0:
            raise ValueError(f"two-object fraction must be in [0, 1], got {self.two_object_fraction}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"test fraction must be in [0, 1), got {self.test_fraction}")
        if self.backgrounds not in BACKGROUNDS:
            raise ValueError(f"backgrounds must be one of {BACKGROUNDS}, got {self.backgrounds!r}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.classes) if self.classes else tuple(CLASSES)


@dataclass(frozen=True)
class Summary:
    out: Path
    num_clips: int
    num_train: int
    num_test: int
    num_classes: int
    seconds: float

    def line(self) -> str:
        rate = self.num_clips / max(self.seconds, 1e-9)
        return (f"wrote {self.num_clips} clips of {self.num_classes} classes ({self.num_train} train, "
                f"{self.num_test} test) to {self.out} in {self.seconds:.1f} s ({rate:.2f} clips/s)")


def clip_file(name: str, index: int) -> str:
    """`<class>/<class>_<index>.mp4`, relative to OUT/videos."""
    return f"{name}/{name}_{index:04d}.mp4"


def split_indices(seed: int, name: str, n: int, test_fraction: float = 0.2) -> tuple[list[int], list[int]]:
    """(train, test) clip indices of one class: round(test_fraction * n) test clips, at least one
    when n >= 2 and test_fraction > 0, drawn with a generator seeded by (seed, class)."""
    n_test = max(1, round(test_fraction * n)) if n >= 2 and test_fraction > 0 else 0
    order = np.random.default_rng([int(seed), zlib.crc32(name.encode()), 0x5B117]).permutation(n)
    test = sorted(int(i) for i in order[:n_test])
    return sorted(set(range(n)) - set(test)), test


def write_clip(out: Path, name: str, index: int, seed: int, size: int, two_object_fraction: float,
               backgrounds: str = "flat") -> str:
    """Render one clip and write its mp4 and sidecar; returns its "<class>/<file>.mp4"."""
    clip = make_clip(name, index, seed, size=size, two_object_fraction=two_object_fraction,
                     backgrounds=backgrounds)
    rel = clip_file(name, index)
    path = out / "videos" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = torch.from_numpy(clip.frames).permute(3, 0, 1, 2)  # (f, h, w, c) -> (c, f, h, w)
    write_video(path, frames, clip.meta["fps"], audio=torch.from_numpy(clip.audio),
                sample_rate=clip.meta["sample_rate"])
    _write_text(path.with_suffix(".json"), json.dumps({"file": rel, **clip.meta}, indent=1) + "\n")
    return rel


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _init_worker() -> None:
    torch.set_num_threads(1)  # this process only: one encode per core, no thread oversubscription


def _run_jobs(config: SynthConfig, jobs: list[tuple[str, int]], progress: bool) -> None:
    args = [(config.out, name, i, config.seed, config.size, config.two_object_fraction, config.backgrounds)
            for name, i in jobs]
    bar = tqdm(total=len(jobs), desc="asva synth", unit="clip", disable=not progress)
    try:
        if config.workers == 1 or len(jobs) == 1:
            for a in args:
                write_clip(*a)
                bar.update()
            return
        ctx = multiprocessing.get_context("spawn")  # no forked torch/OpenMP state in the workers
        workers = min(config.workers, len(jobs))
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
            for future in as_completed([pool.submit(write_clip, *a) for a in args]):
                future.result()
                bar.update()
    finally:
        bar.close()


def generate(config: SynthConfig, *, progress: bool = True) -> Summary:
    """Write the dataset described by `config`; returns what was written."""
    start = time.perf_counter()
    names = config.class_names
    out = Path(config.out)
    splits = {name: split_indices(config.seed, name, config.videos_per_class, config.test_fraction)
              for name in names}
    # interleave the classes so a partial run (or a progress bar) covers all of them evenly
    jobs = [(name, i) for i in range(config.videos_per_class) for name in names]
    _run_jobs(config, jobs, progress)
    train = [clip_file(n, i) for n in names for i in splits[n][0]]
    test = [clip_file(n, i) for n in names for i in splits[n][1]]
    _write_text(out / "train.txt", "".join(f"{line}\n" for line in train))
    _write_text(out / "test.txt", "".join(f"{line}\n" for line in test))
    mapping = {name: CLASSES[name].prompt for name in names}
    _write_text(out / "class_mapping.json", json.dumps(mapping, indent=1) + "\n")
    return Summary(out, len(jobs), len(train), len(test), len(names), time.perf_counter() - start)


def default_workers() -> int:
    """Two worker processes, or fewer on a machine with one core."""
    return max(1, min(2, os.cpu_count() or 1))
