"""The three report files of an evaluation, written atomically into one folder:

- `metrics.json`: the metric values, the protocol (FID resolution, clips per video, frames, fps,
  frame size, IT text), the inputs, the weights used and the metrics skipped with the reason;
- `per_clip.csv`: one row per generated clip (IA, IT, RelSync, AlignSync, phi, oracle scores);
- `metrics.md`: a Markdown table in the paper's units, headed by the protocol.

Every report states the FID protocol: 229 px is the official ASVA evaluation (the paper's numbers),
299 px the usual FID resolution; the two are not comparable.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

from asva.metrics.inception import ASVA_FID_SIZE
from asva.utils import atomic_path

REPORT_FILES = ("metrics.json", "per_clip.csv", "metrics.md")
UNITS = (
    "IA, IT, RelSync and AlignSync are x100 (mean and unbiased std over clips, as the paper's "
    "tables); FID and FVD as computed; oracle rates are fractions in [0, 1]"
)
# display order and labels of the Markdown table
_ROWS = (
    ("FID", "FID", None),
    ("FVD", "FVD", None),
    ("IA", "IA", "IA_std"),
    ("IT", "IT", "IT_std"),
    ("RelSync", "RelSync", "RelSync_std"),
    ("AlignSync", "AlignSync", "AlignSync_std"),
)


def fid_protocol(size: int | None) -> str:
    if size is None:
        return "FID not computed"
    if size == ASVA_FID_SIZE:
        return f"{size} px (the official ASVA evaluation; comparable with the paper)"
    return f"{size} px (not the paper's 229-px protocol; not comparable with its FID)"


def _number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.1f}"


def markdown_table(metrics: dict, protocol: dict, skipped: dict | None = None) -> str:
    lines = [
        "# Evaluation",
        "",
        f"- FID protocol: frames resized to {fid_protocol(protocol['fid_size'])}",
        f"- clips: {protocol['num_clips']} ({protocol['clips_per_video']} per test video), "
        f"{protocol['num_frames']} frames at {protocol['fps']:g} fps, {protocol['frame_size']} px",
        f"- units: {UNITS}",
        "",
        "| metric | value | std |",
        "|---|---|---|",
    ]
    for key, label, std in _ROWS:
        mean_key = key if std is None else f"{key}_mean"
        if mean_key in metrics:
            lines.append(
                f"| {label} | {_number(metrics[mean_key])} | {_number(metrics.get(std)) if std else ''} |"
            )
    for key in sorted(k for k in metrics if k.startswith("Oracle_")):
        lines.append(f"| {key} | {_number(metrics[key])} | |")
    for name, why in (skipped or {}).items():
        lines.append(f"| {name} | skipped | {why} |")
    return "\n".join(lines) + "\n"


def write_csv(path: Path, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def write_reports(
    out: str | os.PathLike,
    metrics: dict,
    rows: list[dict],
    protocol: dict,
    *,
    inputs: dict | None = None,
    skipped: dict | None = None,
    info: dict | None = None,
    markdown: str | None = None,
) -> list[Path]:
    """Write metrics.json, per_clip.csv and metrics.md into `out`; returns their paths.

    `protocol` must hold fid_size (None: FID not computed), clips_per_video, num_clips, num_frames, fps
    and frame_size; `markdown` replaces the standard table (the synthetic Table 1 has its own).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    protocol = {"fid_protocol": fid_protocol(protocol["fid_size"]), "units": UNITS, **protocol}
    document = {
        "metrics": metrics,
        "protocol": protocol,
        "inputs": inputs or {},
        "skipped": skipped or {},
        "info": info or {},
    }
    paths = [out / name for name in REPORT_FILES]
    with atomic_path(paths[0]) as tmp:
        tmp.write_text(json.dumps(_json_safe(document), indent=2) + "\n")
    write_csv(paths[1], rows)
    with atomic_path(paths[2]) as tmp:
        tmp.write_text(markdown if markdown is not None else markdown_table(metrics, protocol, skipped))
    return paths
