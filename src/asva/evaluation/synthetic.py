"""`asva evaluate --synthetic --model M`: the paper's Table 1 in miniature, as the three reports.

The generation and scoring are `asva.evaluate_synthetic.evaluate_synthetic` (Static, I2VD and AVSyncD at
several audio guidance scales, generated in memory, scored by the oracle and by RelSync with the sync
classifier `--sync-model`); this module only turns its results into metrics.json, per_clip.csv and
metrics.md. RelSync here uses each clip's own waveform held in memory (no mp4 round trip, unlike
`asva evaluate --generated`). FID is not computed on the synthetic benchmark, and the reports say so.
"""

from __future__ import annotations

import argparse
import math

from .report import write_reports

FID_NOTE = "FID not computed: the synthetic benchmark is scored by the oracle (no FID protocol applies)"


def _table_module():
    try:
        from asva import evaluate_synthetic  # noqa: PLC0415
    except ImportError as err:
        raise ValueError(
            f"the synthetic Table 1 needs asva.evaluate_synthetic, which this asva lacks ({err})"
        ) from err
    return evaluate_synthetic


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def sync_model_option(args: argparse.Namespace, default: str) -> str | None:
    """--sync-model (a bundled name, a folder or file, or "none"); --sync-weights is accepted as the
    same thing; neither: `default`. None turns RelSync off."""
    given = [v for v in (args.sync_model, args.sync_weights) if v is not None]
    if len(given) == 2:
        raise ValueError(
            f"give the sync classifier once: --sync-model {args.sync_model} or --sync-weights "
            f"{args.sync_weights}, not both"
        )
    choice = str(given[0]) if given else default
    return None if choice.lower() == "none" else choice


def report_data(results, agreement: dict | None) -> tuple[dict, list[dict]]:
    """metrics.json's flat metrics (`<method>/<score>`, `_ci95`, `_clips`; `agreement/spearman` and
    `agreement/clips`: RelSync against the oracle correlation over the generated clips) and the
    per-clip rows of per_clip.csv."""
    metrics, rows = {}, []
    for r in results:
        summary = r.summary()
        for key, (mean, half, n) in summary.items():
            metrics[f"{r.name}/{key}"] = _finite(mean)
            metrics[f"{r.name}/{key}_ci95"] = _finite(half)
            metrics[f"{r.name}/{key}_clips"] = n
        num = len(r.scores["correlation"])
        rows += [{"method": r.name, "clip": i, **{k: r.scores[k][i] for k in summary}} for i in range(num)]
    if agreement is not None:
        metrics["agreement/spearman"] = _finite(agreement["spearman"])
        metrics["agreement/clips"] = agreement["num_clips"]
    return metrics, rows


def synthetic_table(args: argparse.Namespace) -> int:
    table = _table_module()
    size = args.size or 64
    sync_model = sync_model_option(args, table.DEFAULT_SYNC_MODEL)
    results = table.evaluate_synthetic(
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
        sync_model=sync_model,
        label=args.label,
        reference=not args.no_reference,
    )
    agreement = table.agreement(results)
    metrics, rows = report_data(results, agreement)
    protocol = table_protocol(args, size, len(rows), sync_model)
    found = table.format_agreement(agreement) if agreement is not None else None
    markdown = table_markdown(args, size, sync_model, table.format_table(results), found)
    inputs = {
        "dataset": str(args.dataset),
        "model": str(args.model),
        "baseline": args.baseline,
        "sync_model": sync_model,
    }
    files = write_reports(
        args.out,
        metrics,
        rows,
        protocol,
        inputs=inputs,
        markdown=markdown,
        info={"agreement": agreement} if agreement else None,
    )
    print(markdown, end="")
    print(f"wrote {', '.join(str(f) for f in files)}")
    return 0


def table_protocol(args: argparse.Namespace, size: int, num_rows: int, sync_model: str | None) -> dict:
    """How the scores were measured, as stated in metrics.json."""
    return {
        "fid_size": None,
        "fid_protocol": FID_NOTE,
        "clips_per_video": 3,
        "num_clips": num_rows,
        "num_frames": 12,
        "fps": 6.0,
        "frame_size": size,
        "synthetic": True,
        "steps": args.steps,
        "scheduler": args.scheduler,
        "etas": list(args.etas),
        "seed": args.seed,
        "sync_model": sync_model,
        "relsync_audio": "the clip's own 2 s waveform in memory (no mp4 round trip)" if sync_model else None,
        "label": args.label,
        "reference_rows": not args.no_reference,
    }


def table_markdown(
    args: argparse.Namespace, size: int, sync_model: str | None, table_text: str, agreement: str | None
) -> str:
    relsync = (
        f"- RelSync: sync classifier `{sync_model}`, the clip's own audio held in memory (no mp4 round "
        "trip); the real clips' RelSync is 0.5 by definition\n"
        if sync_model
        else "- RelSync not computed (--sync-model none)\n"
    )
    tail = f"\n{agreement}\n" if agreement is not None else ""
    return (
        f"# Synthetic benchmark: Table 1 in miniature\n\n- {FID_NOTE}\n- 3 clips per test video, "
        f"12 frames at 6 fps, {size} px, {args.steps} {args.scheduler} steps\n{relsync}- mean +- 95% "
        f"interval over clips of the oracle scores and RelSync\n\n{table_text}\n{tail}"
    )
