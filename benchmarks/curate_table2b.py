"""The paper's Table 2b in miniature: train the bundled-size model on defect-injected synthetic data
before and after `asva curate`, the same steps, and compare oracle synchrony and RelSync on a clean
synthetic test split. Resumable: rerun the same command and each step continues where it stopped.

    nice -n 10 python benchmarks/curate_table2b.py --work /work/runs/curate-t2b --test-data DATA \
        --per-defect 16 --steps 300

1. DIRTY: `asva.synth.defects.write_defect_set` (seed 4, 64 px): 3/8 clean clips, the rest static,
   silent, shifted, swapped-audio, cut (16 of each kind by default); train.txt = every video.
2. CURATED: `asva curate DIRTY` with the `synthetic` preset (IA / IT skipped), min_per_class 1.
3. `asva train --config synth-tiny` on each, train.max_steps=STEPS, the two runs side by side
   (`--resume latest` when a run has checkpoints).
4. `asva table1 --dataset TEST_DATA --model RUN/model --etas 4 --no-reference` for each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

DEFECTS = ("clean", "clean", "clean", "static", "silent", "shifted", "swapped", "cut")


def make_dirty(root: Path, per_defect: int) -> None:
    from asva.synth.defects import write_defect_set

    if (root / "train.txt").is_file():
        return
    truth = write_defect_set(root, per_defect, seed=4, defects=DEFECTS)
    keys = sorted(truth)
    clean = [k for k in keys if truth[k]["defect"] == "clean"]
    (root / "test.txt").write_text(
        f"{clean[0]}\n"
    )  # the trainer's validation clip; evaluation uses TEST_DATA
    (root / "train.txt").write_text("".join(f"{k}\n" for k in keys))


def asva(*args: str) -> list[str]:
    return [sys.executable, "-m", "asva.cli", *args]


def train_cmd(data: Path, run: Path, steps: int) -> list[str]:
    cmd = asva(
        "train",
        "--config",
        "synth-tiny",
        "--data",
        str(data),
        "--output",
        str(run),
        f"train.max_steps={steps}",
        "checkpoint.every=25",
        "checkpoint.keep=2",
    )
    return cmd + (
        ["--resume", "latest"]
        if (run / "checkpoints").is_dir() and any((run / "checkpoints").iterdir())
        else []
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, required=True, help="working folder (resumable)")
    p.add_argument("--test-data", type=Path, required=True, help="a clean `asva synth` folder (its test.txt)")
    p.add_argument("--per-defect", type=int, default=16, help="clips per defect kind (default 16)")
    p.add_argument("--steps", type=int, default=300, help="training steps of each run (default 300)")
    args = p.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    dirty, curated = args.work / "dirty", args.work / "curated"
    make_dirty(dirty, args.per_defect)
    if not (curated / "train.txt").is_file():
        subprocess.run(
            asva(
                "curate",
                str(dirty),
                "--out",
                str(curated),
                "--embedder",
                "synth-ae",
                "--sync-model",
                "sync-synth-tiny",
                "--skip",
                "alignment",
                "--preset",
                "synthetic",
                "--min-per-class",
                "1",
                "--test-per-class",
                "1",
                "--workers",
                "1",
                "--no-progress",
            ),
            check=True,
            env=env,
        )
    runs = {"before": (dirty, args.work / "run-before"), "after": (curated, args.work / "run-after")}
    procs = {
        name: subprocess.Popen(
            train_cmd(data, run, args.steps),
            env=env,
            stdout=open(args.work / f"train-{name}.log", "a"),
            stderr=subprocess.STDOUT,
        )
        for name, (data, run) in runs.items()
        if not (run / "model").is_dir()
    }
    for name, proc in procs.items():
        if proc.wait() != 0:
            sys.exit(f"training {name} failed: see {args.work / f'train-{name}.log'}")
    for name, (_, run) in runs.items():
        out = args.work / f"eval-{name}.json"
        if not out.is_file():
            cmd = asva("table1", "--dataset", str(args.test_data), "--model", str(run / "model"),
                       "--etas", "4",
                       "--no-reference", "--label", f"curation {name}", "--no-progress", "--json", str(out))
            subprocess.run(cmd, check=True, env=env)
    merge = asva("table1", "--merge", str(args.work / "eval-before.json"), str(args.work / "eval-after.json"))
    subprocess.run(merge, check=True, env=env)

if __name__ == "__main__":
    main()
