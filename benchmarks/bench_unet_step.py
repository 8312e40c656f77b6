"""Time one AVSyncD UNet step (one guided pair: batch 2 x 12 frames) of two source trees, alternately.

    python benchmarks/bench_unet_step.py --base ../speed-base/src            # sd15, fp32, 2 threads
    python benchmarks/bench_unet_step.py --base ../speed-base/src --preset half --rounds 1
    python benchmarks/bench_unet_step.py --trees new --dtype bfloat16        # this tree only, bf16 autocast
    python benchmarks/bench_unet_step.py --trees new --compile               # torch.compile (inductor)

Each measurement runs in its own process with `PYTHONPATH` set to one source tree ("new" = this
checkout's src, "base" = `--base`), so the two versions of the code never share a process; the trees
alternate (base, new, base, new, ...) so that a load change on a shared machine hits both. A process
builds the UNet with random weights (the same seed, so both trees hold the same weights), runs
`--warmup` steps, then `--steps` timed steps, and prints the median wall and process-CPU seconds per
step and its peak RSS. Inputs: latents (2, 4, 12, s, s) (s = 32: 256-px frames), text (2, 77, 768),
audio tokens (2, 229, 768) with AVSyncD's per-frame token mask (12, 229), timestep 500 -- the UNet's
own input forms, as the pipeline passes them. The last line compares the trees' outputs.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIDTHS = {"sd15": None, "half": [160, 320, 640, 640]}  # preset -> channels override (None = sd15's own)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", help="source tree of the code to compare against (its src folder)")
    p.add_argument("--new", default=str(HERE.parent / "src"),
                   help="source tree of the new code (default: this checkout's src)")
    p.add_argument("--trees", default="base,new", help="which trees, in order (default base,new)")
    p.add_argument("--preset", choices=[*WIDTHS, "tiny"], default="sd15",
                   help="sd15, half (sd15 at half width) or tiny (default sd15)")
    p.add_argument("--size", type=int, help="latent side (default 32 for sd15/half, 8 for tiny)")
    p.add_argument("--rounds", type=int, default=2, help="alternations of the trees (default 2)")
    p.add_argument("--steps", type=int, default=3, help="timed steps per process (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32",
                   help="float32, or bfloat16 autocast on float32 weights (default float32)")
    p.add_argument("--compile", action="store_true", help="torch.compile the UNet (default off)")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: time one tree in this process
    p.add_argument("--save", help=argparse.SUPPRESS)  # internal: where the child saves its output
    return p.parse_args(argv)


def build(args: argparse.Namespace):
    import torch

    from asva.models.config import load_preset
    from asva.models.unet3d import VideoUNet
    try:
        from asva.pipelines.testing import init_random_
    except ImportError:  # source trees from before the layout change (issue 10)
        from asva.pipelines.build import init_random_

    config = load_preset("tiny" if args.preset == "tiny" else "sd15")
    if WIDTHS.get(args.preset):
        config = type(config).from_dict({**config.to_dict(), "channels": WIDTHS[args.preset]})
    with torch.device("meta"):
        model = VideoUNet(config)
    return init_random_(model).eval()


def inputs(config, size: int):
    import torch

    from asva.models.audio_tokens import audio_token_mask

    g = torch.Generator().manual_seed(0)
    sample = torch.randn(2, config.in_channels, 12, size, size, generator=g)
    text = torch.randn(2, 77, config.text_dim, generator=g)
    audio = torch.randn(2, 229, config.audio_dim, generator=g)
    return sample, torch.tensor(500), text, audio, audio_token_mask(12)


def run_one(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    model = build(args)
    if args.compile:
        model = torch.compile(model)
    size = args.size or (8 if args.preset == "tiny" else 32)
    x = inputs(model.config, size)
    autocast = torch.autocast("cpu", torch.bfloat16, enabled=args.dtype == "bfloat16")
    walls, cpus = [], []
    with torch.no_grad(), autocast:
        for i in range(args.warmup + args.steps):
            w0, c0 = time.perf_counter(), time.process_time()
            out = model(*x)
            if i >= args.warmup:
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
    if args.save:
        torch.save(out.float(), args.save)
    return {"tree": args.one, "wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus),
            "walls": walls, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def child(tree: str, src: str, args: argparse.Namespace, save: str) -> dict | None:
    forwarded = ["--preset", args.preset, "--steps", str(args.steps), "--warmup", str(args.warmup),
                 "--threads", str(args.threads), "--dtype", args.dtype, "--one", tree, "--save", save]
    forwarded += ["--size", str(args.size)] if args.size else []
    forwarded += ["--compile"] if args.compile else []
    env = {**os.environ, "PYTHONPATH": src, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *forwarded],
                          capture_output=True, text=True, env=env)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        print(f"{tree}: FAILED (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-3:]}", flush=True)
        return None
    return json.loads(lines[-1])


def compare(saves: dict[str, str]) -> str:
    import torch

    outs = {tree: torch.load(path) for tree, path in saves.items() if os.path.exists(path)}
    if len(outs) < 2:
        return "outputs: fewer than two trees ran"
    (a_name, a), (b_name, b) = list(outs.items())[:2]
    rel = float(torch.linalg.norm(b - a) / torch.linalg.norm(a))
    return f"outputs {b_name} vs {a_name}: max-abs {float((b - a).abs().max()):.2e}, relative L2 {rel:.2e}"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args)))
        return 0
    srcs = {"new": args.new, "base": args.base}
    trees = [t for t in args.trees.split(",") if t]
    if any(t not in srcs or srcs[t] is None for t in trees):
        raise SystemExit(f"--trees {args.trees!r}: each must be 'new' or 'base' (base needs --base)")
    results: dict[str, list[dict]] = {t: [] for t in trees}
    what = f"{args.preset} {args.dtype}{' compiled' if args.compile else ''} threads={args.threads}"
    with tempfile.TemporaryDirectory() as tmp:
        saves = {t: os.path.join(tmp, f"{t}.pt") for t in trees}
        for r in range(args.rounds):
            for tree in trees:
                res = child(tree, srcs[tree], args, saves[tree])
                if res:
                    results[tree].append(res)
                    walls = " ".join(f"{w:.2f}" for w in res["walls"])
                    print(f"round {r + 1} {tree:<4} {what}: wall {res['wall_s']:.2f} s/step "
                          f"(steps {walls}), process CPU {res['cpu_s']:.2f} s/step, "
                          f"peak RSS {res['peak_rss_gb']:.2f} GB", flush=True)
        print(compare(saves))
    medians = {t: (statistics.median(r["wall_s"] for r in rs), statistics.median(r["cpu_s"] for r in rs))
               for t, rs in results.items() if rs}
    for tree, (wall, cpu) in medians.items():
        print(f"median {tree:<4} {what}: wall {wall:.2f} s/step, process CPU {cpu:.2f} s/step")
    if "base" in medians and "new" in medians:
        (bw, bc), (nw, nc) = medians["base"], medians["new"]
        print(f"speed-up new vs base: wall {bw / nw:.2f}x, process CPU {bc / nc:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
