"""Reading video frames with PyAV, resampled by timestamp to a target frame rate."""
from __future__ import annotations

import math
import os
from pathlib import Path

import av
import numpy as np
import torch
from einops import rearrange

from asva.media._container import check_not_truncated, open_media, timeline_origin
from asva.media.transform import Size, fit_frames

_EPS = 1e-6  # seconds: slack when turning a duration into a frame count
# frame-selection rule -> slack (seconds) of the ">= target" test: "official" as the official loader
# (a frame written at k/fps but stamped a rounded-down microsecond early is skipped), "exact" the
# frames as written (timestamps compared to the microsecond, so a frame written at k/fps is taken there)
FRAME_RULES = {"official": 0.0, "exact": 1e-6}


def pts_to_us(pts: int, num: int, den: int) -> int:
    """A timestamp of `pts` ticks of `num / den` seconds in whole microseconds, rounded half up,
    as torchvision's video_reader (which the official loader uses) reports it."""
    return (2 * pts * num * 1_000_000 + den) // (2 * den)


class FramePicker:
    """The official frame-selection rule (`load_video_clip_from_videoreader`), fed one timestamp at a time.

    A frame is taken when its time is >= the running target (which starts at `start` and grows by 1/fps
    per frame taken, a float64 running sum); frames before `start` never count; reading stops past
    `start + duration + 1/(2 fps)` or after `count` frames. Each source frame is taken at most once, so a
    source slower than `fps` gives consecutive frames and a short clip (callers pad with the last frame).
    `slack` (seconds) lowers every ">=" test by that much (`FRAME_RULES`).
    """

    def __init__(self, start: float, fps: float, duration: float | None = None, count: float = math.inf,
                 slack: float = 0.0):
        self.step, self.slack = 1.0 / fps, slack
        self.start = self.target = start
        self.bound = math.inf if duration is None else start + duration + self.step / 2.0
        self.count, self.taken, self.done = count, 0, False

    def offer(self, t: float) -> bool:
        """True when the frame at time `t` (seconds) is taken; sets `done` when no later frame can be."""
        if t < self.start - self.slack or self.done:
            return False
        if not t <= self.bound:
            self.done = True
            return False
        take = t >= self.target - self.slack
        if take:
            self.taken += 1
            self.target += self.step
        self.done = self.taken >= self.count
        return take


def select_frames(pts: list[float], start: float, *, fps: float, duration: float | None = None,
                  count: int | None = None, pad: bool = False) -> list[int]:
    """Indices of the frames (timestamps `pts`, seconds) the official rule picks; `pad` repeats the last."""
    picker = FramePicker(start, fps, duration, math.inf if count is None else count)
    chosen = []
    for i, t in enumerate(pts):
        if picker.offer(t):
            chosen.append(i)
        if picker.done:
            break
    if pad and chosen and count is not None:
        chosen += [chosen[-1]] * (count - len(chosen))
    return chosen


def _seek(container: av.container.InputContainer, stream: av.video.stream.VideoStream, t: float,
          origin: float) -> None:
    """Seek to a keyframe at or before timeline time `t` - 1 s (no-op near the beginning)."""
    if t <= 1.0 or stream.time_base is None:
        return
    container.seek(int((t - 1.0 + origin) / stream.time_base), stream=stream, backward=True)


def _frame_interval(stream: av.video.stream.VideoStream, fallback: float) -> float:
    rate = stream.average_rate or stream.guessed_rate
    return 1.0 / float(rate) if rate else fallback


def _frame_time(frame: av.VideoFrame, origin_us: int, previous: float, step: float) -> float:
    """Seconds from the timeline origin, in whole microseconds (see `pts_to_us`)."""
    if frame.pts is None or frame.time_base is None:
        return previous + step
    tb = frame.time_base
    return (pts_to_us(frame.pts, tb.numerator, tb.denominator) - origin_us) * 1e-6


class _TakeAll:
    """A picker that takes every decoded frame (for callers that apply `select_frames` themselves)."""

    done = False

    @staticmethod
    def offer(t: float) -> bool:
        return True


def _decode_frames(path: Path, picker, start: float) -> tuple[list[np.ndarray], list[float]]:
    """The RGB arrays and times (seconds) of the frames `picker` takes from the first video stream."""
    picked: list[np.ndarray] = []
    times: list[float] = []
    with open_media(path) as container:
        if not container.streams.video:
            raise ValueError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        origin = timeline_origin(container)
        _seek(container, stream, start, origin)
        origin_us = 0 if container.start_time is None else int(container.start_time)
        t, step, decoded = -math.inf, 0.0, False
        for frame in container.decode(stream):
            prev, t = t, _frame_time(frame, origin_us, t, step)
            step, decoded = (t - prev if prev > -math.inf else step), True
            if picker.offer(t):
                picked.append(_rgb(frame))
                times.append(t)
            if picker.done:
                return picked, times
        if not decoded:
            raise ValueError(f"{path}: the video stream decodes to no frames (not video, empty or truncated)")
        end = t + _frame_interval(stream, step)  # the last frame stays on screen one interval
        check_not_truncated(path, stream, end, origin)
    if not picked:
        raise ValueError(f"{path}: no video frames at start={start} s (the video lasts {end:.3f} s)")
    return picked, times


def read_all_frames(path: str | os.PathLike) -> tuple[torch.Tensor, list[float]]:
    """Every frame of the first video stream as uint8 (3, f, h, w), with its time in seconds (whole
    microseconds from the container's first timestamp): apply `select_frames` and `fit_frames` to pick
    clips from memory exactly as `read_video` would from the file."""
    frames, times = _decode_frames(Path(path), _TakeAll(), 0.0)
    return rearrange(torch.from_numpy(np.stack(frames)), "f h w c -> c f h w").contiguous(), times


def _rgb(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="rgb24")  # (h, w, 3) uint8


def read_video(
    path: str | os.PathLike,
    *,
    fps: float = 6.0,
    size: Size | None = 256,
    start: float = 0.0,
    duration: float | None = None,
    rule: str = "official",
) -> torch.Tensor:
    """Read frames of the first video stream, picked as the official loader picks them.

    Timestamps are seconds from the container's first timestamp, in whole microseconds. Frames before
    `start` never count; the first frame at or after start, start + 1/fps, ... is taken, each source
    frame at most once (`FramePicker`), up to ceil(duration * fps) frames and never past
    start + duration + 1/(2 fps). A file that ends first, or a source slower than `fps`, gives fewer
    frames (the dataset pads with the last one, as the official loader does).

    `rule="exact"` reads the frames as written instead: the same rule with timestamps compared to the
    microsecond, so a 6-fps file read at 6 fps gives its frames 0, 1, 2, ... (the official rule skips
    frame 2, stamped 0.333333 s < 1/3, and repeats the last). asva's own oracle reads this way.

    With `size` (an int or (h, w)) the frames are transformed as the official loader does
    (`asva.media.transform.fit_frames`: aspect crop, antialiased bilinear resize) and returned as
    float32 (3, f, h, w) in [0, 1]; `size=None` returns the native uint8 (3, f, h, w) frames uncropped.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if start < 0 or (duration is not None and duration <= 0):
        raise ValueError(f"start must be >= 0 and duration > 0, got start={start}, duration={duration}")
    if rule not in FRAME_RULES:
        raise ValueError(f"frame rule must be one of {sorted(FRAME_RULES)}, got {rule!r}")
    count = math.inf if duration is None else max(1, math.ceil(duration * fps - _EPS))
    picker = FramePicker(float(start), float(fps), duration, count, FRAME_RULES[rule])
    frames, _ = _decode_frames(Path(path), picker, float(start))
    video = rearrange(torch.from_numpy(np.stack(frames)), "f h w c -> c f h w")
    return video.contiguous() if size is None else fit_frames(video, size)
