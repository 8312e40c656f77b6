"""Throughput of `asva curate` on CPU: clips/s per stage, local process pool vs Ray local, and a
projection to 200,000 videos on N workers.

    python benchmarks/bench_curate.py --input /work/runs/curate/defects/input --videos 24 --workers 2

1. Per stage, in this process on one thread: seconds per clip (per video for decode and scenes),
   over the first `--videos` videos of INPUT (a folder `asva curate` reads).
2. End to end, the same videos with `--workers` processes, then with Ray local (`--workers` actors);
   Ray's start-up is timed apart from the run. The runs alternate local / Ray `--repeats` times.
3. Projection: videos per hour = workers x 3600 / (CPU seconds per video), for N workers.
Stages as in the synthetic proof: semantic = the bundled autoencoder stand-in, sync = sync-synth-tiny,
IA / IT skipped (an ImageBind-huge forward is far heavier; see docs/curation.md).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch

from asva.curation.config import load_config
from asva.curation.models import ModelSpec, load_models
from asva.curation.process import curate_video
from asva.curation.runner import RunSpec, curate
from asva.curation.sources import read_sources

SKIP = ("alignment",)


def per_stage(items, spec: RunSpec) -> dict:
    torch.set_num_threads(1)
    models = load_models(spec.models, spec.skip)
    timings: dict = {}
    start = time.process_time()
    for item in items:
        curate_video(item, spec.config, models, spec.skip, timings)
    return {"timings": timings, "cpu_per_video": (time.process_time() - start) / len(items)}


def end_to_end(items, spec: RunSpec, workers: int, use_ray: bool) -> float:
    out = Path(tempfile.mkdtemp(prefix="bench_curate_"))
    try:
        start = time.perf_counter()
        curate(items, out, spec, workers=workers, use_ray=use_ray, progress=False, write=False)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", required=True, help="a folder asva curate reads")
    p.add_argument("--videos", type=int, default=24, help="videos to time (default 24)")
    p.add_argument("--workers", type=int, default=2, help="processes / Ray actors (default 2)")
    p.add_argument("--repeats", type=int, default=1, help="alternating local / Ray runs (default 1)")
    p.add_argument("--stages-only", action="store_true", help="only the per-stage table and projection")
    p.add_argument("--project", type=int, nargs="+", default=[2, 16, 64, 256], help="N workers to project")
    args = p.parse_args()
    items = read_sources(args.input)[: args.videos]
    spec = RunSpec(
        load_config("synthetic"), ModelSpec(embedder="synth-ae", sync_model="sync-synth-tiny"), SKIP
    )
    stats = per_stage(items, spec)
    print(f"per stage, 1 thread, {len(items)} videos of {args.input}:")
    print("| stage | units | wall s | CPU s | units per CPU s |\n| --- | ---: | ---: | ---: | ---: |")
    for name, (wall, cpu, count) in stats["timings"].items():
        unit = "videos" if name in ("decode", "scenes") else "clips"
        print(f"| {name} | {count} {unit} | {wall:.2f} | {cpu:.2f} | {count / max(cpu, 1e-9):.1f} |")
    print(f"CPU seconds per video (all stages, one thread): {stats['cpu_per_video']:.3f}")
    for n in args.project:
        hours = 200_000 * stats["cpu_per_video"] / n / 3600
        print(f"projection: 200,000 videos like these on {n} workers: {hours:.1f} h")
    if args.stages_only:
        return
    import ray

    for r in range(args.repeats):
        local = end_to_end(items, spec, args.workers, use_ray=False)
        start = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        startup = time.perf_counter() - start
        remote = end_to_end(items, spec, args.workers, use_ray=True)
        ray.shutdown()
        print(
            f"repeat {r}: local pool ({args.workers} processes) {local:.1f} s = {len(items) / local:.2f} "
            f"videos/s; Ray local ({args.workers} actors) {remote:.1f} s = "
            f"{len(items) / remote:.2f} videos/s "
            f"(+ {startup:.1f} s ray.init)"
        )


if __name__ == "__main__":
    main()
