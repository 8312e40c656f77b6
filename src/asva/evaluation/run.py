"""Evaluate a generated set against the test clips: features, then every requested metric.

    clips = match_generated(...)                       # via run_evaluation
    result = run_evaluation(config, extractors)        # EvalResult: metrics, per-clip rows, info

Metric values follow the paper's tables: FID and FVD as they are, IA, IT, RelSync and AlignSync
x100 (mean and unbiased std over clips), the oracle's rates as fractions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from asva.data import AVSyncDataset, sampling
from asva.metrics.clip_similarity import clip_scores, cosine_scores, frame_similarities, ia_it_metrics
from asva.metrics.frechet import frechet_distance
from asva.metrics.sync_scores import align_probs, mean_std, relsync

from .features import (
    ORACLE_FIELDS,
    Clip,
    Extractors,
    FeatureCache,
    all_cached,
    clips_features,
    frame_rule_of,
    load_generated_clip,
    test_clip_from_item,
)
from .matching import EvalClip, match_generated

METRICS = ("fid", "fvd", "ia", "it", "relsync", "alignsync", "oracle")
AUDIO_METRICS = ("ia", "relsync", "alignsync")
IT_TEXTS = ("folder", "prompt")
# feature kinds each metric needs, for (ground truth, generated) clips
NEEDS = {
    "fid": ({"fid"}, {"fid"}),
    "fvd": ({"fvd"}, {"fvd"}),
    "ia": (set(), {"vision", "audio"}),
    "it": (set(), {"vision"}),
    "relsync": ({"phi"}, {"phi"}),
    "alignsync": ({"phi", "vision0", "audio"}, {"phi", "vision", "audio"}),
    "oracle": ({"oracle"}, {"oracle"}),
}


@dataclass
class EvalConfig:
    dataset: Path
    generated: Path
    metrics: tuple[str, ...] = ("fid", "fvd", "ia", "it", "relsync", "alignsync")
    split: str = "test"
    clips_per_video: int = 3
    num_frames: int = 12
    fps: float = 6.0
    size: int | tuple[int, int] = 256  # a side (square) or (height, width)
    it_text: str = "folder"  # the official IT text is the class folder name; "prompt": class_mapping.json
    cache: Path | None = None
    progress: bool = True
    workers: int = 0  # DataLoader workers decoding clips ahead of the feature networks
    batch_size: int = 1  # clips per feature-network call (1: one clip at a time; see `pick_batch_size`)

    def __post_init__(self):
        bad = [m for m in self.metrics if m not in METRICS]
        if bad or not self.metrics:
            raise ValueError(
                f"unknown metric(s) {bad or '(none given)'}; expected some of {', '.join(METRICS)}"
            )
        if self.clips_per_video not in sampling.EVAL_STARTS.values():
            raise ValueError(
                f"clips per video must be 1 (centred clip) or 3 (the paper's protocol), "
                f"got {self.clips_per_video}"
            )
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(
                f"batch size must be an integer >= 1 (clips per network call), got {self.batch_size!r}"
            )
        if self.it_text not in IT_TEXTS:
            raise ValueError(f"it_text must be one of {IT_TEXTS}, got {self.it_text!r}")


# clips per network call for `--batch-size auto`, by device type: on a CPU one clip (its 11-12 frames
# already fill a call; larger batches measured slower, BENCHMARKS.md "Evaluation"), elsewhere 8
AUTO_BATCH_SIZES = {"cpu": 1}
AUTO_BATCH_SIZE = 8


def pick_batch_size(value: str | int, device: torch.device) -> int:
    """`--batch-size`: "auto" (`AUTO_BATCH_SIZES` for the device type) or a whole number >= 1."""
    if value == "auto":
        return AUTO_BATCH_SIZES.get(device.type, AUTO_BATCH_SIZE)
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(
            f"--batch-size {value!r}: expected auto or a whole number >= 1 (clips per network call)"
        )
    return int(text)


@dataclass
class EvalResult:
    metrics: dict[str, float]
    rows: list[dict]
    info: dict = field(default_factory=dict)


def _kinds(metrics) -> tuple[set[str], set[str]]:
    gt, gen = set(), set()
    for m in metrics:
        gt |= NEEDS[m][0]
        gen |= NEEDS[m][1]
    return gt, gen


@dataclass
class _Read:
    """One decode of one evaluation clip: its side ("gt" or "gen"), the feature kinds read with one
    frame rule, their cache source, and how to decode it."""

    side: str
    kinds: list[str]
    source: dict
    load: Callable[[], Clip]


class _Decoder(torch.utils.data.Dataset):
    """Decodes each clip's reads (in DataLoader workers), skipping a read whose features are all cached."""

    def __init__(self, reads: list[list[_Read]], nets: Extractors, cache: FeatureCache):
        self.reads, self.nets, self.cache = reads, nets, cache

    def __len__(self) -> int:
        return len(self.reads)

    def __getitem__(self, i: int) -> list[Clip | None]:
        return [None if all_cached(r.kinds, r.side, r.source, self.nets, self.cache) else r.load()
                for r in self.reads[i]]


def collect_features(
    config: EvalConfig, dataset: AVSyncDataset, clips: list[EvalClip], nets: Extractors, cache: FeatureCache
) -> tuple[dict, dict]:
    """{kind: [tensor per clip]} for the ground-truth and the generated clips, in evaluation order.
    Each kind's frames are picked by its rule (`frame_rule_of`): one decode per clip, side and rule.
    With `config.workers` > 0 the clips are decoded by that many DataLoader workers, ahead of the
    feature networks, which run in this process on `nets.device`, each called on `config.batch_size`
    clips at a time."""
    reads = [_clip_reads(config, dataset, clip) for clip in clips]
    ahead = max(4, -(-2 * config.batch_size // max(config.workers, 1)))  # keep a batch or two decoded
    decoded = torch.utils.data.DataLoader(_Decoder(reads, nets, cache), batch_size=None,
                                          num_workers=config.workers,
                                          prefetch_factor=ahead if config.workers else None)
    gt_kinds, gen_kinds = _kinds(config.metrics)
    feats = {"gt": {k: [] for k in gt_kinds}, "gen": {k: [] for k in gen_kinds}}
    with tqdm(total=len(reads), desc="evaluate", unit="clip", disable=not config.progress) as bar:
        for group in _batches(zip(reads, decoded, strict=True), config.batch_size):
            for slot, read in enumerate(group[0][0]):  # every clip has the same reads, in the same order
                loads = [_loader(clip_reads[slot], clips_of[slot]) for clip_reads, clips_of in group]
                sources = [clip_reads[slot].source for clip_reads, _ in group]
                for clip_feats in clips_features(read.kinds, read.side, sources, loads, nets, cache,
                                                 fps=config.fps):
                    for k, v in clip_feats.items():
                        feats[read.side][k].append(v)
            bar.update(len(group))
    return feats["gt"], feats["gen"]


def _loader(read: _Read, clip: Clip | None) -> Callable[[], Clip]:
    """The clip a worker decoded, or (None: all cached, or a cache entry found damaged) its decoder."""
    return read.load if clip is None else (lambda: clip)


def _batches(items, size: int):
    """Consecutive lists of `size` items (the last one shorter)."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _clip_reads(config: EvalConfig, dataset: AVSyncDataset, clip: EvalClip) -> list[_Read]:
    gt_kinds, gen_kinds = _kinds(config.metrics)
    need_audio = any(m in AUDIO_METRICS for m in config.metrics)
    protocol = {"fps": config.fps, "num_frames": config.num_frames, "size": config.size}
    _, start = dataset.clip_start(clip.index)
    gt_file = dataset.root / "videos" / clip.video
    sidecar_path = gt_file.with_suffix(".json")
    sidecar = json.loads(sidecar_path.read_text()) if "oracle" in config.metrics else None
    reads = []
    for rule, kinds in _by_rule(gt_kinds):
        source = {"file": _stat(gt_file), "start": start, **protocol, "sidecar": _stat(sidecar_path),
                  "frames": rule}
        test = dataset.with_frame_rule(rule)

        def load_gt(d=test) -> Clip:
            return test_clip_from_item(d[clip.index])

        reads.append(_Read("gt", kinds, source, load_gt))
    for rule, kinds in _by_rule(gen_kinds):

        def load_gen(r=rule) -> Clip:
            out = load_generated_clip(clip.generated, num_frames=config.num_frames, fps=config.fps,
                                      size=config.size, need_audio=need_audio, rule=r)
            out.start, out.sidecar = start + out.start, sidecar  # frame 0 shows time `start` of the test clip
            return out

        source = {"file": _stat(clip.generated), "gt_start": start, **protocol,
                  "sidecar": _stat(sidecar_path), "audio": need_audio, "frames": rule}
        reads.append(_Read("gen", kinds, source, load_gen))
    return reads


def _by_rule(kinds) -> list[tuple[str, list[str]]]:
    """[(frame rule, sorted kinds read with it)] for the feature kinds of one side."""
    rules = sorted({frame_rule_of(k) for k in kinds})
    return [(r, sorted(k for k in kinds if frame_rule_of(k) == r)) for r in rules]


def _stat(path: Path) -> str | None:
    if not path.is_file():
        return None
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def text_embeddings(nets: Extractors, texts: list[str], batch_size: int = 8) -> torch.Tensor:
    """(n, d) unit ImageBind text embeddings, each distinct text encoded once, `batch_size` at a time."""
    from asva.models.imagebind import tokenize

    unique = sorted(set(texts))
    with torch.no_grad():
        emb = torch.cat([nets.imagebind.encode_text(tokenize(chunk).to(nets.device)).float().cpu()
                         for chunk in _batches(unique, batch_size)])
    return emb[[unique.index(t) for t in texts]]


def compute_metrics(
    config: EvalConfig,
    clips: list[EvalClip],
    gt: dict,
    gen: dict,
    texts: torch.Tensor | None,
    rows: list[dict],
) -> dict[str, float]:
    """Metric values from the features; fills the per-clip `rows` as it goes."""
    out: dict[str, float] = {}
    m = config.metrics
    if "fid" in m:
        out["FID"] = frechet_distance(torch.cat(gt["fid"]), torch.cat(gen["fid"]))
    if "fvd" in m:
        out["FVD"] = frechet_distance(torch.stack(gt["fvd"]), torch.stack(gen["fvd"]))
    ia_sims = it_sims = None
    if "vision" in gen:
        vision = torch.stack(gen["vision"])  # (n, f, d)
        if "audio" in gen:
            ia_sims = frame_similarities(vision, torch.stack(gen["audio"]))  # (n, f)
        if texts is not None:
            it_sims = frame_similarities(vision, texts)
    scores = ia_it_metrics(ia_sims if "ia" in m else None, it_sims if "it" in m else None)
    out.update(scores)
    for name, sims in (("IA", ia_sims), ("IT", it_sims)):
        if sims is not None and name.lower() in m:
            _put(rows, name, clip_scores(sims) * 100)
    if "relsync" in m or "alignsync" in m:
        gt_phi, gen_phi = torch.stack(gt["phi"]), torch.stack(gen["phi"])
        rel = relsync(gt_phi, gen_phi)
        _put(rows, "phi_gt", gt_phi)
        _put(rows, "phi_gen", gen_phi)
        if "relsync" in m:
            out.update(zip(("RelSync_mean", "RelSync_std"), mean_std(rel, 100), strict=True))
            _put(rows, "RelSync", rel * 100)
        if "alignsync" in m:
            gt_first = cosine_scores(torch.stack(gt["vision0"]), torch.stack(gt["audio"]))  # (n,)
            align = align_probs(gt_first, ia_sims[:, 1:]) * rel
            out.update(zip(("AlignSync_mean", "AlignSync_std"), mean_std(align, 100), strict=True))
            _put(rows, "AlignSync", align * 100)
    if "oracle" in m:
        out.update(_oracle(rows, torch.stack(gen["oracle"]), torch.stack(gt["oracle"])))
    return out


def _oracle(rows: list[dict], gen: torch.Tensor, gt: torch.Tensor) -> dict[str, float]:
    """Mean over clips of the oracle's hit rate (clips with visible events), false-motion rate and
    correlation, for the generated clips and, as the reference, the test clips."""
    out = {}
    for side, values in (("", gen), ("_gt", gt)):
        for j, name in enumerate(ORACLE_FIELDS[:3]):
            col = values[:, j]
            finite = col[~torch.isnan(col)]
            out[f"Oracle_{name}{side}"] = finite.mean().item() if finite.numel() else math.nan
            _put(rows, f"oracle_{name}{side}", col)
    return out


def _put(rows: list[dict], key: str, values: torch.Tensor) -> None:
    for row, v in zip(rows, values.tolist(), strict=True):
        row[key] = v


def run_evaluation(config: EvalConfig, nets: Extractors) -> EvalResult:
    """Match, extract (with the cache), and compute every metric of `config.metrics`."""
    dataset = AVSyncDataset(
        config.dataset,
        config.split,
        num_frames=config.num_frames,
        fps=config.fps,
        size=config.size,
        mode="eval",
        eval_starts=sampling.eval_starts_for(config.clips_per_video),
    )
    if "oracle" in config.metrics:
        lacking = [
            e.path
            for e in dataset.entries
            if not (dataset.root / "videos" / e.path).with_suffix(".json").is_file()
        ]
        if lacking:
            raise ValueError(
                f"the oracle metric needs the `asva synth` sidecar (.json) of every test video; "
                f"{len(lacking)} lack one, e.g. {lacking[:3]}"
            )
    need_audio = any(m in AUDIO_METRICS for m in config.metrics)
    clips = match_generated(
        [e.path for e in dataset.entries],
        config.generated,
        clips_per_video=config.clips_per_video,
        num_frames=config.num_frames,
        fps=config.fps,
        need_audio=need_audio,
    )
    cache = FeatureCache(config.cache)
    gt, gen = collect_features(config, dataset, clips, nets, cache)
    texts = None
    if "it" in config.metrics:
        words = [c.cls if config.it_text == "folder" else dataset.prompts[c.cls] for c in clips]
        texts = text_embeddings(nets, words, config.batch_size)
    rows = [
        {
            "clip": c.name,
            "video": c.video,
            "class": c.cls,
            "clip_index": c.clip_index,
            "start": dataset.clip_start(c.index)[1],
        }
        for c in clips
    ]
    metrics = compute_metrics(config, clips, gt, gen, texts, rows)
    info = {
        "num_videos": len(dataset.entries),
        "num_clips": len(clips),
        "cache_hits": cache.hits,
        "cache_misses": cache.misses,
    }
    return EvalResult(metrics=metrics, rows=rows, info=info)
