"""Sound primitives: damped sinusoids, filtered noise bursts, harmonic tones with envelopes.

Every function returns a float32 mono waveform that starts at the event onset (sample 0).
"""
from __future__ import annotations

import numpy as np


def _time(duration: float, sr: int) -> np.ndarray:
    return np.arange(int(round(duration * sr)), dtype=np.float64) / sr


def damped_sine(duration: float, sr: int, freq: float, decay: float, *, glide: float = 1.0,
                phase: float = 0.0) -> np.ndarray:
    """A sinusoid decaying as exp(-t/decay); its frequency slides exponentially from `freq`
    to `freq * glide` over `duration`."""
    t = _time(duration, sr)
    f = freq * glide ** (t / duration)
    ph = phase + 2 * np.pi * np.cumsum(f) / sr
    return (np.sin(ph) * np.exp(-t / decay)).astype(np.float32)


def partials(duration: float, sr: int, freq: float, ratios, decays, amps, *, glide: float = 1.0,
             rng: np.random.Generator | None = None) -> np.ndarray:
    """Sum of damped sines at `freq * ratio` (modes of a drum, a bell, a struck bar)."""
    out = np.zeros(int(round(duration * sr)), np.float32)
    for k, (r, d, a) in enumerate(zip(ratios, decays, amps, strict=True)):
        phase = 0.0 if rng is None else rng.uniform(0, 2 * np.pi)
        out += a * damped_sine(duration, sr, freq * r, d, glide=glide, phase=phase + k)
    return out


def band_limit(x: np.ndarray, sr: int, low: float | None, high: float | None, order: int = 4) -> np.ndarray:
    """Zero-phase filtering in the frequency domain with Butterworth magnitude responses:
    a high-pass at `low` Hz and a low-pass at `high` Hz (either may be None)."""
    if not low and not high:
        return x
    spectrum = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1.0 / sr)
    gain = np.ones_like(f)
    if high:
        gain /= np.sqrt(1.0 + (f / high) ** (2 * order))
    if low:
        gain /= np.sqrt(1.0 + (low / np.maximum(f, 1e-3)) ** (2 * order))
    return np.fft.irfft(spectrum * gain, n=x.size)


def noise_burst(duration: float, sr: int, rng: np.random.Generator, decay: float, *,
                band: tuple[float | None, float | None] = (None, None), attack: float = 0.001) -> np.ndarray:
    """White noise under a fast-attack exponential decay, optionally band-limited
    (`band` = (low Hz or None, high Hz or None), see `band_limit`)."""
    t = _time(duration, sr)
    x = band_limit(rng.standard_normal(t.size), sr, *band)
    x = x / (np.abs(x).max() + 1e-9)
    env = np.minimum(t / attack, 1.0) * np.exp(-t / decay)
    return (x * env).astype(np.float32)


def envelope(duration: float, sr: int, *, attack: float, release: float, sustain: float = 1.0,
             total: float | None = None) -> np.ndarray:
    """Linear attack to 1, linear slide to `sustain` until `duration`, then an exponential
    release (time constant `release`) until `total` (default duration + 5 releases)."""
    total = duration + 5 * release if total is None else total
    t = _time(total, sr)
    body = np.where(t < attack, t / attack, 1.0 + (sustain - 1.0) * np.clip(t / duration, 0, 1))
    tail = sustain * np.exp(-np.maximum(t - duration, 0.0) / release)
    return np.where(t < duration, body, tail).astype(np.float32)


def harmonic_tone(duration: float, sr: int, f0: float, amps, *, vibrato: float = 0.0,
                  vibrato_rate: float = 5.5, glide: float = 1.0) -> np.ndarray:
    """Sum of harmonics k*f0 (k = 1, 2, ...) with amplitudes `amps`, unit peak, no envelope.
    Harmonics above 7.5 kHz are dropped (16 kHz audio)."""
    t = _time(duration, sr)
    f = f0 * glide ** (t / max(duration, 1e-6)) * (1 + vibrato * np.sin(2 * np.pi * vibrato_rate * t))
    ph = 2 * np.pi * np.cumsum(f) / sr
    out = np.zeros(t.size)
    for k, a in enumerate(amps, start=1):
        if k * f0 * max(glide, 1.0) < 7500:
            out += a * np.sin(k * ph)
    return (out / (np.abs(out).max() + 1e-9)).astype(np.float32)


def place(track: np.ndarray, sound: np.ndarray, start: int, gain: float = 1.0) -> None:
    """Add `sound` into `track` at sample `start` (truncated at the end)."""
    if start >= track.size:
        return
    n = min(sound.size, track.size - start)
    track[start:start + n] += gain * sound[:n]
