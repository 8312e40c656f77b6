"""Oracle synchrony score: does the sounding object move exactly when its sound events happen?

Defined for clips whose event times and sounding-object box are known (the `asva synth`
benchmark's sidecars). Pure functions on tensors, plus `load_sidecar` and `score_clip` for files.

Definitions (frames are indexed k = 0..f-1 and frame k shows time k / fps):
- motion signal m[k], k >= 1: mean absolute difference between frames k and k-1 over all channels
  and the pixels of the box, as a fraction of the full value range; m[0] = 0.
- an event at time t starts at frame e = ceil(t * fps) (the first frame that can show it) and,
  with visible duration d, ends at frame ceil((t + d) * fps). Only events with 1 <= e <= f-1
  can be seen as motion; the others are ignored.
- a motion peak is a frame k with m[k] > m[k-1] and m[k] >= m[k+1] (m[f] = 0) and
  m[k] >= max(min_motion, min(m) + rel_threshold * (max(m) - min(m))).
- hit_rate: fraction of visible events with a peak within +-tolerance frames of their start.
- false_motion_rate: fraction of peaks farther than `tolerance` frames from every event's span
  [start, end] (0 when there are no peaks). A peak at frame 1 is never false: with no earlier
  motion to compare with, it may be the tail of an event before the clip began.
- correlation: Pearson correlation between m and the event indicator (1 at each event's start
  frame, smoothed with the kernel [0.25, 1, 0.25]), both over frames 1..f-1; 0 when either is
  constant.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch


@dataclass
class OracleScore:
    hit_rate: float  # nan when no event falls inside the clip
    false_motion_rate: float
    correlation: float
    num_events: int  # events visible in the clip
    num_peaks: int

    def as_dict(self) -> dict:
        return asdict(self)


def motion_signal(video: torch.Tensor, box, *, value_range: float | None = None) -> torch.Tensor:
    """(f,) mean |frame k - frame k-1| inside `box` = (x0, y0, x1, y1) pixels, in units of the
    value range (255 for uint8, 2 for float frames in model space [-1, 1]); m[0] = 0."""
    if video.ndim != 4 or video.shape[0] not in (1, 3):
        raise ValueError(f"expected a video (c, f, h, w) with c in (1, 3), got shape {tuple(video.shape)}")
    c, f, h, w = video.shape
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {tuple(box)} does not overlap the {w}x{h} frame")
    if value_range is None:
        value_range = 255.0 if video.dtype == torch.uint8 else 2.0
    region = video[:, :, y0:y1, x0:x1].to(torch.float32)
    diffs = (region[:, 1:] - region[:, :-1]).abs().mean(dim=(0, 2, 3)) / value_range  # (f-1,)
    return torch.cat([torch.zeros(1), diffs])


def event_frames(times, num_frames: int, fps: float) -> list[int]:
    """The first frame that can show each event: ceil(t * fps) (with a 1e-6 frame slack)."""
    return [math.ceil(float(t) * fps - 1e-6) for t in times]


def event_indicator(times, num_frames: int, fps: float) -> torch.Tensor:
    """(f,) 1 at each event's start frame, smoothed with [0.25, 1, 0.25]."""
    spikes = torch.zeros(num_frames + 2)
    for e in event_frames(times, num_frames, fps):
        if 0 <= e < num_frames:
            spikes[e + 1] = 1.0
    kernel = torch.tensor([[[0.25, 1.0, 0.25]]])
    return torch.nn.functional.conv1d(spikes[None, None], kernel)[0, 0].clamp(max=1.0)


def find_peaks(m: torch.Tensor, *, rel_threshold: float = 0.3, min_motion: float = 0.002) -> list[int]:
    """Frames that are local maxima of `m` above the threshold described in the module doc."""
    if m.numel() < 2:
        return []
    threshold = max(min_motion, float(m.min() + rel_threshold * (m.max() - m.min())))
    nxt = torch.cat([m[2:], torch.zeros(1, dtype=m.dtype)])  # m[k + 1] for k = 1..f-1, m[f] = 0
    is_peak = (m[1:] > m[:-1]) & (m[1:] >= nxt) & (m[1:] >= threshold)
    return (torch.nonzero(is_peak).flatten() + 1).tolist()


def _pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double() - a.double().mean(), b.double() - b.double().mean()
    denom = float(a.norm() * b.norm())
    return float((a * b).sum()) / denom if denom > 1e-12 else 0.0


def oracle_score(video: torch.Tensor, fps: float, event_times, box, event_durations=None, *,
                 tolerance: int = 1, rel_threshold: float = 0.3, min_motion: float = 0.002,
                 value_range: float | None = None) -> OracleScore:
    """Score one clip `video` (c, f, h, w) sampled at `fps` against events at `event_times`
    (seconds from the first frame) of an object inside `box` (pixels at this resolution)."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    durations = [0.0] * len(event_times) if event_durations is None else list(event_durations)
    if len(durations) != len(event_times):
        raise ValueError(f"got {len(durations)} event durations for {len(event_times)} event times")
    m = motion_signal(video, box, value_range=value_range)
    f = m.numel()
    peaks = find_peaks(m, rel_threshold=rel_threshold, min_motion=min_motion)
    starts = event_frames(event_times, f, fps)
    ends = event_frames([t + d for t, d in zip(event_times, durations, strict=True)], f, fps)
    visible = [e for e in starts if 1 <= e <= f - 1]
    hits = sum(any(abs(p - e) <= tolerance for p in peaks) for e in visible)
    false = sum(not any(s - tolerance <= p <= e + tolerance for s, e in zip(starts, ends, strict=True))
                for p in peaks if p >= 2)
    indicator = event_indicator(event_times, f, fps)
    return OracleScore(
        hit_rate=hits / len(visible) if visible else float("nan"),
        false_motion_rate=false / len(peaks) if peaks else 0.0,
        correlation=_pearson(m[1:], indicator[1:]),
        num_events=len(visible),
        num_peaks=len(peaks),
    )


def load_sidecar(path: str | os.PathLike) -> dict:
    """Read a synth sidecar: a clip's `.json` file, or the `.json` next to a given `.mp4`."""
    path = Path(path)
    if path.suffix != ".json":
        path = path.with_suffix(".json")
    if not path.is_file():
        raise ValueError(f"no sidecar at {path}; expected the .json `asva synth` writes next to each clip")
    meta = json.loads(path.read_text())
    for key in ("event_times", "sounding_box", "width", "height"):
        if key not in meta:
            raise ValueError(f"sidecar {path} lacks {key!r}")
    return meta


def sidecar_objects(meta: dict) -> list[dict]:
    """The sidecar's objects ({"class", "box", "sounding"} each); an old sidecar without them has only
    its sounding object."""
    alone = {"class": meta.get("class"), "box": meta["sounding_box"], "sounding": True}
    return meta.get("objects") or [alone]


def scale_box(box, width: int, height: int, size):
    """Map a box from a (width x height) clip to the frames `asva.media.read_video(size=...)`
    returns: the aspect crop of `asva.media.crop_box`, then the resize to `size` (an int or (h, w);
    `None`: unchanged)."""
    if size is None:
        return tuple(float(v) for v in box)
    from asva.media.transform import crop_box
    from asva.utils import as_hw

    top, crop_h, left, crop_w = crop_box(height, width, size)
    th, tw = as_hw(size)
    kx, ky = tw / crop_w, th / crop_h
    x0, y0, x1, y1 = box
    return ((x0 - left) * kx, (y0 - top) * ky, (x1 - left) * kx, (y1 - top) * ky)


def score_clip(path: str | os.PathLike, *, fps: float = 6.0, size: int | None = None, start: float = 0.0,
               duration: float | None = None, sidecar: dict | None = None, **options) -> OracleScore:
    """Read a clip's frames as written (`asva.media.read_video(rule="exact")`) at `fps` (and `size`), and
    score it against its sidecar; `start`/`duration` pick a window, events are shifted to it."""
    from asva.media import read_video  # (media is only needed for files)
    from asva.media.frames import unit_to_uint8

    meta = load_sidecar(path) if sidecar is None else sidecar
    video = read_video(path, fps=fps, size=size, start=start, duration=duration, rule="exact")
    video = video if size is None else unit_to_uint8(video)
    box = scale_box(meta["sounding_box"], meta["width"], meta["height"], size)
    times = [t - start for t in meta["event_times"]]
    return oracle_score(video, fps, times, box, meta.get("event_durations"), **options)
