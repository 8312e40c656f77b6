"""Seconds per clip of each method on the bundled example (2 s of drum.wav -> 12 frames at 64 px).

    python benchmarks/bench_baselines.py [--steps 20] [--repeats 3] [--device cpu] [--aadiff p2p,reweight]

static: the image repeated. avsyncd: the bundled model (its own sampler), eta 4 (two UNet branches a
step). i2vd: the bundled model's VAE and prompt table with a random audio-free UNet of the bundled
UNet's shape (no trained I2VD is bundled; the cost is the architecture's, not the weights'). aadiff:
a tiny random Stable Diffusion 1.5-format model (`asva.baselines.testing`; timing only), DDIM inversion
plus one 12-frame batch (13 samples with the p2p control's base sample), one row per --aadiff control
(default p2p). Prints CPU seconds (process time, all threads) and wall seconds per clip, the median of
--repeats runs after one warm-up; the methods take turns within each repeat.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from asva.baselines.loading import load_method

EXAMPLES = Path(__file__).resolve().parents[1] / "src" / "asva" / "assets" / "examples"


def i2vd_like(device):
    """The bundled pipeline with its UNet swapped for a random audio-free one of the same shape."""
    from asva.pipelines.avsyncd import AVSyncDPipeline
    from asva.pipelines.components import AVSyncDUNet

    pipe, size = load_method("avsyncd", device=device, quiet=True)
    config = pipe.unet.unet_config.to_dict() | {"audio_dim": None}
    unet = AVSyncDUNet(config).eval()
    i2vd = AVSyncDPipeline(vae=pipe.vae, unet=unet, audio_encoder=None, scheduler=pipe.scheduler,
                           prompt_table=pipe.prompt_table)
    i2vd.set_progress_bar_config(disable=True)
    return i2vd.to(device), size


def time_methods(pipes: dict, inputs: dict, steps: int, repeats: int) -> dict:
    """name -> (output shape, median CPU s, median wall s); the methods take turns in every repeat."""
    runs = {name: [] for name in pipes}
    shapes = {}
    for i in range(repeats + 1):
        for name, pipe in pipes.items():
            image, audio, prompt = inputs[name]
            cpu, wall = time.process_time(), time.perf_counter()
            out = pipe(image, audio, prompt, num_inference_steps=steps, audio_guidance_scale=4.0,
                       generator=torch.Generator().manual_seed(0))
            if i:  # the first round warms up
                runs[name].append((time.process_time() - cpu, time.perf_counter() - wall))
            shapes[name] = out.videos.shape
    return {name: (shapes[name], statistics.median(r[0] for r in runs[name]),
                   statistics.median(r[1] for r in runs[name])) for name in pipes}


def main() -> None:
    from asva.baselines.config import AADiffConfig
    from asva.baselines.testing import save_random_sd15
    from asva.media import read_audio, read_image

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--aadiff", default="p2p",
                   help="comma-separated AADiff controls, one row each (default p2p)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    audio = read_audio(EXAMPLES / "drum.wav", duration=2.0)[None]
    with tempfile.TemporaryDirectory() as tmp:
        sd = save_random_sd15(Path(tmp) / "sd15")
        pipes = {"static": load_method("static", device=args.device), "i2vd": i2vd_like(args.device)}
        for control in args.aadiff.split(","):
            pipes[f"aadiff ({control})"] = load_method("aadiff", sd, device=args.device, size=64, quiet=True,
                                                       aadiff=AADiffConfig(control=control))
        pipes["avsyncd"] = load_method("avsyncd", device=args.device, quiet=True)
        inputs = {}
        for name, (pipe, size) in pipes.items():
            if hasattr(pipe, "set_progress_bar_config"):
                pipe.set_progress_bar_config(disable=True)
            inputs[name] = (read_image(EXAMPLES / "drum.png", size=size), audio, "drum")
        found = time_methods({name: pipe for name, (pipe, _) in pipes.items()}, inputs, args.steps,
                             args.repeats)
        print(f"{args.steps} steps, {args.threads} thread(s), median of {args.repeats} runs")
        print("| method | output | CPU s / clip | wall s / clip |")
        print("|---|---|---|---|")
        for name, (shape, cpu, wall) in found.items():
            print(f"| {name} | {tuple(shape)} | {cpu:.2f} | {wall:.2f} |")


if __name__ == "__main__":
    main()
