"""Media files for tests, written one way: PCM / float WAV through the stdlib, mp4 through asva.

    write_pcm_wav(path, tone(2.0, channels=2), 44100)      # 16-bit stereo WAV
    write_clip(path, frames_uint8, fps=6.0, audio=wave)     # mp4 via asva.media.write_video
"""
from __future__ import annotations

import struct
import wave

import numpy as np

SR = 16000


def tone(seconds: float, rate: int = SR, channels: int = 1, freq: float = 440.0) -> np.ndarray:
    """(channels, n) a gated sine at 0.3 amplitude (channel k at 0.5**k of it): a sound with events."""
    t = np.arange(round(seconds * rate)) / rate
    mono = 0.3 * np.sin(2 * np.pi * freq * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    return np.stack([mono * 0.5**k for k in range(channels)])


def write_pcm_wav(path, signal: np.ndarray, rate: int, width: int = 2):
    """8-bit (unsigned) or 16-bit PCM WAV of `signal` (channels, n) in [-1, 1] (or (n,))."""
    signal = np.atleast_2d(signal)
    if width == 1:
        data = np.clip(np.rint(signal * 128 + 128), 0, 255).astype(np.uint8)
    else:
        data = np.clip(np.rint(signal * 32768), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(signal.shape[0])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data.T.tobytes())
    return path


def write_float_wav(path, signal: np.ndarray, rate: int):
    """Mono IEEE-float32 WAV written by hand (format tag 3), so NaN and inf survive."""
    data = signal.astype("<f4").tobytes()
    fmt = struct.pack("<IHHIIHH", 16, 3, 1, rate, rate * 4, 4, 32)
    riff = b"WAVE" + b"fmt " + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    return path


def write_clip(path, frames, fps: float = 6.0, audio=None, sample_rate: int = SR):
    """An mp4 of uint8 frames (3, f, h, w) with optional audio, its folder created."""
    from asva.media import write_video

    path.parent.mkdir(parents=True, exist_ok=True)
    return write_video(path, frames, fps, audio=audio, sample_rate=sample_rate)
