"""The videos to curate, with their class labels, from a folder or a CSV.

- a folder: `ROOT/<label>/<file>` (or `ROOT/videos/<label>/<file>`, an AVSync15-format dataset);
  prompts come from `ROOT/class_mapping.json` when there is one, else the label itself;
- a CSV `path,label` (a header line `path,label` is allowed; relative paths are relative to the CSV);
- a VGGSound CSV `youtube_id,start_seconds,label,split` with `video_dir` holding
  `<youtube_id>_<start_seconds:06d>.mp4` (the layout of the usual VGGSound downloads).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from asva.data.validate import VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoItem:
    key: str  # unique id of the video in this run (its path relative to the input), used for resuming
    path: str
    label: str
    prompt: str


def class_folder(label: str) -> str:
    """A label as a class folder name: runs of characters other than letters, digits, - and _ become _."""
    name = re.sub(r"[^\w\-]+", "_", label.strip()).strip("_")
    if not name:
        raise ValueError(f"label {label!r} gives an empty class folder name")
    return name


def read_sources(source: str | Path, video_dir: str | Path | None = None) -> list[VideoItem]:
    """Every video of `source` (folder or CSV), sorted by key; a ValueError if there are none."""
    source = Path(source)
    if source.is_dir():
        items = _from_folder(source)
    elif source.is_file() and source.suffix.lower() == ".csv":
        items = _from_csv(source, video_dir)
    else:
        raise ValueError(f"input {str(source)!r} must be a folder of class folders or a .csv file")
    if not items:
        raise ValueError(f"input {str(source)!r} lists no videos")
    keys = [i.key for i in items]
    if len(set(keys)) != len(keys):
        raise ValueError(f"input {str(source)!r} lists some videos twice")
    return sorted(items, key=lambda i: i.key)


def _from_folder(root: Path) -> list[VideoItem]:
    base = root / "videos" if (root / "videos").is_dir() else root
    mapping_file = root / "class_mapping.json"
    prompts = json.loads(mapping_file.read_text()) if mapping_file.is_file() else {}
    items = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in VIDEO_SUFFIXES:
                label = folder.name
                items.append(VideoItem(f"{label}/{path.name}", str(path), label, prompts.get(label, label)))
    return items


def _from_csv(path: Path, video_dir: str | Path | None) -> list[VideoItem]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["path", "label"]:
        rows = rows[1:]
    if rows and len(rows[0]) >= 4:
        return _vggsound(rows, path, video_dir)
    items = []
    for n, row in enumerate(rows, 1):
        if len(row) != 2:
            raise ValueError(f"{path}, row {n}: expected 'path,label', got {row}")
        rel, label = row[0].strip(), row[1].strip()
        full = Path(rel) if Path(rel).is_absolute() else path.parent / rel
        items.append(VideoItem(rel, str(full), label, label))
    return items


def _vggsound(rows: list[list[str]], path: Path, video_dir: str | Path | None) -> list[VideoItem]:
    if video_dir is None:
        raise ValueError(
            f"{path} is a VGGSound CSV (youtube_id,start_seconds,label,split): "
            "pass --video-dir with its <youtube_id>_<start:06d>.mp4 files"
        )
    items = []
    for n, row in enumerate(rows, 1):
        try:
            ytid, start, label = row[0].strip(), int(float(row[1])), row[2].strip()
        except (ValueError, IndexError) as err:
            raise ValueError(
                f"{path}, row {n}: expected youtube_id,start_seconds,label,split, got {row}"
            ) from err
        name = f"{ytid}_{start:06d}.mp4"
        items.append(VideoItem(name, str(Path(video_dir) / name), label, label))
    return items
