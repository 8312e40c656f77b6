"""One video through every stage: the manifest rows of its clips.

A row is a JSON-ready dict: the video's key, path, label and prompt; the clip's index, scene, start and
end; `status` ("kept" or "rejected"), the rejecting `stage` and `reason`; every score computed; the
stages skipped; and `rows` (how many rows the video has, so a resumed run can tell a complete video).
A video that cannot be read, or has no scene long enough for one clip, gives one row with clip = None.
"""

from __future__ import annotations

import contextlib
import time

from asva.curation.config import CurateConfig
from asva.curation.decode import decode_video
from asva.curation.sources import VideoItem
from asva.curation.stages import SCORING_STAGES, detect_scenes, split_scenes

DIGITS = 6  # scores are rounded so that runs (local, Ray, resumed) give the same bytes


def _clip_row(base: dict, index: int, scene: int, span: tuple[float, float]) -> dict:
    """A manifest row for clip `index` (of scene `scene`, seconds `span`), kept until a stage rejects it."""
    return {**base, "clip": index, "scene": scene, "start": span[0], "end": span[1], "status": "kept",
            "stage": None, "reason": None, "scores": {}}


def curate_video(
    item: VideoItem, config: CurateConfig, models, skip: tuple[str, ...] = (), timings: dict | None = None
) -> list[dict]:
    """The manifest rows of `item`: every clip, kept or rejected with the stage that rejected it.

    With a `timings` dict, each stage's seconds and clips (videos for decode and scenes) are added to
    timings[stage] = [wall seconds, CPU seconds, count] (benchmarks/bench_curate.py).
    """
    clock = _Clock(timings)
    base = {
        "video": item.key,
        "path": item.path,
        "label": item.label,
        "prompt": item.prompt,
        "skipped": sorted(skip),
    }
    try:
        with clock("decode", 1):
            video = decode_video(item.path, config.analysis_fps, config.analysis_size)
    except ValueError as err:
        return [_video_row(base, "read", str(err))]
    with clock("scenes", 1):
        scenes = [(0.0, video.duration)] if "scenes" in skip else detect_scenes(video, config)
    clips = split_scenes(scenes, config.clip_seconds, config.clip_stride)
    if not clips:
        return [
            _video_row(
                base,
                "scenes",
                f"no scene of {config.clip_seconds} s or longer "
                f"({len(scenes)} scene(s) in {video.duration:.2f} s)",
            )
        ]
    rows = [_clip_row(base, i, scene, span) for i, (scene, span) in enumerate(clips)]
    for name, stage in SCORING_STAGES.items():
        active = [r for r in rows if r["status"] == "kept"]
        if name in skip or not active:
            continue
        extra = {"prompt": item.prompt} if name == "alignment" else {}
        with clock(name, len(active)):
            verdicts = stage(video, [(r["start"], r["end"]) for r in active], config, models, **extra)
        for row, (scores, reason) in zip(active, verdicts, strict=True):
            row["scores"].update({k: round(float(v), DIGITS) for k, v in scores.items()})
            if reason is not None:
                row.update(status="rejected", stage=name, reason=reason)
    for row in rows:
        row["rows"] = len(rows)
    return rows


class _Clock:
    def __init__(self, timings: dict | None):
        self.timings = timings

    @contextlib.contextmanager
    def __call__(self, name: str, count: int):
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        if self.timings is not None:
            entry = self.timings.setdefault(name, [0.0, 0.0, 0])
            entry[0] += time.perf_counter() - wall
            entry[1] += time.process_time() - cpu
            entry[2] += count


def _video_row(base: dict, stage: str, reason: str) -> dict:
    return {
        **base,
        "clip": None,
        "scene": None,
        "start": None,
        "end": None,
        "status": "rejected",
        "stage": stage,
        "reason": reason,
        "scores": {},
        "rows": 1,
    }
