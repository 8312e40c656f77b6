"""asva train: train AVSyncD (or the I2VD baseline) on accelerate, from one CPU to many GPUs.

Usage:
    asva train --config PRESET_OR_JSON [--data DIR] [--output DIR] [--resume PATH|latest]
               [section.key=value ...]

    asva train --config synth-tiny --data data/synth --output runs/tiny
    asva train --config synth-tiny --data data/synth --output runs/i2vd model.audio=false
    accelerate launch --num_processes 8 -m asva.commands.train --config avsync15-sd15 \
        --data AVSync15 --output runs/avsyncd model.init_from=models/sd15-imagebind

Presets: avsync15-sd15 (the paper's settings; needs model.init_from, a folder from `asva convert`
with SD1.5 and ImageBind), synth-tiny (the bundled CPU model). `--list-presets` prints them.
Writes OUTPUT/checkpoints/step-N/ (every checkpoint.every steps, the last checkpoint.keep kept),
OUTPUT/metrics.csv, OUTPUT/validation/step-N/*.mp4 and, at the end, OUTPUT/model/: a model folder
for `asva animate --model`.
"""
from __future__ import annotations

import argparse
import shlex
import sys

from asva.training.avsyncd.config import list_presets, load_config
from asva.utils import HelpFormatter


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="asva train", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--config", help=f"a preset ({', '.join(list_presets())}) or a JSON config file")
    p.add_argument("--data", help="dataset folder in the AVSync15 format (overrides data.root)")
    p.add_argument("--output", default=None, help="run folder (default runs/<preset>)")
    p.add_argument("--resume", help="a checkpoint folder, or 'latest' for the newest under --output")
    p.add_argument("--list-presets", action="store_true", help="print the presets and exit")
    p.add_argument("overrides", nargs="*", metavar="section.key=value",
                   help="config overrides, e.g. train.lr=1e-4 train.max_steps=10 model.audio=false")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_presets:
        for name in list_presets():
            print(f"{name}\t{load_config(name).description}")
        return 0
    if not args.config:
        raise ValueError("--config is required (a preset or a JSON file)")
    config = load_config(args.config, args.overrides)
    from asva.training.avsyncd.trainer import NonFiniteLossError, train

    output = args.output or f"runs/{args.config}"
    command = "asva train " + shlex.join(sys.argv[1:] if argv is None else argv)
    try:
        result = train(config, output=output, data_root=args.data, resume=args.resume, command=command)
    except NonFiniteLossError as err:
        print(f"asva train: error: {err}", file=sys.stderr)
        return 1
    if result.model is not None:
        print(f"asva train: {result.step} steps in {result.seconds:.1f} s, last loss {result.loss:.4f}; "
              f"model folder {result.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
