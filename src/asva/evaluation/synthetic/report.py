"""`asva table1 -o OUTDIR`: the paper's Table 1 in miniature, as the three reports of `asva evaluate`.

The generation and scoring are `asva.evaluation.synthetic.table1.evaluate_synthetic` (Static, I2VD and
AVSyncD at several audio guidance scales, generated in memory, scored by the oracle and by RelSync with
the sync classifier `--sync-model`); this module only turns its results into metrics.json, per_clip.csv
and metrics.md. RelSync here uses each clip's own waveform held in memory (no mp4 round trip, unlike
`asva evaluate --generated`). FID is not computed on the synthetic benchmark, and the reports say so.
"""

from __future__ import annotations

import math

from asva.evaluation.report import write_reports

FID_NOTE = "FID not computed: the synthetic benchmark is scored by the oracle (no FID protocol applies)"


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def report_data(results, agreement: dict | None) -> tuple[dict, list[dict]]:
    """metrics.json's flat metrics (`<method>/<score>`, `_ci95`, `_clips`, `<method>/seconds_per_clip`:
    wall seconds of generation per clip; `agreement/spearman` and
    `agreement/clips`: RelSync against the oracle correlation over the generated clips) and the
    per-clip rows of per_clip.csv."""
    metrics, rows = {}, []
    for r in results:
        summary = r.summary()
        for key, (mean, half, n) in summary.items():
            metrics[f"{r.name}/{key}"] = _finite(mean)
            metrics[f"{r.name}/{key}_ci95"] = _finite(half)
            metrics[f"{r.name}/{key}_clips"] = n
        if r.seconds_per_clip is not None:  # wall seconds of generation per clip (not the real clips)
            metrics[f"{r.name}/seconds_per_clip"] = r.seconds_per_clip
        num = len(r.scores["correlation"])
        rows += [{"method": r.name, "clip": i, **{k: r.scores[k][i] for k in summary}} for i in range(num)]
    if agreement is not None:
        metrics["agreement/spearman"] = _finite(agreement["spearman"])
        metrics["agreement/clips"] = agreement["num_clips"]
    return metrics, rows


def write_table1_reports(out, results, settings: dict) -> list:
    """metrics.json, per_clip.csv and metrics.md of a Table 1 run under `out`. `settings`: dataset,
    model, baseline, sync_model, size, steps, scheduler, etas, seed, label, reference."""
    from .table1 import agreement as find_agreement
    from .table1 import format_agreement, format_table

    agreement = find_agreement(results)
    metrics, rows = report_data(results, agreement)
    found = format_agreement(agreement) if agreement is not None else None
    markdown = table_markdown(settings, format_table(results), found)
    inputs = {k: (None if settings[k] is None else str(settings[k]))
              for k in ("dataset", "model", "baseline", "sync_model")}
    return write_reports(out, metrics, rows, table_protocol(settings, len(rows)), inputs=inputs,
                         markdown=markdown, info={"agreement": agreement} if agreement else None)


def table_protocol(settings: dict, num_rows: int) -> dict:
    """How the scores were measured, as stated in metrics.json."""
    sync_model = settings["sync_model"]
    return {
        "fid_size": None,
        "fid_protocol": FID_NOTE,
        "clips_per_video": 3,
        "num_clips": num_rows,
        "num_frames": 12,
        "fps": 6.0,
        "frame_size": settings["size"],
        "synthetic": True,
        "steps": settings["steps"],
        "scheduler": settings["scheduler"],
        "etas": list(settings["etas"]),
        "seed": settings["seed"],
        "sync_model": sync_model,
        "relsync_audio": "the clip's own 2 s waveform in memory (no mp4 round trip)" if sync_model else None,
        "label": settings["label"],
        "reference_rows": settings["reference"],
    }


def table_markdown(settings: dict, table_text: str, agreement: str | None) -> str:
    sync_model = settings["sync_model"]
    relsync = (
        f"- RelSync: sync classifier `{sync_model}`, the clip's own audio held in memory (no mp4 round "
        "trip); the real clips' RelSync is 0.5 by definition\n"
        if sync_model
        else "- RelSync not computed (--sync-model none)\n"
    )
    tail = f"\n{agreement}\n" if agreement is not None else ""
    return (
        f"# Synthetic benchmark: Table 1 in miniature\n\n- {FID_NOTE}\n- 3 clips per test video, "
        f"12 frames at 6 fps, {settings['size']} px, {settings['steps']} {settings['scheduler']} steps\n"
        f"{relsync}- mean +- 95% interval over clips of the oracle scores and RelSync\n\n{table_text}\n{tail}"
    )
