"""`probe`: what a media file holds, read from its headers without decoding."""
from __future__ import annotations

import os
from dataclasses import dataclass

import av

from asva.media._container import open_media, stream_duration


@dataclass(frozen=True)
class MediaInfo:
    """Header facts about a media file. Video fields are 0 without video, audio fields 0 without audio."""

    duration: float  # seconds (longest stream, or the container's own duration)
    fps: float  # average video frame rate
    width: int
    height: int
    num_frames: int  # from the header, or round(duration * fps) when the header has no count
    has_video: bool
    has_audio: bool
    sample_rate: int
    channels: int


def probe(path: str | os.PathLike) -> MediaInfo:
    """Return a `MediaInfo` for `path`; raises `ValueError` if it is not a readable media file."""
    with open_media(path) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise ValueError(f"{path}: has neither a video nor an audio stream")
        durations = [d for d in (stream_duration(s) for s in (video, audio) if s is not None) if d]
        duration = max(durations) if durations else 0.0
        if not duration and container.duration:
            duration = container.duration / av.time_base
        fps = width = height = num_frames = 0
        if video is not None:
            rate = video.average_rate or video.guessed_rate or video.base_rate
            fps = float(rate) if rate else 0.0
            width, height = video.codec_context.width, video.codec_context.height
            num_frames = video.frames or round((stream_duration(video) or duration) * fps)
        sample_rate = channels = 0
        if audio is not None:
            sample_rate = audio.codec_context.sample_rate or 0
            channels = audio.codec_context.channels or 0
        if (video is not None and not (width and height)) or (audio is not None and not sample_rate):
            raise ValueError(f"{path}: not a readable media file (its stream header is empty)")
        return MediaInfo(
            duration=float(duration),
            fps=float(fps),
            width=int(width),
            height=int(height),
            num_frames=int(num_frames),
            has_video=video is not None,
            has_audio=audio is not None,
            sample_rate=int(sample_rate),
            channels=int(channels),
        )
