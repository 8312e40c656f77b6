"""Synthetic benchmark generation speed: one line per figure.

Usage: python benchmarks/bench_synth.py [--size 128] [--workers 2] [--small 16] [--large 48]

Renders clips in memory (one process), then writes two datasets with `generate` (`--small` and
`--large` clips, all classes, `--workers` processes) and fits time = start-up + clips * cost to
project the time for 1,500 clips.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from asva.synth.classes import CLASSES
from asva.synth.generate import SynthConfig, generate
from asva.synth.scene import make_clip


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children, e.g. pool workers."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _timed_generate(root: Path, clips: int, size: int, workers: int) -> tuple[int, float, float]:
    """(clips written, wall seconds, CPU seconds) of one `generate` run."""
    per_class = max(1, clips // len(CLASSES))
    config = SynthConfig(root / f"ds{clips}", per_class, seed=0, size=size, workers=workers)
    begin, cpu = time.perf_counter(), _cpu_seconds()
    summary = generate(config, progress=False)
    return summary.num_clips, time.perf_counter() - begin, _cpu_seconds() - cpu


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--small", type=int, default=16, help="clips in the first timed run")
    p.add_argument("--large", type=int, default=48, help="clips in the second timed run")
    args = p.parse_args(argv)

    begin = time.perf_counter()
    n = 0
    for name in CLASSES:
        for index in range(2):
            make_clip(name, index, 0, size=args.size)
            n += 1
    print(f"render only ({args.size} px, 1 process): {n / (time.perf_counter() - begin):.2f} clips/s")

    with tempfile.TemporaryDirectory() as tmp:
        n1, t1, c1 = _timed_generate(Path(tmp), args.small, args.size, args.workers)
        n2, t2, c2 = _timed_generate(Path(tmp), args.large, args.size, args.workers)
    per_clip, cpu_per_clip = (t2 - t1) / (n2 - n1), (c2 - c1) / (n2 - n1)
    start_up, cpu_start_up = max(t1 - n1 * per_clip, 0.0), max(c1 - n1 * cpu_per_clip, 0.0)
    w = args.workers
    print(f"generate {n1} clips ({w} workers): {t1:.1f} s wall, {c1:.1f} s CPU, {n1 / t1:.2f} clips/s")
    print(f"generate {n2} clips ({w} workers): {t2:.1f} s wall, {c2:.1f} s CPU, {n2 / t2:.2f} clips/s")
    print(f"steady rate ({w} workers, render + encode + write): {1 / per_clip:.2f} clips/s")
    print(f"CPU per clip: {cpu_per_clip:.3f} s; CPU per start-up: {cpu_start_up:.1f} s")
    print(f"projected 1,500 clips at {args.size} px ({w} workers), measured wall rate: "
          f"{start_up + 1500 * per_clip:.0f} s")
    print(f"projected 1,500 clips at {args.size} px on {w} otherwise idle cores (CPU time / {w}): "
          f"{(cpu_start_up + 1500 * cpu_per_clip) / w:.0f} s")


if __name__ == "__main__":
    main()
