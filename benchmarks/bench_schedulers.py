"""Steps vs quality of the schedulers on the synthetic benchmark: one line per figure.

Usage: python benchmarks/bench_schedulers.py [--dataset DIR] [--model DIR_OR_NAME] [--videos 64]
    [--eta 4] [--reference pndm:50] [--schedulers dpm unipc] [--steps 3 5 10 15 20] [--batch-size 8]
    [--threads 1]

AVSyncD at one audio guidance scale animates the centre clip (start (duration - 2) / 2) of `--videos`
test videos spread evenly over test.txt, once with the reference scheduler/steps and once per scheduler
and step count of the ladder; every run is scored with the oracle exactly as `asva table1`
does (same clips, prompts, seeds). Prints the oracle correlation (mean +- 95% interval), hit rate,
false-motion rate and seconds of each run, then the fewest steps at which each scheduler's mean
correlation is within 5% of the reference's (at least 95% of it; better counts as a match).
"""
from __future__ import annotations

import argparse
import time

import torch

from asva.evaluation.synthetic.table1 import clip_size, generate, load_clips, run_method
from asva.pipelines.loading import load_model
from asva.pipelines.schedulers import make_scheduler


def _line(name: str, steps: int, result) -> str:
    s = result.summary()
    mean, half, n = s["correlation"]
    return (f"{name:6s} steps={steps:3d}  correlation {mean:.3f} +- {half:.3f} (n={n})  "
            f"hit rate {s['hit_rate'][0]:.3f}  false-motion rate {s['false_motion_rate'][0]:.3f}  "
            f"{result.seconds:6.1f} s")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="/tmp/asva_train/data/synth", help="an `asva synth` benchmark")
    p.add_argument("--model", default="src/asva/assets/models/synth-tiny")
    p.add_argument("--videos", type=int, default=64, help="test videos, spread evenly over test.txt")
    p.add_argument("--eta", type=float, default=4.0)
    p.add_argument("--reference", default="pndm:50", help="SCHEDULER:STEPS to match")
    p.add_argument("--schedulers", nargs="+", default=["dpm", "unipc"])
    p.add_argument("--steps", type=int, nargs="+", default=[3, 5, 10, 15, 20])
    p.add_argument("--size", type=int, help="frame side (default: the model's training size)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tolerance", type=float, default=0.05)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    size = clip_size(args.model, args.size)
    clips = load_clips(args.dataset, size=size, limit=args.videos)[1::3]  # centre starts only
    pipe = load_model(args.model).pipe
    base = dict(pipe.scheduler.config)  # the model's training schedule (prediction type, betas)

    def run(name: str, steps: int):
        pipe.scheduler = make_scheduler(name, base)
        result = run_method(f"{name}-{steps}", clips, lambda: generate(
            pipe, clips, eta=args.eta, steps=steps, batch_size=args.batch_size, seed=args.seed,
            progress=False))
        print(_line(name, steps, result), flush=True)
        return result.summary()["correlation"][0]

    print(f"AVSyncD eta={args.eta:g}, {len(clips)} centre clips of {args.dataset}, model {args.model}, "
          f"{torch.get_num_threads()} thread(s)")
    ref_name, _, ref_steps = args.reference.partition(":")
    reference = run(ref_name, int(ref_steps or 50))
    target = reference - args.tolerance * abs(reference)
    fewest = {}
    for name in args.schedulers:
        fewest[name] = None
        for steps in sorted(args.steps):
            if run(name, steps) >= target and fewest[name] is None:
                fewest[name] = steps
    for name, steps in fewest.items():
        found = f"{steps} steps" if steps else f"not reached within {max(args.steps)} steps"
        print(f"fewest {name} steps within {args.tolerance:.0%} of {args.reference} correlation "
              f"({reference:.3f}, target >= {target:.3f}): {found}")


if __name__ == "__main__":
    began = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - began:.0f} s")
