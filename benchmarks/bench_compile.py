"""Eager vs `torch.compile` vs compile with inductor's weight freezing on one UNet step, CPU time.

    python benchmarks/bench_compile.py --preset tiny                 # all three modes, one process each
    python benchmarks/bench_compile.py --preset half --modes eager,freeze

Each mode runs in its own process (so one mode's compiled code and caches cannot help another):
it builds the UNet with random weights (`bench_unet_step.build`, the same seed every time), runs the
eager model once for a reference output, then (for `compile` / `freeze`) wraps it in `torch.compile`
with inductor's `freezing` off / on (freezing folds the weights into the graph as constants, which on
CPU lets oneDNN use pre-packed weights), times the first call (compiling included) and then
`--steps` further calls in process-CPU seconds, and prints one line with the largest difference from
the eager output. Inputs as in `bench_unet_step.py` (one guided pair of a 12-frame window).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODES = ("eager", "compile", "freeze")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", choices=["sd15", "half", "tiny"], default="tiny",
                   help="UNet size (default tiny)")
    p.add_argument("--size", type=int, help="latent side (default 32 for sd15/half, 8 for tiny)")
    p.add_argument("--modes", default=",".join(MODES),
                   help=f"comma-separated, of {', '.join(MODES)} (default all)")
    p.add_argument("--steps", type=int, default=3, help="timed calls after the first (default 3)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    p.add_argument("--one", choices=MODES, help=argparse.SUPPRESS)  # internal: run one mode here
    return p.parse_args(argv)


def run_one(args: argparse.Namespace) -> dict:
    import torch

    sys.path.insert(0, str(HERE))
    import bench_unet_step

    torch.set_num_threads(args.threads)
    model = bench_unet_step.build(bench_unet_step.parse_args(["--preset", args.preset]))
    x = bench_unet_step.inputs(model.config, args.size or (8 if args.preset == "tiny" else 32))
    with torch.no_grad():
        reference = model(*x)
    if args.one != "eager":
        import torch._inductor.config as inductor_config

        inductor_config.freezing = args.one == "freeze"
        model = torch.compile(model)
    cpus = []
    with torch.no_grad():
        start = time.perf_counter()
        out = model(*x)
        first = time.perf_counter() - start
        for _ in range(args.steps):
            start = time.process_time()
            out = model(*x)
            cpus.append(time.process_time() - start)
    return {"mode": args.one, "first_call_s": first, "cpu_s": cpus,
            "max_abs": float((out - reference).abs().max())}


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args)))
        return 0
    modes = [m for m in args.modes.split(",") if m]
    if any(m not in MODES for m in modes):
        raise SystemExit(f"--modes {args.modes!r}: each must be one of {', '.join(MODES)}")
    forwarded = ["--preset", args.preset, "--steps", str(args.steps), "--threads", str(args.threads)]
    forwarded += ["--size", str(args.size)] if args.size else []
    for mode in modes:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *forwarded, "--one", mode],
                              capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            tail = proc.stderr.strip().splitlines()[-3:]
            print(f"{mode}: FAILED (exit {proc.returncode}): {tail}", flush=True)
            continue
        r = json.loads(lines[-1])
        steps = " ".join(f"{c:.3f}" for c in r["cpu_s"])
        print(f"{args.preset} {mode:7s} threads={args.threads}: first call {r['first_call_s']:.1f} s wall, "
              f"then process CPU {sorted(r['cpu_s'])[len(r['cpu_s']) // 2]:.3f} s/step ({steps}), "
              f"max-abs vs eager {r['max_abs']:.2e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
