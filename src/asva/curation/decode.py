"""Decoding one video once for every stage: frames at the analysis rate and the 16 kHz mono audio."""

from __future__ import annotations

from dataclasses import dataclass

import av
import torch

from asva.media import SAMPLE_RATE, probe, read_audio, read_video
from asva.media.frames import unit_to_uint8
from asva.media.transform import fit_frames


@dataclass
class VideoData:
    """frames: uint8 (3, f, h, w) at `fps` (native size); small: uint8 (3, f, s, s) centre squares at
    the analysis size; audio: float32 (n,) mono at 16 kHz; duration: the shorter stream, seconds."""

    frames: torch.Tensor
    small: torch.Tensor
    fps: float
    audio: torch.Tensor
    duration: float

    def frame_index(self, t: float) -> int:
        """The analysis frame shown at time t (sample and hold)."""
        return min(self.frames.shape[1] - 1, max(0, int(t * self.fps + 1e-6)))

    def span(self, start: float, end: float, fps: float | None = None) -> list[int]:
        """Analysis frame indices covering [start, end) at `fps` (default: every analysis frame)."""
        step = 1.0 / (fps or self.fps)
        count = max(1, int(round((end - start) / step)))
        return [self.frame_index(start + k * step) for k in range(count)]


def decode_video(path: str, fps: float, size: int) -> VideoData:
    """Read `path`; a ValueError (with the reason) if it is unreadable, has no audio or lasts 0 s."""
    try:
        info = probe(path)
        if not info.has_video or not info.has_audio:
            raise ValueError(
                f"{path}: needs a video and an audio stream "
                f"(video: {info.has_video}, audio: {info.has_audio})"
            )
        frames = read_video(path, fps=fps, size=None, rule="exact")
        audio = read_audio(path, sample_rate=SAMPLE_RATE)
    except (av.error.FFmpegError, OSError, RuntimeError) as err:
        raise ValueError(f"{path}: unreadable ({type(err).__name__}: {err})") from err
    duration = min(frames.shape[1] / fps, audio.shape[0] / SAMPLE_RATE)
    if duration <= 0:
        raise ValueError(f"{path}: lasts 0 s")
    return VideoData(frames, unit_to_uint8(fit_frames(frames, size)), fps, audio, duration)
