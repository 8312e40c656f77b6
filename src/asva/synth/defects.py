"""Defect injection on synthetic clips: the test bed that shows what `asva curate` rejects.

    write_defect_set(out, per_defect=6, seed=1)  -> OUT/videos/<class>/<file>.mp4, OUT/defects.json
    defect_report(manifest_rows, truth)          -> per-defect recall / precision, share of clean kept

Defects (each applied to a whole clip rendered by `make_clip`):
    clean    the clip as rendered
    static   every frame is the first frame (audio kept)
    cut      the clip followed by another class's clip: a scene cut at the join
    silent   the audio is all zeros
    shifted  the audio rotated 1 s later (circularly, so there is no silent gap)
    swapped  the audio of another class's clip
    zoom     a slow zoom in to 1.35x over the clip
    shake    every frame translated by up to 12% of the frame side, at random
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from asva.synth.classes import CLASSES
from asva.synth.scene import FPS, SAMPLE_RATE, make_clip

DEFECTS = ("clean", "static", "cut", "silent", "shifted", "swapped", "zoom", "shake")


def _other(name: str, index: int) -> str:
    others = sorted(set(CLASSES) - {name})
    return others[index % len(others)]


def _fit(audio: np.ndarray, n: int) -> np.ndarray:
    return np.resize(audio, n).astype(np.float32)  # repeats (or cuts) to n samples


def _zoom(frames: np.ndarray, max_scale: float = 1.35) -> np.ndarray:
    f, size = frames.shape[0], frames.shape[1]
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()  # (f, 3, h, w)
    out = []
    for k in range(f):
        side = max(2, round(size / (1 + (max_scale - 1) * k / max(1, f - 1))))
        top = (size - side) // 2
        crop = x[k : k + 1, :, top : top + side, top : top + side]
        out.append(
            torch.nn.functional.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False)
        )
    return torch.cat(out).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


def _shake(frames: np.ndarray, rng: np.random.Generator, amount: float = 0.12) -> np.ndarray:
    limit = max(1, round(frames.shape[1] * amount))
    moves = rng.integers(-limit, limit + 1, size=(frames.shape[0], 2))
    pairs = zip(frames, moves, strict=True)
    return np.stack([np.roll(frame, (int(dy), int(dx)), axis=(0, 1)) for frame, (dy, dx) in pairs])


def inject(defect: str, name: str, index: int, seed: int, size: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """(frames (f, h, w, 3) uint8, audio (n,) float32, truth) of clip `index` of `name` with `defect`."""
    if defect not in DEFECTS:
        raise ValueError(f"defect must be one of {DEFECTS}, got {defect!r}")
    clip = make_clip(name, index, seed, size=size, two_object_fraction=0.0)
    frames, audio = clip.frames, clip.audio
    truth = {"defect": defect, "class": name, "duration": clip.meta["duration"]}
    if defect == "static":
        frames = np.repeat(frames[:1], len(frames), axis=0)
    elif defect == "silent":
        audio = np.zeros_like(audio)
    elif defect == "shifted":
        audio = np.roll(audio, SAMPLE_RATE)
    elif defect in ("swapped", "cut"):
        other = make_clip(_other(name, index), index + 1000, seed, size=size, two_object_fraction=0.0)
        if defect == "swapped":
            audio = _fit(other.audio, len(audio))
        else:
            truth["cut_time"] = clip.meta["duration"]
            truth["duration"] += other.meta["duration"]
            frames, audio = np.concatenate([frames, other.frames]), np.concatenate([audio, other.audio])
    elif defect == "zoom":
        frames = _zoom(frames)
    elif defect == "shake":
        frames = _shake(frames, np.random.default_rng([seed, index, 7]))
    return frames, audio, truth


def write_defect_set(
    out: str | Path,
    per_defect: int,
    seed: int = 1,
    size: int = 64,
    defects: tuple[str, ...] = DEFECTS,
    classes: tuple[str, ...] | None = None,
) -> dict[str, dict]:
    """`per_defect` clips of each defect (`classes`, default all, in turn) under OUT/videos/<class>/;
    returns the truth {key "<class>/<file>": {"defect", "class", "duration", ["cut_time"]}}, also
    written to OUT/defects.json."""
    from asva.media import write_video
    from asva.utils import write_json

    out, names, truth = Path(out), sorted(classes or CLASSES), {}
    for d, defect in enumerate(defects):
        for i in range(per_defect):
            name = names[(i + d) % len(names)]
            index = d * per_defect + i
            key = f"{name}/{name}_{index:04d}_{defect}.mp4"
            path = out / "videos" / key
            frames, audio, fact = inject(defect, name, index, seed, size)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_video(
                path,
                torch.from_numpy(frames).permute(3, 0, 1, 2),
                FPS,
                audio=torch.from_numpy(audio),
                sample_rate=SAMPLE_RATE,
            )
            truth[key] = fact
    write_json(out / "class_mapping.json", {n: CLASSES[n].prompt for n in names})
    write_json(out / "defects.json", truth)
    return truth


def _clip_defective(row: dict, fact: dict) -> bool:
    if fact["defect"] == "cut":
        return row["start"] is not None and row["start"] < fact["cut_time"] < row["end"]
    return fact["defect"] != "clean"


def defect_report(rows: list[dict], truth: dict[str, dict]) -> dict[str, dict]:
    """Per defect: clips, rejected, recall, precision (against the clean clips' rejections), by stage.

    Units: for whole-clip defects, each clip of a defective video (a video that gives no clip counts as
    one rejected unit); for `cut`, each cut video, rejected when no kept clip spans the cut.
    `precision` = rejected defective units / (those + rejected clean clips). For `clean`: `kept_share`.
    """
    by_video: dict[str, list[dict]] = {}
    for row in rows:
        by_video.setdefault(row["video"], []).append(row)
    tally = {d: {"videos": 0, "units": 0, "rejected": 0, "stages": {}} for d in DEFECTS}
    for key, fact in truth.items():
        video_rows, t = by_video.get(key, []), tally[fact["defect"]]
        t["videos"] += 1
        if fact["defect"] == "cut":
            spanning = [r for r in video_rows if _clip_defective(r, fact)]
            kept = [r for r in spanning if r["status"] == "kept"]
            t["units"] += 1
            t["rejected"] += not kept
            for r in spanning:
                if r["status"] == "rejected":
                    t["stages"][r["stage"]] = t["stages"].get(r["stage"], 0) + 1
            if not spanning:
                t["stages"]["scenes"] = t["stages"].get("scenes", 0) + 1
            continue
        for r in video_rows:
            t["units"] += 1
            if r["status"] == "rejected":
                t["rejected"] += 1
                t["stages"][r["stage"]] = t["stages"].get(r["stage"], 0) + 1
    clean_rejected = tally["clean"]["rejected"]
    report = {}
    for d, t in tally.items():
        if not t["units"]:
            continue
        entry = {
            "videos": t["videos"],
            "units": t["units"],
            "rejected": t["rejected"],
            "rejected_by": dict(sorted(t["stages"].items())),
        }
        if d == "clean":
            entry["kept_share"] = 1.0 - t["rejected"] / t["units"]
        else:
            entry["recall"] = t["rejected"] / t["units"]
            entry["precision"] = t["rejected"] / max(1, t["rejected"] + clean_rejected)
        report[d] = entry
    return report
