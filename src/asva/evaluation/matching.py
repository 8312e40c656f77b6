"""Match generated clips to the test clips they were generated for, and refuse mismatched sets.

Layout (the one the official `animation_gen.py` writes, and `asva generate-eval` too):

    GENERATED/<class>/<stem>_clip-<k:02d>.mp4     k = 0 .. clips_per_video - 1

for every `<class>/<stem>.mp4` line of the dataset's `test.txt`: clip k was generated from the
first frame and the audio of the k-th evaluation clip of that video (the three-start protocol:
starts k * (duration - 2) / 2). A set is accepted only if every expected file is there, no other
`.mp4` is, and every file has a video stream giving exactly `num_frames` frames at `fps` (and an
audio stream when a metric needs the audio); otherwise `MismatchError` lists every problem.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from asva.data.validate import cached_probe

CLIP_TEMPLATE = "{stem}_clip-{k:02d}.mp4"
MAX_LISTED = 20


@dataclass(frozen=True)
class EvalClip:
    """One generated clip and the test clip it stands for."""

    index: int  # position in evaluation order: video_index * clips_per_video + clip_index
    video: str  # "<class>/<file>.mp4" relative to DATASET/videos
    cls: str  # class folder
    clip_index: int  # k: which evaluation clip of the video
    generated: Path  # the generated file

    @property
    def name(self) -> str:
        """The generated file relative to the generated folder (`<class>/<stem>_clip-00.mp4`)."""
        return generated_name(self.video, self.clip_index)


@dataclass(frozen=True)
class Problem:
    """Something wrong with a generated set.

    `kind`: missing, extra, frames, no-video, no-audio or unreadable.
    """

    kind: str
    path: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}" + (f" ({self.detail})" if self.detail else "")


class MismatchError(ValueError):
    """A generated set that does not match the test clips; `problems` holds every `Problem`."""

    def __init__(self, message: str, problems: Sequence[Problem]):
        super().__init__(message)
        self.problems = list(problems)


def generated_name(video: str, clip_index: int) -> str:
    """`<class>/<stem>.mp4` and k -> `<class>/<stem>_clip-<k:02d>.mp4`."""
    rel = PurePosixPath(video)
    return str(rel.parent / CLIP_TEMPLATE.format(stem=rel.stem, k=clip_index))


def expected_clips(
    videos: Sequence[str], generated_dir: str | os.PathLike, clips_per_video: int = 3
) -> list[EvalClip]:
    """The generated clips a set must hold for `videos` ("<class>/<file>.mp4"), in evaluation order."""
    if clips_per_video < 1:
        raise ValueError(f"clips_per_video must be >= 1, got {clips_per_video}")
    root = Path(generated_dir)
    clips = []
    for v, video in enumerate(videos):
        for k in range(clips_per_video):
            name = generated_name(video, k)
            clips.append(
                EvalClip(v * clips_per_video + k, video, PurePosixPath(video).parts[0], k, root / name)
            )
    return clips


def frames_at(num_frames: int, native_fps: float, fps: float) -> int:
    """How many frames a clip of `num_frames` at `native_fps` gives when read at `fps`."""
    return round(num_frames * fps / native_fps) if native_fps > 0 else 0


def check_clip(path: Path, name: str, *, num_frames: int, fps: float, need_audio: bool) -> list[Problem]:
    """Problems of one generated file (container headers only)."""
    try:
        info, _ = cached_probe(path)
    except (ValueError, OSError) as err:
        return [Problem("unreadable", name, str(err).splitlines()[0])]
    problems = []
    if not info.has_video:
        problems.append(Problem("no-video", name, "no video stream"))
    else:
        got = frames_at(info.num_frames, info.fps, fps)
        if got != num_frames:
            problems.append(
                Problem(
                    "frames",
                    name,
                    f"{info.num_frames} frames at {info.fps:g} fps give {got} "
                    f"at {fps:g} fps, expected {num_frames}",
                )
            )
    if need_audio and not info.has_audio:
        problems.append(Problem("no-audio", name, "no audio stream; RelSync, AlignSync and IA re-decode it"))
    return problems


def match_generated(
    videos: Sequence[str],
    generated_dir: str | os.PathLike,
    *,
    clips_per_video: int = 3,
    num_frames: int = 12,
    fps: float = 6.0,
    need_audio: bool = True,
) -> list[EvalClip]:
    """The generated clips of `videos`, in evaluation order; raise `MismatchError` listing every
    missing, extra, unreadable or wrongly sized file."""
    root = Path(generated_dir)
    if not root.is_dir():
        raise ValueError(f"generated folder {str(root)!r} does not exist")
    clips = expected_clips(videos, root, clips_per_video)
    expected = {c.name for c in clips}
    found = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*.mp4")
        if p.is_file() and not p.name.startswith(".")
    }
    problems = [Problem("missing", c.name) for c in clips if c.name not in found]
    problems += [
        Problem("extra", name, "not one of the expected clip names") for name in sorted(found - expected)
    ]
    for c in clips:
        if c.name in found:
            problems += check_clip(c.generated, c.name, num_frames=num_frames, fps=fps, need_audio=need_audio)
    if problems:
        raise MismatchError(describe(problems, root, len(videos), clips_per_video), problems)
    return clips


def describe(problems: Sequence[Problem], root: Path, num_videos: int, clips_per_video: int) -> str:
    counts = ", ".join(f"{n} {kind}" for kind, n in Counter(p.kind for p in problems).items())
    lines = [str(p) for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f"... and {len(problems) - MAX_LISTED} more")
    example = CLIP_TEMPLATE.format(stem="<stem>", k=0)
    return (
        f"generated set {str(root)!r} does not match the {num_videos * clips_per_video} test clips "
        f"({num_videos} videos x {clips_per_video}; expected <class>/{example} ...): {counts}\n  "
        + "\n  ".join(lines)
    )
