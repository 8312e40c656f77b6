"""asva generate-eval: generate the clips `asva evaluate` scores, 3 per test video (resumable).

Usage:
    asva generate-eval --dataset DIR [--method avsyncd|static|i2vd|aadiff] [--model NAME_OR_DIR] -o OUT
                       [--eta 4] [--text-scale 1] [--steps 50] [--aadiff-start inversion|sdedit ...]
                       [--scheduler pndm|ddim|dpm|unipc] [--seed 0] [--clips-per-video 3] [--split test]
                       [--size N|HxW] [--device auto] [--dtype float32|bfloat16|float16|auto]
                       [--preset fast|paper] [--guidance-fraction 1] [--sequential-cfg] [--limit N]
                       [--num-processes 1] [--no-progress]
    accelerate launch --num_processes 4 -m asva.cli generate-eval ...   # one process per GPU

For every <class>/<stem>.mp4 of the dataset's test.txt and k = 0, 1, 2 it animates the first frame of the
k-th evaluation clip (start k * (duration - 2) / 2, read at --size px) with that clip's 2 s of audio and
writes OUT/<class>/<stem>_clip-<k:02d>.mp4 (12 frames at 6 fps, H.264, with the audio's first channel
muxed as AAC: the channel the evaluation's mel reads). This is the official `animation_gen.py` layout.
Every clip restarts the generator from --seed, as the official script does. --scheduler and --size default
to the model's own (its folder's sampler and training size), as in `asva animate`.

--method generates with a baseline instead of AVSyncD (docs/baselines.md), so that `asva evaluate`
scores it the same way: static (the first frame repeated), i2vd (default model asva-synth-tiny-i2vd),
aadiff (the Stable Diffusion 1.5 folder given as --model; the class prompt is its text). --model
defaults to the method's default model.

Each file is written atomically, so an interrupted run leaves only finished clips, and a re-run skips
them. OUT/generate_eval.json records the settings; re-running into OUT with other settings is refused.

Several processes (--num-processes N here, or the ranks of `accelerate launch` / `torchrun`) split the
clips by index (`asva.evaluation.sharding`): clip i is made by rank i % N only, so no clip is made twice
and an interrupted run resumes with any process count; with --device auto each rank takes its own GPU.
--preset fast|paper fills --scheduler, --steps and --guidance-fraction where not given (docs/speed.md).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from asva.utils import HelpFormatter, parse_size


def build_parser() -> argparse.ArgumentParser:
    from asva.baselines.options import add_method_options
    from asva.pipelines.schedulers import DEFAULT_SCHEDULER, DEFAULT_STEPS, scheduler_names
    from asva.pipelines.speed import DTYPE_CHOICES, SAMPLING_PRESETS

    p = argparse.ArgumentParser(
        prog="asva generate-eval",
        description=__doc__.split("\n\n")[0],
        formatter_class=HelpFormatter,
    )
    p.add_argument("--dataset", type=Path, required=True, help="AVSync15-format dataset")
    p.add_argument("--model", help="model name (asva.models.registry) or model folder (default: the "
                   "method's default model; --method aadiff needs an SD1.5 folder)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument("--eta", type=float, default=4.0, help="audio guidance scale (default 4, as the paper)")
    p.add_argument("--text-scale", type=float, default=1.0, help="text guidance scale (default 1 = none)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"denoising steps ({DEFAULT_STEPS})")
    p.add_argument("--scheduler", choices=scheduler_names(),
                   help=f"sampler (default: the model folder's own; {DEFAULT_SCHEDULER} for converted ones)")
    p.add_argument("--preset", choices=sorted(SAMPLING_PRESETS),
                   help="fast or paper: sampler, steps and guidance fraction unless given (default: none)")
    p.add_argument("--guidance-fraction", type=float, default=1.0,
                   help="guide only this first fraction of the steps (default 1 = all)")
    p.add_argument("--seed", type=int, default=0, help="generator seed, reset for every clip (default 0)")
    p.add_argument("--clips-per-video", type=int, choices=(1, 3), default=3)
    p.add_argument("--split", default="test")
    p.add_argument("--size", type=parse_size, help="frame size: N (square) or HxW, height x width, e.g. "
                   "128x256 "
                   "(default: the model's training size)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda[:i] or mps")
    p.add_argument("--dtype", choices=DTYPE_CHOICES, default="float32",
                   help="weights' dtype; auto = bf16 on CUDA and native-bf16 CPUs (default float32)")
    p.add_argument("--sequential-cfg", action="store_true", help="guidance branches one by one (less memory)")
    p.add_argument("--limit", type=int, help="generate at most N missing clips this run (per process)")
    p.add_argument("--num-processes", type=int, default=1, help="processes on this machine (default 1)")
    p.add_argument("--no-progress", action="store_true")
    add_method_options(p)
    return p


def check_options(args: argparse.Namespace) -> None:
    """Raise a ValueError naming the numeric options that are out of range."""
    if args.steps < 1 or args.eta < 0 or args.text_scale < 0 or (args.limit is not None and args.limit < 0):
        raise ValueError(
            f"need --steps >= 1, --eta >= 0, --text-scale >= 0, --limit >= 0; got {args.steps}, "
            f"{args.eta}, {args.text_scale}, {args.limit}"
        )
    if not 0.0 <= args.guidance_fraction <= 1.0 or args.num_processes < 1:
        raise ValueError(f"need --guidance-fraction in [0, 1] and --num-processes >= 1; got "
                         f"{args.guidance_fraction}, {args.num_processes}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    from asva.evaluation import sharding
    from asva.pipelines.speed import apply_preset

    apply_preset(args, {k: parser.get_default(k) for k in ("scheduler", "steps", "guidance_fraction")})
    if args.num_processes > 1 and "RANK" not in os.environ:  # this process launches the ranks
        return sharding.launch_local(sharding.relaunch_argv(
            ["generate-eval", *sharding.command_args(argv, "generate-eval")], "asva.cli"), args.num_processes)
    info = sharding.process_info()

    from asva.baselines.loading import load_method, method_settings
    from asva.baselines.options import aadiff_config
    from asva.data import AVSyncDataset
    from asva.data.sampling import eval_starts_for
    from asva.evaluation.generate import check_manifest, settings_of, video_and_clip
    from asva.evaluation.matching import generated_name

    check_options(args)
    args.model, args.scheduler, args.size = method_settings(args.method, args.model, args.scheduler,
                                                            args.size)
    starts = eval_starts_for(args.clips_per_video)
    dataset = AVSyncDataset(args.dataset, args.split, mode="eval", eval_starts=starts, size=args.size)
    check_manifest(args.out, settings_of(args))
    targets = [args.out / generated_name(*video_and_clip(dataset, i)) for i in range(len(dataset))]
    mine = sharding.my_share(len(targets), info)  # all clips for a single process
    missing = [i for i in mine if not targets[i].is_file()]
    pending = missing[: args.limit]
    who = f" (process {info.rank} of {info.world})" if info.world > 1 else ""
    print(
        f"asva generate-eval{who}: {len(mine) - len(missing)} of {len(mine)} clips in {args.out}; "
        f"generating {len(pending)}",
        file=sys.stderr,
    )
    sharding.init_group(info)  # every rank joins, even one with nothing to do
    if not pending:
        return sharding.report_done(targets, args.out, info)
    aadiff = aadiff_config(args) if args.method == "aadiff" else None
    pipe, _ = load_method(args.method, args.model, device=sharding.device_for(args.device, info),
                          dtype=args.dtype, scheduler=args.scheduler, size=args.size, aadiff=aadiff)
    seconds = _generate(pipe, dataset, pending, targets, args)
    print(f"asva generate-eval{who}: wrote {len(pending)} clips in {seconds:.1f} s "
          f"({len(pending) / seconds:.3f} clips/s)", file=sys.stderr)
    return sharding.report_done(targets, args.out, info)


def _generate(pipe, dataset, pending: list[int], targets: list, args) -> float:
    """Generate and write the clips `pending` (dataset indices) to `targets`; the seconds it took."""
    from tqdm import tqdm

    from asva.evaluation.generate import SAMPLE_RATE, clip_audio, generate_clip
    from asva.media import write_video

    start = time.perf_counter()
    for i in tqdm(pending, desc="generate-eval", unit="clip", disable=args.no_progress):
        item = dataset[i]
        audio = clip_audio(dataset.root / "videos" / item["path"], item["start"], dataset.clip_duration)
        frames = generate_clip(pipe, item, audio, args)
        # atomic; channel 0; lossless (x264 qp 0, yuv444p) so the metrics see the model, not the encoder
        write_video(targets[i], frames, 6.0, audio=audio, sample_rate=SAMPLE_RATE, lossless=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
