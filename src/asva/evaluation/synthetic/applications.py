"""The paper's applications in miniature, measured on the synthetic benchmark (`asva applications`).

A. Target object. Every evaluation clip (three per video, as `asva.evaluation.synthetic.table1`) of the
   split's two-object videos (a sounding object and a silent one of another class) is animated from
   its first frame with its own audio and prompt. Motion energy of a region = mean over frames
   k = 1..f-1 of the oracle's motion signal (mean |frame k - frame k-1| as a fraction of the value
   range, `asva.metrics.oracle`), inside the sounding object's box ("target") and inside the silent
   object's box ("other"), the boxes' overlap excluded. Reported: both energies, their ratio (the
   geometric mean of per-clip ratios (target + EPS) / (other + EPS), with a 95% interval), the
   fraction of clips where the target moves more, and the oracle correlation of the target box's
   and of the other box's motion with the driving audio's events (is synchronous motion localized?).
   Rows: the real clips (reference) and AVSyncD; then the swap: the same first frame driven by the
   audio and prompt of a clip of the silent object's class (the first video of the split whose
   sounding object has that class, same clip index), where the target is the formerly silent object.
B. Cross-class sound. `--limit` single-object videos (spread evenly over the split, 3 clips each)
   are animated with (i) their own audio and (ii) the audio of a clip of the next class in sorted
   order (chosen as above); the prompt stays the image's own. The motion inside the object's box is
   correlated (oracle correlation) with the events of the driving audio and of the other audio
   (for own-audio rows: the cross clip's events, i.e. the chance level). Motion energy and the
   active fraction (frames with at least half the clip's largest motion) are also listed per
   driving class, to see whether a sustained-note class moves longer than a percussive one.

Prints Markdown tables (mean +- 95% interval, normal approximation over clips) and, with
`--json`, writes every per-clip value and the summaries.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from asva.evaluation.synthetic.table1 import Clip, clip_size, generate, load_clips, load_pipe, mean_ci
from asva.metrics.oracle import oracle_score, scale_box, sidecar_objects

EPS = 1e-3  # added to both energies of a ratio: a quarter of a grey level, so a still region is finite
DEFAULT_MODEL = "asva-synth-tiny"
FPS = 6.0  # the frame rate load_clips reads at (AVSyncDataset's default)


# ----------------------------------------------------------------------------- region motion

def box_mask(box, size: int) -> torch.Tensor:
    """(size, size) bool mask of `box` = (x0, y0, x1, y1) pixels, rounded and clipped as the oracle."""
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    mask = torch.zeros(size, size, dtype=torch.bool)
    mask[max(y0, 0):max(min(y1, size), 0), max(x0, 0):max(min(x1, size), 0)] = True
    return mask


def region_motion(video: torch.Tensor, mask: torch.Tensor, *,
                  value_range: float | None = None) -> torch.Tensor:
    """(f,) mean |frame k - frame k-1| over the channels and the pixels of `mask` (h, w), in units of
    the value range (255 for uint8, 2 for float frames in [-1, 1]); m[0] = 0, as the oracle's signal."""
    if video.ndim != 4 or video.shape[0] not in (1, 3):
        raise ValueError(f"expected a video (c, f, h, w) with c in (1, 3), got shape {tuple(video.shape)}")
    if mask.shape != video.shape[-2:]:
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match the frames "
                         f"{tuple(video.shape[-2:])}")
    if not mask.any():
        raise ValueError("the region mask is empty")
    if value_range is None:
        value_range = 255.0 if video.dtype == torch.uint8 else 2.0
    frames = video.to(torch.float32)
    diffs = (frames[:, 1:] - frames[:, :-1]).abs().mean(dim=0)  # (f-1, h, w)
    return torch.cat([torch.zeros(1), diffs[:, mask].mean(dim=1) / value_range])


def motion_energy(m: torch.Tensor) -> float:
    """Mean of a motion signal over frames 1..f-1 (the frame differences)."""
    return float(m[1:].mean())


def active_fraction(m: torch.Tensor, *, min_motion: float = 0.002) -> float:
    """Fraction of frames 1..f-1 with at least half the largest motion (0 for a still clip)."""
    peak = float(m[1:].max())
    return 0.0 if peak < min_motion else float((m[1:] >= 0.5 * peak).float().mean())


def two_region_masks(box_a, box_b, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks of two boxes with their overlap removed from both."""
    a, b = box_mask(box_a, size), box_mask(box_b, size)
    both = a & b
    a, b = a & ~both, b & ~both
    if not a.any() or not b.any():
        raise ValueError(f"boxes {tuple(box_a)} and {tuple(box_b)} leave no pixels outside their overlap")
    return a, b


# ----------------------------------------------------------------------------- clip selection

def silent_object(meta: dict) -> dict | None:
    """The silent object of a two-object clip (one sounding, one silent), else None."""
    objs = sidecar_objects(meta)
    silent = [o for o in objs if not o["sounding"]]
    return silent[0] if len(objs) == 2 and len(silent) == 1 else None


def group_videos(clips: list[Clip]) -> dict[str, list[Clip]]:
    """file -> its evaluation clips in order (index = clip index), videos in split order."""
    videos: dict[str, list[Clip]] = {}
    for clip in clips:
        videos.setdefault(clip.meta["file"], []).append(clip)
    return videos


def spread(items: list, limit: int | None) -> list:
    """`limit` items spread evenly over the list (every class keeps its share), or all of them."""
    n = len(items)
    if limit is None or limit >= n:
        return list(items)
    if limit < 1:
        raise ValueError(f"limit must be a positive number of videos, got {limit}")
    return [items[i] for i in sorted({round(i * n / limit) for i in range(limit)})]


def two_object_clips(videos: dict[str, list[Clip]]) -> list[tuple[Clip, int]]:
    """(clip, clip index) of every clip of the two-object videos."""
    pairs = [(c, k) for cs in videos.values() if silent_object(cs[0].meta) for k, c in enumerate(cs)]
    if not pairs:
        raise ValueError(f"none of the {len(videos)} videos has two objects (a sounding and a silent one): "
                         "experiment A needs an `asva synth` benchmark with two_object_fraction > 0")
    return pairs


def single_object_clips(videos: dict[str, list[Clip]], limit: int | None) -> list[tuple[Clip, int]]:
    singles = [cs for cs in videos.values() if len(sidecar_objects(cs[0].meta)) == 1]
    if not singles:
        raise ValueError(f"none of the {len(videos)} videos has a single object: experiment B needs some")
    return [(c, k) for cs in spread(singles, limit) for k, c in enumerate(cs)]


def driver(videos: dict[str, list[Clip]], cls: str, clip_index: int) -> Clip:
    """Clip `clip_index` of the first video (split order) whose sounding object is of class `cls`."""
    for clips in videos.values():
        if clips[0].meta["class"] == cls:
            return clips[min(clip_index, len(clips) - 1)]
    raise ValueError(f"no video of class {cls!r} in the split to take a driving audio from")


def next_class(videos: dict[str, list[Clip]], cls: str) -> str:
    """The class after `cls` in sorted order among the split's sounding classes (wrapping)."""
    classes = sorted({cs[0].meta["class"] for cs in videos.values()})
    if len(classes) < 2:
        raise ValueError(f"cross-class driving needs two classes in the split, got {classes}")
    return classes[(classes.index(cls) + 1) % len(classes)]


# ----------------------------------------------------------------------------- scoring

def correlation(video: torch.Tensor, box, events: Clip) -> float:
    """Oracle correlation of the motion inside `box` (frame pixels) with `events`' clip's events."""
    meta = events.meta
    times = [t - events.start for t in meta["event_times"]]
    return oracle_score(video, FPS, times, box, meta.get("event_durations")).correlation


def frame_box(clip: Clip, obj: dict):
    return scale_box(obj["box"], clip.meta["width"], clip.meta["height"], clip.size)


def target_record(video, clip: Clip, k: int, driving: Clip, *, swapped: bool) -> dict:
    """Motion inside the target's and the other object's boxes of one clip (experiment A)."""
    sounding = next(o for o in sidecar_objects(clip.meta) if o["sounding"])
    silent = silent_object(clip.meta)
    target, other = (silent, sounding) if swapped else (sounding, silent)
    t_box, o_box = frame_box(clip, target), frame_box(clip, other)
    t_mask, o_mask = two_region_masks(t_box, o_box, video.shape[-1])
    t, o = motion_energy(region_motion(video, t_mask)), motion_energy(region_motion(video, o_mask))
    return {"video": clip.meta["file"], "clip_index": k, "start": clip.start, "target_class": target["class"],
            "other_class": other["class"], "driver": driving.meta["file"], "driver_start": driving.start,
            "target_motion": t, "other_motion": o, "log_ratio": math.log((t + EPS) / (o + EPS)),
            "target_moves_more": float(t > o), "correlation": correlation(video, t_box, driving),
            "other_correlation": correlation(video, o_box, driving)}


def cross_record(video, clip: Clip, k: int, driving: Clip, other_audio: Clip) -> dict:
    """Synchrony and motion of the object of a single-object clip (experiment B)."""
    box = scale_box(clip.meta["sounding_box"], clip.meta["width"], clip.meta["height"], clip.size)
    m = region_motion(video, box_mask(box, video.shape[-1]))
    return {"video": clip.meta["file"], "clip_index": k, "start": clip.start, "class": clip.meta["class"],
            "driving_class": driving.meta["class"], "driver": driving.meta["file"],
            "driver_start": driving.start, "corr_driving": correlation(video, box, driving),
            "corr_other": correlation(video, box, other_audio), "motion": motion_energy(m),
            "active_fraction": active_fraction(m)}


@dataclass
class Row:
    name: str
    records: list[dict]
    seconds: float = 0.0


def summarize(row: Row, keys) -> dict[str, tuple[float, float, int]]:
    return {key: mean_ci(r[key] for r in row.records) for key in keys}


def _cell(s: tuple[float, float, int], digits: int = 3) -> str:
    return f"{s[0]:.{digits}f} +- {s[1]:.{digits}f}"


# ----------------------------------------------------------------------------- experiments

def experiment_target(videos, gen) -> list[Row]:
    """A: own audio (real clips, AVSyncD), then the silent object's class's audio and prompt."""
    pairs = two_object_clips(videos)
    clips = [c for c, _ in pairs]
    drivers = [driver(videos, silent_object(c.meta)["class"], k) for c, k in pairs]
    swapped = [replace(c, audio=d.audio, prompt=d.prompt) for c, d in zip(clips, drivers, strict=True)]
    def records(drive, swap):
        return lambda out: [target_record(v, c, k, d, swapped=swap)
                            for v, (c, k), d in zip(out, pairs, drive, strict=True)]

    return [_timed_row("Real clips (reference), own audio", lambda: [c.video for c in clips],
                       records(clips, False)),
            _timed_row("AVSyncD, own audio", lambda: gen(clips, "A own"), records(clips, False)),
            _timed_row("AVSyncD, silent object's class audio", lambda: gen(swapped, "A swap"),
                       records(drivers, True))]


def _timed_row(name: str, make, score) -> Row:
    """Make the videos, score them into records, and time both."""
    began = time.perf_counter()
    records = score(make())
    return Row(name, records, time.perf_counter() - began)


def experiment_cross(videos, gen, limit: int | None) -> list[Row]:
    """B: single-object clips with their own audio and with the next class's audio."""
    pairs = single_object_clips(videos, limit)
    clips = [c for c, _ in pairs]
    cross = [driver(videos, next_class(videos, c.meta["class"]), k) for c, k in pairs]
    driven = [replace(c, audio=d.audio) for c, d in zip(clips, cross, strict=True)]
    def records(drive, other):
        return lambda out: [cross_record(v, c, k, d, o)
                            for v, (c, k), d, o in zip(out, pairs, drive, other, strict=True)]

    return [_timed_row("Real clips (reference), own audio", lambda: [c.video for c in clips],
                       records(clips, cross)),
            _timed_row("AVSyncD, own audio", lambda: gen(clips, "B own"), records(clips, cross)),
            _timed_row("AVSyncD, next class's audio", lambda: gen(driven, "B cross"),
                       records(cross, clips))]


def evaluate_applications(root: str | Path, model: str | Path = DEFAULT_MODEL, *, split: str = "test",
                          eta: float = 4.0, steps: int = 20, scheduler: str | None = "dpm",
                          size: int | None = None,
                          batch_size: int = 16, limit: int | None = 16, seed: int = 0,
                          progress: bool = True) -> dict[str, list[Row]]:
    """{"target": experiment A rows, "cross": experiment B rows}; `size`: the frame side, default the
    model's own (`clip_size`)."""
    videos = group_videos(load_clips(root, size=clip_size(model, size), split=split))
    two_object_clips(videos)  # fail before loading the model
    single_object_clips(videos, limit)
    pipe = load_pipe(model, scheduler)

    def gen(clips: list[Clip], desc: str) -> list[torch.Tensor]:
        return generate(pipe, clips, eta=eta, steps=steps, batch_size=batch_size, seed=seed,
                        progress=progress, desc=desc)

    return {"target": experiment_target(videos, gen), "cross": experiment_cross(videos, gen, limit)}


# ----------------------------------------------------------------------------- reports

TARGET_KEYS = ("target_motion", "other_motion", "log_ratio", "target_moves_more", "correlation",
               "other_correlation")
CROSS_KEYS = ("corr_driving", "corr_other", "motion", "active_fraction")


def format_target(rows: list[Row]) -> str:
    lines = ["| method | clips | motion inside target | motion inside other | ratio target/other [95%] "
             "| target moves more | target sync corr. | other sync corr. | seconds |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        s = summarize(row, TARGET_KEYS)
        mean, half, n = s["log_ratio"]
        ratio = f"{math.exp(mean):.2f} [{math.exp(mean - half):.2f}, {math.exp(mean + half):.2f}]"
        lines.append(f"| {row.name} | {n} | {_cell(s['target_motion'], 4)} | {_cell(s['other_motion'], 4)} "
                     f"| {ratio} | {_cell(s['target_moves_more'], 2)} | {_cell(s['correlation'])} "
                     f"| {_cell(s['other_correlation'])} | {row.seconds:.0f} |")
    return "\n".join(lines)


def format_cross(rows: list[Row]) -> str:
    lines = ["| method | clips | corr. with the driving audio's events | corr. with the other audio's events "
             "| motion energy | active fraction | seconds |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        s = summarize(row, CROSS_KEYS)
        lines.append(f"| {row.name} | {s['motion'][2]} | {_cell(s['corr_driving'])} "
                     f"| {_cell(s['corr_other'])} | {_cell(s['motion'], 4)} "
                     f"| {_cell(s['active_fraction'], 2)} | {row.seconds:.0f} |")
    return "\n".join(lines)


def format_by_class(rows: list[Row]) -> str:
    """Motion energy and active fraction per driving class, for each row of experiment B."""
    heads = " | ".join(f"{r.name}: motion / active (clips)" for r in rows)
    lines = [f"| driving audio class | {heads} |",
             "|---" * (len(rows) + 1) + "|"]
    groups = [defaultdict(list) for _ in rows]
    for group, row in zip(groups, rows, strict=True):
        for record in row.records:
            group[record["driving_class"]].append(record)
    for cls in sorted({c for g in groups for c in g}):
        cells = []
        for group in groups:
            records = group.get(cls, [])
            motion, active = (mean_ci(r[k] for r in records) for k in ("motion", "active_fraction"))
            cells.append(f"{motion[0]:.4f} / {active[0]:.2f} ({motion[2]})" if records else "-")
        lines.append(f"| {cls} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(results: dict[str, list[Row]]) -> str:
    return ("A. Target object (two-object clips; the swap rows' target is the formerly silent object)\n\n"
            + format_target(results["target"]) + "\n\nB. Cross-class sound (single-object clips)\n\n"
            + format_cross(results["cross"]) + "\n\nB, per driving audio class (mean motion energy / "
            "active fraction)\n\n" + format_by_class(results["cross"]))


def to_json(results: dict[str, list[Row]], settings: dict) -> dict:
    keys = {"target": TARGET_KEYS, "cross": CROSS_KEYS}
    return {"settings": settings, "eps": EPS, **{
        name: [{"method": r.name, "seconds": r.seconds, "summary": summarize(r, keys[name]),
                "clips": r.records} for r in rows] for name, rows in results.items()}}
