"""asva generate-eval: generate the clips `asva evaluate` scores, 3 per test video (resumable).

Usage:
    asva generate-eval --dataset DIR --model NAME_OR_DIR -o OUT [--eta 4] [--text-scale 1] [--steps 50]
                       [--scheduler pndm|ddim|dpm|unipc] [--seed 0] [--clips-per-video 3] [--split test]
                       [--size 256] [--device auto] [--dtype float32|bfloat16|float16|auto]
                       [--preset fast|paper] [--guidance-fraction 1] [--sequential-cfg] [--limit N]
                       [--num-processes 1] [--no-progress]
    accelerate launch --num_processes 4 -m asva.cli generate-eval ...   # one process per GPU

For every <class>/<stem>.mp4 of the dataset's test.txt and k = 0, 1, 2 it animates the first frame of the
k-th evaluation clip (start k * (duration - 2) / 2, read at --size px) with that clip's 2 s of audio and
writes OUT/<class>/<stem>_clip-<k:02d>.mp4 (12 frames at 6 fps, H.264, with the audio's first channel
muxed as AAC: the channel the evaluation's mel reads). This is the official `animation_gen.py` layout.
Every clip restarts the generator from --seed, as the official script does.

Each file is written atomically, so an interrupted run leaves only finished clips, and a re-run skips
them. OUT/generate_eval.json records the settings; re-running into OUT with other settings is refused.

Several processes (`--num-processes N` here, or the ranks of `accelerate launch` / `torchrun`) split the
clips by index (`asva.evaluation.sharding`): clip i belongs to rank i % N, so no clip is made twice and
an interrupted run resumes with any process count. With --device auto each rank takes its own GPU.
--preset fast|paper sets --scheduler/--steps/--guidance-fraction where they are not given (docs/speed.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from asva.utils import atomic_path

from .matching import generated_name
from .sharding import my_share

MANIFEST = "generate_eval.json"
EVAL_STARTS = {1: "center", 3: "three"}
SAMPLE_RATE = 16000


def build_parser() -> argparse.ArgumentParser:
    from asva.pipelines.speed import DTYPE_CHOICES, SAMPLING_PRESETS  # noqa: PLC0415
    from asva.pipelines.schedulers import DEFAULT_SCHEDULER, DEFAULT_STEPS, scheduler_names  # noqa: PLC0415

    p = argparse.ArgumentParser(
        prog="asva generate-eval",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", type=Path, required=True, help="AVSync15-format dataset")
    p.add_argument("--model", required=True, help="model name (asva.models.registry) or model folder")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument("--eta", type=float, default=4.0, help="audio guidance scale (default 4, as the paper)")
    p.add_argument("--text-scale", type=float, default=1.0, help="text guidance scale (default 1 = none)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"denoising steps ({DEFAULT_STEPS})")
    p.add_argument("--scheduler", choices=scheduler_names(), default=DEFAULT_SCHEDULER,
                   help=f"sampler (default {DEFAULT_SCHEDULER})")
    p.add_argument("--preset", choices=sorted(SAMPLING_PRESETS),
                   help="fast or paper: sampler, steps and guidance fraction (default: none)")
    p.add_argument("--guidance-fraction", type=float, default=1.0,
                   help="guide only this first fraction of the steps (default 1 = all)")
    p.add_argument("--seed", type=int, default=0, help="generator seed, reset for every clip (default 0)")
    p.add_argument("--clips-per-video", type=int, choices=(1, 3), default=3)
    p.add_argument("--split", default="test")
    p.add_argument("--size", type=int, default=256, help="frame side in pixels (default 256)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda[:i] or mps")
    p.add_argument("--dtype", choices=DTYPE_CHOICES, default="float32",
                   help="auto = bf16 on CUDA and on CPUs with native bf16, else float32 (default float32)")
    p.add_argument("--sequential-cfg", action="store_true", help="guidance branches one by one (less memory)")
    p.add_argument("--limit", type=int, help="generate at most N missing clips this run (per process)")
    p.add_argument("--num-processes", type=int, default=1,
                   help="split the clips over N processes on this machine (default 1)")
    p.add_argument("--no-progress", action="store_true")
    return p


def settings_of(args: argparse.Namespace) -> dict:
    """What the clips depend on; a folder is only ever filled with one set of settings."""
    keys = (
        "model",
        "eta",
        "text_scale",
        "steps",
        "scheduler",
        "seed",
        "clips_per_video",
        "split",
        "size",
        "dtype",
    )
    settings = {"dataset": str(args.dataset.resolve()), **{k: getattr(args, k) for k in keys}}
    if args.guidance_fraction != 1.0:  # recorded only when used, so older folders still resume
        settings["guidance_fraction"] = args.guidance_fraction
    return settings


def check_manifest(out: Path, settings: dict) -> None:
    """Write OUT/generate_eval.json, or refuse if it records other settings."""
    path = out / MANIFEST
    if path.is_file():
        old = json.loads(path.read_text())
        diff = [f"{k}: {old.get(k)!r} -> {v!r}" for k, v in settings.items() if old.get(k) != v]
        if diff:
            raise ValueError(
                f"{out} holds clips generated with other settings ({'; '.join(diff)}); "
                f"use another -o folder or the same settings"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(settings, indent=2) + "\n")


def pick_prompt(pipe, cls: str, prompt: str) -> tuple[str, bool]:
    """(prompt, use the prompt table): the class prompt for a text encoder, else the table entry
    named by the prompt or by the class folder."""
    if pipe.text_encoder is not None:
        return prompt, False
    names = pipe.prompt_table.names if pipe.prompt_table is not None else []
    for name in (prompt, cls):
        if name in names:
            return name, True
    raise ValueError(
        f"the model's prompt table has neither {prompt!r} nor {cls!r}; it knows: {', '.join(names)}"
    )


def clip_audio(path: Path, start: float, seconds: float) -> torch.Tensor:
    """(channels, n) exactly `seconds` of audio from `start` (padded with silence if short)."""
    from asva.media import audio_window, read_audio  # noqa: PLC0415

    wave = read_audio(path, sample_rate=SAMPLE_RATE, start=start, duration=seconds, mono=False)
    return audio_window(wave, sample_rate=SAMPLE_RATE, duration=seconds)


def generate_clip(pipe, item: dict, audio: torch.Tensor, args: argparse.Namespace) -> torch.Tensor:
    """(3, 12, h, w) uint8 frames animated from the item's first frame and `audio` (channels, n)."""
    image = ((item["video"][:, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)  # (3, h, w)
    cls = item["path"].split("/")[0]
    prompt, use_table = pick_prompt(pipe, cls, item["prompt"])
    out = pipe(
        image,
        audio[None],
        prompt,
        use_prompt_table=use_table,
        num_inference_steps=args.steps,
        audio_guidance_scale=args.eta,
        text_guidance_scale=args.text_scale,
        guidance_fraction=args.guidance_fraction,
        fps=6.0,
        generator=torch.Generator().manual_seed(args.seed),
        batched_guidance=not args.sequential_cfg,
    )
    return out.videos[0]


def main(argv: list[str] | None = None) -> int:
    from asva.data import AVSyncDataset  # noqa: PLC0415
    from asva.pipelines.speed import apply_preset  # noqa: PLC0415

    from .sharding import launch_local, process_info, relaunch_argv  # noqa: PLC0415

    parser = build_parser()
    args = parser.parse_args(argv)
    apply_preset(args, {k: parser.get_default(k) for k in ("scheduler", "steps", "guidance_fraction")})
    check_args(args)
    if args.num_processes > 1 and "RANK" not in os.environ:
        given = list(sys.argv[1:] if argv is None else argv)
        given = given[1:] if given[:1] == ["generate-eval"] else given
        return launch_local(relaunch_argv(["generate-eval", *given], "asva.cli"), args.num_processes)
    info = process_info()
    dataset = AVSyncDataset(
        args.dataset, args.split, mode="eval", eval_starts=EVAL_STARTS[args.clips_per_video], size=args.size
    )
    check_manifest(args.out, settings_of(args))
    targets = [args.out / generated_name(*_video_and_clip(dataset, i)) for i in range(len(dataset))]
    mine = my_share(len(targets), info)
    pending = [i for i in mine if not targets[i].is_file()][: args.limit]
    who = f" (process {info.rank} of {info.world})" if info.world > 1 else ""
    print(
        f"asva generate-eval{who}: {len(mine) - len([i for i in mine if not targets[i].is_file()])} of "
        f"{len(mine)} clips in {args.out}; generating {len(pending)}",
        file=sys.stderr,
    )
    if pending:
        generate_clips(args, dataset, [(i, targets[i]) for i in pending], info)
    return finish(args.out, targets, info)


def check_args(args: argparse.Namespace) -> None:
    if args.steps < 1 or args.eta < 0 or args.text_scale < 0 or (args.limit is not None and args.limit < 0):
        raise ValueError(
            f"need --steps >= 1, --eta >= 0, --text-scale >= 0, --limit >= 0; got {args.steps}, "
            f"{args.eta}, {args.text_scale}, {args.limit}"
        )
    if not 0.0 <= args.guidance_fraction <= 1.0:
        raise ValueError(f"--guidance-fraction must be in [0, 1], got {args.guidance_fraction}")
    if args.num_processes < 1:
        raise ValueError(f"--num-processes must be >= 1, got {args.num_processes}")


def generate_clips(args: argparse.Namespace, dataset, jobs: list[tuple[int, Path]], info) -> None:
    """Animate and write (atomically) each (dataset index, target path) of `jobs`."""
    from asva.animate import load_model, pick_device  # noqa: PLC0415
    from asva.media import write_video  # noqa: PLC0415

    from .sharding import device_for, init_group  # noqa: PLC0415

    init_group(info)
    model_args = argparse.Namespace(
        model=args.model, dtype=args.dtype, quiet=True, scheduler=args.scheduler, size=args.size
    )
    pipe, _ = load_model(model_args, pick_device(device_for(args.device, info)))
    start = time.perf_counter()
    for i, target in tqdm(jobs, desc="generate-eval", unit="clip", disable=args.no_progress):
        item = dataset[i]
        audio = clip_audio(dataset.root / "videos" / item["path"], item["start"], dataset.clip_duration)
        frames = generate_clip(pipe, item, audio, args)
        write_video(target, frames, 6.0, audio=audio[0], sample_rate=SAMPLE_RATE)  # atomic
    seconds = time.perf_counter() - start
    print(f"asva generate-eval: wrote {len(jobs)} clips in {seconds:.1f} s "
          f"({len(jobs) / seconds:.3f} clips/s)", file=sys.stderr)


def finish(out: Path, targets: list[Path], info) -> int:
    """Wait for the other processes (if in a group); rank 0 reports the folder's state."""
    from .sharding import finish_group  # noqa: PLC0415

    finish_group()
    if info.world > 1 and info.rank == 0:
        done = sum(t.is_file() for t in targets)
        print(f"asva generate-eval: {done} of {len(targets)} clips in {out}", file=sys.stderr)
    return 0


def _video_and_clip(dataset, index: int) -> tuple[str, int]:
    clip_index, _ = dataset.clip_start(index)
    return dataset.entries[index // dataset.clips_per_video].path, clip_index


if __name__ == "__main__":
    sys.exit(main())
