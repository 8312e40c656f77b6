"""The `asva` command: one entry point whose sub-commands are the jobs of the toolkit.

Usage:
    asva <command> [options]      (asva <command> --help for each)

Every sub-command lives in its own module as `main(argv=None) -> int`. A `ValueError`
raised by the library (bad input, bad option) becomes one line on stderr and exit code 2.
"""
from __future__ import annotations

import importlib
import sys

# command name -> one-line summary; the command `a-b` is `asva.commands.a_b.main(argv)`
COMMANDS: dict[str, str] = {
    "animate": "animate an image with an audio clip (mp4 with the sound, gif, frames)",
    "applications": "the paper's applications in miniature on the synthetic benchmark",
    "compare": "methods side by side (Static, I2VD, AADiff, AVSyncD x eta): grid video + contact sheet",
    "convert": "official AVSyncD / SD1.5 / ImageBind / sync weights -> a model folder",
    "curate": "build an AVSync15-style dataset from raw videos (local pool or Ray)",
    "demo": "serve a web page and HTTP API to animate images with sound (Gradio, the demo extra)",
    "eval-sync": "sync classifier A2V/V2A accuracy, P_sync, RelSync vs oracle",
    "evaluate": "score generated clips: FID, FVD, IA, IT, RelSync, AlignSync, oracle",
    "generate-eval": "generate the 3 clips per test video that evaluate scores",
    "info": "describe a preset or a model folder (parameter counts, prompts, training)",
    "synth": "write a procedurally generated audio-visual benchmark",
    "table1": "the paper's Table 1 in miniature on the synthetic benchmark",
    "train": "train AVSyncD or the I2VD baseline (accelerate; CPU, GPU, multi-GPU)",
    "train-sync": "train the audio-visual sync classifier on shifted clips",
}


def command_module(name: str) -> str:
    return f"asva.commands.{name.replace('-', '_')}"


def _alias(name: str, rest: list[str]) -> str:
    """Old spellings kept for one release: `asva evaluate --synthetic --model M` is `asva table1`."""
    if name == "evaluate" and "--synthetic" in rest and any(a == "--model" or a.startswith("--model=")
                                                            for a in rest):
        print("asva evaluate --synthetic --model: running `asva table1` (the new name of this mode)",
              file=sys.stderr)
        return "table1"
    return name


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    rows = "\n".join(f"  {name:<{width}}  {summary}" for name, summary in sorted(COMMANDS.items()))
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
    name = _alias(name, rest)
    if name not in COMMANDS:
        print(f"asva: error: unknown command {name!r}\n\n{_usage()}", end="", file=sys.stderr)
        return 2
    module = importlib.import_module(command_module(name))
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
