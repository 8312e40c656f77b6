"""Checking an AVSync15-format dataset before anything is trained or evaluated on it.

Layout (the real AVSync15, Landscapes / TheGreatestHits laid out the same way, `asva synth` output):

    ROOT/videos/<class>/<file>.mp4
    ROOT/train.txt, ROOT/test.txt     one `<class>/<file>.mp4` per line
    ROOT/class_mapping.json           {"<class>": "<prompt>", ...}

`scan_split` reads a list file and checks every line: well formed, file present and readable
(container header only), a video and an audio stream, class known to the mapping, at least one
clip long. It returns the good entries and every bad one, so the caller can report them all at
once. Probe results are cached in memory per (path, size, mtime).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import av

from asva.media import MediaInfo, probe

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
SPLITS = ("train", "test")

_PROBE_CACHE: dict[tuple[str, int, int], tuple[MediaInfo, float]] = {}


@dataclass(frozen=True)
class Entry:
    """One usable video of a split."""

    line: int  # 1-based line in the list file
    path: str  # "<class>/<file>.mp4", relative to ROOT/videos
    cls: str  # class folder name
    duration: float  # usable seconds: the shorter of the video and audio streams


@dataclass(frozen=True)
class BadEntry:
    """One line of a list file that cannot be used, and why."""

    line: int
    entry: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.entry!r}: {self.reason}"


def cached_probe(path: str | os.PathLike) -> tuple[MediaInfo, float]:
    """(`asva.media.probe(path)`, usable seconds), remembered while the file keeps its size and mtime.

    Usable seconds is the shorter of the video and audio streams' header durations (as the
    official loader takes it), falling back to `MediaInfo.duration` (the longest stream) when
    a stream header has no duration. Only headers are read, nothing is decoded.
    """
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _PROBE_CACHE:
        info = probe(path)
        _PROBE_CACHE[key] = (info, _shortest_stream(path, info.duration))
    return _PROBE_CACHE[key]


def _shortest_stream(path: str | os.PathLike, fallback: float) -> float:
    with av.open(str(path)) as container:
        streams = list(container.streams.video[:1]) + list(container.streams.audio[:1])
        durations = [float(s.duration * s.time_base) for s in streams if s.duration and s.time_base]
    return min(durations + [float(fallback)]) if durations else float(fallback)


def read_class_mapping(root: str | os.PathLike) -> dict[str, str]:
    """`ROOT/class_mapping.json` as {class folder: prompt}; a missing or malformed file raises."""
    path = Path(root) / "class_mapping.json"
    if not path.is_file():
        raise ValueError(f"class mapping {str(path)!r} not found; expected a JSON object "
                         "{\"<class folder>\": \"<prompt>\"}")
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"class mapping {str(path)!r} is not valid JSON: {err}") from err
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError(f"class mapping {str(path)!r} must be a non-empty JSON object "
                         f"{{\"<class folder>\": \"<prompt>\"}}, got {type(mapping).__name__}")
    bad = [k for k, v in mapping.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ValueError(f"class mapping {str(path)!r}: classes {bad[:20]} need a non-empty prompt string")
    return mapping


def read_list(path: Path) -> tuple[list[tuple[int, str]], list[BadEntry]]:
    """Well-formed `<class>/<file>.<video suffix>` lines (1-based line numbers) and the malformed ones.

    Blank lines are ignored.
    """
    if not path.is_file():
        raise ValueError(f"split list {str(path)!r} not found; expected one '<class>/<file>.mp4' per line")
    good, bad = [], []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.strip()
        if not text:
            continue
        problem = _line_problem(text)
        if problem:
            bad.append(BadEntry(number, text, problem))
        else:
            good.append((number, text))
    return good, bad


def _line_problem(text: str) -> str | None:
    rel = PurePosixPath(text)
    if "\\" in text or rel.is_absolute() or len(rel.parts) != 2 or ".." in rel.parts:
        return "malformed line, expected '<class>/<file>.mp4'"
    if rel.suffix.lower() not in VIDEO_SUFFIXES:
        return f"not a video file name, expected one of {', '.join(VIDEO_SUFFIXES)}"
    return None


def check_entry(root: Path, line: int, rel: str, mapping: dict[str, str], min_duration: float):
    """An `Entry` for a usable video, else a `BadEntry` naming what is wrong with it."""
    cls = PurePosixPath(rel).parts[0]
    path = root / "videos" / rel
    if cls not in mapping:
        return BadEntry(line, rel, f"class {cls!r} is not in class_mapping.json")
    if not path.is_file():
        return BadEntry(line, rel, f"video file {str(path)!r} does not exist")
    try:
        info, duration = cached_probe(path)
    except Exception as err:  # any decoder failure means "unreadable"
        return BadEntry(line, rel, f"unreadable video ({type(err).__name__}: {err})")
    if not info.has_video or not info.has_audio:
        missing = "video" if not info.has_video else "audio"
        return BadEntry(line, rel, f"no {missing} stream")
    if not duration >= min_duration:
        return BadEntry(line, rel, f"too short: {duration:.3f} s, need at least {min_duration:.3f} s")
    return Entry(line, rel, cls, duration)


def scan_split(root: str | os.PathLike, split: str, min_duration: float):
    """(class mapping, usable entries, bad entries) of `ROOT/<split>.txt`."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(root)
    if not (root / "videos").is_dir():
        raise ValueError(f"dataset root {str(root)!r} has no 'videos' folder; expected ROOT/videos/<class>/")
    mapping = read_class_mapping(root)
    lines, bad = read_list(root / f"{split}.txt")
    entries = []
    for line, rel in lines:
        result = check_entry(root, line, rel, mapping, min_duration)
        (entries if isinstance(result, Entry) else bad).append(result)
    bad.sort(key=lambda b: b.line)
    return mapping, entries, bad


def format_bad(bad: list[BadEntry], limit: int = 20) -> str:
    """One line per bad entry, the first `limit` of them, then how many more there are."""
    rows = [f"  {b}" for b in bad[:limit]]
    if len(bad) > limit:
        rows.append(f"  ... and {len(bad) - limit} more")
    return "\n".join(rows)
