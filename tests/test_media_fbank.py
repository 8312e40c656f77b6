"""Parity of the resampler and ImageBind's audio front end with the `imagebind/audio_mel` golden case."""
from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

from asva.media import (
    imagebind_audio_clips,
    normalize_mel,
    read_audio,
    resample,
    waveform_to_mel,
)
from asva.media.fbank import clip_bounds, kaldi_fbank, mel_filterbank

ATOL = {"resampled": 2e-5, "mel": 3e-3, "mel_norm": 3e-4, "loader_mel_norm": 3e-4}  # from CASE.md
FILES = ("lions_roaring", "machine_gun_shooting")


@pytest.fixture(scope="module")
def case(golden):
    return load_file(golden / "imagebind" / "audio_mel" / "audio_mel.safetensors")


def test_resample_matches_torchaudio_golden(golden, case):
    # decoded as torchaudio.load does: int16 / 32768, stereo (2, n), then resampled 44.1 -> 16 kHz
    stereo44k = read_audio(golden / "media" / "machine_gun_shooting.wav", sample_rate=44100, mono=False)
    assert stereo44k.shape == (2, 221184)
    ours = resample(stereo44k, 44100, 16000)
    want = case["resampled.machine_gun_shooting"]
    assert ours.shape == want.shape == (2, 80249)
    assert (ours - want).abs().max() <= ATOL["resampled"]
    # the same through the reader, which resamples after decoding
    direct = read_audio(golden / "media" / "machine_gun_shooting.wav", mono=False)
    assert (direct - want).abs().max() <= ATOL["resampled"]


@pytest.mark.parametrize("i", list(range(10)))
def test_mel_and_normalized_mel_match_golden(case, i):
    wave = case[f"wave.{i}"].clone()
    mel = waveform_to_mel(wave)
    assert mel.shape == (1, 128, 204)
    assert (mel - case["mel"][i]).abs().max() <= ATOL["mel"]
    assert (normalize_mel(mel) - case["mel_norm"][i]).abs().max() <= ATOL["mel_norm"]
    assert torch.equal(wave, case[f"wave.{i}"]), "inplace=False must leave the input alone"


@pytest.mark.parametrize("j,name", list(enumerate(FILES)))
def test_loader_clips_match_golden_including_inplace_side_effect(golden, case, j, name):
    wave = read_audio(golden / "media" / f"{name}.wav", mono=False)
    before = wave.clone()
    clips = imagebind_audio_clips(wave)
    want = case["loader_mel_norm"][j]
    assert clips.shape == want.shape == (3, 1, 128, 204)
    assert (clips - want).abs().max() <= ATOL["loader_mel_norm"]
    assert torch.equal(wave, before), "the caller's waveform is not modified"
    # without the official in-place mean removal on shared views the overlapping clips differ
    bounds = clip_bounds(wave.shape[1], 16000, 2.0, 3)
    independent = torch.stack([normalize_mel(waveform_to_mel(wave[:, a:b])) for a, b in bounds])
    gap = (independent - want).abs().max()
    assert gap > (10 if name == "machine_gun_shooting" else 1) * ATOL["loader_mel_norm"]


def test_clip_bounds_follow_case_md():
    assert clip_bounds(33792, 16000, 2.0, 3) == [(0, 32000), (896, 32896), (1792, 33792)]
    assert clip_bounds(80249, 16000, 2.0, 3) == [(0, 32000), (24124, 56124), (48248, 80248)]
    assert clip_bounds(16000, 16000, 2.0, 3) == [(0, 32000)] * 3  # shorter than a clip: all start at 0


def test_mel_uses_channel_zero_not_a_mixdown():
    stereo = torch.randn(2, 32000) * 0.1
    stereo[1] += 0.05  # the mean of both channels is removed before channel 0 is taken
    left = kaldi_fbank(stereo[0] - stereo.mean()).T
    assert torch.allclose(waveform_to_mel(stereo)[0, :, :198], left, atol=1e-4)
    assert not torch.allclose(waveform_to_mel(stereo), waveform_to_mel(stereo.mean(0)), atol=1e-2)


def test_inplace_variant_shifts_the_callers_tensor():
    wave = torch.randn(1, 8000) + 0.5
    mean = wave.mean()
    out = waveform_to_mel(wave.clone())
    shifted = waveform_to_mel(wave, inplace=True)
    assert torch.equal(out, shifted)
    assert abs(float(wave.mean())) < 1e-6 and float(mean) > 0.4


def test_fbank_framing_padding_floor_and_empty_filter():
    frames = kaldi_fbank(torch.randn(32000))
    assert frames.shape == (1 + (32000 - 400) // 160, 128) == (198, 128)
    mel = waveform_to_mel(torch.randn(25792))  # 159 frames, padded with zeros in the log domain
    assert torch.equal(mel[0, :, 159:], torch.zeros(128, 45))
    floor = math.log(torch.finfo(torch.float32).eps)
    assert torch.allclose(mel[0, 3, :159], torch.full((159,), floor))  # filter 3 holds no FFT bin
    assert waveform_to_mel(torch.randn(48000)).shape == (1, 128, 204)  # longer: first 204 frames kept
    banks = mel_filterbank(128, 16000)
    assert banks.shape == (128, 257) and banks[3].sum() == 0 and banks[:, 256].sum() == 0
    assert torch.allclose(normalize_mel(torch.zeros(1)), torch.tensor([4.268 / 9.138]))


def test_fbank_rejects_too_short_or_wrong_input():
    with pytest.raises(ValueError, match="at least 400"):
        kaldi_fbank(torch.randn(399))
    with pytest.raises(ValueError, match="float"):
        waveform_to_mel(torch.zeros(32000, dtype=torch.int16))
