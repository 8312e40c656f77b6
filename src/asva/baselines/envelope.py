"""The audio amplitude envelope that drives AADiff: one loudness value in [0, 1] per video frame.

AADiff (Lee et al. 2023, Sec. 3) reads the audio's magnitude at each frame's time, normalises it to
[0, 1] over the clip and smooths it with a sliding window of `w` frames (their trade-off between
temporal flexibility and coherence). Here the magnitude of frame n is the RMS of the samples within half
a frame of t_n = n / fps; a clip whose loudest frame is below `silence` RMS is silent (all zeros).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def frame_rms(wave: torch.Tensor, sample_rate: int, num_frames: int, fps: float) -> torch.Tensor:
    """(b, n) waveform -> (b, f) RMS of the samples in [t_n - 1/(2 fps), t_n + 1/(2 fps)), t_n = n / fps."""
    if wave.ndim != 2:
        raise ValueError(f"wave must be (b, n), got {tuple(wave.shape)}")
    half = sample_rate / (2 * fps)
    out = torch.zeros(wave.shape[0], num_frames)
    for n in range(num_frames):
        lo = max(0, round(n * sample_rate / fps - half))
        hi = min(wave.shape[1], max(lo + 1, round(n * sample_rate / fps + half)))
        piece = wave[:, lo:hi].float()
        out[:, n] = piece.pow(2).mean(dim=1).sqrt() if piece.shape[1] else 0.0
    return out


def smooth(values: torch.Tensor, window: int) -> torch.Tensor:
    """(b, f) -> (b, f) centred moving average over `window` frames (odd), edges repeated."""
    if window < 1 or window % 2 == 0:
        raise ValueError(f"the smoothing window must be an odd number of frames >= 1, got {window}")
    if window == 1:
        return values
    padded = F.pad(values[:, None], (window // 2, window // 2), mode="replicate")
    return F.avg_pool1d(padded, window, stride=1)[:, 0]


def amplitude_envelope(wave: torch.Tensor, sample_rate: int, num_frames: int, fps: float, *,
                       window: int = 1, silence: float = 1e-4) -> torch.Tensor:
    """(b, n) or (b, ch, n) waveform -> (b, f) loudness in [0, 1]: frame RMS / the clip's loudest frame,
    smoothed over `window` frames; 0 everywhere for a clip quieter than `silence` RMS."""
    wave = wave.mean(dim=1) if wave.ndim == 3 else wave
    rms = frame_rms(wave, sample_rate, num_frames, fps)
    peak = rms.amax(dim=1, keepdim=True)
    level = torch.where(peak > silence, rms / peak.clamp_min(silence), torch.zeros_like(rms))
    return smooth(level, window)
