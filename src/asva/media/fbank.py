"""ImageBind's audio front end: Kaldi-compatible log-mel filterbank, padding and normalization.

Reproduces `imagebind.data.waveform2melspec` (torchaudio's `compliance.kaldi.fbank` with
htk_compat, Hanning window, 128 bins, 25 ms / 10 ms, no dither) and the Normalize that
follows it. The quirks that matter (see docs/media.md):
  * the mean of the whole (channels, n) waveform is removed, then only channel 0 is used;
  * each frame loses its own mean, is pre-emphasised (0.97, first sample against itself) and
    multiplied by a symmetric Hann window 0.5 - 0.5 cos(2 pi i / 399);
  * 128 HTK-mel triangles between 20 Hz and Nyquist, Nyquist bin weighted 0;
  * log energies floored at float32 epsilon; missing frames padded with 0.0 *before* normalizing.
"""
from __future__ import annotations

import math
from fractions import Fraction

import torch
import torch.nn.functional as F

MEL_MEAN, MEL_STD = -4.268, 9.138
_FRAME, _HOP, _FFT = 400, 160, 512  # 25 ms, 10 ms at 16 kHz; FFT size: next power of two
_PREEMPHASIS, _LOW_HZ = 0.97, 20.0


def _mel(freq):
    """HTK mel scale 1127 ln(1 + f / 700), for floats or tensors."""
    if isinstance(freq, torch.Tensor):
        return 1127.0 * (1.0 + freq / 700.0).log()
    return 1127.0 * math.log(1.0 + freq / 700.0)


def mel_filterbank(num_bins: int, sample_rate: int, n_fft: int = _FFT) -> torch.Tensor:
    """Kaldi's triangular HTK-mel filters as float32 (num_bins, n_fft // 2 + 1); Nyquist column 0."""
    low, high = _mel(_LOW_HZ), _mel(0.5 * sample_rate)
    delta = (high - low) / (num_bins + 1)
    b = torch.arange(num_bins).unsqueeze(1)
    left, center, right = low + b * delta, low + (b + 1.0) * delta, low + (b + 2.0) * delta
    mel = _mel(sample_rate / n_fft * torch.arange(n_fft // 2)).unsqueeze(0)  # FFT bins below Nyquist
    up, down = (mel - left) / (center - left), (right - mel) / (right - center)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    return F.pad(banks, (0, 1))


def kaldi_fbank(wave: torch.Tensor, sample_rate: int = 16000, num_mel_bins: int = 128) -> torch.Tensor:
    """Log-mel energies (frames, num_mel_bins) of a 1-D float waveform; frames = 1 + (n - 400) // 160.

    Frame length and hop are 25 ms and 10 ms at `sample_rate`.
    """
    frame, hop = round(0.025 * sample_rate), round(0.010 * sample_rate)
    if wave.ndim != 1 or wave.shape[0] < frame:
        got = tuple(wave.shape)
        raise ValueError(f"kaldi_fbank needs a 1-D waveform of at least {frame} samples, got {got}")
    n_fft = 1 << (frame - 1).bit_length()
    frames = wave.unfold(0, frame, hop)  # (m, frame)
    frames = frames - frames.mean(dim=1, keepdim=True)
    previous = F.pad(frames.unsqueeze(0), (1, 0), mode="replicate").squeeze(0)[:, :-1]
    frames = frames - _PREEMPHASIS * previous
    window = torch.hann_window(frame, periodic=False, dtype=wave.dtype, device=wave.device)
    frames = F.pad(frames * window, (0, n_fft - frame))
    power = torch.fft.rfft(frames).abs().pow(2.0)  # (m, n_fft // 2 + 1)
    banks = mel_filterbank(num_mel_bins, sample_rate, n_fft).to(wave)
    energies = torch.mm(power, banks.T)
    eps = torch.tensor(torch.finfo(wave.dtype).eps, dtype=wave.dtype, device=wave.device)
    return torch.maximum(energies, eps).log()


def waveform_to_mel(
    wave: torch.Tensor,
    sample_rate: int = 16000,
    num_mel_bins: int = 128,
    target_length: int = 204,
    *,
    inplace: bool = False,
) -> torch.Tensor:
    """ImageBind's `waveform2melspec`: (n,) or (channels, n) float -> log-mel (1, bins, target_length).

    The mean of all samples of all channels is subtracted, then channel 0 alone is filtered.
    Frames beyond `target_length` are dropped; missing ones are filled with 0.0. With
    `inplace=True` the mean is subtracted from `wave` itself, as the official code does
    (`imagebind_audio_clips` relies on that side effect).
    """
    if wave.ndim not in (1, 2) or not wave.is_floating_point():
        raise ValueError(f"waveform_to_mel expects a float (n,) or (channels, n) tensor, got {wave.dtype} "
                         f"{tuple(wave.shape)}")
    mean = wave.mean()
    if inplace:
        wave -= mean
        centred = wave
    else:
        centred = wave - mean
    channel0 = centred if centred.ndim == 1 else centred[0]
    mel = kaldi_fbank(channel0, sample_rate, num_mel_bins).T  # (bins, frames)
    missing = target_length - mel.shape[1]
    mel = F.pad(mel, (0, missing)) if missing > 0 else mel[:, :target_length]
    return mel.unsqueeze(0)


def normalize_mel(mel: torch.Tensor, mean: float = MEL_MEAN, std: float = MEL_STD) -> torch.Tensor:
    """(mel - mean) / std with ImageBind's audio statistics."""
    return (mel - mean) / std


def clip_bounds(
    num_samples: int, sample_rate: int, clip_duration: float, clips: int
) -> list[tuple[int, int]]:
    """Sample ranges of `clips` evenly spaced clips, as pytorchvideo's ConstantClipsPerVideoSampler.

    start_i = i * max(duration - clip_duration, 0) / (clips - 1) in exact rational arithmetic on
    the float duration = num_samples / sample_rate; the range is [int(start_i * sr), int((start_i
    + clip_duration) * sr)).
    """
    spare = Fraction(max(num_samples / sample_rate - clip_duration, 0))
    step = spare / max(clips - 1, 1)
    starts = [step * i for i in range(clips)]
    return [(int(s * sample_rate), int((s + Fraction(clip_duration)) * sample_rate)) for s in starts]


def imagebind_audio_clips(
    wave: torch.Tensor,
    sample_rate: int = 16000,
    *,
    clip_duration: float = 2.0,
    clips: int = 3,
    num_mel_bins: int = 128,
    target_length: int = 204,
) -> torch.Tensor:
    """The mel part of ImageBind's `load_and_transform_audio_data` on a (channels, n) waveform.

    Returns normalized mels (clips, 1, num_mel_bins, target_length). As in the official loader
    each clip is a view of one shared copy of `wave` whose mean is removed in place, so a clip
    overlapping an earlier one sees samples that the earlier one already shifted. `wave` itself
    is not modified.
    """
    if wave.ndim != 2:
        raise ValueError(f"imagebind_audio_clips expects (channels, n), got {tuple(wave.shape)}")
    shared = wave.clone()
    mels = []
    for first, last in clip_bounds(shared.shape[1], sample_rate, clip_duration, clips):
        view = shared[:, first:last]
        mel = waveform_to_mel(view, sample_rate, num_mel_bins, target_length, inplace=True)
        mels.append(normalize_mel(mel))
    return torch.stack(mels)
