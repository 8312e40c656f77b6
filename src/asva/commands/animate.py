"""asva animate: animate an image with an audio clip (AVSyncD).

Usage:
    asva animate --image IMG --audio AUD [--prompt TEXT | --class NAME] -o OUT.mp4
                 [--gif OUT.gif] [--frames DIR] [--sheet OUT.png [--sheet-frames N]]
                 [--model NAME_OR_DIR] [--eta 4] [--text-scale 1]
                 [--steps 50] [--scheduler pndm|ddim|dpm|unipc] [--seed 0] [--device auto|cpu|cuda|mps]
                 [--dtype float32|bfloat16|float16|auto] [--preset fast|paper] [--guidance-fraction 1]
                 [--compile] [--fps 6] [--size N|HxW] [--window-anchor previous|image]
                 [--sequential-cfg] [--quiet]
    asva animate --batch LIST.csv [same model and sampling options]
    asva animate --prompt TEXT --audio AUD --t2i SD15_DIR -o OUT.mp4 [options]   (no --image)
    [--method static|i2vd|aadiff|avsyncd] [--audio-gain DB] [--aadiff-start inversion|sdedit ...]

The video lasts as long as the audio (whole frames; audio longer than 2 s is generated in 2-s
windows chained on their shared frame, or with --window-anchor image each started from the image
again; default: the model folder's, "image" for the bundled models) and the mp4 carries the input
audio (its first channel, the one the model hears), trimmed to the video. --sheet also writes a PNG
contact sheet: the output frames in one row (every frame of a video up to 24 frames, 4 s at 6 fps;
--sheet-frames N evenly spaced frames, at most N, the first and last included).
--prompt is free text for models with a text encoder (or a class name of models without one);
--class looks the name up in the model's class prompt table. --model is a registered name (see
`asva.models.registry`; default: the bundled model) or a model folder. --eta is the audio guidance
scale (1 = no guidance), --text-scale the text guidance scale. --scheduler defaults to the model
folder's own sampler and --size to the size the model was trained at (its training.json, the
registry, else 256). Speed (docs/speed.md): --preset fast (DPM-Solver++, few steps) or paper (PNDM-50)
sets the sampler and steps not given explicitly; --guidance-fraction F guides only the first F of the
steps; --dtype auto picks bf16 on CUDA and on CPUs with native bf16; --compile uses torch.compile.

--method picks the animation method (docs/baselines.md): avsyncd (default), static (the image
repeated), i2vd (AVSyncD trained without audio; default model asva-synth-tiny-i2vd) or aadiff (training-free
AADiff on the Stable Diffusion 1.5 folder given as --model). Without --image, --t2i SD15_DIR first makes the
image from --prompt with diffusers' StableDiffusionPipeline and saves it beside the output (OUT.png).
--audio-gain scales the waveform by DB decibels before the model hears it (+6 dB = twice as loud).

--batch reads a CSV with the header `image,audio,prompt,out` (relative paths are relative to the CSV),
loads the model once, animates every row, reports and skips bad rows, and prints a summary; the exit
code is 1 if any row failed. Bad options or inputs exit with code 2 and leave no output behind.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from asva.utils import HelpFormatter, parse_size

if TYPE_CHECKING:
    import torch

BATCH_COLUMNS = ("image", "audio", "prompt", "out")
SHEET_FRAMES = 24  # --sheet's default: every frame of a 4-s video at 6 fps


@dataclass
class Job:
    image: Path | torch.Tensor | None  # a generated image (3, h, w) uint8 with --t2i
    audio: Path
    prompt: str | None
    out: Path | None
    gif: Path | None = None
    frames: Path | None = None
    sheet: Path | None = None
    sheet_frames: int = SHEET_FRAMES


def build_parser() -> argparse.ArgumentParser:
    from asva.baselines.options import add_method_options
    from asva.models.registry import DEFAULT_MODEL
    from asva.pipelines.schedulers import DEFAULT_SCHEDULER, DEFAULT_STEPS, scheduler_names
    from asva.pipelines.speed import DTYPE_CHOICES, SAMPLING_PRESETS

    p = argparse.ArgumentParser(prog="asva animate", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--image", type=Path, help="the first frame (any image Pillow reads)")
    p.add_argument("--audio", type=Path, help="the sound (any audio or video file with an audio stream)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--prompt", help="text prompt (or a class name of a model without a text encoder)")
    which.add_argument("--class", dest="class_name", help="class name from the model's prompt table")
    p.add_argument("-o", "--out", type=Path, help="output mp4 (video with the input audio)")
    p.add_argument("--gif", type=Path, help="also write an animated GIF")
    p.add_argument("--frames", type=Path, help="also write the frames as PNGs into this folder")
    p.add_argument("--sheet", type=Path, help="also write a contact sheet PNG: the frames in one row")
    p.add_argument("--sheet-frames", type=int,
                   help=f"at most this many evenly spaced frames on the sheet (default: every frame up to "
                        f"{SHEET_FRAMES}, i.e. {SHEET_FRAMES} evenly spaced ones of a longer video)")
    p.add_argument("--batch", type=Path, help="CSV with columns image,audio,prompt,out")
    p.add_argument("--model", help=f"model name or folder (default: {DEFAULT_MODEL} for avsyncd and static, "
                                   "asva-synth-tiny-i2vd for i2vd; aadiff needs an SD1.5 folder)")
    p.add_argument("--t2i", type=Path, help="SD1.5 folder that makes the image from --prompt when no --image")
    p.add_argument("--audio-gain", type=float, default=0.0,
                   help="scale the audio by this many dB (default 0)")
    add_method_options(p)
    p.add_argument("--eta", type=float, default=4.0, help="audio guidance scale (default 4; 1 = none)")
    p.add_argument("--text-scale", type=float, default=1.0, help="text guidance scale (default 1 = none)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="denoising steps")
    p.add_argument("--scheduler", choices=scheduler_names(),
                   help=f"sampler (default: the model folder's own; {DEFAULT_SCHEDULER} for converted ones)")
    p.add_argument("--seed", type=int, default=0, help="generator seed")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda[:i] or mps")
    p.add_argument("--dtype", choices=DTYPE_CHOICES, default="float32",
                   help="auto = bf16 on CUDA and on CPUs with native bf16, else float32 (default float32)")
    p.add_argument("--preset", choices=sorted(SAMPLING_PRESETS),
                   help="fast or paper: sampler, steps and guidance fraction unless given (default: none)")
    p.add_argument("--guidance-fraction", type=float, default=1.0,
                   help="guide only this first fraction of the steps (default 1 = all)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the UNet (needs a C++ compiler on CPU; falls back; default off)")
    p.add_argument("--fps", type=float, default=6.0, help="output frame rate (the model runs at 6)")
    p.add_argument("--size", type=parse_size, help="frame size: N (square) or HxW, height x width, e.g. "
                   "128x256 (default: the model's training size)")
    p.add_argument("--window-anchor", choices=("previous", "image"),
                   help="frame 0 of each 2-s window after the first: the previous window's last frame or "
                        "the input image (default: the model folder's; previous for converted models)")
    p.add_argument("--sequential-cfg", action="store_true", help="guidance branches one by one (less memory)")
    p.add_argument("--threads", type=int,
                   help="CPU threads for torch (default 1 on CPU: the tiny model runs several times slower "
                        "with 2 threads on a busy 2-core machine; raise it for large models)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    return p


def check_options(args: argparse.Namespace) -> None:
    """Every option error, before anything slow happens."""
    if not args.eta >= 0:
        raise ValueError(f"--eta must be >= 0, got {args.eta}")
    if not args.text_scale >= 0:
        raise ValueError(f"--text-scale must be >= 0, got {args.text_scale}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if args.steps < 1:
        raise ValueError(f"--steps must be >= 1, got {args.steps}")
    if not 0.0 <= args.guidance_fraction <= 1.0:
        raise ValueError(f"--guidance-fraction must be in [0, 1], got {args.guidance_fraction}")
    if not args.fps > 0:
        raise ValueError(f"--fps must be > 0, got {args.fps}")
    if args.window_anchor and getattr(args, "method", "avsyncd") not in ("avsyncd", "i2vd"):
        raise ValueError(f"--window-anchor applies to --method avsyncd or i2vd, not {args.method}")
    check_sheet(args)
    if args.batch is not None:
        outputs = ("image", "audio", "prompt", "out", "gif", "frames", "sheet")
        given = [f"--{n}" for n in outputs if getattr(args, n)]
        if given or args.class_name:
            raise ValueError(f"--batch takes its inputs from the CSV; drop {', '.join(given) or '--class'}")
        return
    if args.image is None and (args.t2i is None or not args.prompt):
        raise ValueError("--image is required (or --t2i SD15_DIR with --prompt to generate it, or --batch)")
    if args.image is not None and args.t2i is not None:
        raise ValueError("--t2i makes the image when there is no --image; give one of them")
    if args.audio is None:
        raise ValueError("--audio is required (or --batch LIST.csv)")
    if not (args.out or args.gif or args.frames):
        raise ValueError("nothing to write: give -o OUT.mp4 (and/or --gif, --frames)")
    if args.out is not None and args.out.suffix.lower() != ".mp4":
        raise ValueError(f"-o must name an .mp4 file, got {args.out}")


def check_sheet(args: argparse.Namespace) -> None:
    """--sheet names a .png that no other output takes; --sheet-frames is >= 1 and comes with --sheet."""
    if args.sheet_frames is not None and (args.sheet is None or args.sheet_frames < 1):
        raise ValueError(f"--sheet-frames needs --sheet and must be >= 1, got {args.sheet_frames}")
    if args.sheet is None:
        return
    if args.sheet.suffix.lower() != ".png":
        raise ValueError(f"--sheet must name a .png file, got {args.sheet}")
    first = args.out or args.gif or args.frames
    if args.t2i is not None and first is not None and args.sheet == first.with_suffix(".png"):
        raise ValueError(f"--sheet {args.sheet} is where --t2i saves the generated image; name another file")


def check_inputs(job: Job) -> None:
    """The input files exist and are what they should be (cheap: headers only)."""
    from asva.media import probe

    for what, path in (("image", job.image), ("audio", job.audio)):
        if path is not None and not path.is_file():
            raise ValueError(f"{what} file {path} does not exist")
    info = probe(job.audio)
    if not info.has_audio:
        raise ValueError(f"{job.audio} has no audio stream")


def model_of(args: argparse.Namespace):
    """(pipeline, frame size) of --method (default avsyncd) with this command's --model, --device, --dtype,
    --scheduler, --size (and AADiff's options)."""
    from asva.baselines.loading import load_method

    method = getattr(args, "method", "avsyncd")
    aadiff = None
    if method == "aadiff":
        from asva.baselines.options import aadiff_config

        aadiff = aadiff_config(args)
    pipe, size = load_method(method, args.model, device=args.device, dtype=args.dtype,
                             scheduler=args.scheduler, size=args.size, quiet=args.quiet, aadiff=aadiff)
    if getattr(args, "compile", False) and hasattr(pipe, "unet"):
        from asva.pipelines.speed import compile_unet

        compile_unet(pipe)
    return pipe, size


def animate(pipe, size: int, job: Job, args: argparse.Namespace, *, use_table: bool = False) -> int:
    """Run one job and write its outputs (all or none); returns the number of frames."""
    import torch

    from asva.media import fit_image, read_audio, read_image

    if isinstance(job.image, torch.Tensor):
        image = job.image  # --t2i: (3, h, w) uint8, already made at the model's size
    else:
        # uint8 (3, h, w) -> the official transform in [-1, 1] (the one float copy, of the crop)
        image, note = fit_image(read_image(job.image), size)
        if note and not args.quiet:
            print(f"{job.image.name}: {note}")
    audio = read_audio(job.audio, mono=False)  # (channels, n): ImageBind reads channel 0, as in the paper
    if getattr(args, "audio_gain", 0.0):
        from asva.media.audio import apply_gain

        audio = apply_gain(audio, args.audio_gain)
    fraction = getattr(args, "guidance_fraction", 1.0)
    # AVSyncD's options, not the baselines'
    extra = {} if fraction == 1.0 else {"guidance_fraction": fraction}
    if getattr(args, "window_anchor", None):
        extra["window_anchor"] = args.window_anchor
    out = pipe(image, audio[None], job.prompt, use_prompt_table=use_table, num_inference_steps=args.steps,
               audio_guidance_scale=args.eta, text_guidance_scale=args.text_scale, fps=args.fps,
               generator=torch.Generator().manual_seed(args.seed), batched_guidance=not args.sequential_cfg,
               **extra)
    write_outputs(job, out.videos[0], out.fps, out.audio[0])  # the mp4 carries channel 0 (audio_track)
    return out.videos.shape[2]


def write_outputs(job: Job, frames, fps: float, audio) -> None:
    """Write the requested files; if any fails, none of them appears."""
    from asva.media import write_frames, write_gif, write_image, write_video
    from asva.media.grid import contact_sheet
    from asva.utils import atomic_path

    with contextlib.ExitStack() as stack:
        if job.out is not None:
            write_video(stack.enter_context(atomic_path(job.out)), frames, fps, audio=audio)
        if job.gif is not None:
            write_gif(stack.enter_context(atomic_path(job.gif)), frames, fps)
        if job.frames is not None:
            write_frames(stack.enter_context(atomic_path(job.frames, is_dir=True)), frames)
        if job.sheet is not None:  # (3, h, min(f, sheet_frames) * w)
            sheet = contact_sheet([("", frames)], num_frames=min(job.sheet_frames, frames.shape[1]))
            write_image(stack.enter_context(atomic_path(job.sheet)), sheet)


def read_batch(path: Path) -> list[Job]:
    if not path.is_file():
        raise ValueError(f"--batch {path} does not exist")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or set(BATCH_COLUMNS) - set(reader.fieldnames):
            raise ValueError(f"{path}: the header must have the columns {','.join(BATCH_COLUMNS)}, "
                             f"got {reader.fieldnames}")
        rows = list(reader)
    base = path.parent
    return [Job(image=base / (r["image"] or ""), audio=base / (r["audio"] or ""),
                prompt=(r["prompt"] or None), out=base / r["out"] if r["out"] else None) for r in rows]


def run_batch(pipe, size: int, jobs: list[Job], args: argparse.Namespace) -> int:
    failed = []
    for i, job in enumerate(jobs, start=1):
        row = f"row {i}"
        try:
            if job.out is None or job.out.suffix.lower() != ".mp4":
                raise ValueError(f"out must name an .mp4 file, got {job.out}")
            check_inputs(job)
            frames = animate(pipe, size, job, args)
        except (ValueError, OSError) as err:
            failed.append(i)
            print(f"asva animate: {row} ({job.image.name}, {job.audio.name}): error: {err}", file=sys.stderr)
            continue
        if not args.quiet:
            print(f"[{i}/{len(jobs)}] wrote {job.out} ({frames} frames)")
    done = len(jobs) - len(failed)
    rows = f"; failed rows: {', '.join(map(str, failed))}" if failed else ""
    print(f"asva animate: {done} of {len(jobs)} animated{rows}", file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0


def make_image(args: argparse.Namespace, size: int, device: torch.device) -> torch.Tensor:
    """--t2i: the prompt's image (3, size, size) uint8 from the user's SD1.5 folder."""
    from asva.baselines.t2i import generate_image

    return generate_image(args.t2i, args.prompt, size=size, seed=args.seed, device=device,
                          dtype=args.dtype, quiet=args.quiet)


def save_generated_image(args: argparse.Namespace, image: torch.Tensor) -> Path:
    """The --t2i image, saved beside the first output as <name>.png once the animation is written."""
    from asva.media import write_image

    path = write_image((args.out or args.gif or args.frames).with_suffix(".png"), image)
    if not args.quiet:
        print(f"wrote {path} (the image {args.t2i} made from the prompt)")
    return path


def main(argv: list[str] | None = None) -> int:
    from asva.pipelines.speed import apply_preset

    parser = build_parser()
    args = parser.parse_args(argv)
    apply_preset(args, {k: parser.get_default(k) for k in ("scheduler", "steps", "guidance_fraction")})
    check_options(args)
    import torch

    from asva.pipelines.loading import pick_device

    args.device = pick_device(args.device)
    if args.threads is not None or args.device.type == "cpu":
        torch.set_num_threads(args.threads or 1)  # a job's setting, made by its entry point
    if args.batch is not None:
        jobs = read_batch(args.batch)
        pipe, size = model_of(args)
        return run_batch(pipe, size, jobs, args)
    job = Job(args.image, args.audio, args.prompt or args.class_name, args.out, args.gif, args.frames,
              args.sheet, args.sheet_frames or SHEET_FRAMES)
    check_inputs(job)
    pipe, size = model_of(args)
    use_table = False
    if args.class_name is not None:
        from asva.pipelines.prompts import class_prompt

        choice = class_prompt(pipe, args.class_name)
        job.prompt, use_table = choice.prompt, choice.use_table
        if not args.quiet:
            print(choice.note)
    if job.image is None:
        job.image = make_image(args, size, args.device)
    start = time.perf_counter()
    frames = animate(pipe, size, job, args, use_table=use_table)
    if isinstance(job.image, torch.Tensor):
        save_generated_image(args, job.image)
    if not args.quiet:
        written = ", ".join(str(p) for p in (job.out, job.gif, job.frames, job.sheet) if p is not None)
        print(f"wrote {written}: {frames} frames at {args.fps:g} fps in {time.perf_counter() - start:.1f} s")
    return 0
