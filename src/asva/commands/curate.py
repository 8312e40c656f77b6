"""asva curate: build an AVSync15-style dataset from raw labelled videos (see docs/curation.md).

Usage:
    asva curate INPUT --out DIR [--video-dir D] [--embedder imagebind|synth-ae] [--imagebind PATH]
                [--sync-model NAME_OR_DIR] [--skip STAGE ...] [--preset NAME|FILE] [--set NAME=VALUE ...]
                [--min-per-class 100] [--test-per-class 10] [--seed 0] [--workers 2] [--ray [ADDRESS]]
                [--device cpu] [--no-dataset] [--no-progress]
    asva curate review MANIFEST -o review.html [--no-thumbnails]
    asva curate finalize MANIFEST --decisions decisions.json --out DIR [--min-per-class ...] ...

INPUT: a folder of class folders (or an AVSync15-format dataset), a CSV `path,label`, or a VGGSound
CSV `youtube_id,start_seconds,label,split` with --video-dir. DIR receives manifest.jsonl (every clip's
scores; for each rejected clip the stage and reason), summary.md, curation.json (the settings) and the
dataset: videos/<class>/*.mp4, train.txt, test.txt, class_mapping.json. Run the same command again
after an interruption: finished videos are not redone. Stages, in order:
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from asva.curation.config import STAGE_HELP, STAGES, CurateConfig, list_presets, load_config
from asva.utils import HelpFormatter


def _doc() -> str:
    stages = "\n".join(f"  {i}. {name:<9} {STAGE_HELP[name]}" for i, name in enumerate(STAGES, 1))
    defaults = ", ".join(f"{k}={v}" for k, v in CurateConfig().to_dict().items())
    return (
        __doc__ + stages + "\n  7. merge     each video's consecutive kept clips of a scene; classes with "
        "< min_per_class segments dropped; test_per_class test videos per class (seeded)\n\n"
        f"settings (--set NAME=VALUE) and defaults: {defaults}\n"
    )


def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--preset", help=f"settings preset ({', '.join(list_presets())}) or JSON file (default: none)"
    )
    p.add_argument(
        "--set",
        dest="settings",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="override settings, e.g. p_sync_min=0.4 (default: none)",
    )
    p.add_argument("--min-per-class", type=int, help="drop classes with fewer segments (default 100)")
    p.add_argument("--test-per-class", type=int, help="test videos per class (default 10)")
    p.add_argument("--seed", type=int, help="seed of the train/test draw (default 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (default: shown)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="asva curate", description=_doc(), formatter_class=HelpFormatter
    )
    p.add_argument("input", help="folder of class folders, CSV path,label, or VGGSound CSV")
    p.add_argument("--out", required=True, type=Path, help="output folder (manifest, summary, dataset)")
    p.add_argument(
        "--video-dir", help="folder of <youtube_id>_<start:06d>.mp4 for a VGGSound CSV (default: none)"
    )
    p.add_argument(
        "--embedder",
        choices=("imagebind", "synth-ae"),
        help="image embedder of the semantic stage (default: none, so --skip semantic is needed); "
        "synth-ae is a stand-in for synthetic clips",
    )
    p.add_argument(
        "--imagebind", help="imagebind_huge.pth or a converted folder, for IA / IT (default: none)"
    )
    p.add_argument(
        "--sync-model",
        help="sync classifier folder or bundled name (sync-synth-tiny: synthetic clips only) (default: none)",
    )
    p.add_argument(
        "--skip",
        nargs="+",
        default=[],
        choices=STAGES,
        metavar="STAGE",
        help=f"stages to skip, of {', '.join(STAGES)} (default: none)",
    )
    p.add_argument("--workers", type=int, default=2, help="worker processes or Ray actors (default 2)")
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run on Ray Data (no ADDRESS: a local Ray; else a cluster address) (default: off)",
    )
    p.add_argument("--device", default="cpu", help="device of the model stages (default cpu)")
    p.add_argument(
        "--no-dataset",
        action="store_true",
        help="only the manifest and summary (default: also write the dataset)",
    )
    _dataset_args(p)
    return p


def _config(args) -> CurateConfig:
    config = load_config(args.preset, args.settings)
    picked = {
        k: getattr(args, k)
        for k in ("min_per_class", "test_per_class", "seed")
        if getattr(args, k) is not None
    }
    return config.with_overrides(picked)


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)  # before the heavy imports: --help stays fast
    from asva.curation.models import ModelSpec
    from asva.curation.runner import RunSpec, curate
    from asva.curation.sources import read_sources

    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    items = read_sources(args.input, args.video_dir)
    models = ModelSpec(
        embedder=args.embedder, imagebind=args.imagebind, sync_model=args.sync_model, device=args.device
    )
    spec = RunSpec(_config(args), models, tuple(sorted(set(args.skip))))
    result = curate(
        items,
        args.out,
        spec,
        workers=args.workers,
        use_ray=args.ray is not None,
        ray_address=args.ray,
        progress=not args.no_progress,
        write=not args.no_dataset,
    )
    print(result["summary"], end="")
    print(f"asva curate: manifest, summary.md and dataset in {args.out}")
    return 0


def _review(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="asva curate review", description="write the static review page",
                                formatter_class=HelpFormatter)
    p.add_argument("manifest", type=Path, help="manifest.jsonl of a curate run")
    p.add_argument("-o", "--out", required=True, type=Path, help="the HTML page to write")
    p.add_argument("--no-thumbnails", action="store_true", help="no frame strips (default: one per clip)")
    args = p.parse_args(argv)
    from asva.curation.manifest import read_manifest
    from asva.curation.review import write_review

    rows = read_manifest(args.manifest)
    if not rows:
        raise ValueError(f"{args.manifest}: no manifest rows")
    write_review(rows, args.out, thumbnails=not args.no_thumbnails)
    print(f"asva curate review: {len(rows)} rows -> {args.out}")
    return 0


def _finalize(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="asva curate finalize",
        description="apply the review's exported decisions and write the dataset",
        formatter_class=HelpFormatter,
    )
    p.add_argument("manifest", type=Path, help="manifest.jsonl of a curate run")
    p.add_argument("--decisions", required=True, type=Path, help="decisions.json exported by the review page")
    p.add_argument("--out", required=True, type=Path, help="output dataset folder")
    _dataset_args(p)
    args = p.parse_args(argv)
    from asva.curation.manifest import read_manifest
    from asva.curation.review import apply_decisions
    from asva.curation.runner import finish

    rows = read_manifest(args.manifest)
    if not rows:
        raise ValueError(f"{args.manifest}: no manifest rows")
    try:
        decisions = json.loads(args.decisions.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"--decisions {args.decisions}: not a readable JSON file ({err})") from err
    result = finish(
        args.out, _config(args), rows=apply_decisions(rows, decisions), progress=not args.no_progress
    )
    print(result["summary"], end="")
    print(f"asva curate finalize: dataset in {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "review":
        return _review(argv[1:])
    if argv and argv[0] == "finalize":
        return _finalize(argv[1:])
    return _run(argv)
