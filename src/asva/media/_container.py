"""Opening media files with PyAV: every failure becomes a `ValueError` naming the file.

Shared by the probe, video and audio readers so the checks (missing path, directory,
empty file, not media, truncated) read the same everywhere.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import av


def check_file(path: str | os.PathLike) -> Path:
    """Return `path` as a Path after checking it names a non-empty regular file."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{p}: no such file")
    if p.is_dir():
        raise ValueError(f"{p}: is a directory, expected a media file")
    if not p.is_file():
        raise ValueError(f"{p}: not a regular file")
    if p.stat().st_size == 0:
        raise ValueError(f"{p}: file is empty (0 bytes)")
    return p


@contextlib.contextmanager
def open_media(path: str | os.PathLike) -> Iterator[av.container.InputContainer]:
    """Open `path` for reading; FFmpeg errors (on open or while decoding) become `ValueError`."""
    p = check_file(path)
    try:
        container = av.open(str(p), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as err:
        raise ValueError(f"{p}: not a readable media file ({_reason(err)})") from err
    try:
        if container.format.name == "wav":
            _check_wav_size(p)
        yield container
    except av.error.FFmpegError as err:
        raise ValueError(f"{p}: corrupt or truncated media ({_reason(err)})") from err
    finally:
        container.close()


def _check_wav_size(path: Path) -> None:
    """Raise if a RIFF/WAVE file's data chunk claims more bytes than the file holds.

    FFmpeg quietly plays a cut WAV to wherever it ends, so this reads the chunk headers.
    Sizes 0 and 0xFFFFFFFF (written by streaming tools that never patch the header) are trusted.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(4) != b"RIFF" or f.read(8)[4:] != b"WAVE":
            return
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            chunk_id, chunk_size = f.read(4), int.from_bytes(f.read(4), "little")
            if chunk_id == b"data":
                end = offset + 8 + chunk_size
                if chunk_size not in (0, 0xFFFFFFFF) and end > size:
                    raise ValueError(
                        f"{path}: truncated WAV: its data chunk needs {end} bytes but the file has {size}"
                    )
                return
            offset += 8 + chunk_size + (chunk_size & 1)


def _reason(err: Exception) -> str:
    return getattr(err, "strerror", None) or str(err)


def timeline_origin(container: av.container.InputContainer) -> float:
    """Seconds of the container's first timestamp: time 0 of every reader's timeline."""
    start = container.start_time
    return 0.0 if start is None else start / av.time_base


def stream_duration(stream: av.stream.Stream) -> float | None:
    """Duration the stream's header claims, in seconds, or None when it claims none."""
    if stream.duration is None or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def check_not_truncated(path: Path, stream: av.stream.Stream, decoded_end: float, origin: float) -> None:
    """Raise if decoding stopped well before the end the stream's header announced.

    `decoded_end` is the timeline time (seconds from `origin`) just past the last decoded
    frame or sample. The slack (10% or 0.25 s, whichever is larger) absorbs encoder delay
    and headers that round; mp3 is exempt because its header durations are estimates.
    """
    claimed = stream_duration(stream)
    if claimed is None or "mp3" in (stream.container.format.name or ""):
        return
    start = 0.0 if stream.start_time is None else float(stream.start_time * stream.time_base)
    claimed_end = start + claimed - origin
    if decoded_end < claimed_end - max(0.25, 0.1 * claimed):
        raise ValueError(
            f"{path}: truncated media: the {stream.type} stream ends at {decoded_end:.3f} s "
            f"but its header says {claimed_end:.3f} s"
        )
