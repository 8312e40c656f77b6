"""`asva evaluate --synthetic --model M`: the paper's Table 1 in miniature, as the three reports.

The generation and oracle scoring are `asva.evaluate_synthetic.evaluate_synthetic` (Static, I2VD and
AVSyncD at several audio guidance scales, generated in memory); this module only turns its results
into metrics.json, per_clip.csv and metrics.md. FID is not computed on the synthetic benchmark, and
the reports say so.
"""

from __future__ import annotations

import argparse
import math

from .report import write_reports

SCORES = ("hit_rate", "false_motion_rate", "correlation")
FID_NOTE = "FID not computed: the synthetic benchmark is scored by the oracle (no FID protocol applies)"


def _table_function():
    try:
        from asva.evaluate_synthetic import evaluate_synthetic, format_table  # noqa: PLC0415
    except ImportError as err:
        raise ValueError(
            f"the synthetic Table 1 needs asva.evaluate_synthetic, which this asva lacks ({err})"
        ) from err
    return evaluate_synthetic, format_table


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def synthetic_table(args: argparse.Namespace) -> int:
    evaluate_synthetic, format_table = _table_function()
    size = args.size or 64
    results = evaluate_synthetic(
        args.dataset,
        args.model,
        baseline=args.baseline,
        etas=tuple(args.etas),
        steps=args.steps,
        scheduler=args.scheduler,
        size=size,
        batch_size=args.batch_size,
        limit=args.limit,
        seed=args.seed,
        progress=not args.no_progress,
    )
    metrics, rows = {}, []
    for r in results:
        for key, (mean, half, n) in r.summary().items():
            metrics[f"{r.name}/{key}"] = _finite(mean)
            metrics[f"{r.name}/{key}_ci95"] = _finite(half)
            metrics[f"{r.name}/{key}_clips"] = n
        num = len(next(iter(r.scores.values()), []))
        rows += [{"method": r.name, "clip": i, **{k: r.scores[k][i] for k in SCORES}} for i in range(num)]
    protocol = {
        "fid_size": None,
        "fid_protocol": FID_NOTE,
        "clips_per_video": 3,
        "num_clips": len(rows),
        "num_frames": 12,
        "fps": 6.0,
        "frame_size": size,
        "synthetic": True,
        "steps": args.steps,
        "scheduler": args.scheduler,
        "etas": list(args.etas),
        "seed": args.seed,
    }
    markdown = (
        f"# Synthetic benchmark: Table 1 in miniature\n\n- {FID_NOTE}\n- 3 clips per test video, "
        f"12 frames at 6 fps, {size} px, {args.steps} {args.scheduler} steps\n- mean +- 95% interval "
        f"over clips of the oracle scores\n\n{format_table(results)}\n"
    )
    inputs = {"dataset": str(args.dataset), "model": str(args.model), "baseline": args.baseline}
    files = write_reports(args.out, metrics, rows, protocol, inputs=inputs, markdown=markdown)
    print(markdown, end="")
    print(f"wrote {', '.join(str(f) for f in files)}")
    return 0
