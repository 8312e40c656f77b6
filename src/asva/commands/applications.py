"""asva applications: the paper's applications in miniature on the synthetic benchmark.

Usage:
    asva applications --dataset DIR [--model NAME_OR_DIR] [--split test] [--eta 4] [--steps 20]
                      [--scheduler dpm] [--size N] [--batch-size 16] [--limit 16] [--seed 0]
                      [--json OUT.json] [--no-progress]

A. Target object: on two-object clips, does the sounding object move more than the silent one, and
does the motion follow the sound when the audio of the other object's class drives the same frame?
B. Cross-class sound: single-object clips driven by their own audio and by another class's audio.
Prints Markdown tables (mean +- 95% interval over clips); --json writes every per-clip value.
The protocol is in `asva.evaluation.synthetic.applications`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from asva.utils import HelpFormatter


def build_parser() -> argparse.ArgumentParser:
    from asva.models.registry import DEFAULT_MODEL

    p = argparse.ArgumentParser(prog="asva applications", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--dataset", required=True, help="an `asva synth` benchmark folder")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"AVSyncD model folder or registered name (default {DEFAULT_MODEL})")
    p.add_argument("--split", default="test", help="list file of the dataset (default test)")
    p.add_argument("--eta", type=float, default=4.0, help="audio guidance scale (default 4)")
    p.add_argument("--steps", type=int, default=20, help="denoising steps (default 20)")
    p.add_argument("--scheduler", default="dpm", help="sampler (default dpm)")
    p.add_argument("--size", type=int, help="frame side in pixels (default: the side the model was trained "
                   "at, from its folder's training.json or the registry, as in `asva animate`)")
    p.add_argument("--batch-size", type=int, default=16, help="clips per pipeline call (default 16)")
    p.add_argument("--limit", type=int, default=16,
                   help="single-object videos in experiment B (3 clips each), spread out (default 16)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    p.add_argument("--json", type=Path, help="also write the per-clip values and summaries here")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    from asva.evaluation.synthetic.applications import evaluate_applications, report, to_json
    from asva.evaluation.synthetic.table1 import clip_size

    for name in ("steps", "size", "batch_size", "limit"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} must be a positive integer, got {getattr(args, name)}")
    if not Path(args.dataset).is_dir():
        raise ValueError(f"--dataset {args.dataset!r} is not a folder")
    args.size = clip_size(args.model, args.size)  # recorded in --json's settings
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    results = evaluate_applications(args.dataset, args.model, split=args.split, eta=args.eta,
                                    steps=args.steps, scheduler=args.scheduler, size=args.size,
                                    batch_size=args.batch_size, limit=args.limit, seed=args.seed,
                                    progress=not args.no_progress)
    print(report(results))
    if args.json:
        from asva.utils import write_json

        write_json(args.json, to_json(results, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
