"""The `asva` command: one entry point whose sub-commands are the jobs of the toolkit.

Usage:
    asva <command> [options]      (asva <command> --help for each)

Every sub-command lives in its own module as `main(argv=None) -> int`. A `ValueError`
raised by the library (bad input, bad option) becomes one line on stderr and exit code 2.
"""
from __future__ import annotations

import importlib
import sys

# name -> (module with main(argv), one-line summary). Later issues add their jobs here.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("asva.synth.cli", "write a procedurally generated audio-visual benchmark"),
    "info": ("asva.info", "describe a UNet preset or a converted model folder (parameter counts)"),
    "convert": ("asva.convert_cli", "official AVSyncD / SD1.5 / ImageBind / sync weights -> a model folder"),
    "train-sync": ("asva.sync_train.cli", "train the audio-visual sync classifier on shifted clips"),
    "eval-sync": ("asva.sync_train.eval_cli", "sync classifier A2V/V2A accuracy, P_sync, RelSync vs oracle"),
    "animate": ("asva.animate", "animate an image with an audio clip (mp4 with the audio, gif, frames)"),
    "evaluate": ("asva.evaluation.cli", "score generated clips: FID, FVD, IA, IT, RelSync, AlignSync, ..."),
    "generate-eval": ("asva.evaluation.generate", "generate the 3 clips per test video that evaluate scores"),
    "train": ("asva.train.cli", "train AVSyncD or the I2VD baseline (accelerate; CPU, GPU, multi-GPU)"),
    "curate": ("asva.commands.curate", "build an AVSync15-style dataset from raw videos (local pool or Ray)"),
}


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    rows = "\n".join(f"  {name:<{width}}  {summary}" for name, (_, summary) in sorted(COMMANDS.items()))
    return f"usage: asva <command> [options]\n\ncommands:\n{rows}\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage(), end="")
        return 0
    if argv[0] == "--version":
        from asva import __version__

        print(f"asva {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"asva: error: unknown command {name!r}\n\n{_usage()}", end="", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    try:
        return int(module.main(rest) or 0)
    except ValueError as err:
        print(f"asva {name}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"asva {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
