"""Band-limited resampling compatible with `torchaudio.functional.resample` defaults.

Windowed-sinc interpolation with a Hann window (torchaudio's "sinc_interp_hann"),
lowpass_filter_width 6, rolloff 0.99, rates reduced by their gcd. The kernel is built in
the waveform's dtype, as torchaudio does, so float32 input gives torchaudio's float32 output.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _sinc_kernel(
    orig: int, new: int, *, width_zeros: int, rolloff: float, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, int]:
    """Polyphase kernel (new, 1, taps) and the half-width in input samples."""
    cutoff = min(orig, new) * rolloff  # in units of the reduced rates
    half = math.ceil(width_zeros * orig / cutoff)
    taps = torch.arange(-half, half + orig, dtype=dtype, device=device)[None, None] / orig
    phases = torch.arange(0, -new, -1, dtype=dtype, device=device)[:, None, None] / new
    t = (phases + taps) * cutoff  # (new, 1, taps) time in cutoff periods
    t = t.clamp(-width_zeros, width_zeros)
    window = torch.cos(t * math.pi / width_zeros / 2) ** 2
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones((), dtype=dtype, device=device), t.sin() / t)
    return sinc * (window * (cutoff / orig)), half


def resample(
    wave: torch.Tensor,
    orig_sr: int,
    new_sr: int,
    *,
    lowpass_filter_width: int = 6,
    rolloff: float = 0.99,
) -> torch.Tensor:
    """Resample `wave` (..., n) from `orig_sr` to `new_sr` Hz along its last axis.

    Output length is ceil(new * n / orig) with reduced rates, as in torchaudio.
    """
    if int(orig_sr) != orig_sr or int(new_sr) != new_sr or orig_sr <= 0 or new_sr <= 0:
        raise ValueError(f"sample rates must be positive integers, got {orig_sr} -> {new_sr}")
    if not wave.is_floating_point():
        raise ValueError(f"resample expects a floating-point waveform, got {wave.dtype}")
    orig_sr, new_sr = int(orig_sr), int(new_sr)
    if orig_sr == new_sr:
        return wave
    g = math.gcd(orig_sr, new_sr)
    orig, new = orig_sr // g, new_sr // g
    kernel, half = _sinc_kernel(
        orig, new, width_zeros=lowpass_filter_width, rolloff=rolloff, dtype=wave.dtype, device=wave.device
    )
    lead, n = wave.shape[:-1], wave.shape[-1]
    flat = wave.reshape(-1, n)  # (waves, n)
    padded = F.pad(flat, (half, half + orig))
    out = F.conv1d(padded[:, None], kernel, stride=orig)  # (waves, new, steps)
    out = out.transpose(1, 2).reshape(flat.shape[0], -1)  # interleave phases: (waves, steps * new)
    target = math.ceil(new * n / orig)
    return out[:, :target].reshape(*lead, -1)
