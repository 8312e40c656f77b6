"""Audio of any length: the frame plan, the 2-s windows, and output frame-rate resampling.

AVSyncD generates 12 frames at 6 fps, i.e. 2 s. A clip of `duration` seconds gets
`floor(duration * fps)` frames; a longer clip is cut into consecutive windows that share one frame:
window k starts at frame 11 k, its first (conditioning) frame is the last frame that window k-1
generated, and its audio is the 2 s starting at that frame's time. The last window may run past the
end of the audio; its audio is padded with silence and its extra frames are dropped.

    >>> plan_windows(30)          # 5 s at 6 fps
    [0, 11, 22]
"""
from __future__ import annotations

import math

import torch

_EPS = 1e-6  # tolerance on duration * fps, so 5.0 s at 6 fps is 30 frames, not 29
# frame 0 of windows 2, 3, ...: the previous window's last frame, or the input image again
WINDOW_ANCHORS = ("previous", "image")


def check_window_anchor(anchor: str, name: str = "window_anchor") -> str:
    """`anchor` if it is one of WINDOW_ANCHORS, else a ValueError naming `name` and the value."""
    if anchor not in WINDOW_ANCHORS:
        raise ValueError(f"{name} must be one of {', '.join(WINDOW_ANCHORS)}, got {anchor!r}")
    return anchor


def frame_count(duration: float, fps: float) -> int:
    """Frames that fit in `duration` seconds at `fps`: the video never runs past the audio."""
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    if not duration >= 0:
        raise ValueError(f"duration must be >= 0 seconds, got {duration}")
    return math.floor(duration * fps + _EPS)


def plan_windows(num_frames: int, frames_per_window: int = 12) -> list[int]:
    """Start frame of every window needed for `num_frames` frames (windows overlap by one frame)."""
    if frames_per_window < 2:
        raise ValueError(f"frames_per_window must be >= 2, got {frames_per_window}")
    if num_frames < 2:
        raise ValueError(f"a clip needs at least 2 frames (the image and a generated one), got {num_frames}")
    stride = frames_per_window - 1
    count = math.ceil((num_frames - 1) / stride)
    return [k * stride for k in range(count)]


def join_windows(windows: list[torch.Tensor], num_frames: int) -> torch.Tensor:
    """Concatenate per-window clips (b, c, f, h, w) dropping each later window's shared first frame."""
    parts = [windows[0]] + [w[:, :, 1:] for w in windows[1:]]
    joined = torch.cat(parts, dim=2)
    if joined.shape[2] < num_frames:
        raise ValueError(f"windows hold {joined.shape[2]} frames, fewer than the {num_frames} requested")
    return joined[:, :, :num_frames]


def resample_indices(num_frames: int, src_fps: float, dst_fps: float, num_out: int) -> torch.Tensor:
    """Source frame of each output frame: the nearest in time (output frame j is at j / dst_fps)."""
    if not (src_fps > 0 and dst_fps > 0):
        raise ValueError(f"fps must be > 0, got {src_fps} and {dst_fps}")
    times = torch.arange(num_out, dtype=torch.float64) / dst_fps
    return torch.floor(times * src_fps + 0.5).long().clamp(0, num_frames - 1)


def resample_frames(video: torch.Tensor, src_fps: float, dst_fps: float, num_out: int) -> torch.Tensor:
    """Re-time a (b, c, f, h, w) video from `src_fps` to `dst_fps` with `num_out` frames (nearest frame)."""
    if src_fps == dst_fps and num_out == video.shape[2]:
        return video
    index = resample_indices(video.shape[2], src_fps, dst_fps, num_out).to(video.device)
    return video.index_select(2, index)
