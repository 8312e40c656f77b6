"""asva table1: the paper's Table 1 in miniature on the synthetic benchmark (Static, I2VD, AVSyncD).

Usage:
    asva table1 --dataset DIR --model NAME_OR_DIR [--baseline I2VD_DIR] [--etas 1 4 8] [--steps 20]
                [--scheduler dpm] [--size N] [--batch-size 16] [--limit N] [--seed 0] [--shard K/N]
                [--sync-model NAME|DIR|none] [--label NAME] [--no-reference] [-o OUTDIR]
                [--guidance-fraction 1] [--dtype float32|bfloat16|float16|auto]
                [--json OUT.json] [--no-progress]
    asva table1 --merge shard0.json shard1.json

Every method animates the first frame of each of the three evaluation clips of every test video with
the clip's audio and class prompt, in memory; the frames are scored by the oracle (hit rate,
false-motion rate, correlation), the frame error against the real clip, and RelSync with the sync
classifier --sync-model (a registered name, a folder or file, or `none`). Rows: the real clips and
Static (unless --no-reference), I2VD (--baseline), and "LABEL (eta=E)" for each --etas value. Prints the
Markdown table and the Spearman correlation of per-clip RelSync with the oracle correlation.
-o OUTDIR also writes metrics.json, per_clip.csv and metrics.md (the reports of `asva evaluate`);
--json the per-clip scores, which --merge combines across --shard runs.
See `asva.evaluation.synthetic.table1` for the protocol.

Old spelling, kept for one release: `asva evaluate --synthetic --dataset DIR --model M -o OUTDIR ...`
runs this command.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from asva.utils import HelpFormatter

DEFAULT_ETAS = (1.0, 4.0, 8.0)


def build_parser() -> argparse.ArgumentParser:
    from asva.models.registry import DEFAULT_SYNC_MODEL

    p = argparse.ArgumentParser(prog="asva table1", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--dataset", help="an `asva synth` benchmark folder")
    p.add_argument("--model", help="AVSyncD model folder or registered name")
    p.add_argument("--baseline", help="I2VD model folder (trained with model.audio=false; default: none)")
    p.add_argument("--etas", type=float, nargs="+", default=list(DEFAULT_ETAS),
                   help="audio guidance scales (default 1 4 8)")
    p.add_argument("--steps", type=int, default=20, help="denoising steps (default 20)")
    p.add_argument("--scheduler", default="dpm", help="sampler (default dpm)")
    p.add_argument("--size", type=int, help="frame side in pixels (default: the side the model was trained "
                   "at, from its folder's training.json or the registry, as in `asva animate`)")
    p.add_argument("--batch-size", type=int, default=16, help="clips per pipeline call (default 16)")
    p.add_argument("--limit", type=int, help="only N test videos, spread evenly over test.txt (default all)")
    p.add_argument("--shard", default="0/1", help="K/N: every N-th video from the K-th (default 0/1)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    p.add_argument("--guidance-fraction", type=float, default=1.0,
                   help="guide only this first fraction of the steps (default 1 = all)")
    p.add_argument("--dtype", choices=("auto", "float32", "bfloat16", "float16"), default="float32",
                   help="the model's dtype; auto: see docs/speed.md (default float32)")
    p.add_argument("--sync-model", "--sync-weights", dest="sync_model", default=DEFAULT_SYNC_MODEL,
                   help=f"sync classifier for RelSync: name, path or none (default {DEFAULT_SYNC_MODEL})")
    p.add_argument("--label", default="AVSyncD", help="the model's rows: LABEL (eta=E) (default AVSyncD)")
    p.add_argument("--no-reference", action="store_true", help="leave out the Real clips and Static rows")
    p.add_argument("-o", "--out", type=Path, help="also write metrics.json, per_clip.csv, metrics.md here")
    p.add_argument("--json", type=Path, help="also write the per-clip scores and summaries here")
    p.add_argument("--merge", type=Path, nargs="+", help="print the table of these --json files, combined")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--synthetic", action="store_true", help=argparse.SUPPRESS)  # old `asva evaluate` spelling
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    from asva.evaluation.synthetic import table1

    if args.merge:
        results = table1.merge(args.merge)
        print(table1.format_table(results))
        print(table1.format_agreement(table1.agreement(results)))
        return 0
    if not args.dataset or not args.model:
        raise ValueError("--dataset and --model are required (or --merge FILES)")
    k, _, n = args.shard.partition("/")
    if not (k.isdigit() and (n or "1").isdigit()):
        raise ValueError(f"--shard must be K/N (two whole numbers), got {args.shard!r}")
    sync_model = None if str(args.sync_model).lower() == "none" else args.sync_model
    args.size = table1.clip_size(args.model, args.size)  # recorded in -o's reports
    results = table1.evaluate_synthetic(args.dataset, args.model, baseline=args.baseline, etas=args.etas,
                                        steps=args.steps, scheduler=args.scheduler, size=args.size,
                                        batch_size=args.batch_size, limit=args.limit, seed=args.seed,
                                        shard=(int(k), int(n or 1)), progress=not args.no_progress,
                                        sync_model=sync_model, label=args.label,
                                        reference=not args.no_reference,
                                        guidance_fraction=args.guidance_fraction, dtype=args.dtype)
    found = table1.agreement(results)
    print(table1.format_table(results))
    if found is not None:
        print(table1.format_agreement(found))
    if args.json:
        from asva.utils import write_json

        write_json(args.json, table1.to_json(results, found))
    if args.out:
        from asva.evaluation.synthetic.report import write_table1_reports

        settings = {"dataset": args.dataset, "model": args.model, "baseline": args.baseline,
                    "sync_model": sync_model, "size": args.size, "steps": args.steps,
                    "scheduler": args.scheduler, "etas": args.etas, "seed": args.seed, "label": args.label,
                    "reference": not args.no_reference}
        files = write_table1_reports(args.out, results, settings)
        print(f"wrote {', '.join(str(f) for f in files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
