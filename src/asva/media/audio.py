"""Reading audio from any container PyAV opens, and cutting frame-aligned windows."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import av
import numpy as np
import torch

from asva.media._container import check_not_truncated, open_media, timeline_origin
from asva.media.resample import resample

SAMPLE_RATE = 16000  # asva's audio rate: ImageBind's, the sync classifier's, the datasets' and the writers'

# PyAV sample format (without the planar "p") -> (offset, scale) mapping its integers to [-1, 1).
_INT_SCALE = {"u8": (128.0, 128.0), "s16": (0.0, 32768.0), "s32": (0.0, 2147483648.0), "s64": (0.0, 2.0**63)}


def _frame_to_float(frame: av.AudioFrame) -> np.ndarray:
    """One decoded frame as float32 (channels, samples), integers divided by 2**(bits-1)."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:  # packed: (1, samples * channels), interleaved
        data = data.reshape(-1, channels).T
    name = frame.format.name.rstrip("p")
    if name in _INT_SCALE:
        offset, scale = _INT_SCALE[name]
        return ((data.astype(np.float64) - offset) / scale).astype(np.float32)
    return data.astype(np.float32, copy=False)


def _decode_audio(path: Path) -> tuple[np.ndarray, int]:
    """Decode the first audio stream: float32 (channels, n) on the container timeline from 0, and its rate."""
    with open_media(path) as container:
        if not container.streams.audio:
            raise ValueError(f"{path}: has no audio stream")
        stream = container.streams.audio[0]
        origin = timeline_origin(container)
        chunks, first_time, rate = [], None, stream.codec_context.sample_rate
        for frame in container.decode(stream):
            if first_time is None and frame.pts is not None:
                first_time = float(frame.pts * frame.time_base) - origin
            rate = frame.sample_rate
            chunks.append(_frame_to_float(frame))
        if not chunks:
            raise ValueError(f"{path}: the audio stream decodes to no samples (not audio, or truncated)")
        data = np.concatenate(chunks, axis=1)
        lead = round((first_time or 0.0) * rate)  # stream starting after time 0: silence before it
        if lead > 0:
            data = np.pad(data, ((0, 0), (lead, 0)))
        elif lead < 0:
            data = data[:, -lead:]
        check_not_truncated(path, stream, data.shape[1] / rate, origin)
    if not np.isfinite(data).all():
        raise ValueError(f"{path}: audio contains NaN or infinite samples")
    return data, rate


def read_audio(
    path: str | os.PathLike,
    *,
    sample_rate: int = SAMPLE_RATE,
    start: float = 0.0,
    duration: float | None = None,
    mono: bool = True,
) -> torch.Tensor:
    """Read the first audio stream of `path` as float32 at `sample_rate` Hz.

    The whole stream is decoded, mixed to mono (mean of channels) unless `mono=False`,
    resampled with `resample` (torchaudio-compatible windowed sinc), and then the window
    [start, start + duration) is cut at the new rate: samples round(start * sr) onwards,
    round(duration * sr) of them (fewer if the file ends first). Integer PCM is divided by
    2**(bits - 1). Returns (n,) if `mono` else (channels, n).
    """
    if start < 0 or (duration is not None and duration <= 0):
        raise ValueError(f"start must be >= 0 and duration > 0, got start={start}, duration={duration}")
    path = Path(path)
    data, rate = _decode_audio(path)
    wave = torch.from_numpy(data)  # (channels, n)
    if mono:
        wave = wave.mean(dim=0)
    wave = resample(wave, rate, sample_rate)
    first = round(start * sample_rate)
    if first >= wave.shape[-1]:
        length = wave.shape[-1] / sample_rate
        raise ValueError(f"{path}: start={start} s is past the end of the audio ({length:.3f} s)")
    last = None if duration is None else first + round(duration * sample_rate)
    return wave[..., first:last].contiguous()


def audio_window(
    wave: torch.Tensor, *, sample_rate: int = SAMPLE_RATE, start: float = 0.0, duration: float = 2.0
) -> torch.Tensor:
    """Exactly round(duration * sample_rate) samples of `wave` (..., n) from round(start * sample_rate).

    Use start = i / fps to align the window with video frame i. Where the waveform ends
    early (or start is past its end) the window is padded with zeros and a warning is issued.
    """
    if start < 0 or duration <= 0:
        raise ValueError(f"audio_window needs start >= 0 and duration > 0, got {start}, {duration}")
    first, length = round(start * sample_rate), round(duration * sample_rate)
    piece = wave[..., first : first + length]
    short = length - piece.shape[-1]
    if short > 0:
        warnings.warn(
            f"audio window [{start:.3f} s, +{duration:.3f} s) runs {short / sample_rate:.3f} s past the "
            f"end of the waveform ({wave.shape[-1] / sample_rate:.3f} s); padded with silence",
            stacklevel=2,
        )
        piece = torch.nn.functional.pad(piece, (0, short))
    return piece



def apply_gain(wave: torch.Tensor, db: float) -> torch.Tensor:
    """`wave` scaled by `db` decibels (amplitude x 10^(db / 20): +6.02 dB doubles it), not clipped:
    the paper's "louder audio" application (Fig. 5a) feeds the scaled waveform to the audio encoder."""
    if not np.isfinite(db):
        raise ValueError(f"audio gain must be a finite number of dB, got {db}")
    return wave * 10 ** (db / 20)
