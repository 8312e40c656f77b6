"""Time AVSyncDPipeline: seconds per denoising step and per video, and peak memory.

    python benchmarks/bench_pipeline.py             # tiny and sd15 on CPU, CFG batched vs sequential
    python benchmarks/bench_pipeline.py --cases tiny-batched --steps 20
    python benchmarks/bench_pipeline.py --device cuda --dtype bfloat16 --cases sd15-batched --steps 50

Every case runs in its own process so that its peak RSS is its own. Weights are random (`sd15` is
built on the meta device and filled cheaply), the image is 256 px for sd15 (32 x 32 latents) and
64 px for tiny (8 x 8 latents, the size the tiny preset is meant for), the audio 2 s
(one 12-frame window), audio guidance eta = 4 (two UNet branches per step). A "step" is one guided
noise prediction (both branches); "video" is the whole call: encoders, denoising, VAE decoding.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

from asva.pipelines.testing import random_pipeline
from asva.utils import DTYPE_NAMES, torch_dtype

CASES = {  # name -> (UNet preset, batched CFG)
    "tiny-batched": ("tiny", True),
    "tiny-sequential": ("tiny", False),
    "sd15-batched": ("sd15", True),
    "sd15-sequential": ("sd15", False),
}
DEFAULT_STEPS = {"tiny": 10, "sd15": 2}
DEFAULT_SIZE = {"tiny": 64, "sd15": 256}  # 8 x 8 latents (the tiny preset's own size), 32 x 32


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from {', '.join(CASES)}")
    p.add_argument("--steps", type=int, help="denoising steps (default: 10 tiny, 2 sd15)")
    p.add_argument("--scheduler", default="ddim", help="pndm, ddim, dpm or unipc (default ddim)")
    p.add_argument("--size", type=int, help="frame side (default: 64 tiny, 256 sd15)")
    p.add_argument("--seconds", type=float, default=2.0, help="audio length (2 s = one window)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=DTYPE_NAMES, default="float32")
    p.add_argument("--compile", action="store_true", help="torch.compile the UNet (a warm-up call compiles)")
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    p.add_argument("--warmup", type=int, help="warm-up calls before timing (default: 1 tiny/compile, else 0)")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one case in this process
    return p.parse_args(argv)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build(preset: str, args: argparse.Namespace, device: torch.device):
    pipe = random_pipeline(preset, scheduler=args.scheduler, init="default" if preset == "tiny" else "fast")
    pipe = pipe.to(device=device, dtype=torch_dtype(args.dtype))
    pipe.set_progress_bar_config(disable=True)
    if args.compile:
        pipe.unet.model = torch.compile(pipe.unet.model)
    return pipe


def time_unet(pipe, device: torch.device) -> list[float]:
    """Record the duration of every UNet call (synchronised on GPUs)."""
    calls: list[float] = []
    starts: list[float] = []

    def before(module, args, kwargs):
        _sync(device)
        starts.append(time.perf_counter())

    def after(module, args, kwargs, output):
        _sync(device)
        calls.append(time.perf_counter() - starts.pop())

    pipe.unet.register_forward_pre_hook(before, with_kwargs=True)
    pipe.unet.register_forward_hook(after, with_kwargs=True)
    return calls


def run_case(name: str, args: argparse.Namespace) -> dict:
    preset, batched = CASES[name]
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    steps = args.steps or DEFAULT_STEPS[preset]
    size = args.size or DEFAULT_SIZE[preset]
    t0 = time.perf_counter()
    pipe = build(preset, args, device)
    build_s = time.perf_counter() - t0
    g = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g)
    audio = 0.1 * torch.randn(round(args.seconds * 16000), generator=g)

    def call(n_steps):
        return pipe(image, audio, "dog barking", num_inference_steps=n_steps, audio_guidance_scale=4.0,
                    batched_guidance=batched, generator=torch.Generator().manual_seed(0))

    warmup = args.warmup if args.warmup is not None else int(preset == "tiny" or args.compile)
    for _ in range(warmup):
        call(steps)
    calls = time_unet(pipe, device)
    _sync(device)
    t0 = time.perf_counter()
    out = call(steps)
    _sync(device)
    video_s = time.perf_counter() - t0
    per_step = len(calls) // len(pipe.scheduler.timesteps)
    step_times = [sum(calls[i:i + per_step]) for i in range(0, len(calls), per_step)]
    result = {
        "case": name, "device": str(device), "dtype": args.dtype, "compile": args.compile,
        "scheduler": args.scheduler, "steps": len(step_times), "frames": out.videos.shape[2],
        "size": size, "threads": torch.get_num_threads(), "build_s": build_s,
        "step_s": statistics.median(step_times), "video_s": video_s,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }
    if device.type == "cuda":
        result["peak_gpu_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
    return result


def format_result(r: dict) -> str:
    what = (f"{r['case']:<16} {r['device']} {r['dtype']}{' compiled' if r['compile'] else ''} "
            f"{r['size']}px {r['frames']}f {r['scheduler']}-{r['steps']} threads={r['threads']}")
    gpu = f"  peak GPU {r['peak_gpu_gb']:.2f} GB" if "peak_gpu_gb" in r else ""
    return (f"{what}:  {r['step_s']:.3f} s/step  {r['video_s']:.2f} s/video  "
            f"peak RSS {r['peak_rss_gb']:.2f} GB{gpu}  (build {r['build_s']:.1f} s)")


def child_options(args: argparse.Namespace) -> list[str]:
    """The options of this run, for a child process running one case."""
    out = []
    for key, value in vars(args).items():
        if key in ("cases", "one") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        out += [flag] if value is True else [flag, str(value)]
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.one:
        print(json.dumps(run_case(args.one, args)))
        return 0
    names = [c for c in args.cases.split(",") if c]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        raise SystemExit(f"unknown cases {unknown}; expected some of {list(CASES)}")
    forwarded = child_options(args)
    failed = 0
    for name in names:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), *forwarded, "--one", name],
                              capture_output=True, text=True)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            failed += 1
            print(f"{name:<16} FAILED (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
            continue
        print(format_result(json.loads(lines[-1])), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
