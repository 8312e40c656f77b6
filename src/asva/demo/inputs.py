"""Checking what a visitor uploads, before anything is decoded: where it is, how big, how long.

Every refusal is a `ValueError` whose message is fit for the page: it names the file by its own
name (never the server's temporary path) and says the limit.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from asva.demo.config import Limits


def _message(err: Exception, path: Path) -> str:
    """The error text with the server-side path replaced by the file's name."""
    return str(err).replace(str(path), path.name)


def check_location(path: str | os.PathLike, roots: Sequence[Path]) -> Path:
    """`path` resolved; it must lie inside one of `roots` (Gradio's upload folder, the examples)."""
    resolved = Path(path).resolve()
    for root in roots:
        if resolved.is_relative_to(Path(root).resolve()):
            return resolved
    raise ValueError(f"{Path(path).name}: not an uploaded file (only uploads and the examples are read)")


def check_size(path: Path, limits: Limits, what: str) -> None:
    if not path.is_file():
        raise ValueError(f"the {what} {path.name} is missing; upload it again")
    size = path.stat().st_size
    if size > limits.max_upload_bytes:
        raise ValueError(f"the {what} {path.name} is {size / 2**20:.1f} MB, over the "
                         f"{limits.max_upload_mb:g} MB upload limit")


def load_image(path: str | os.PathLike | None, limits: Limits, roots: Sequence[Path]) -> torch.Tensor:
    """The image as uint8 (3, h, w), as read (each method fits it to its size with `media.fit_image`);
    refuses missing, oversized, huge (pixels) or corrupt files."""
    from asva.media import read_image

    if path is None:
        raise ValueError("no image: upload one, paste one, take one with the webcam, or click an example")
    path = check_location(path, roots)
    check_size(path, limits, "image")
    try:
        return read_image(path, max_pixels=limits.max_image_pixels)
    except ValueError as err:
        raise ValueError(_message(err, path)) from None


def load_audio(path: str | os.PathLike | None, limits: Limits, roots: Sequence[Path]) -> torch.Tensor:
    """The audio as float (channels, n) at 16 kHz; refuses missing, oversized, long or corrupt files."""
    from asva.media import probe, read_audio

    if path is None:
        raise ValueError("no audio: upload a sound, record one, or click an example")
    path = check_location(path, roots)
    check_size(path, limits, "audio")
    try:
        info = probe(path)
        if not info.has_audio:
            raise ValueError(f"{path}: has no audio stream")
        if info.duration > limits.max_audio_seconds:
            raise ValueError(f"{path}: the sound lasts {info.duration:.1f} s, over the "
                             f"{limits.max_audio_seconds:g}-s limit; trim it")
        return read_audio(path, mono=False)
    except ValueError as err:
        raise ValueError(_message(err, path)) from None
    except (OSError, RuntimeError) as err:  # PyAV decoding errors of a corrupt stream
        raise ValueError(f"{path.name}: not a readable audio file ({type(err).__name__})") from None
