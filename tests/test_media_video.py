"""Video: writing mp4/gif/png and reading back with timestamp fps resampling, crop and resize."""
from __future__ import annotations

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from asva.media import (
    crop_box,
    crop_note,
    fit_frames,
    probe,
    read_audio,
    read_image,
    read_video,
    write_frames,
    write_gif,
    write_image,
    write_video,
)
from asva.media.video import read_all_frames, select_frames
from asva.media.write import video_codec

LEVEL_STEP = 8  # source frame i is a flat grey of level 8 * i, so the frame index can be read back


def counting_clip(frames: int, h: int = 32, w: int = 32) -> torch.Tensor:
    levels = torch.arange(frames, dtype=torch.uint8) * LEVEL_STEP
    return levels.view(1, frames, 1, 1).expand(3, frames, h, w).contiguous()


def frame_indices(video: torch.Tensor) -> list[int]:
    return [round(float(m) / LEVEL_STEP) for m in video.float().mean(dim=(0, 2, 3))]


@pytest.fixture(scope="module")
def clip10(tmp_path_factory):
    """2.5 s at 10 fps, 25 counting frames, with a 2.5 s 440 Hz tone."""
    path = tmp_path_factory.mktemp("video") / "count.mp4"
    tone = 0.5 * torch.sin(2 * torch.pi * 440 * torch.arange(40000) / 16000)
    write_video(path, counting_clip(25), fps=10, audio=tone)
    return path


def test_write_video_is_h264_yuv420p_with_aac(clip10):
    assert video_codec() == ("libx264" if "libx264" in av.codecs_available else "mpeg4")
    with av.open(str(clip10)) as container:
        v, a = container.streams.video[0], container.streams.audio[0]
        assert v.codec_context.name == ("h264" if video_codec() == "libx264" else "mpeg4")
        assert v.codec_context.pix_fmt == "yuv420p"
        assert a.codec_context.name == "aac"
    info = probe(clip10)
    assert (info.width, info.height, info.fps, info.num_frames) == (32, 32, 10.0, 25)
    assert info.has_video and info.has_audio and info.sample_rate == 16000 and info.channels == 1
    assert info.duration == pytest.approx(2.5, abs=0.1)


def test_native_read_round_trips(clip10):
    video, _ = read_all_frames(clip10)
    assert video.dtype == torch.uint8 and video.shape == (3, 25, 32, 32)
    assert (video.float() - counting_clip(25).float()).abs().max() <= 3


@pytest.mark.parametrize(
    "fps,start,duration,expected",
    [
        # the official rule: the first frame with pts >= the running target start + k/fps (old rule,
        # the last frame with pts <= t, gave 0, 1, 3, 5, 6, ...: up to one source frame early)
        (6.0, 0.0, None, [0, 2, 4, 5, 7, 9, 10, 12, 14, 15, 17, 19, 20, 22, 24]),
        (4.0, 1.0, 1.0, [10, 13, 15, 18]),
        (20.0, 0.0, 0.5, [0, 1, 2, 3, 4, 5]),  # a source frame is taken at most once: no repeats
        (4.0, 2.0, 5.0, [20, 23]),  # the file ends at 2.5 s: fewer frames than duration * fps
        # pts in whole microseconds * 1e-6, as torchvision reports them: frame 1 is at
        # 0.09999999999999999 s < 0.1, so the official rule skips it at the source's own rate
        (10.0, 0.0, None, [0] + list(range(2, 25))),
    ],
)
def test_fps_resampling_takes_first_frame_at_or_after_t(clip10, fps, start, duration, expected):
    video = read_video(clip10, fps=fps, size=None, start=start, duration=duration)
    assert frame_indices(video) == expected


def test_read_all_frames_keeps_every_frame_with_its_time(clip10):
    frames, times = read_all_frames(clip10)
    assert frame_indices(frames) == list(range(25))
    assert times == [round(i * 1e5) * 1e-6 for i in range(25)]
    picks = select_frames(times, 1.0, fps=4.0, duration=1.0, count=4)
    assert torch.equal(frames[:, picks], read_video(clip10, fps=4.0, size=None, start=1.0, duration=1.0))


def test_window_past_the_end_and_bad_options(clip10):
    with pytest.raises(ValueError, match="no video frames"):
        read_video(clip10, start=3.0)
    for bad in ({"fps": 0}, {"start": -1.0}, {"duration": 0.0}, {"rule": "nearest"}):
        with pytest.raises(ValueError):
            read_video(clip10, **bad)


def test_exact_rule_reads_a_6fps_file_as_written(tmp_path):
    """Every clip asva generates is a 6-fps file: the official rule (pts in whole microseconds) skips its
    frame 2 (0.333333 s < 1/3) and repeats the last; rule="exact" (asva's oracle) reads 0..11 as written."""
    path = tmp_path / "six.mp4"
    write_video(path, counting_clip(12), fps=6)
    official = read_video(path, fps=6, size=None, duration=2.0)
    exact = read_video(path, fps=6, size=None, duration=2.0, rule="exact")
    assert frame_indices(official) == [0, 1] + list(range(3, 12))
    assert frame_indices(exact) == list(range(12))
    assert frame_indices(read_video(path, fps=6, size=None, start=1.0, rule="exact")) == list(range(6, 12))
    # at a rate not on the file's grid both rules take the first frame at or after each time
    assert torch.equal(read_video(path, fps=4, size=None), read_video(path, fps=4, size=None, rule="exact"))


def test_audio_track_round_trips(clip10):
    audio = read_audio(clip10)
    tone = 0.5 * torch.sin(2 * torch.pi * 440 * torch.arange(40000) / 16000)
    assert abs(audio.shape[0] - 40000) <= 1024  # AAC pads its last frame
    n = min(audio.shape[0], 40000)
    assert (audio[:n] - tone[:n]).norm() / tone[:n].norm() < 0.25  # aligned: no priming delay left


def test_aspect_crop_then_antialiased_resize_on_float(tmp_path):
    wide = torch.zeros(3, 2, 48, 96, dtype=torch.uint8)
    wide[0, :, :, :24] = 255  # red left quarter, cropped away
    wide[1, :, :, 24:72] = 200  # green centre square
    wide[2, :, :, 72:] = 255  # blue right quarter, cropped away
    out = fit_frames(wide, 16)
    assert out.dtype == torch.float32 and out.shape == (3, 2, 16, 16)
    assert torch.allclose(out[1], torch.tensor(200 / 255)) and out[0].eq(0).all() and out[2].eq(0).all()
    ramp = torch.randint(0, 256, (3, 3, 40, 30), dtype=torch.uint8)
    want = F.interpolate(ramp[:, :, 5:35].permute(1, 0, 2, 3).float() / 255, size=(12, 12), mode="bilinear",
                         align_corners=False, antialias=True).permute(1, 0, 2, 3)
    assert torch.equal(fit_frames(ramp, 12), want)  # not rounded to uint8, antialiased
    assert fit_frames(ramp, (8, 24)).shape == (3, 3, 8, 24)  # (h, w): crop 10 x 30 rows 15..25
    assert crop_box(40, 30, (8, 24)) == (15, 10, 0, 30)
    assert crop_note(40, 30, (8, 24)) == (
        "input is 40x30 (h x w) but the output is 8x24: centre-cropped to "
        "10x30 (15 rows at the top and 15 at the bottom cut) before resizing")
    assert crop_note(40, 30, (20, 15)) is None
    path = tmp_path / "wide.mp4"
    write_video(path, wide, fps=2)
    read = read_video(path, fps=2, size=16)
    assert read.shape == (3, 2, 16, 16) and read.dtype == torch.float32
    assert (read[1] * 255 - 200).abs().max() <= 4 and read[0].max() * 255 <= 4


def test_odd_sizes_are_padded_to_even(tmp_path):
    path = tmp_path / "odd.mp4"
    frames = torch.full((3, 3, 17, 23), 128, dtype=torch.uint8)
    write_video(path, frames, fps=5)
    assert read_all_frames(path)[0].shape == (3, 3, 18, 24)


def test_write_is_atomic_and_validates(tmp_path):
    path = tmp_path / "keep.mp4"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match="uint8"):
        write_video(path, torch.zeros(3, 2, 16, 16), fps=4)
    with pytest.raises(ValueError, match=r"\(3, f, h, w\)"):
        write_video(path, torch.zeros(2, 16, 16, dtype=torch.uint8), fps=4)
    blank = torch.zeros(3, 2, 16, 16, dtype=torch.uint8)
    with pytest.raises(ValueError, match="NaN"):
        write_video(path, blank, fps=4, audio=torch.full((100,), torch.nan))
    with pytest.raises(ValueError, match="fps"):
        write_gif(tmp_path / "x.gif", torch.zeros(3, 2, 16, 16, dtype=torch.uint8), fps=0)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]  # no temporaries left behind


def test_gif_and_png_frames(tmp_path):
    frames = counting_clip(4, 8, 12)
    gif = write_gif(tmp_path / "a.gif", frames, fps=5)
    with Image.open(gif) as im:
        assert im.n_frames == 4 and im.size == (12, 8)
        assert im.info["duration"] == 200 and im.info["loop"] == 0
        im.seek(3)
        assert np.asarray(im.convert("RGB"))[0, 0].tolist() == [24, 24, 24]
    paths = write_frames(tmp_path / "frames", frames)
    assert [p.name for p in paths] == ["00000.png", "00001.png", "00002.png", "00003.png"]
    assert all(torch.equal(read_image(p), frames[:, i]) for i, p in enumerate(paths))
    write_frames(tmp_path / "frames", frames[:, :2])  # the folder is replaced, not merged
    assert len(list((tmp_path / "frames").iterdir())) == 2
    assert torch.equal(read_image(write_image(tmp_path / "one.png", frames[:, 3])), frames[:, 3])
    with pytest.raises(ValueError, match=r"\(3, h, w\)"):
        write_image(tmp_path / "bad.png", frames)
    assert not (tmp_path / "bad.png").exists()


def test_bad_video_inputs(tmp_path):
    with pytest.raises(ValueError, match="nope.mp4: no such file"):
        read_video(tmp_path / "nope.mp4")
    with pytest.raises(ValueError, match="is a directory"):
        read_video(tmp_path)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.mp4: file is empty"):
        read_video(tmp_path / "empty.mp4")
    (tmp_path / "text.mp4").write_text("not a video\n" * 50)
    with pytest.raises(ValueError, match="text.mp4: not a readable media file"):
        read_video(tmp_path / "text.mp4")


def test_video_from_audio_only_file(tmp_path):
    path = tmp_path / "sound.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1600), np.int16), format="s16", layout="mono")
        frame.sample_rate = 16000
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    with pytest.raises(ValueError, match="sound.wav: has no video stream"):
        read_video(path)


@pytest.mark.parametrize("faststart", [False, True])
def test_truncated_mp4(tmp_path, faststart):
    whole = tmp_path / "whole.mp4"
    frames = torch.randint(0, 256, (3, 48, 64, 64), dtype=torch.uint8)
    audio = torch.randn(6 * 16000) * 0.1
    if faststart:  # index first: the cut file still opens, and decoding runs out early
        with av.open(str(whole), "w", options={"movflags": "faststart"}) as out:
            stream = out.add_stream(video_codec(), rate=8)
            stream.width = stream.height = 64
            stream.pix_fmt = "yuv420p"
            for i, image in enumerate(frames.permute(1, 2, 3, 0).numpy()):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = i
                out.mux(stream.encode(frame))
            out.mux(stream.encode())
    else:  # index last (the default): the cut file has no index
        write_video(whole, frames, fps=8, audio=audio)
    half = tmp_path / "half.mp4"
    data = whole.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    assert read_video(whole, size=None).shape[1] == 36
    with pytest.raises(ValueError, match="half.mp4: (truncated|not a readable)"):
        read_video(half)


def test_seeking_into_a_long_clip_matches_decoding_from_the_start(tmp_path):
    path = tmp_path / "long.mp4"
    with av.open(str(path), "w") as out:  # 10 s at 10 fps with a keyframe every second
        stream = out.add_stream(video_codec(), rate=10, options={"g": "10"})
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for i in range(100):  # frame i is a flat grey of level 2 * i
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 2 * i, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    full = read_video(path, fps=4, size=None)
    part = read_video(path, fps=4, size=None, start=5.25, duration=1.5)
    assert full.shape[1] == 40 and part.shape[1] == 6
    assert torch.equal(part, read_video(path, fps=4, size=None)[:, 21:27])
    levels = part.float().mean(dim=(0, 2, 3)) / 2  # lossy grey levels: within one step of the index
    assert (levels - torch.tensor([52, 55, 57, 60, 62, 65])).abs().max() <= 1


def test_lossless_evaluation_clips(tmp_path):
    rng = np.random.default_rng(0)
    frames = torch.from_numpy(rng.integers(0, 256, (3, 6, 32, 32), dtype=np.uint8))
    write_video(tmp_path / "eval.mp4", frames, 6.0, lossless=True)
    write_video(tmp_path / "view.mp4", frames, 6.0)
    err = {name: (read_all_frames(tmp_path / f"{name}.mp4")[0].float() - frames.float()).abs()
           for name in ("eval", "view")}
    if video_codec() == "libx264":
        with av.open(str(tmp_path / "eval.mp4")) as container:
            assert container.streams.video[0].codec_context.pix_fmt == "yuv444p"
        assert err["eval"].max() <= 3 and err["eval"].mean() < 1.0  # only the RGB <-> YUV rounding
    assert err["eval"].mean() < err["view"].mean()

