"""asva train-sync: train the audio-visual sync classifier contrastively on shifted clips.

Usage:
    asva train-sync --data DIR --output DIR [--preset tiny|official] [--steps N] [--batch-size B]
                    [--lr LR] [--seed S] [--resume latest|CHECKPOINT] [--num-clips 21] [--shift 0.2]
                    [--tau 0.1] [--warmup-steps 100] [--weight-decay 0.01] [--checkpoint-every 500]
                    [--keep-checkpoints 2] [--log-every 10] [--workers 0] [--no-cache]
                    [--set KEY=VALUE ...] [--threads T] [--no-progress] [--init-from AVID_CMA.pth.tar]

DIR is an AVSync15-format dataset (ROOT/videos, train.txt, class_mapping.json; `asva synth`
output works). Each step takes B videos, cuts `--num-clips` clips `--shift` s apart from each,
scores every audio against every video of the same video and minimises the row and column
cross-entropy at temperature `--tau` (the official recipe: 21 clips, 0.2 s, tau 0.1, AdamW
lr 2e-4, weight decay 0.01, 100 warm-up steps, gradient clipping 1.0, audio and video trunks
initialised from AVID-CMA: `--init-from` the AVID-CMA AudioSet checkpoint with `--preset official`,
imported through a strict key table). `--set` overrides a
field of the classifier preset (e.g. --set frame_size=64 --set audio_channels=16,32,32,32).
Writes OUTPUT/checkpoints/, OUTPUT/log.csv, OUTPUT/model/ and OUTPUT/training.json; run it
under `accelerate launch` for several processes.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from asva.models.sync.config import SyncClassifierConfig, list_presets
from asva.training.overrides import apply_overrides
from asva.training.sync.config import SyncTrainConfig, defaults
from asva.utils import HelpFormatter

PRESET_PREFIX = "sync-"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="asva train-sync", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="AVSync15-format dataset folder")
    p.add_argument("--output", type=Path, required=True, help="run folder (checkpoints, log, model)")
    d = defaults()  # the run's config dataclass holds the defaults
    p.add_argument("--preset", default=d["preset"], help=f"classifier preset: {', '.join(list_presets())} "
                   "(a 'sync-' prefix is accepted)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field of the classifier preset (asva.training.overrides; "
                        "lists as comma-separated ints)")
    p.add_argument("--steps", type=int, default=d["steps"], help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=d["batch_size"], help="videos per step")
    p.add_argument("--lr", type=float, default=d["lr"], help="AdamW learning rate")
    p.add_argument("--weight-decay", type=float, default=d["weight_decay"], help="AdamW weight decay")
    p.add_argument("--warmup-steps", type=int, default=d["warmup_steps"], help="linear warm-up steps")
    p.add_argument("--tau", type=float, default=d["tau"], help="contrastive temperature")
    p.add_argument("--num-clips", type=int, default=d["num_clips"], help="shifted clips per video")
    p.add_argument("--shift", type=float, default=d["shift"], help="seconds between clip starts")
    p.add_argument("--flip-prob", type=float, default=d["flip_prob"], help="per-clip horizontal flip chance")
    p.add_argument("--seed", type=int, default=d["seed"], help="data order and initialisation seed")
    p.add_argument("--resume", default=None, help="'latest' or a checkpoint folder (default: a new run)")
    p.add_argument("--init-from", default=None, metavar="PATH",
                   help="AVID-CMA checkpoint (AVID-CMA_Audioset_InstX-N1024-PosW-N64-Top32_checkpoint"
                        ".pth.tar) initialising the audio and video trunks, as the official recipe "
                        "(default: random init)")
    p.add_argument("--checkpoint-every", type=int, default=d["checkpoint_every"], help="steps per checkpoint")
    p.add_argument("--keep-checkpoints", type=int, default=d["keep_checkpoints"], help="checkpoints kept")
    p.add_argument("--log-every", type=int, default=d["log_every"], help="steps between log.csv rows")
    p.add_argument("--workers", type=int, default=d["num_workers"], help="DataLoader processes")
    p.add_argument("--no-cache", action="store_true", help="do not keep decoded videos in memory")
    p.add_argument("--threads", type=int, default=None, help="torch threads for this run (default: torch's)")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    preset = args.preset.removeprefix(PRESET_PREFIX)
    if preset not in list_presets():
        raise ValueError(f"--preset {args.preset!r}: expected one of {list_presets()}")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    from asva.training.sync.trainer import train_sync

    cfg = SyncTrainConfig(
        data=args.data, output=args.output, preset=preset,
        model_overrides=apply_overrides(SyncClassifierConfig, args.overrides),
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps, tau=args.tau, num_clips=args.num_clips, shift=args.shift,
        flip_prob=args.flip_prob, seed=args.seed, checkpoint_every=args.checkpoint_every,
        keep_checkpoints=args.keep_checkpoints, log_every=args.log_every, num_workers=args.workers,
        cache=not args.no_cache, resume=args.resume, init_from=args.init_from, progress=not args.no_progress,
    )
    cfg.model_config()  # a bad override fails before any data is read
    command = shlex.join(["asva", "train-sync", *(sys.argv[1:] if argv is None else argv)])
    summary = train_sync(cfg, command=command)
    final = summary["final"]
    detail = (f"loss {final['loss']:.4f}, acc_av {final['acc_av']:.3f}, acc_va {final['acc_va']:.3f}"
              if "loss" in final else "no steps run")
    print(f"asva train-sync: {summary['steps']} steps in {summary['wall_seconds']:.1f} s ({detail}); "
          f"model in {Path(args.output) / 'model'}")
    return 0
