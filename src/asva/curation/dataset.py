"""From manifest rows to an AVSync15-format dataset (what `asva train` and `asva evaluate` read).

1. `segments`: each video's consecutive kept clips of one scene merged into one segment.
2. `split_segments`: classes with fewer than `min_per_class` segments dropped; per class, `test_per_class`
   source videos drawn with a generator seeded by (seed, class) give one test segment each, the other
   videos' segments are train (a source video never feeds both splits).
3. `write_dataset`: every segment cut from its source (native frame rate and sample rate, H.264 + AAC)
   to OUT/videos/<class>/<video>_<k>.mp4, then train.txt, test.txt, class_mapping.json (written last,
   atomically). Segments already written by an earlier run are not cut again.
"""

from __future__ import annotations

import re
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asva.curation.sources import class_folder
from asva.curation.stages import merge_spans
from asva.utils import atomic_path, write_json


@dataclass(frozen=True)
class Segment:
    video: str
    path: str
    label: str
    prompt: str
    start: float
    end: float
    index: int

    @property
    def rel(self) -> str:
        """ "<class>/<video>_<k>.mp4" relative to OUT/videos."""
        stem = re.sub(r"[^\w\-]+", "_", Path(self.video).with_suffix("").as_posix()).strip("_")
        return f"{class_folder(self.label)}/{stem}_{self.index:02d}.mp4"


def segments(rows: list[dict]) -> list[Segment]:
    """Merged kept clips, sorted by (video, start)."""
    groups: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for r in rows:
        if r["status"] == "kept" and r["clip"] is not None:
            groups[(r["video"], r["scene"])].append(r)
    out, counter = [], defaultdict(int)
    for (video, _), clips in sorted(groups.items()):
        first = clips[0]
        for start, end in merge_spans([(c["start"], c["end"]) for c in clips]):
            out.append(
                Segment(video, first["path"], first["label"], first["prompt"], start, end, counter[video])
            )
            counter[video] += 1
    return out


def split_segments(segs: list[Segment], min_per_class: int, test_per_class: int, seed: int):
    """(train, test, dropped classes): see the module docstring."""
    by_class: dict[str, list[Segment]] = defaultdict(list)
    for s in segs:
        by_class[s.label].append(s)
    train, test, dropped = [], [], []
    for label in sorted(by_class):
        items = by_class[label]
        if len(items) < min_per_class:
            dropped.append(label)
            continue
        videos = sorted({s.video for s in items})
        order = np.random.default_rng([int(seed), zlib.crc32(label.encode())]).permutation(len(videos))
        n_test = min(test_per_class, len(videos) - 1)
        test_videos = {videos[i] for i in order[:n_test]}
        test += [next(s for s in items if s.video == v) for v in sorted(test_videos)]
        train += [s for s in items if s.video not in test_videos]
    return train, test, dropped


def cut_segment(seg: Segment, out: Path) -> None:
    """Write seg's time span of its source to OUT/videos/<rel> (skipped if already there)."""
    from asva.media import probe, read_audio, read_video, write_video

    path = out / "videos" / seg.rel
    if path.is_file():
        return
    info = probe(seg.path)
    duration = seg.end - seg.start
    frames = read_video(seg.path, fps=info.fps, size=None, start=seg.start, duration=duration, rule="exact")
    audio = read_audio(seg.path, sample_rate=info.sample_rate, start=seg.start, duration=duration)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(path, frames, info.fps, audio=audio, sample_rate=info.sample_rate)


def write_dataset(
    rows: list[dict],
    out: str | Path,
    *,
    min_per_class: int,
    test_per_class: int,
    seed: int,
    progress: bool = False,
) -> dict:
    """Segments of `rows` written as a dataset under `out`; returns what was written."""
    from tqdm import tqdm

    out = Path(out)
    train, test, dropped = split_segments(segments(rows), min_per_class, test_per_class, seed)
    for seg in tqdm(train + test, desc="writing dataset", unit="video", disable=not progress):
        cut_segment(seg, out)
    for name, items in (("train", train), ("test", test)):
        with atomic_path(out / f"{name}.txt") as tmp:
            tmp.write_text(
                "".join(f"{s.rel}\n" for s in sorted(items, key=lambda s: s.rel)), encoding="utf-8"
            )
    mapping = {class_folder(s.label): s.prompt for s in sorted(train + test, key=lambda s: s.label)}
    write_json(out / "class_mapping.json", dict(sorted(mapping.items())))
    per_class = defaultdict(int)
    for s in train + test:
        per_class[s.label] += 1
    return {"train": len(train), "test": len(test), "dropped": dropped, "per_class": dict(per_class)}
