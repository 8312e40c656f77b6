"""asva eval-sync: evaluate a sync classifier (accuracy, P_sync of a pair, RelSync vs oracle).

Usage:
    asva eval-sync --data DIR [--split test] [--model NAME|DIR] [--num-clips 31] [--shift 0.04]
                   [--tolerance 5] [--output RESULT.json]
    asva eval-sync --video V [--audio A] [--start S] [--model NAME|DIR] [--output RESULT.json]
    asva eval-sync --relsync-oracle GEN_DIR --data DIR [--oracle-key correlation] [--model ...]
                   [--output RESULT.json]
    asva eval-sync --make-standins OUT_DIR --data DIR [--split test] [--limit N]

--data alone: audio-to-video and video-to-audio accuracy on DIR/<split>.txt (31 clips 0.04 s
apart per video, a prediction is right within +-5 clips). --video: phi and P_sync = sigmoid(phi)
of 2 s of V's frames with A's audio (default V's own), centred unless --start. --relsync-oracle:
Spearman rank correlation between per-clip RelSync and the oracle synchrony score over the
generated clips in GEN_DIR (sidecars: the ground-truth synth sidecar plus "start"; see
docs/sync_training.md). --make-standins writes stand-in generated clips for that check.
The model is a bundled name (default sync-synth-tiny) or a classifier folder / file.
Results are printed and, with --output, written as JSON.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from asva.models.registry import DEFAULT_SYNC_MODEL
from asva.utils import HelpFormatter, write_json


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="asva eval-sync", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--video", type=Path, help="score one pair: this video's frames")
    mode.add_argument("--relsync-oracle", type=Path, metavar="GEN_DIR", help="folder of generated clips")
    mode.add_argument("--make-standins", type=Path, metavar="OUT_DIR", help="write stand-in generated clips")
    p.add_argument("--data", type=Path, help="AVSync15-format dataset (ground truth)")
    p.add_argument("--split", default="test", choices=("train", "test"))
    p.add_argument("--audio", type=Path, help="with --video: the audio's file (default: the video)")
    p.add_argument("--start", type=float, help="with --video: window start in seconds (default centred)")
    p.add_argument("--model", default=DEFAULT_SYNC_MODEL, help=f"default {DEFAULT_SYNC_MODEL}")
    p.add_argument("--num-clips", type=int, default=31)
    p.add_argument("--shift", type=float, default=0.04)
    p.add_argument("--tolerance", type=int, default=5)
    p.add_argument("--oracle-key", default="correlation")
    p.add_argument("--limit", type=int, help="with --make-standins: first N clips of the split")
    p.add_argument("--output", type=Path, help="write the result as JSON")
    p.add_argument("--no-progress", action="store_true")
    return p


def _check(args) -> None:
    if args.video is None and args.data is None:
        raise ValueError("give --data DIR (accuracy), --video V (P_sync of a pair) "
                         "or --relsync-oracle GEN_DIR --data DIR")
    if args.video is None and args.audio is not None:
        raise ValueError("--audio goes with --video")
    if args.video is None and args.start is not None:
        raise ValueError("--start goes with --video")
    if args.start is not None and args.start < 0:
        raise ValueError(f"--start must be >= 0 seconds, got {args.start}")
    if args.num_clips < 1 or not args.shift > 0:
        raise ValueError(f"--num-clips must be >= 1 and --shift > 0, got {args.num_clips}, {args.shift}")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")


def _summary(result: dict) -> str:
    if "p_sync" in result:
        return f"phi {result['phi']:.4f}  P_sync {result['p_sync']:.4f}  (start {result['start']:.2f} s)"
    if "a2v_acc" in result:
        return (f"A2V accuracy {result['a2v_acc']:.4f}  V2A accuracy {result['v2a_acc']:.4f}  "
                f"({result['num_videos']} videos, {result['num_clips']} clips {result['shift']} s apart, "
                f"+-{result['tolerance']}; {result['skipped_short_videos']} too short)")
    if "spearman" in result:
        return (f"Spearman(RelSync, oracle {result['oracle_key']}) {result['spearman']:.4f} over "
                f"{result['num_clips']} clips")
    return f"wrote {result['num_clips']} stand-in clips to {result['folder']}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _check(args)
    if args.make_standins is not None:
        from asva.evaluation.synthetic.agreement import make_standins

        written = make_standins(args.data, args.make_standins, split=args.split, limit=args.limit)
        result = {"folder": str(args.make_standins), "num_clips": len(written)}
    else:
        from asva.evaluation.sync_classifier import evaluate_dataset, pair_score
        from asva.models.sync import load_sync_model

        model = load_sync_model(args.model)
        if args.video is not None:
            result = pair_score(model, args.video, args.audio, args.start)
        elif args.relsync_oracle is not None:
            from asva.evaluation.synthetic.agreement import relsync_oracle_agreement

            result = relsync_oracle_agreement(model, args.relsync_oracle, args.data,
                                              oracle_key=args.oracle_key, progress=not args.no_progress)
        else:
            result = evaluate_dataset(model, args.data, args.split, num_clips=args.num_clips,
                                      shift=args.shift, tolerance=args.tolerance,
                                      progress=not args.no_progress)
        result = {"model": str(args.model), **result}
    print(f"asva eval-sync: {_summary(result)}")
    if args.output is not None:
        write_json(args.output, result)
    return 0
