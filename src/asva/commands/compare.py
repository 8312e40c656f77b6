"""asva compare: methods side by side on one image: a labelled grid video (with sound) and a contact sheet.

Usage:
    asva compare --image IMG --audio AUD -o grid.mp4 [--methods static,i2vd,avsyncd[,aadiff]] [--eta 1,4,8]
                 [--audio-list B.wav,C.wav] [--gains 1,2,4] [--prompt TEXT] [--model METHOD=NAME_OR_DIR ...]
                 [--sheet grid.png] [--tile 128] [--sheet-frames 8] [--steps 50] [--scheduler NAME]
                 [--seed 0] [--fps 6] [--text-scale 1] [--device auto] [--dtype float32] [--quiet]
                 [--aadiff-start inversion|sdedit] [--aadiff-strength 0.8] [--aadiff-scale 2] ...

    asva compare --image drum.png --audio drum.wav --prompt drum --methods avsyncd --eta 1,4,8 \\
                 --gains 1,2,4 -o fig5a.mp4          # the paper's Fig. 5a: louder audio vs higher eta

Columns are the methods in the order given, AVSyncD once per --eta value (eta acts on AVSyncD only).
Rows are the sounds: --audio, then each of --audio-list, each at every --gains factor (amplitude x g;
x2 = +6 dB). Every tile is --tile px with its column (and row) label drawn into the frames. The video
carries the first row's sound (--audio at the first gain); the other rows play against it silently.
The contact sheet (default: the video's name with .png) has one row per tile and --sheet-frames evenly
spaced frames. Each method's model loads once. --model METHOD=M picks a method's model (defaults:
asva-synth-tiny for avsyncd, asva-synth-tiny-i2vd for i2vd; aadiff needs aadiff=SD15_DIR).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from err


def build_parser() -> argparse.ArgumentParser:
    from asva.baselines.options import add_method_options
    from asva.pipelines.schedulers import DEFAULT_STEPS, scheduler_names
    from asva.utils import DTYPE_NAMES, HelpFormatter

    p = argparse.ArgumentParser(prog="asva compare", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--image", type=Path, required=True, help="the first frame")
    p.add_argument("--audio", type=Path, required=True, help="the driving sound (first row; muxed)")
    p.add_argument("--audio-list", help="more sounds, comma-separated: one more row each (default none)")
    p.add_argument("--methods", default="static,avsyncd",
                   help="comma-separated static, i2vd, aadiff, avsyncd (default static,avsyncd)")
    p.add_argument("--eta", type=_floats, default=[4.0], help="AVSyncD audio guidance scales (default 4)")
    p.add_argument("--gains", type=_floats, default=[1.0], help="amplitude factors, one row each (default 1)")
    p.add_argument("--prompt", help="text or class prompt given to every method (default none)")
    p.add_argument("--model", action="append", default=[], metavar="METHOD=M",
                   help="a method's model name or folder (repeatable; default: each method's default)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output mp4")
    p.add_argument("--sheet", type=Path, help="contact sheet PNG (default: OUT with .png)")
    p.add_argument("--tile", type=int, default=128, help="tile side in pixels (default 128)")
    p.add_argument("--sheet-frames", type=int, default=8, help="frames per contact-sheet row (default 8)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                   help=f"denoising steps (default {DEFAULT_STEPS})")
    p.add_argument("--scheduler", choices=scheduler_names(),
                   help="AVSyncD/I2VD sampler (default: the model's)")
    p.add_argument("--seed", type=int, default=0, help="generator seed, reset for every tile (default 0)")
    p.add_argument("--fps", type=float, default=6.0, help="output frame rate (default 6)")
    p.add_argument("--text-scale", type=float, default=1.0, help="text guidance scale (default 1 = none)")
    p.add_argument("--size", type=int, help="generation size for every method (default: each model's own)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda[:i] or mps (default auto)")
    p.add_argument("--dtype", choices=DTYPE_NAMES, default="float32", help="default float32")
    p.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    add_method_options(p, method=False)
    return p


def parse_models(items: list[str]) -> dict[str, str]:
    from asva.baselines import METHODS

    models = {}
    for item in items:
        method, sep, model = item.partition("=")
        if not sep or method not in METHODS or not model:
            raise ValueError(f"--model takes METHOD=NAME_OR_DIR with METHOD in {', '.join(METHODS)}, "
                             f"got {item!r}")
        models[method] = model
    return models


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import torch

    from asva.baselines.compare import (
        ComparisonSettings,
        plan_columns,
        plan_rows,
        render_comparison,
        save_comparison,
    )
    from asva.baselines.loading import load_method
    from asva.baselines.options import aadiff_config
    from asva.pipelines.loading import pick_device

    if args.out.suffix.lower() != ".mp4" or args.tile < 16 or args.sheet_frames < 1 or args.steps < 1:
        raise ValueError(f"need -o *.mp4, --tile >= 16, --sheet-frames >= 1, --steps >= 1; got {args.out}, "
                         f"{args.tile}, {args.sheet_frames}, {args.steps}")
    audios = [args.audio, *(Path(a.strip()) for a in (args.audio_list or "").split(",") if a.strip())]
    for path in (args.image, *audios):
        if not path.is_file():
            raise ValueError(f"{path} does not exist")
    columns = plan_columns([m.strip() for m in args.methods.split(",") if m.strip()], args.eta)
    rows = plan_rows(audios, args.gains)
    models = parse_models(args.model)
    device, dtype = pick_device(args.device), args.dtype
    if device.type == "cpu":
        torch.set_num_threads(1)  # tiny models run fastest on one thread of a busy CPU (see asva animate)
    pipes = {}
    for method in dict.fromkeys(c.method for c in columns):
        pipes[method] = load_method(method, models.get(method), device=device, dtype=dtype,
                                    scheduler=args.scheduler, size=args.size, quiet=args.quiet,
                                    aadiff=aadiff_config(args) if method == "aadiff" else None)
    start = time.perf_counter()
    settings = ComparisonSettings(prompt=args.prompt, steps=args.steps, seed=args.seed, fps=args.fps,
                                  text_scale=args.text_scale, tile=args.tile)
    result = render_comparison(pipes, args.image, rows, columns, settings)
    sheet = args.sheet or args.out.with_suffix(".png")
    save_comparison(result, args.out, sheet, args.sheet_frames)
    if not args.quiet:
        print(f"wrote {args.out} ({len(rows)} rows x {len(columns)} columns of {args.tile} px, "
              f"{result.video.shape[1]} frames) and {sheet} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
