"""Writing clips: mp4 (H.264 or MPEG-4 Part 2, optional AAC audio), animated GIF, PNG frames; PNG images.

Every output goes through `asva.utils.atomic_path`: a failed write leaves no partial file.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from einops import rearrange
from PIL import Image

from asva.utils import atomic_path

_AUDIO_CHUNK = 1024  # samples per AAC frame


# crf 18 is visually lossless; "veryfast" encodes several times faster than the default "medium".
_X264 = {"crf": "18", "preset": "veryfast"}
# Evaluation clips: qp 0 is x264's lossless mode; in yuv444p the only loss is the RGB <-> YUV rounding
# (max 2, mean 0.40 levels on a noisy 256-px clip, against max 64, mean 8.2 at crf 18 yuv420p).
# High 4:4:4 Predictive: FFmpeg/PyAV decode it, most browsers do not play it.
_X264_LOSSLESS = {"qp": "0", "preset": "veryfast"}


def _check_frames(frames: torch.Tensor) -> np.ndarray:
    """Validate uint8 (3, f, h, w) frames and return them as a numpy (f, h, w, 3) array."""
    if not isinstance(frames, torch.Tensor) or frames.dtype != torch.uint8:
        got = frames.dtype if isinstance(frames, torch.Tensor) else type(frames).__name__
        raise ValueError(f"frames must be a torch.uint8 tensor (3, f, h, w), got {got}")
    if frames.ndim != 4 or frames.shape[0] != 3 or 0 in frames.shape:
        raise ValueError(f"frames must have shape (3, f, h, w) with f, h, w >= 1, got {tuple(frames.shape)}")
    return rearrange(frames, "c f h w -> f h w c").contiguous().numpy()


def _check_fps(fps: float) -> Fraction:
    if not fps or fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return Fraction(fps).limit_denominator(1001)


def video_codec() -> str:
    """The H.264 encoder if PyAV's FFmpeg has libx264, else FFmpeg's own MPEG-4 Part 2."""
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def _even(array: np.ndarray) -> np.ndarray:
    """Pad (f, h, w, 3) by repeating the last row / column so h and w are even (yuv420p needs it)."""
    _, h, w, _ = array.shape
    return np.pad(array, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _audio_frames(audio: torch.Tensor, sample_rate: int):
    """Yield mono float AudioFrames of _AUDIO_CHUNK samples with their pts."""
    samples = audio.detach().to(torch.float32).clamp(-1, 1).numpy()
    for i in range(0, samples.shape[0], _AUDIO_CHUNK):
        frame = av.AudioFrame.from_ndarray(samples[None, i : i + _AUDIO_CHUNK], format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = sample_rate, i, Fraction(1, sample_rate)
        yield frame


def audio_track(audio: torch.Tensor) -> torch.Tensor:
    """The one rule for the sound every writer muxes: a mono waveform (n,) as it is; of (channels, n),
    channel 0 (the channel ImageBind and the evaluation's mel read, as in the paper)."""
    return audio[0] if audio.ndim == 2 else audio


def write_video(
    path: str | os.PathLike,
    frames: torch.Tensor,
    fps: float,
    *,
    audio: torch.Tensor | None = None,
    sample_rate: int = 16000,
    lossless: bool = False,
) -> Path:
    """Write uint8 frames (3, f, h, w) to an mp4 at `fps`, with optional audio (n,) or (channels, n)
    as mono AAC (`audio_track`: channel 0 of several).

    Video is H.264 (libx264) when available, else MPEG-4 Part 2. Default: crf 18, preset veryfast,
    yuv420p (plays everywhere). `lossless` (evaluation clips): qp 0, preset veryfast, yuv444p, lossless
    but for the RGB <-> YUV rounding (within 2 levels); MPEG-4 Part 2 has no lossless mode and stays at
    yuv420p, 8 Mb/s.
    Odd heights / widths are padded by one repeated row / column. Audio samples are clipped to [-1, 1].
    """
    array = _even(_check_frames(frames))
    rate = _check_fps(fps)
    audio = None if audio is None else audio_track(audio)
    if audio is not None and (audio.ndim != 1 or not audio.is_floating_point() or audio.numel() == 0):
        got = f"{audio.dtype} {tuple(audio.shape)}"
        raise ValueError(f"audio must be a non-empty float waveform (n,), got {got}")
    if audio is not None and not torch.isfinite(audio).all():
        raise ValueError("audio contains NaN or infinite samples")
    path = Path(path)
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        codec = video_codec()
        options = (_X264_LOSSLESS if lossless else _X264) if codec == "libx264" else {}
        vstream = container.add_stream(codec, rate=rate, options=options)
        vstream.height, vstream.width = array.shape[1:3]
        vstream.pix_fmt = "yuv444p" if lossless and codec == "libx264" else "yuv420p"
        if codec == "mpeg4":
            vstream.bit_rate = 8_000_000
        astream = None
        if audio is not None:
            astream = container.add_stream("aac", rate=int(sample_rate), layout="mono")
        for i, image in enumerate(array):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(vstream.encode(frame))
        container.mux(vstream.encode())
        if astream is not None:
            for frame in _audio_frames(audio, int(sample_rate)):
                container.mux(astream.encode(frame))
            container.mux(astream.encode())
    return path


def _pil_frames(frames: torch.Tensor) -> list[Image.Image]:
    return [Image.fromarray(image) for image in _check_frames(frames)]


def write_gif(path: str | os.PathLike, frames: torch.Tensor, fps: float) -> Path:
    """Write uint8 frames (3, f, h, w) as a looping animated GIF (frame time rounded to 10 ms by GIF)."""
    images = _pil_frames(frames)
    rate = _check_fps(fps)
    path = Path(path)
    with atomic_path(path) as tmp:
        images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=1000 / float(rate), loop=0
        )
    return path


def write_frames(directory: str | os.PathLike, frames: torch.Tensor) -> list[Path]:
    """Write uint8 frames (3, f, h, w) as `directory`/00000.png, 00001.png, ... (the folder is replaced)."""
    images = _pil_frames(frames)
    directory = Path(directory)
    with atomic_path(directory, is_dir=True) as tmp:
        for i, image in enumerate(images):
            image.save(tmp / f"{i:05d}.png", format="PNG")
    return [directory / f"{i:05d}.png" for i in range(len(images))]


def write_image(path: str | os.PathLike, image: torch.Tensor) -> Path:
    """Write a uint8 image (3, h, w) (a frame, a contact sheet) as PNG."""
    if not isinstance(image, torch.Tensor) or image.ndim != 3:
        got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"an image must be a torch.uint8 tensor (3, h, w), got {got}")
    array = _check_frames(image[:, None])[0]  # (h, w, 3)
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")
    return path
