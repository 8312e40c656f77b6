"""Training step speed and peak memory: one line per figure.

Usage:
    python benchmarks/bench_train.py [--steps 3] [--threads 2]
        [--only synth-tiny|synth-tiny-96|synth-tiny-96-wide|avsync15-sd15] [--sizes PX [PX ...]]
        [--sd15-size 256] [--sd15-frames 12] [--checkpointing both|on|off] [--memory-limit GIB]

Figures: `synth-tiny` (batch 8, the previous bundled model's settings, 64 px), `synth-tiny-96` (batch 8,
the bundled model's, 96 px; `--sizes 96 128` adds what 128 px would cost), `synth-tiny-96-wide` (the
same with UNet channels (48, 96) instead of (32, 64)) and `avsync15-sd15` at batch 1
(random weights: SD1.5-size UNet with the adapter trainable, ImageBind-huge audio branch frozen), each
with gradient checkpointing off and on. A training step here is the trainer's own `DiffusionLoss`
forward, backward, gradient clipping and AdamW update on random frames and audio (no data loading), run
in a fresh process per figure so the peak resident memory (ru_maxrss) belongs to that figure alone.
`--memory-limit` caps each child's address space (RLIMIT_AS), so a figure that does not fit fails
with an allocation error instead of driving the machine into swap or the OOM killer.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

FIGURES = {
    "synth-tiny": {"batch": 8, "size": 64, "overrides": []},
    "synth-tiny-96": {"batch": 8, "size": 96, "overrides": []},
    # the "wider UNet" lever of issue 11: the bundled recipe at 1.5x the channels
    "synth-tiny-96-wide": {"batch": 8, "size": 96, "preset": "synth-tiny-96",
                           "overrides": ['model.unet_overrides={"channels": [48, 96]}']},
    "avsync15-sd15": {"batch": 1, "size": 256,
                      "overrides": ["model.prompt_dim=768", "model.autoencoder_channels=4",
                                    "model.autoencoder_factor=8"]},
}


def measure(preset: str, batch: int, size: int, frames: int, checkpointing: bool, steps: int,
            threads: int) -> dict:
    import torch

    from asva.training.avsyncd.config import load_config
    from asva.training.avsyncd.model import (
        DiffusionLoss,
        build_components,
        encode_video,
        noise_scheduler,
        select_trainable,
    )

    torch.set_num_threads(threads)
    figure = FIGURES[preset]
    cfg = load_config(figure.get("preset", preset), figure["overrides"])
    parts = build_components(cfg.model, {"c": "a class"}, seed=0)
    select_trainable(parts, cfg.model)
    if checkpointing:
        parts.unet.set_gradient_checkpointing(True)
    module = DiffusionLoss(parts.unet, parts.audio_encoder, noise_scheduler(cfg.diffusion))
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=1e-2)
    g = torch.Generator().manual_seed(0)
    video = torch.rand(batch, 3, frames, size, size, generator=g) * 2 - 1
    latents = encode_video(parts.vae, video)
    text = parts.prompt_table.lookup(["a class"] * batch)
    mel = torch.randn(batch, 1, 128, 204, generator=g)
    times = []
    for _ in range(steps + 1):  # the first step warms up
        begin = time.perf_counter()
        noise = torch.randn(latents.shape, generator=g)
        t = torch.randint(0, 1000, (batch,), generator=g)
        loss = module(latents, text, mel, torch.zeros(batch, dtype=torch.bool), noise, t)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - begin)
    per_step = sum(times[1:]) / steps
    return {"samples_per_s": batch / per_step, "s_per_step": per_step,
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "trainable": sum(p.numel() for p in params), "total": sum(p.numel() for p in module.parameters())}


def _limit(gib: float | None):
    """A preexec_fn capping the child's address space at `gib` GiB (None: no cap)."""
    if gib is None:
        return None
    cap = int(gib * 2**30)
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", choices=sorted(FIGURES))
    p.add_argument("--sizes", type=int, nargs="+",
                   help="frame sides for the synth presets (default: each one's own)")
    p.add_argument("--sd15-size", type=int, default=256)
    p.add_argument("--sd15-frames", type=int, default=12)
    p.add_argument("--checkpointing", choices=("both", "on", "off"), default="both")
    p.add_argument("--memory-limit", type=float, help="GiB of address space per figure (RLIMIT_AS)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(**json.loads(args.child))))
        return
    for preset in [args.only] if args.only else list(FIGURES):
        fig = FIGURES[preset]
        sd15 = preset == "avsync15-sd15"
        sizes = [args.sd15_size] if sd15 else args.sizes or [fig["size"]]
        frames = args.sd15_frames if sd15 else 12
        modes = {"both": (False, True), "on": (True,), "off": (False,)}[args.checkpointing]
        for size, ckpt in ((s, c) for s in sizes for c in modes):
            job = {"preset": preset, "batch": fig["batch"], "size": size, "frames": frames,
                   "checkpointing": ckpt, "steps": args.steps, "threads": args.threads}
            done = subprocess.run([sys.executable, __file__, "--child", json.dumps(job)],
                                  capture_output=True, text=True, preexec_fn=_limit(args.memory_limit))
            label = (f"{preset} batch {fig['batch']} {frames}x{size}px grad-ckpt {'on' if ckpt else 'off'} "
                     f"({args.threads} threads)")
            if done.returncode:
                lines = done.stderr.strip().splitlines() or [f"exit {done.returncode}"]
                why = lines[-1]
                print(f"{label}: failed ({why})")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{label}: {r['samples_per_s']:.3f} samples/s ({r['s_per_step']:.2f} s/step), "
                  f"peak RSS {r['peak_rss_gib']:.2f} GiB, trainable {r['trainable']:,} of {r['total']:,}")


if __name__ == "__main__":
    main()
