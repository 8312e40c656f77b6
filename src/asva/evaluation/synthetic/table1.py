"""The paper's Table 1 in miniature: synchrony of Static, I2VD and AVSyncD on the synthetic benchmark
(the command is `asva table1`).

For every video of the dataset's test.txt and each of its three evaluation clips (starts
k * (duration - 2) / 2), every method animates the clip's first frame with the clip's 2 s of audio and
its class prompt; the frames are scored in memory (no video encoding) with the oracle synchrony score
(`asva.metrics.oracle`) against the clip's ground-truth events and sounding-object box.
Methods: the real clips (the score's ceiling), Static (the first frame repeated), I2VD (the baseline
model without audio, if given) and AVSyncD at each audio guidance scale eta (rows named
"<label> (eta=E)", label "AVSyncD" unless --label; --no-reference leaves out the Real and Static rows so
tables of several models can be concatenated). Prints the mean and 95% interval (normal approximation,
over clips) of hit rate, false-motion rate, motion/event correlation, frame error (mean |generated -
real| over frames 2..12, a fraction of 255: fidelity to the real clip) and RelSync.

RelSync (paper eq. 2, `asva.metrics.sync_scores.relsync`) = exp(phi_gen) / (exp(phi_gt) + exp(phi_gen)),
phi the sync classifier's logit (--sync-model, default the shipped `sync-synth-tiny`; `none` drops the
column) of the clip's audio with the method's 12 frames (phi_gen) or with the real clip's 12 frames
(phi_gt). The audio is the clip's own 2 s waveform held in memory (mel via `asva.media.waveform_to_mel`
+ `normalize_mel`; no mp4 round trip, unlike `asva evaluate --generated`), and the frames go through
`asva.models.sync.score_clips` (the classifier's own frame size). The real clips' RelSync is 0.5 by
definition; it is computed anyway, as a check. After the table: the Spearman rank correlation between
per-clip RelSync and per-clip oracle correlation over all generated clips (I2VD and AVSyncD rows).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from asva.media.audio import SAMPLE_RATE
from asva.media.frames import to_uint8
from asva.metrics.oracle import load_sidecar, oracle_score, scale_box
from asva.models.registry import DEFAULT_SYNC_MODEL

SCORES = ("hit_rate", "false_motion_rate", "correlation")
SYNC_SCORE = "relsync"
FRAME_ERROR = "frame_error"
ALL_SCORES = (*SCORES, FRAME_ERROR, SYNC_SCORE)
REAL, STATIC = "Real clips (reference)", "Static"


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
    seconds: float = 0.0  # wall time of the row: generation and scoring
    generated: bool = True  # False for the reference rows (Real, Static): left out of the agreement
    generation_seconds: float | None = None  # wall time of the generation alone (None: not measured)

    @property
    def seconds_per_clip(self) -> float | None:
        """Wall seconds of generation per clip, or None where not measured (the real clips, old files)."""
        clips = len(self.scores.get("correlation", ()))
        return None if self.generation_seconds is None or not clips else self.generation_seconds / clips

    def summary(self) -> dict[str, tuple[float, float, int]]:
        """score -> (mean, 95% half-interval, number of clips with a defined value), for the scores
        this result has (RelSync only when a sync classifier was used)."""
        return {key: mean_ci(self.scores[key]) for key in ALL_SCORES if key in self.scores}


def mean_ci(values) -> tuple[float, float, int]:
    """(mean, 95% half-interval (normal approximation), count) of the finite values: the statistics
    of every synthetic table (Table 1, 2a and the applications)."""
    values = [float(v) for v in values if math.isfinite(v)]
    n = len(values)
    mean = sum(values) / n if n else float("nan")
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else float("nan")
    return mean, 1.96 * math.sqrt(var / n) if n > 1 else float("nan"), n


def load_clips(root: str | Path, *, size: int = 64, split: str = "test", limit: int | None = None,
               shard: tuple[int, int] = (0, 1)) -> list[Clip]:
    """The three evaluation clips of each test video; with `limit`, of `limit` videos spread evenly
    over the list (so every class keeps its share); `shard=(k, n)` keeps every n-th of those from k."""
    from asva.data import AVSyncDataset

    # asva's own benchmark: the real clips' frames as written, as the oracle defines them
    dataset = AVSyncDataset(root, split, size=size, mode="eval", eval_starts="three", frame_rule="exact")
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
        video = to_uint8(item["video"])
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


def frame_error(video: torch.Tensor, real: torch.Tensor) -> float:
    """Mean |generated - real| over frames 2..f, as a fraction of 255: fidelity to the real clip,
    the pixel-level stand-in for FID / FVD on the synthetic benchmark (Table 2a's question: does the
    video keep the first frame's appearance?)."""
    if video.shape != real.shape:
        raise ValueError(f"generated clip {tuple(video.shape)} and real clip {tuple(real.shape)} "
                         "differ in shape")
    return ((video[:, 1:].float() - real[:, 1:].float()).abs().mean() / 255.0).item()


def static_videos(clips: list[Clip], num_frames: int = 12) -> list[torch.Tensor]:
    return [clip.image.unsqueeze(1).expand(-1, num_frames, -1, -1) for clip in clips]


def load_pipe(model: str | Path, scheduler: str | None = None, dtype: str | torch.dtype | None = None):
    """The pipeline of a model folder or registered name (`asva.pipelines.loading.load_model`)."""
    from asva.pipelines.loading import load_model

    return load_model(model, scheduler=scheduler, dtype=dtype).pipe


def clip_size(model: str | Path, size: int | None = None) -> int:
    """The frame side the synthetic tables read clips and generate at: `size`, else the side `model` was
    trained at (`asva.pipelines.loading.model_settings`: its training.json, the registry, else 256), as
    `asva animate` picks it. The benchmark's clips are square, so a non-square model needs `size`."""
    if size is not None:
        if size < 1:
            raise ValueError(f"size must be a positive number of pixels, got {size}")
        return size
    from asva.pipelines.loading import model_settings

    side = model_settings(model)[2]
    if not isinstance(side, int):
        raise ValueError(f"model {model} was trained at {side[0]}x{side[1]} (h x w), but the synthetic "
                         "benchmark's clips are square: give --size N")
    return side


@torch.no_grad()
def generate(pipe, clips: list[Clip], *, eta: float, steps: int, batch_size: int, seed: int,
             progress: bool = True, desc: str = "", guidance_fraction: float = 1.0) -> list[torch.Tensor]:
    """Animate every clip's first frame with its audio: (3, 12, h, w) uint8 each."""
    videos = []
    for start in tqdm(range(0, len(clips), batch_size), desc=desc, disable=not progress):
        batch = clips[start:start + batch_size]
        out = pipe(torch.stack([c.image for c in batch]), torch.stack([c.audio for c in batch]),
                   [c.prompt for c in batch], use_prompt_table=True, num_inference_steps=steps,
                   audio_guidance_scale=eta, guidance_fraction=guidance_fraction,
                   generator=torch.Generator().manual_seed(seed + start))
        videos.extend(out.videos)
    return videos


def load_sync(sync_model) -> torch.nn.Module | None:
    """The sync classifier behind RelSync: a bundled name (`asva eval-sync`'s resolution), a folder or
    file, an already loaded classifier, or None / "none" (no RelSync)."""
    if sync_model is None or (isinstance(sync_model, str) and sync_model.lower() == "none"):
        return None
    if isinstance(sync_model, torch.nn.Module):
        return sync_model.eval()
    from asva.models.sync import load_sync_model

    return load_sync_model(sync_model).eval()


@dataclass
class SyncScorer:
    """RelSync of a method's clips: phi_gen against phi_gt, the real clips' phi with the same audio."""

    model: torch.nn.Module
    mels: torch.Tensor  # (n, 1, 128, 204): the clips' own audio
    phi_gt: torch.Tensor  # (n,)
    batch_size: int = 16

    @classmethod
    def build(cls, model: torch.nn.Module, clips: list[Clip], batch_size: int = 16) -> SyncScorer:
        from asva.media import normalize_mel, waveform_to_mel

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        mels = torch.stack([normalize_mel(waveform_to_mel(c.audio, sample_rate=SAMPLE_RATE)) for c in clips])
        scorer = cls(model, mels, torch.empty(0), batch_size)
        scorer.phi_gt = scorer.phi([c.video for c in clips])
        return scorer

    def phi(self, videos: list[torch.Tensor]) -> torch.Tensor:
        """(n,) logits of (clip audio, video) for each clip, in the same batches every time (so the real
        clips' own RelSync is exactly 0.5)."""
        from asva.models.sync import score_clips

        if len(videos) != len(self.mels):
            raise ValueError(f"expected one video per clip ({len(self.mels)}), got {len(videos)}")
        b = self.batch_size
        phis = [score_clips(self.model, self.mels[i:i + b], torch.stack(videos[i:i + b])).float().cpu()
                for i in range(0, len(videos), b)]
        return torch.cat(phis)

    def relsync(self, videos: list[torch.Tensor]) -> list[float]:
        from asva.metrics.sync_scores import relsync

        return relsync(self.phi_gt, self.phi(videos)).tolist()


def run_method(name: str, clips: list[Clip], make_videos, sync: SyncScorer | None = None, *,
               generated: bool = True, timed: bool = True) -> MethodResult:
    """Generate with `make_videos()` and score each clip with the oracle (and RelSync, given `sync`).
    The generation's wall time is kept apart (`generation_seconds`) unless `timed` is False."""
    began = time.perf_counter()
    videos = make_videos()
    made = time.perf_counter() - began
    result = MethodResult(name, {key: [] for key in SCORES}, generated=generated,
                          generation_seconds=made if timed else None)
    for video, clip in zip(videos, clips, strict=True):
        for key, value in score(video, clip).items():
            result.scores[key].append(value)
    result.scores[FRAME_ERROR] = [frame_error(v, c.video) for v, c in zip(videos, clips, strict=True)]
    if sync is not None:
        result.scores[SYNC_SCORE] = sync.relsync(videos)
    result.seconds = time.perf_counter() - began
    return result


def evaluate_synthetic(root: str | Path, model: str | Path, *, baseline: str | Path | None = None,
                       etas=(1.0, 4.0, 8.0), steps: int = 20, scheduler: str | None = "dpm",
                       size: int | None = None,
                       batch_size: int = 16, limit: int | None = None, seed: int = 0,
                       shard: tuple[int, int] = (0, 1), progress: bool = True,
                       sync_model=DEFAULT_SYNC_MODEL, label: str = "AVSyncD",
                       reference: bool = True, guidance_fraction: float = 1.0,
                       dtype: str | torch.dtype | None = None) -> list[MethodResult]:
    """Table 1 rows: Real and Static (if `reference`), I2VD (if `baseline`), `label` at each eta, scored
    by the oracle and, unless `sync_model` is None, by RelSync (see the module docstring). `size`:
    the frame side, default the model's own (`clip_size`)."""
    if not label or not label.strip():
        raise ValueError(f"label must name the model's rows, got {label!r}")
    clips = load_clips(root, size=clip_size(model, size), limit=limit, shard=shard)
    classifier = load_sync(sync_model)
    sync = SyncScorer.build(classifier, clips, batch_size) if classifier is not None else None
    results = []
    if reference:
        results += [run_method(REAL, clips, lambda: [c.video for c in clips], sync, generated=False,
                               timed=False),
                    run_method(STATIC, clips, lambda: static_videos(clips), sync, generated=False)]
    kw = {"steps": steps, "batch_size": batch_size, "seed": seed, "progress": progress,
          "guidance_fraction": guidance_fraction}
    if baseline is not None:
        pipe = load_pipe(baseline, scheduler, dtype)
        results.append(run_method("I2VD", clips, lambda: generate(pipe, clips, eta=1.0, desc="I2VD", **kw),
                                  sync))
    pipe = load_pipe(model, scheduler, dtype)
    for eta in etas:
        name = f"{label} (eta={eta:g})"
        results.append(run_method(name, clips, lambda eta=eta, name=name: generate(pipe, clips, eta=eta,
                                                                                  desc=name, **kw), sync))
    return results


def agreement(results: list[MethodResult], oracle_key: str = "correlation") -> dict | None:
    """Spearman rank correlation between per-clip RelSync and the per-clip oracle `oracle_key` over all
    generated clips (the rows with `generated`), or None without RelSync or generated rows."""
    from asva.evaluation.synthetic.agreement import spearman

    rows = [r for r in results if r.generated and SYNC_SCORE in r.scores]
    if not rows:
        return None
    rho, n = spearman([v for r in rows for v in r.scores[SYNC_SCORE]],
                      [v for r in rows for v in r.scores[oracle_key]])
    return {"spearman": rho, "num_clips": n, "oracle_key": oracle_key, "methods": [r.name for r in rows]}


def format_agreement(found: dict | None) -> str:
    if found is None:
        return "RelSync vs oracle: no generated clips with RelSync"
    return (f"RelSync vs oracle {found['oracle_key']}: Spearman rho = {found['spearman']:.3f} over "
            f"{found['num_clips']} generated clips ({', '.join(found['methods'])})")


def format_table(results: list[MethodResult]) -> str:
    keys = [k for k in ALL_SCORES if any(k in r.scores for r in results)]
    titles = {"hit_rate": "hit rate (up)", "false_motion_rate": "false-motion rate (down)",
              "correlation": "correlation (up)", FRAME_ERROR: "frame error (down)",
              SYNC_SCORE: "RelSync (up)"}
    lines = ["| method | clips | " + " | ".join(titles[k] for k in keys) + " | s / clip | seconds |",
             "|---|---|" + "---|" * len(keys) + "---|---|"]
    for r in results:
        s = r.summary()
        cells = [f"{s[k][0]:.3f} +- {s[k][1]:.3f}" if k in s else "-" for k in keys]
        per_clip = "" if r.seconds_per_clip is None else f"{r.seconds_per_clip:.3f}"
        lines.append(f"| {r.name} | {s['correlation'][2]} | " + " | ".join(cells)
                     + f" | {per_clip} | {r.seconds:.0f} |")
    return "\n".join(lines)


def to_json(results: list[MethodResult], found: dict | None) -> dict:
    methods = [{"method": r.name, "generated": r.generated, "summary": r.summary(), "scores": r.scores,
                "seconds": r.seconds, "generation_seconds": r.generation_seconds} for r in results]
    return {"methods": methods, "agreement": found}


def merge(files: list[Path]) -> list[MethodResult]:
    """Combine the per-clip scores of `--json` files written by shards of one evaluation. Files of older
    versions (a bare list of methods, no RelSync) merge too: a score a file lacks counts as absent (nan)
    for its clips, and a score no file has is left out. The generation seconds add up over the files; a
    row that lacks them in any file (older files, the real clips) has none (a blank s / clip)."""
    merged: dict[str, MethodResult] = {}
    untimed: set[str] = set()
    for path in files:
        data = json.loads(Path(path).read_text())
        for row in data["methods"] if isinstance(data, dict) else data:
            name = row["method"]
            generated = row.get("generated", name not in (REAL, STATIC))
            result = merged.setdefault(name, MethodResult(name, {k: [] for k in ALL_SCORES}, 0.0, generated))
            num = len(row["scores"]["correlation"])
            for key in ALL_SCORES:
                values = row["scores"].get(key)
                result.scores[key].extend([math.nan] * num if values is None else
                                          [math.nan if v is None else v for v in values])
            result.seconds += row["seconds"]
            if row.get("generation_seconds") is None:
                untimed.add(name)
            else:
                result.generation_seconds = (result.generation_seconds or 0.0) + row["generation_seconds"]
    for result in merged.values():
        if result.name in untimed:
            result.generation_seconds = None
        result.scores = {k: v for k, v in result.scores.items()
                         if k in SCORES or not all(math.isnan(x) for x in v)}
    return list(merged.values())
