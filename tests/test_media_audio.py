"""Audio reading: many containers, sample formats and rates -> 16 kHz float32; windows; bad files."""
from __future__ import annotations

import warnings

import av
import numpy as np
import pytest
import torch

from asva.media import audio_window, probe, read_audio, resample, write_video
from media_helpers import write_float_wav, write_pcm_wav

DURATION = 1.0


def tones(rate: int, channels: int) -> np.ndarray:
    """(channels, n) float64: 440 Hz at 0.5 on the left, 220 Hz at 0.3 on the right."""
    t = np.arange(round(DURATION * rate)) / rate
    both = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 220 * t)])
    return both[:channels]


def write_pyav(path, signal: np.ndarray, rate: int, codec: str, fmt: str | None = None) -> None:
    """Encode (channels, n) float samples with PyAV's `codec` (PyAV converts the sample format)."""
    layout = "stereo" if signal.shape[0] == 2 else "mono"
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        for i in range(0, signal.shape[1], 1024):
            chunk = np.ascontiguousarray(signal[:, i : i + 1024], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate, frame.pts = rate, i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def expected_mono(signal: np.ndarray, rate: int) -> torch.Tensor:
    return resample(torch.from_numpy(signal.mean(axis=0)).float(), rate, 16000)


# (file name, writer, rate, channels, max-abs tolerance or None for lossy codecs)
CASES = [
    ("u8_8k_mono.wav", lambda p, s, r: write_pcm_wav(p, s, r, 1), 8000, 1, 1e-2),
    ("s16_48k_stereo.wav", lambda p, s, r: write_pcm_wav(p, s, r, 2), 48000, 2, 1e-4),
    ("s16_22k_stereo_pyav.wav", lambda p, s, r: write_pyav(p, s, r, "pcm_s16le"), 22050, 2, 1e-4),
    ("s24_44k_stereo.wav", lambda p, s, r: write_pyav(p, s, r, "pcm_s24le"), 44100, 2, 1e-5),
    ("f32_48k_stereo.wav", lambda p, s, r: write_pyav(p, s, r, "pcm_f32le"), 48000, 2, 1e-5),
    ("f32_8k_mono.wav", lambda p, s, r: write_float_wav(p, s[0], r), 8000, 1, 1e-5),
    ("s16_48k_stereo.flac", lambda p, s, r: write_pyav(p, s, r, "flac"), 48000, 2, 1e-4),
    ("mp3_44k_stereo.mp3", lambda p, s, r: write_pyav(p, s, r, "libmp3lame"), 44100, 2, None),
    ("mp3_8k_mono.mp3", lambda p, s, r: write_pyav(p, s, r, "libmp3lame"), 8000, 1, None),
    ("aac_48k_stereo.m4a", lambda p, s, r: write_pyav(p, s, r, "aac", "mp4"), 48000, 2, None),
]


@pytest.mark.parametrize("name,writer,rate,channels,atol", CASES, ids=[c[0] for c in CASES])
def test_formats_become_16k_mono_float(tmp_path, name, writer, rate, channels, atol):
    signal = tones(rate, channels)
    path = tmp_path / name
    writer(path, signal, rate)
    info = probe(path)
    assert (info.has_audio, info.has_video, info.sample_rate, info.channels) == (True, False, rate, channels)
    got = read_audio(path)
    assert got.dtype == torch.float32 and got.ndim == 1
    want = expected_mono(signal, rate)
    assert abs(got.shape[0] - want.shape[0]) <= (0 if atol else 200)  # lossy codecs pad their last frame
    n = min(got.shape[0], want.shape[0])
    if atol is not None:
        assert (got[:n] - want[:n]).abs().max() <= atol
    else:  # lossy: same waveform, same alignment (no lag), small relative error
        assert (got[:n] - want[:n]).norm() / want[:n].norm() < 0.25
    if channels == 2:
        both = read_audio(path, mono=False)
        assert both.shape == (2, got.shape[0])
        assert torch.allclose(both.mean(0), got, atol=1e-5)


def test_window_is_cut_after_resampling(tmp_path):
    path = tmp_path / "a.wav"
    write_pcm_wav(path, tones(44100, 2), 44100, 2)
    full = read_audio(path)
    part = read_audio(path, start=0.25, duration=0.5)
    assert part.shape == (8000,)
    assert torch.equal(part, full[4000:12000])
    assert read_audio(path, start=0.9, duration=0.5).shape == (1600,)  # the file ends first
    with pytest.raises(ValueError, match="past the end"):
        read_audio(path, start=5.0)


def test_audio_window_exact_length_and_padding():
    wave_ = torch.arange(48000, dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when the window fits
        win = audio_window(wave_, start=10 / 6, duration=1.0)
    assert win.shape == (16000,) and win[0] == round(10 / 6 * 16000)
    with pytest.warns(UserWarning, match="padded with silence"):
        short = audio_window(wave_, start=2.5, duration=2.0)
    assert short.shape == (32000,)
    assert torch.equal(short[:8000], wave_[40000:]) and short[8000:].abs().sum() == 0
    with pytest.warns(UserWarning):
        assert audio_window(wave_, start=5.0, duration=0.5).abs().sum() == 0
    stereo = torch.zeros(2, 16000)
    assert audio_window(stereo, duration=2.0 / 3).shape == (2, round(2 / 3 * 16000))
    with pytest.raises(ValueError):
        audio_window(wave_, start=-1.0)


def test_resample_is_band_limited():
    t = torch.arange(48000, dtype=torch.float64) / 48000
    high = torch.sin(2 * torch.pi * 12000 * t)  # above the 8 kHz Nyquist of the target rate
    low = torch.sin(2 * torch.pi * 1000 * t)
    assert resample(high, 48000, 16000)[100:-100].abs().max() < 1e-2
    down = resample(low, 48000, 16000)
    assert down.shape == (16000,)
    assert torch.allclose(down[100:-100], low[::3][100:-100], atol=1e-3)
    up = resample(low[::6].float(), 8000, 16000)  # 8 kHz -> 16 kHz
    assert up.shape == (16000,)
    assert torch.allclose(up[100:-100], low[::3][100:-100].float(), atol=1e-2)
    batch = torch.randn(2, 3, 4410)
    assert torch.allclose(resample(batch, 44100, 16000)[1, 2], resample(batch[1, 2], 44100, 16000), atol=1e-6)
    assert resample(batch, 16000, 16000) is batch
    with pytest.raises(ValueError):
        resample(batch, 0, 16000)
    with pytest.raises(ValueError):
        resample(torch.zeros(10, dtype=torch.int16), 8000, 16000)


# ---- bad input: each a ValueError naming the file ----------------------------------------------


def test_missing_directory_and_empty(tmp_path):
    with pytest.raises(ValueError, match="no such file") as err:
        read_audio(tmp_path / "missing.wav")
    assert "missing.wav" in str(err.value)
    with pytest.raises(ValueError, match="is a directory"):
        read_audio(tmp_path)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.wav: file is empty"):
        read_audio(tmp_path / "empty.wav")


@pytest.mark.parametrize("name", ["notes.wav", "notes.mp4", "notes.flac"])
def test_text_renamed_as_media(tmp_path, name):
    (tmp_path / name).write_text("this is a text file, not audio\n" * 20)
    with pytest.raises(ValueError, match=f"{name}: (not a readable media file|.*no samples)"):
        read_audio(tmp_path / name)
    with pytest.raises(ValueError, match=name):
        probe(tmp_path / name)


def test_truncated_wav_and_flac(tmp_path):
    whole_wav, whole_flac = tmp_path / "whole.wav", tmp_path / "whole.flac"
    write_pcm_wav(whole_wav, tones(16000, 2), 16000, 2)
    write_pyav(whole_flac, tones(16000, 2), 16000, "flac")
    for whole in (whole_wav, whole_flac):
        read_audio(whole)  # intact: fine
        half = tmp_path / f"half{whole.suffix}"
        data = whole.read_bytes()
        half.write_bytes(data[: len(data) // 2])
        with pytest.raises(ValueError, match="truncated") as err:
            read_audio(half)
        assert str(half) in str(err.value)


def test_no_audio_stream(tmp_path):
    path = tmp_path / "silent_film.mp4"
    write_video(path, torch.zeros(3, 4, 16, 16, dtype=torch.uint8), fps=4)
    with pytest.raises(ValueError, match="silent_film.mp4: has no audio stream"):
        read_audio(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    signal = tones(16000, 1)[0]
    signal[123] = bad
    path = tmp_path / "bad.wav"
    write_float_wav(path, signal, 16000)
    with pytest.raises(ValueError, match="bad.wav: audio contains NaN or infinite samples"):
        read_audio(path)
    with pytest.raises(ValueError, match="start must be"):
        read_audio(path, start=-1)


def test_audio_starting_after_the_video_is_placed_on_the_shared_timeline(tmp_path):
    path = tmp_path / "late_audio.mkv"
    with av.open(str(path), "w") as out:
        video = out.add_stream("ffv1", rate=4)
        video.width = video.height = 16
        audio = out.add_stream("pcm_s16le", rate=16000, layout="mono")
        for i in range(8):  # video over [0, 2) s
            frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode())
        level = np.full((1, 1000), 16384, np.int16)
        for first in range(8000, 32000, 1000):  # audio over [0.5, 2) s at level 0.5
            frame = av.AudioFrame.from_ndarray(level, format="s16", layout="mono")
            frame.sample_rate, frame.pts = 16000, first
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    wave_ = read_audio(path)
    assert wave_.shape == (32000,)
    assert wave_[:7990].abs().max() < 1e-3 and (wave_[8010:-10] - 0.5).abs().max() < 1e-3
