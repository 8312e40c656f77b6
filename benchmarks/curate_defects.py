"""Defect injection: what `asva curate` rejects, per defect type, on held-out synthetic clips.

    python benchmarks/curate_defects.py --out /work/runs/curate/defects --per-defect 12 --seed 2

Writes `per-defect` clips of each defect (asva.synth.defects: clean, static, cut, silent, shifted,
swapped, zoom, shake) with a seed other than the one the `synthetic` thresholds were calibrated on
(seed 1), runs the curation with the `synthetic` preset (semantic stage: the bundled autoencoder
stand-in; sync: the bundled sync-synth-tiny; IA / IT skipped: they need real ImageBind weights), and
prints recall and precision of rejection per defect type and the share of clean clips kept, as a
Markdown table (and JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from asva.curation.config import load_config
from asva.curation.models import ModelSpec
from asva.curation.runner import RunSpec, curate
from asva.curation.sources import read_sources
from asva.synth.defects import defect_report, write_defect_set


def table(report: dict) -> str:
    lines = [
        "| defect | videos | units | rejected | recall | precision | rejected by |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for defect, r in report.items():
        by = ", ".join(f"{k} {v}" for k, v in r["rejected_by"].items()) or "-"
        if defect == "clean":
            lines.append(
                f"| clean (kept share {r['kept_share']:.3f}) | {r['videos']} | {r['units']} | "
                f"{r['rejected']} | - | - | {by} |"
            )
        else:
            lines.append(
                f"| {defect} | {r['videos']} | {r['units']} | {r['rejected']} | {r['recall']:.3f} | "
                f"{r['precision']:.3f} | {by} |"
            )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="working folder")
    p.add_argument("--per-defect", type=int, default=12, help="clips per defect type (default 12)")
    p.add_argument("--seed", type=int, default=2, help="synth seed (default 2; thresholds were fitted on 1)")
    p.add_argument("--workers", type=int, default=2, help="curation processes (default 2)")
    p.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = p.parse_args()
    start = time.perf_counter()
    truth = write_defect_set(args.out / "input", args.per_defect, seed=args.seed)
    made = time.perf_counter()
    spec = RunSpec(
        load_config("synthetic", ["min_per_class=1", "test_per_class=1"]),
        ModelSpec(embedder="synth-ae", sync_model="sync-synth-tiny"),
        ("alignment",),
    )
    result = curate(
        read_sources(args.out / "input"),
        args.out / "curated",
        spec,
        workers=args.workers,
        progress=False,
        write=False,
    )
    report = defect_report(result["rows"], truth)
    print(table(report))
    print(
        f"\n{len(truth)} videos: injected in {made - start:.0f} s, curated in "
        f"{time.perf_counter() - made:.0f} s ({args.workers} workers)"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
