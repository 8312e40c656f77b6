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
from asva.media.transform import center_crop_resize

_EPS = 1e-6  # seconds: timestamps this close count as equal (float rounding of pts * time_base)


def _seek(container: av.container.InputContainer, stream: av.video.stream.VideoStream, t: float,
          origin: float) -> None:
    """Seek to a keyframe at or before timeline time `t` - 1 s (no-op near the beginning)."""
    if t <= 1.0 or stream.time_base is None:
        return
    container.seek(int((t - 1.0 + origin) / stream.time_base), stream=stream, backward=True)


def _frame_interval(stream: av.video.stream.VideoStream, fallback: float) -> float:
    rate = stream.average_rate or stream.guessed_rate
    return 1.0 / float(rate) if rate else fallback


def _decode_frames(path: Path, fps: float, start: float, duration: float | None) -> list[np.ndarray]:
    """For each output time t_i = start + i / fps, the RGB array of the last source frame with pts <= t_i."""
    count = math.inf if duration is None else max(1, math.ceil(duration * fps - _EPS))
    picked: list[np.ndarray] = []
    with open_media(path) as container:
        if not container.streams.video:
            raise ValueError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        origin = timeline_origin(container)
        _seek(container, stream, start, origin)
        held, t, step = None, -math.inf, 0.0
        for frame in container.decode(stream):
            prev, t = t, (float(frame.pts * frame.time_base) - origin if frame.pts is not None else t + step)
            step = t - prev if prev > -math.inf else step
            # every output time strictly before this frame shows the held frame (or this one, if none yet)
            while len(picked) < count and start + len(picked) / fps < t - _EPS:
                picked.append(_rgb(held if held is not None else frame))
            if len(picked) >= count:
                return picked
            held = frame
        if held is None:
            raise ValueError(f"{path}: the video stream decodes to no frames (not video, empty or truncated)")
        end = t + _frame_interval(stream, step)  # the last frame stays on screen one interval
        check_not_truncated(path, stream, end, origin)
        while len(picked) < count and start + len(picked) / fps < end - _EPS:
            picked.append(_rgb(held))
    if not picked:
        raise ValueError(f"{path}: no video frames at start={start} s (the video lasts {end:.3f} s)")
    return picked


def _rgb(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="rgb24")  # (h, w, 3) uint8


def read_video(
    path: str | os.PathLike,
    *,
    fps: float = 6.0,
    size: int | None = 256,
    start: float = 0.0,
    duration: float | None = None,
) -> torch.Tensor:
    """Read frames of the first video stream as uint8 (3, f, h, w).

    Output frame i shows time t_i = start + i / fps (seconds from the container's first
    timestamp) and is the last source frame whose pts <= t_i ("sample and hold", as a
    display would show it); t_i before the first frame takes the first frame. Times run
    over [start, start + duration), or to the end of the stream (last pts plus one frame
    interval) when `duration` is None or the file ends first, so a file can give fewer
    frames than duration * fps. With `size`, each frame is centre-cropped to a square and
    resized bilinearly to size x size (see `center_crop_resize`); `size=None` keeps the
    native resolution uncropped.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if start < 0 or (duration is not None and duration <= 0):
        raise ValueError(f"start must be >= 0 and duration > 0, got start={start}, duration={duration}")
    frames = _decode_frames(Path(path), float(fps), float(start), duration)
    video = rearrange(torch.from_numpy(np.stack(frames)), "f h w c -> c f h w")
    return video.contiguous() if size is None else center_crop_resize(video, int(size))
