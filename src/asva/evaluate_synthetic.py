"""The paper's Table 1 in miniature: synchrony of Static, I2VD and AVSyncD on the synthetic benchmark.

Usage:
    python -m asva.evaluate_synthetic --dataset DIR --model DIR_OR_NAME [--baseline I2VD_DIR]
        [--etas 1 4 8] [--steps 20] [--scheduler dpm] [--size 64] [--batch-size 16] [--limit N]
        [--seed 0] [--shard K/N] [--json OUT.json] [--no-progress]
    python -m asva.evaluate_synthetic --merge shard0.json shard1.json

For every video of the dataset's test.txt and each of its three evaluation clips (starts
k * (duration - 2) / 2), every method animates the clip's first frame with the clip's 2 s of audio and
its class prompt; the frames are scored in memory (no video encoding) with the oracle synchrony score
(`asva.metrics.oracle`) against the clip's ground-truth events and sounding-object box.
Methods: the real clips (the score's ceiling), Static (the first frame repeated), I2VD (the baseline
model without audio, if given) and AVSyncD at each audio guidance scale eta. Prints the mean and 95%
interval (normal approximation, over clips) of hit rate, false-motion rate and motion/event correlation.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from asva.metrics.oracle import load_sidecar, oracle_score, scale_box
from asva.train.validation import without_audio_if_needed

SCORES = ("hit_rate", "false_motion_rate", "correlation")


@dataclass
class Clip:
    image: torch.Tensor  # (3, h, w) uint8
    audio: torch.Tensor  # (n,) float32, 16 kHz
    prompt: str
    meta: dict  # the synth sidecar
    start: float
    size: int
    video: torch.Tensor  # (3, f, h, w) uint8: the real clip


@dataclass
class MethodResult:
    name: str
    scores: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, tuple[float, float, int]]:
        """score -> (mean, 95% half-interval, number of clips with a defined value)."""
        out = {}
        for key in SCORES:
            values = [v for v in self.scores.get(key, []) if not math.isnan(v)]
            n = len(values)
            mean = sum(values) / n if n else float("nan")
            var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else float("nan")
            out[key] = (mean, 1.96 * math.sqrt(var / n) if n > 1 else float("nan"), n)
        return out


def load_clips(root: str | Path, *, size: int = 64, split: str = "test", limit: int | None = None,
               shard: tuple[int, int] = (0, 1)) -> list[Clip]:
    """The three evaluation clips of each test video; with `limit`, of `limit` videos spread evenly
    over the list (so every class keeps its share); `shard=(k, n)` keeps every n-th of those from k."""
    from asva.data import AVSyncDataset

    dataset = AVSyncDataset(root, split, size=size, mode="eval", eval_starts="three")
    videos = len(dataset) // 3
    chosen = range(videos) if limit is None or limit >= videos else \
        sorted({round(i * videos / limit) for i in range(limit)})
    k, n = shard
    if not 0 <= k < n:
        raise ValueError(f"shard must be K/N with 0 <= K < N, got {k}/{n}")
    chosen = list(chosen)[k::n]
    clips = []
    for i in (3 * v + k for v in chosen for k in range(3)):
        item = dataset[i]
        if item["sidecar"] is None:
            raise ValueError(f"{item['path']} has no sidecar: --dataset must be an `asva synth` benchmark")
        video = ((item["video"] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        meta = load_sidecar(item["sidecar"])
        clips.append(Clip(video[:, 0], item["audio"], item["prompt"], meta, item["start"], size, video))
    return clips


def score(video: torch.Tensor, clip: Clip, fps: float = 6.0) -> dict[str, float]:
    """Oracle scores of one generated clip (3, f, h, w) uint8."""
    meta = clip.meta
    box = scale_box(meta["sounding_box"], meta["width"], meta["height"], clip.size)
    times = [t - clip.start for t in meta["event_times"]]
    result = oracle_score(video, fps, times, box, meta.get("event_durations"))
    return {key: getattr(result, key) for key in SCORES}


def static_videos(clips: list[Clip], num_frames: int = 12) -> list[torch.Tensor]:
    return [clip.image.unsqueeze(1).expand(-1, num_frames, -1, -1) for clip in clips]


def load_model(model: str | Path, scheduler: str | None = None):
    """A pipeline from a model folder or registered name; audio-free UNets (I2VD) are handled."""
    import asva.models.autoencoder  # noqa: F401  (diffusers loads only components of imported modules)
    from asva.pipelines.build import load_pipeline
    from asva.pipelines.schedulers import make_scheduler

    path = Path(model)
    if not path.exists():
        from asva.models.registry import resolve_model

        path = Path(resolve_model(str(model)))
    pipe = load_pipeline(path)
    if scheduler:
        pipe.scheduler = make_scheduler(scheduler, pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return without_audio_if_needed(pipe)  # I2VD: the UNet takes no audio tokens


@torch.no_grad()
def generate(pipe, clips: list[Clip], *, eta: float, steps: int, batch_size: int, seed: int,
             progress: bool = True, desc: str = "") -> list[torch.Tensor]:
    """Animate every clip's first frame with its audio: (3, 12, h, w) uint8 each."""
    videos = []
    for start in tqdm(range(0, len(clips), batch_size), desc=desc, disable=not progress):
        batch = clips[start:start + batch_size]
        out = pipe(torch.stack([c.image for c in batch]), torch.stack([c.audio for c in batch]),
                   [c.prompt for c in batch], use_prompt_table=True, num_inference_steps=steps,
                   audio_guidance_scale=eta, generator=torch.Generator().manual_seed(seed + start))
        videos.extend(out.videos)
    return videos


def run_method(name: str, clips: list[Clip], make_videos) -> MethodResult:
    began = time.perf_counter()
    videos = make_videos()
    result = MethodResult(name, {key: [] for key in SCORES})
    for video, clip in zip(videos, clips, strict=True):
        for key, value in score(video, clip).items():
            result.scores[key].append(value)
    result.seconds = time.perf_counter() - began
    return result


def evaluate_synthetic(root: str | Path, model: str | Path, *, baseline: str | Path | None = None,
                       etas=(1.0, 4.0, 8.0), steps: int = 20, scheduler: str | None = "dpm", size: int = 64,
                       batch_size: int = 16, limit: int | None = None, seed: int = 0,
                       shard: tuple[int, int] = (0, 1), progress: bool = True) -> list[MethodResult]:
    """Table 1 rows: Static, I2VD (if `baseline`), AVSyncD at each eta, scored by the oracle."""
    clips = load_clips(root, size=size, limit=limit, shard=shard)
    results = [run_method("Real clips (reference)", clips, lambda: [c.video for c in clips]),
               run_method("Static", clips, lambda: static_videos(clips))]
    kw = {"steps": steps, "batch_size": batch_size, "seed": seed, "progress": progress}
    if baseline is not None:
        pipe = load_model(baseline, scheduler)
        results.append(run_method("I2VD", clips, lambda: generate(pipe, clips, eta=1.0, desc="I2VD", **kw)))
    pipe = load_model(model, scheduler)
    for eta in etas:
        name = f"AVSyncD (eta={eta:g})"
        results.append(run_method(name, clips, lambda eta=eta, name=name: generate(pipe, clips, eta=eta,
                                                                                  desc=name, **kw)))
    return results


def format_table(results: list[MethodResult]) -> str:
    head = "| method | clips | hit rate (up) | false-motion rate (down) | correlation (up) | seconds |"
    lines = [head, "|---|---|---|---|---|---|"]
    for r in results:
        s = r.summary()
        cells = [f"{s[k][0]:.3f} +- {s[k][1]:.3f}" for k in SCORES]
        lines.append(f"| {r.name} | {s['correlation'][2]} | " + " | ".join(cells) + f" | {r.seconds:.0f} |")
    return "\n".join(lines)


def merge(files: list[Path]) -> list[MethodResult]:
    """Combine the per-clip scores of `--json` files written by shards of one evaluation."""
    merged: dict[str, MethodResult] = {}
    for path in files:
        for row in json.loads(Path(path).read_text()):
            result = merged.setdefault(row["method"], MethodResult(row["method"], {k: [] for k in SCORES}))
            for key in SCORES:
                result.scores[key].extend(row["scores"][key])
            result.seconds += row["seconds"]
    return list(merged.values())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m asva.evaluate_synthetic",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", help="an `asva synth` benchmark folder")
    p.add_argument("--model", help="AVSyncD model folder or registered name")
    p.add_argument("--baseline", help="I2VD model folder (trained with model.audio=false)")
    p.add_argument("--etas", type=float, nargs="+", default=[1.0, 4.0, 8.0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--scheduler", default="dpm")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--limit", type=int, help="only N test videos, spread evenly over test.txt")
    p.add_argument("--shard", default="0/1", help="K/N: every N-th video from the K-th (parallel runs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the per-clip scores and summaries here")
    p.add_argument("--merge", type=Path, nargs="+", help="print the table of these --json files, combined")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.merge:
        print(format_table(merge(args.merge)))
        return 0
    if not args.dataset or not args.model:
        raise ValueError("--dataset and --model are required (or --merge FILES)")
    k, _, n = args.shard.partition("/")
    results = evaluate_synthetic(args.dataset, args.model, baseline=args.baseline, etas=args.etas,
                                 steps=args.steps, scheduler=args.scheduler, size=args.size,
                                 batch_size=args.batch_size, limit=args.limit, seed=args.seed,
                                 shard=(int(k), int(n or 1)), progress=not args.no_progress)
    print(format_table(results))
    if args.json:
        from asva.utils import atomic_path

        data = [{"method": r.name, "summary": r.summary(), "scores": r.scores, "seconds": r.seconds}
                for r in results]
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
