"""Does RelSync agree with the oracle synchrony score? Spearman over generated clips.

A folder of generated clips: any `*.mp4` with a sidecar `.json` next to it, holding the
ground-truth clip's `asva synth` sidecar (`file`, `event_times`, `event_durations`,
`sounding_box`, `width`, `height`) plus `start`, the second of the ground-truth video where the
generated clip begins (default 0). For each clip:

- the generated frames 0..11 are read as written (`read_video(rule="exact")`), for RelSync and the
  oracle alike: the official rule would drop frame 2 of a 6-fps file (stamped 0.333333 s < 1/3) and
  repeat the last, a 1/6-s shift that a classifier trained on 0.2-s shifts reads as out of sync
  (`asva table1` scores the frames in memory, as generated, so the two tools agree);
- phi_gen = phi(ground-truth audio of [start, start + 2 s), those generated frames),
  phi_gt  = phi(the same audio, the ground-truth frames of that window, official rule);
- RelSync = softmax([phi_gt, phi_gen])[1] (`asva.metrics.sync_scores.relsync`);
- the oracle score of the generated frames against the ground-truth events of the window
  (`asva.metrics.oracle.oracle_score`, box mapped onto the generated frames' centre square).

`make_standins` writes such a folder from a synthetic dataset without a generator: per test
clip, the ground truth itself, the video delayed against its audio, and a frozen first frame.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from tqdm import tqdm

from asva.data.shifted import clip_mel
from asva.data.validate import read_list
from asva.evaluation.sync_classifier import phi_of, read_clip_frames
from asva.media import SAMPLE_RATE, read_audio, write_video
from asva.media.write import audio_track
from asva.metrics.oracle import load_sidecar, oracle_score, scale_box
from asva.metrics.sync_scores import relsync
from asva.models.sync import SyncClassifier
from asva.utils import atomic_path

ORACLE_KEYS = ("correlation", "hit_rate", "false_motion_rate")
CLIP_FPS = 6.0


def generated_clips(folder: str | Path) -> list[Path]:
    """Every `*.mp4` under `folder` (recursively) that has a `.json` sidecar, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"generated clip folder {str(folder)!r} does not exist")
    clips = sorted(p for p in folder.rglob("*.mp4") if p.with_suffix(".json").is_file())
    if not clips:
        raise ValueError(f"no .mp4 with a .json sidecar under {folder}")
    return clips


def score_generated_clip(model: SyncClassifier, clip: Path, data_root: str | Path) -> dict:
    """RelSync and oracle score of one generated clip (see the module docstring)."""
    meta = load_sidecar(clip)
    if "file" not in meta:
        raise ValueError(f"sidecar of {clip} lacks 'file' (the ground-truth clip, relative to DATA/videos)")
    gt = Path(data_root) / "videos" / meta["file"]
    if not gt.is_file():
        raise ValueError(f"ground-truth video {gt} of {clip} not found")
    start, n = float(meta.get("start", 0.0)), model.config.num_frames
    wave = read_audio(gt, sample_rate=SAMPLE_RATE, mono=False)[0]
    mel = clip_mel(wave, start, n / CLIP_FPS)
    written = read_clip_frames(clip, 0.0, n, CLIP_FPS, rule="exact")  # as written (module docstring)
    phi_gen = phi_of(model, mel, written)
    phi_gt = phi_of(model, mel, read_clip_frames(gt, start, n, CLIP_FPS))
    box = scale_box(meta["sounding_box"], meta["width"], meta["height"], tuple(written.shape[-2:]))
    times = [t - start for t in meta["event_times"]]
    oracle = oracle_score(written, CLIP_FPS, times, box, meta.get("event_durations"))
    rel = float(relsync(torch.tensor([phi_gt]), torch.tensor([phi_gen]))[0])
    return {"clip": str(clip), "variant": meta.get("variant"), "phi_gen": phi_gen, "phi_gt": phi_gt,
            "relsync": rel, "oracle": oracle.as_dict()}


def spearman(x, y) -> tuple[float, int]:
    """(Spearman rho, number of pairs) over the pairs where both values are finite."""
    pairs = [(a, b) for a, b in zip(x, y, strict=True) if math.isfinite(a) and math.isfinite(b)]
    if len(pairs) < 3:
        return math.nan, len(pairs)
    a, b = zip(*pairs, strict=True)
    rho = spearmanr(a, b).statistic
    return float(rho), len(pairs)


def relsync_oracle_agreement(model: SyncClassifier, folder: str | Path, data_root: str | Path, *,
                             oracle_key: str = "correlation", progress: bool = False) -> dict:
    """Spearman rank correlation between per-clip RelSync and the oracle's `oracle_key`."""
    if oracle_key not in ORACLE_KEYS:
        raise ValueError(f"oracle key must be one of {ORACLE_KEYS}, got {oracle_key!r}")
    clips = tqdm(generated_clips(folder), desc="RelSync vs oracle", unit="clip", disable=not progress)
    rows = [score_generated_clip(model, clip, data_root) for clip in clips]
    rel = [r["relsync"] for r in rows]
    result = {"folder": str(folder), "data": str(data_root), "num_clips": len(rows), "oracle_key": oracle_key}
    for key in ORACLE_KEYS:
        rho, n = spearman(rel, [r["oracle"][key] for r in rows])
        result[f"spearman_{key}"], result[f"pairs_{key}"] = rho, n
    result["spearman"] = result[f"spearman_{oracle_key}"]
    variants = sorted({r["variant"] for r in rows if r["variant"] is not None})
    result["by_variant"] = {}
    for v in variants:
        group = [r for r in rows if r["variant"] == v]
        result["by_variant"][v] = {"num_clips": len(group),
                                   "relsync_mean": float(np.mean([r["relsync"] for r in group])),
                                   "oracle_mean": float(np.nanmean([r["oracle"][oracle_key] for r in group]))}
    result["per_clip"] = rows
    return result


def _standin_variants(gt_frames: torch.Tensor, delayed: dict[float, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {"gt": gt_frames}
    out.update({f"delay{int(round(d * 1000)):03d}ms": v for d, v in delayed.items()})
    out["static"] = gt_frames[:, :1].expand_as(gt_frames).contiguous()
    return out


def make_standins(data_root: str | Path, out: str | Path, *, split: str = "test", limit: int | None = None,
                  delays: tuple[float, ...] = (0.17, 0.33, 0.5), num_frames: int = 12) -> list[Path]:
    """Write stand-in "generated" clips (12 frames at 6 fps, 2 s, with the ground-truth audio) for the
    clips of DATA/<split>.txt: `gt`, `delay<ms>` (frames taken `d` s earlier, so the picture lags
    the sound) and `static` (the first frame held). Returns the mp4 paths."""
    root, out = Path(data_root), Path(out)
    lines, _ = read_list(root / f"{split}.txt")
    written = []
    for _, rel in lines[:limit]:
        gt = root / "videos" / rel
        meta = load_sidecar(gt)
        duration = float(meta.get("duration", 0.0))
        start = max(max(delays, default=0.0), (duration - num_frames / CLIP_FPS) / 2)
        if start + num_frames / CLIP_FPS > duration + 1e-6:
            continue  # too short to delay by the largest delay
        frames = read_clip_frames(gt, start, num_frames, CLIP_FPS)
        delayed = {d: read_clip_frames(gt, start - d, num_frames, CLIP_FPS) for d in delays}
        wave = audio_track(read_audio(gt, sample_rate=SAMPLE_RATE, mono=False))
        first = round(start * SAMPLE_RATE)
        audio = wave[first:first + round(num_frames / CLIP_FPS * SAMPLE_RATE)]
        for name, video in _standin_variants(frames, delayed).items():
            path = out / Path(rel).parent / f"{Path(rel).stem}__{name}.mp4"
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                write_video(tmp, video, CLIP_FPS, audio=audio, sample_rate=SAMPLE_RATE, lossless=True)
            with atomic_path(path.with_suffix(".json")) as tmp:
                tmp.write_text(json.dumps({**meta, "start": start, "variant": name}, indent=1) + "\n")
            written.append(path)
    if not written:
        raise ValueError(f"no clip of {root / f'{split}.txt'} is long enough for the stand-ins")
    return written
