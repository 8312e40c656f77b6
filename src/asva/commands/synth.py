"""asva synth: write a procedurally generated audio-visual benchmark in the AVSync15 format.

Usage:
    asva synth --out DIR --videos-per-class N [--seed S] [--size 128] [--classes drum dog ...]
               [--two-object-fraction 0.2] [--test-fraction 0.2] [--workers 2] [--no-progress]

Writes DIR/videos/<class>/<file>.mp4 (24 fps H.264 + 16 kHz AAC) with a sidecar <file>.json of
ground-truth event times and object boxes for each clip, DIR/train.txt, DIR/test.txt and
DIR/class_mapping.json. The same seed gives the same clips; a clip depends only on
(seed, class, index, size, two-object fraction). Classes: see `--list-classes` or docs/synth.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from asva.utils import HelpFormatter


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="asva synth", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--out", type=Path, help="output dataset folder")
    p.add_argument("--videos-per-class", type=int, help="clips per class (>= 1)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    p.add_argument("--size", type=int, default=128, help="frame width and height in pixels, even, >= 32")
    p.add_argument("--classes", nargs="+", metavar="CLASS", help="classes to generate (default: all)")
    p.add_argument("--two-object-fraction", type=float, default=0.2,
                   help="fraction of clips that also show a silent object of another class (default 0.2)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of each class put in test.txt")
    p.add_argument("--workers", type=int, help="rendering processes (default 2, or 1 on a one-core machine)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--list-classes", action="store_true", help="print classes and prompts, then exit")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    from asva.synth.classes import CLASSES
    from asva.synth.generate import SynthConfig, default_workers, generate

    if args.list_classes:
        for name, cls in CLASSES.items():
            print(f"{name}\t{cls.prompt}")
        return 0
    if args.out is None or args.videos_per_class is None:
        parser.error("--out and --videos-per-class are required")
    config = SynthConfig(
        out=args.out,
        videos_per_class=args.videos_per_class,
        seed=args.seed,
        size=args.size,
        classes=tuple(args.classes) if args.classes else None,
        two_object_fraction=args.two_object_fraction,
        test_fraction=args.test_fraction,
        workers=args.workers if args.workers is not None else default_workers(),
    )
    summary = generate(config, progress=not args.no_progress)
    print(f"asva synth: {summary.line()}")
    return 0
