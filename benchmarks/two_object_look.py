"""Looks behind issue 11's open figures: one line per figure.

Usage:
    python benchmarks/two_object_look.py --gap APPS.json [--dataset data/synth96]
    python benchmarks/two_object_look.py --bootstrap T1-0.json T1-1.json [--draws 2000]
    python benchmarks/two_object_look.py --etas 1 4 --model MODEL [--dataset data/synth96]
    python benchmarks/two_object_look.py --paired A.json B.json [--draws 2000]
    python benchmarks/two_object_look.py --rows "AVSyncD (eta=1)" "AVSyncD (eta=4)" T1-0.json T1-1.json

`--gap`: experiment A's own-audio row of an `asva applications --json` file, split by the gap (pixels)
between the two objects' boxes: is the silent object's motion spill-over from a near neighbour?
`--bootstrap`: the RelSync / oracle-correlation Spearman over the generated rows of `asva table1 --json`
files, with a bootstrap interval (draws of (clip, method) pairs with replacement, seed 0).
`--etas`: experiment A's own-audio row (ratio, energies, synchrony) generated again at each eta.
`--paired`: two `asva applications --json` files of two models on the same clips and seeds: each
row's ratio for both, and B's ratio over A's (exp of the mean per-clip difference of log
target/other motion) with a bootstrap interval over clips (seed 0).
`--rows A B FILE...`: two rows of `asva table1 --json` files compared clip by clip (each file's rows
score the same clips in the same order): B - A of the mean correlation and RelSync with a bootstrap
interval over clips (seed 0), beside the unpaired means.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

GAP_BINS = ((0, 1), (1, 10), (10, 20), (20, 100))
NOT_GENERATED = ("Real clips (reference)", "Static")


def box_gap(a, b) -> float:
    """Distance in pixels between two boxes (0 when they touch or overlap)."""
    gx = max(0, max(a[0], b[0]) - min(a[2], b[2]))
    gy = max(0, max(a[1], b[1]) - min(a[3], b[3]))
    return math.hypot(gx, gy)


def gap_split(apps: Path, dataset: Path) -> None:
    row = next(r for r in json.loads(apps.read_text())["target"] if r["method"] == "AVSyncD, own audio")
    gaps, logs, other = [], [], []
    for clip in row["clips"]:
        meta = json.loads((dataset / "videos" / clip["video"]).with_suffix(".json").read_text())
        a, b = (o["box"] for o in meta["objects"])
        gaps.append(box_gap(a, b))
        logs.append(clip["log_ratio"])
        other.append(clip["other_motion"])
    gaps, logs, other = map(np.array, (gaps, logs, other))
    print(f"corr(gap, log ratio) {np.corrcoef(gaps, logs)[0, 1]:.3f} over {len(gaps)} clips")
    for lo, hi in GAP_BINS:
        inside = (gaps >= lo) & (gaps < hi)
        if inside.any():
            ratio = math.exp(logs[inside].mean())
            print(f"gap [{lo}, {hi}) px: {int(inside.sum())} clips, ratio {ratio:.2f}, "
                  f"other motion {other[inside].mean():.4f}")


def bootstrap(files: list[Path], draws: int) -> None:
    from scipy.stats import spearmanr

    relsync, corr = [], []
    for path in files:
        for method in json.loads(path.read_text())["methods"]:
            if method["method"] not in NOT_GENERATED:
                relsync += method["scores"]["relsync"]
                corr += method["scores"]["correlation"]
    relsync, corr = np.array(relsync), np.array(corr)
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(draws):
        pick = rng.integers(0, len(relsync), len(relsync))
        samples.append(spearmanr(relsync[pick], corr[pick])[0])
    lo, hi = np.percentile(samples, [2.5, 97.5])
    print(f"Spearman {spearmanr(relsync, corr)[0]:.3f} [{lo:.3f}, {hi:.3f}] over {len(relsync)} "
          f"generated clips ({draws} draws)")


def mean_interval(diff: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """95% bootstrap interval (low, high) of the mean of per-clip differences, clips drawn with
    replacement."""
    boot = diff[rng.integers(0, len(diff), (draws, len(diff)))].mean(axis=1)
    return np.percentile(boot, [2.5, 97.5])


def paired(a: Path, b: Path, draws: int) -> None:
    rows_a, rows_b = (json.loads(path.read_text())["target"] for path in (a, b))
    rng = np.random.default_rng(0)
    for row_a in rows_a:
        row_b = next((r for r in rows_b if r["method"] == row_a["method"]), None)
        if row_b is None or row_a["method"].startswith("Real clips"):
            continue
        logs_a, logs_b = ({(c["video"], c["clip_index"]): c["log_ratio"] for c in r["clips"]}
                          for r in (row_a, row_b))
        keys = sorted(logs_a.keys() & logs_b.keys())
        if not keys:
            raise SystemExit(f"--paired: no clip in common in the row {row_a['method']!r}")
        la, lb = (np.array([logs[k] for k in keys]) for logs in (logs_a, logs_b))
        lo, hi = np.exp(mean_interval(lb - la, draws, rng))
        print(f"{row_a['method']}: ratio A {math.exp(la.mean()):.2f}, B {math.exp(lb.mean()):.2f}, "
              f"B / A {math.exp((lb - la).mean()):.2f} [{lo:.2f}, {hi:.2f}] over {len(keys)} clips "
              f"({draws} draws)")


def rows(a: str, b: str, files: list[Path], draws: int) -> None:
    pairs: dict[str, list[tuple[float, float]]] = {"correlation": [], "relsync": []}
    for path in files:
        methods = {m["method"]: m["scores"] for m in json.loads(path.read_text())["methods"]}
        for name in (a, b):
            if name not in methods:
                raise SystemExit(f"--rows: {path} has no row {name!r} (rows: {', '.join(methods)})")
        for key, found in pairs.items():
            found += zip(methods[a][key], methods[b][key], strict=True)
    rng = np.random.default_rng(0)
    for key, found in pairs.items():
        va, vb = (np.array(v, dtype=float) for v in zip(*found, strict=True))
        keep = ~(np.isnan(va) | np.isnan(vb))  # a clip without a defined score on either side
        diff = (vb - va)[keep]
        lo, hi = mean_interval(diff, draws, rng)
        print(f"{key}: {a} {va[keep].mean():.3f}, {b} {vb[keep].mean():.3f}, B - A {diff.mean():+.3f} "
              f"[{lo:+.3f}, {hi:+.3f}] over {len(diff)} paired clips ({draws} draws)")


def etas(model: str, dataset: Path, values: list[float]) -> None:
    from asva.evaluation.synthetic.applications import EPS, group_videos, target_record, two_object_clips
    from asva.evaluation.synthetic.table1 import generate, load_clips, load_pipe, mean_ci

    pairs = two_object_clips(group_videos(load_clips(dataset, size=96)))
    pipe = load_pipe(model, "dpm")
    for eta in values:
        videos = generate(pipe, [c for c, _ in pairs], eta=eta, steps=20, batch_size=16, seed=0,
                          progress=False)
        recs = [target_record(v, c, k, c, swapped=False) for (c, k), v in zip(pairs, videos, strict=True)]
        m, h, n = mean_ci(r["log_ratio"] for r in recs)
        t, o = (mean_ci(r[key] for r in recs)[0] for key in ("target_motion", "other_motion"))
        tc, oc = (mean_ci(r[key] for r in recs)[0] for key in ("correlation", "other_correlation"))
        print(f"eta {eta}: ratio {math.exp(m):.2f} [{math.exp(m - h):.2f}, {math.exp(m + h):.2f}] "
              f"target {t:.4f} other {o:.4f} sync {tc:.3f} / {oc:.3f} ({n} clips; EPS {EPS})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", type=Path, default=Path("data/synth96"))
    p.add_argument("--gap", type=Path, help="an `asva applications --json` file")
    p.add_argument("--bootstrap", type=Path, nargs="+", help="`asva table1 --json` files")
    p.add_argument("--paired", type=Path, nargs=2, metavar=("A", "B"),
                   help="two `asva applications --json` files on the same clips")
    p.add_argument("--rows", nargs="+", metavar="ARG",
                   help="ROW_A ROW_B FILE...: two rows of `asva table1 --json` files, clip by clip")
    p.add_argument("--draws", type=int, default=2000)
    p.add_argument("--etas", type=float, nargs="+")
    p.add_argument("--model", default="asva-synth-tiny")
    args = p.parse_args()
    if args.gap:
        gap_split(args.gap, args.dataset)
    if args.bootstrap:
        bootstrap(args.bootstrap, args.draws)
    if args.paired:
        paired(*args.paired, args.draws)
    if args.rows:
        if len(args.rows) < 3:
            p.error("--rows needs two row names and at least one file")
        rows(args.rows[0], args.rows[1], [Path(f) for f in args.rows[2:]], args.draws)
    if args.etas:
        etas(args.model, args.dataset, args.etas)


if __name__ == "__main__":
    main()
