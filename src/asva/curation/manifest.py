"""The manifest (JSON lines, one row per clip) and the closing summary.

Rows of a video are appended in one write and flushed, so after a kill the file holds whole videos
plus at most one partial line or video; `read_manifest` drops those and `repair_manifest` rewrites
the file without them, which is what makes a resumed run end with the same rows.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from pathlib import Path

from asva.curation.config import STAGES
from asva.utils import atomic_path

READ_STAGES = ("read", *STAGES, "review")  # "review": rejected in the manual pass


def row_line(row: dict) -> str:
    return json.dumps(row, sort_keys=True, separators=(",", ":")) + "\n"


def read_manifest(path: str | Path) -> list[dict]:
    """The rows of complete videos in `path` (a missing file is empty)."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # the partial last line of a killed run
    per_video = Counter(r["video"] for r in rows)
    return [r for r in rows if per_video[r["video"]] == r["rows"]]


def repair_manifest(path: str | Path) -> list[dict]:
    """Rewrite `path` keeping only complete videos; returns their rows."""
    rows = read_manifest(path)
    if Path(path).is_file():
        with atomic_path(path) as tmp:
            tmp.write_text("".join(row_line(r) for r in rows), encoding="utf-8")
    return rows


class ManifestWriter:
    """Appends each video's rows in one write, flushed to disk."""

    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def write(self, rows: list[dict]) -> None:
        self.file.write("".join(row_line(r) for r in rows))
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


def stage_table(rows: list[dict]) -> list[tuple[str, int, int]]:
    """(stage, clips entering it, clips it rejected), in pipeline order (`read` and `scenes` count videos)."""
    rejected = Counter(r["stage"] for r in rows if r["status"] == "rejected")
    clips = [r for r in rows if r["clip"] is not None]
    table, entering = [], len({r["video"] for r in rows})
    table.append(("read", entering, rejected["read"]))
    entering -= rejected["read"]
    table.append(("scenes", entering, rejected["scenes"]))
    entering = len(clips)
    for stage in (*STAGES[1:], "review"):
        if stage != "review" or rejected[stage]:
            table.append((stage, entering, rejected[stage]))
        entering -= rejected[stage]
    return table


def summary_markdown(rows: list[dict], dataset: dict | None = None) -> str:
    """The closing summary: per stage (entering, rejected, share removed) and per class."""
    lines = [
        "# Curation summary",
        "",
        f"{len({r['video'] for r in rows})} videos, "
        f"{sum(r['clip'] is not None for r in rows)} clips, "
        f"{sum(r['status'] == 'kept' for r in rows)} kept.",
        "",
        "| stage | entering | rejected | share removed |",
        "| --- | ---: | ---: | ---: |",
    ]
    skipped = sorted({s for r in rows for s in r.get("skipped", [])})
    for stage, entering, rejected in stage_table(rows):
        unit = "videos" if stage in ("read", "scenes") else "clips"
        note = " (skipped)" if stage in skipped else ""
        share = f"{rejected / entering:.1%}" if entering else "-"
        lines.append(f"| {stage}{note} | {entering} {unit} | {rejected} | {share} |")
    per_class: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        c = per_class[r["label"]]
        c["videos"] += r["clip"] in (0, None)
        c["clips"] += r["clip"] is not None
        c["kept"] += r["status"] == "kept"
        if r["status"] == "rejected":
            c[r["stage"]] += 1
    lines += [
        "",
        "| class | videos | clips | kept | " + " | ".join(READ_STAGES) + " | in dataset |",
        "| --- |" + " ---: |" * (len(READ_STAGES) + 4),
    ]
    in_dataset = (dataset or {}).get("per_class", {})
    for label in sorted(per_class):
        c = per_class[label]
        cells = [str(c[k]) for k in ("videos", "clips", "kept", *READ_STAGES)]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {in_dataset.get(label, 0)} |")
    if dataset:
        lines += [
            "",
            f"Dataset: {dataset['train']} train and {dataset['test']} test videos of "
            f"{len(in_dataset)} classes; classes dropped (fewer than min_per_class segments): "
            f"{', '.join(dataset['dropped']) or 'none'}.",
        ]
    return "\n".join(lines) + "\n"
