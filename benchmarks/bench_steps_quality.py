"""Steps vs quality: samplers, step counts, partial guidance and bf16 on the synthetic Table 1.

    python benchmarks/bench_steps_quality.py --dataset data/synth --limit 8
    python benchmarks/bench_steps_quality.py --dataset data/synth --configs pndm-50,dpm-15,dpm-15-g0.6

Each configuration animates the same test clips with the bundled model (or --model) at eta 4 and scores
them with the oracle and RelSync (`asva.evaluation.synthetic.table1`, as `asva table1`), one row per
configuration, with the wall seconds and NFE: network evaluations per clip (a guided step is 2,
an unguided one 1).
A configuration is SAMPLER-STEPS[-gFRACTION][-bf16], e.g. dpm-15-g0.6 = DPM-Solver++ 15 steps,
guidance on the first 60% of them; pndm-50 is the paper's sampler.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

DEFAULT_CONFIGS = "pndm-50,dpm-20,dpm-15,dpm-10,unipc-10,dpm-15-g0.6,dpm-20-bf16"


def parse_config(text: str) -> dict:
    parts = text.split("-")
    if len(parts) < 2 or not parts[1].isdigit():
        raise ValueError(f"config {text!r}: expected SAMPLER-STEPS[-gFRACTION][-bf16]")
    config = {"scheduler": parts[0], "steps": int(parts[1]), "fraction": 1.0, "dtype": torch.float32}
    for part in parts[2:]:
        if part == "bf16":
            config["dtype"] = torch.bfloat16
        elif part.startswith("g"):
            config["fraction"] = float(part[1:])
        else:
            raise ValueError(f"config {text!r}: unknown part {part!r}")
    return config


def nfe(scheduler: str, steps: int, fraction: float) -> int:
    """Network evaluations per clip: 2 per guided step, 1 per unguided one (as the pipeline counts)."""
    from asva.pipelines.schedulers import make_scheduler

    sched = make_scheduler(scheduler)
    sched.set_timesteps(steps)
    calls = len(sched.timesteps)
    guided = round(fraction * calls)
    return 2 * guided + (calls - guided)


def main(argv=None) -> int:
    from asva.evaluation.synthetic.table1 import evaluate_synthetic, format_table

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True, help="an `asva synth` benchmark folder")
    p.add_argument("--model", default="asva-synth-tiny", help="model (default asva-synth-tiny)")
    p.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma-separated (default {DEFAULT_CONFIGS})")
    p.add_argument("--limit", type=int, default=8, help="test videos, 3 clips each (default 8)")
    p.add_argument("--eta", type=float, default=4.0, help="audio guidance scale (default 4)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = []
    for text in args.configs.split(","):
        c = parse_config(text)
        began = time.perf_counter()
        rows = evaluate_synthetic(args.dataset, args.model, etas=(args.eta,), steps=c["steps"],
                                  scheduler=c["scheduler"], limit=args.limit, reference=not results,
                                  label=f"{text} NFE {nfe(c['scheduler'], c['steps'], c['fraction'])}",
                                  guidance_fraction=c["fraction"], dtype=c["dtype"], progress=False)
        results += rows
        print(format_table(rows).splitlines()[-1], f"({time.perf_counter() - began:.0f} s)", flush=True)
    print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
