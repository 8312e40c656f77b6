"""asva evaluate: score a generated set against the test clips (FID, FVD, IA, IT, RelSync, AlignSync, oracle).

Usage:
    asva evaluate --dataset DIR --generated DIR -o OUTDIR [--metrics fid,fvd,ia,it,relsync,alignsync,oracle]
                  [--weights DIR] [--fid-weights F] [--i3d-weights F] [--imagebind-weights F]
                  [--sync-weights DIR] [--fid-size 229|299] [--skip-missing] [--clips-per-video 3]
                  [--split test] [--size N|HxW] [--it-text folder|prompt] [--cache DIR|none]
                  [--device auto|cpu|cuda[:i]] [--batch-size auto|N] [--workers 2] [--no-progress]
    asva evaluate --synthetic --dataset DIR --generated DIR -o OUTDIR [same options]

GENERATED must hold <class>/<stem>_clip-00.mp4 ... for every <class>/<stem>.mp4 of the dataset's
test.txt (the layout `asva generate-eval` writes): clip k animates the first frame of the k-th of
the three test clips of that video (starts k * (duration - 2) / 2) with its audio, which the mp4
carries. Missing, extra or wrongly sized files are refused with a list of what is wrong. --size
defaults to the size GENERATED/generate_eval.json records (the model's own training size unless
generate-eval was given --size), else 256.

--weights DIR holds the metric networks under their expected names (pt_inception-2015-12-05-6726825d.pth,
i3d_torchscript.pt, imagebind_huge.pth, sync_classifier/); the --*-weights flags override single paths.
A metric whose weights are missing is an error, or with --skip-missing is left out (and listed in the
reports). --synthetic evaluates an `asva synth` benchmark: default metrics oracle and relsync, and the
sync classifier defaults to the bundled `sync-synth-tiny`. The synthetic Table 1 (generate in memory
and score) is `asva table1`; its old spelling `asva evaluate --synthetic --model M ...` still runs it.

Writes OUTDIR/metrics.json, OUTDIR/per_clip.csv and OUTDIR/metrics.md, each stating the FID protocol
(229 px: the official ASVA evaluation; 299 px: the common FID resolution). Features are cached under
OUTDIR/cache (or --cache DIR), so a re-run, or one with more metrics, only computes what is new.
The metric networks run on --device (auto: the GPU when there is one), each called on --batch-size
clips at a time, while --workers processes decode the next clips.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from asva.models.registry import DEFAULT_SYNC_MODEL
from asva.utils import HelpFormatter, parse_size

METRIC_NAMES = "fid,fvd,ia,it,relsync,alignsync,oracle"  # asva.evaluation.run.METRICS (checked by a test)
FID_SIZES = (229, 299)  # asva.metrics.inception: ASVA_FID_SIZE (official), STANDARD_FID_SIZE

DEFAULT_METRICS = "fid,fvd,ia,it,relsync,alignsync"
SYNTHETIC_METRICS = "oracle,relsync"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="asva evaluate",
        description=__doc__.split("\n\n")[0],
        formatter_class=HelpFormatter,
    )
    _add_input_options(p)
    _add_weight_options(p)
    _add_reading_options(p)
    return p


def _add_input_options(p: argparse.ArgumentParser) -> None:
    """What to score, where the reports go, and which metrics."""
    p.add_argument(
        "--dataset", type=Path, required=True, help="AVSync15-format dataset (videos/, test.txt, ...)"
    )
    p.add_argument("--generated", type=Path, help="folder of generated clips")
    p.add_argument(
        "-o", "--out", type=Path, required=True, help="folder for metrics.json, per_clip.csv, metrics.md"
    )
    p.add_argument(
        "--synthetic",
        action="store_true",
        help=f"the synthetic benchmark: metrics {SYNTHETIC_METRICS}, sync model {DEFAULT_SYNC_MODEL}",
    )
    p.add_argument(
        "--metrics",
        help=f"comma-separated subset of {METRIC_NAMES} "
        f"(default {DEFAULT_METRICS}; with --synthetic {SYNTHETIC_METRICS})",
    )


def _add_weight_options(p: argparse.ArgumentParser) -> None:
    """The metric networks' weights and the FID protocol."""
    p.add_argument("--weights", type=Path, help="folder with the metric weights under their expected names")
    p.add_argument(
        "--fid-weights", type=Path, help="FID Inception .pth (pt_inception-2015-12-05-6726825d.pth)"
    )
    p.add_argument("--i3d-weights", type=Path, help="I3D TorchScript file (i3d_torchscript.pt)")
    p.add_argument("--imagebind-weights", type=Path, help="ImageBind checkpoint (imagebind_huge.pth)")
    p.add_argument("--sync-weights", help="sync classifier: a registered name, a folder or a file")
    p.add_argument(
        "--imagebind-config", default="huge", help="ImageBind preset of the weights (default huge)"
    )
    p.add_argument(
        "--fid-size",
        type=int,
        choices=FID_SIZES,
        default=FID_SIZES[0],
        help="FID resize: 229 = the official ASVA evaluation (default), 299 = the usual FID",
    )
    p.add_argument("--skip-missing", action="store_true", help="leave out metrics whose weights are missing")


def _add_reading_options(p: argparse.ArgumentParser) -> None:
    """How the clips are read, the feature cache, the device and the progress bar."""
    p.add_argument(
        "--clips-per-video", type=int, default=3, choices=(1, 3), help="3 (the paper) or 1 (centred)"
    )
    p.add_argument("--split", default="test", help="list file of the dataset to evaluate on (default test)")
    p.add_argument("--size", type=parse_size, help="frame size the clips are read at: N (square) or HxW, "
                   "height x width, e.g. 128x256 for TheGreatestHits (default: the size in "
                   "GENERATED/generate_eval.json, the model's own, else 256)")
    p.add_argument(
        "--it-text",
        choices=("folder", "prompt"),
        default="folder",
        help="IT text: the class folder name (official) or its class_mapping.json prompt",
    )
    cache = p.add_mutually_exclusive_group()
    cache.add_argument("--cache", type=Path, help="feature cache folder, or `none` (default OUTDIR/cache)")
    cache.add_argument("--no-cache", action="store_true", help=argparse.SUPPRESS)  # = --cache none
    p.add_argument("--device", default="auto",
                   help="device for the metric networks: auto (cuda, then mps, then cpu), cpu, cuda[:i] "
                   "or mps (default auto)")
    p.add_argument("--batch-size", default="auto",
                   help="clips per metric-network call: N >= 1, or auto = 1 on a CPU (faster there), "
                   "8 on a GPU (default auto)")
    p.add_argument("--workers", type=int, default=2,
                   help="processes decoding clips ahead of the feature networks (0 = none; default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def check_modes(args: argparse.Namespace) -> None:
    if args.generated is None:
        raise ValueError("--generated DIR is required (the synthetic Table 1 is `asva table1`)")


def parse_metrics(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(m.strip().lower() for m in text.split(",") if m.strip()))
    bad = [m for m in names if m not in METRIC_NAMES.split(",")]
    if bad or not names:
        raise ValueError(
            f"--metrics {text!r}: unknown {bad or 'empty list'}; expected some of {METRIC_NAMES}"
        )
    return names


def sync_weights_path(value: str | None) -> Path | None:
    """--sync-weights as a path: a registered sync classifier name resolves through the registry
    (which says how to get it when it is missing); anything else is a folder or file path."""
    from asva.models.registry import MODELS, resolve_sync_model

    if value is None:
        return None
    if value in MODELS:
        return resolve_sync_model(value)
    return Path(value)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check_modes(args)
    if args.size is None:
        from asva.evaluation.generate import manifest_size

        args.size = manifest_size(args.generated) or 256
    return evaluate_generated(args)


def evaluate_generated(args: argparse.Namespace) -> int:
    """Score the --generated set against the dataset's test clips and write the three reports."""
    from asva.evaluation.report import write_reports
    from asva.evaluation.weights import load_extractors, resolve_weights

    metrics = parse_metrics(args.metrics or (SYNTHETIC_METRICS if args.synthetic else DEFAULT_METRICS))
    overrides = weight_overrides(args)
    paths, kept, skipped = resolve_weights(metrics, args.weights, overrides, skip_missing=args.skip_missing)
    for label, why in skipped.items():
        print(f"asva evaluate: skipping {label}: {why}", file=sys.stderr)
    if not kept:
        raise ValueError(
            f"no metric left to compute: every requested metric lacks its weights ({', '.join(skipped)})"
        )
    from asva.pipelines.loading import pick_device

    device = pick_device(args.device)
    config = eval_config(args, tuple(kept), device)
    nets = load_extractors(
        paths, kept, fid_size=args.fid_size, device=device, imagebind_config=args.imagebind_config
    )
    from asva.evaluation.run import run_evaluation

    result = run_evaluation(config, nets)
    inputs = {
        "dataset": str(args.dataset),
        "generated": str(args.generated),
        "weights": {n: str(p) for n, p in paths.items()},
        "metrics": list(kept),
        "device": str(device),
        "batch_size": config.batch_size,
    }
    files = write_reports(
        args.out,
        result.metrics,
        result.rows,
        report_protocol(args, config, len(result.rows)),
        inputs=inputs,
        skipped=skipped,
        info=result.info,
    )
    print((args.out / "metrics.md").read_text(), end="")
    print(f"wrote {', '.join(str(f) for f in files)}")
    return 0


def weight_overrides(args: argparse.Namespace) -> dict[str, Path | None]:
    """Single weight paths given on the command line; --synthetic defaults the sync classifier to
    the bundled one unless --sync-weights or WEIGHTS/sync_classifier is there."""
    overrides = {
        "fid": args.fid_weights,
        "i3d": args.i3d_weights,
        "imagebind": args.imagebind_weights,
        "sync": sync_weights_path(args.sync_weights),
    }
    if (
        args.synthetic
        and overrides["sync"] is None
        and not (args.weights and (args.weights / "sync_classifier").exists())
    ):
        try:
            overrides["sync"] = sync_weights_path(DEFAULT_SYNC_MODEL)
        except ValueError:  # an install without the bundled classifier: RelSync is reported missing
            overrides["sync"] = None
    return overrides


def eval_config(args: argparse.Namespace, metrics: tuple[str, ...], device):
    """The evaluation of the --generated set, computing `metrics` with networks on `device`."""
    from asva.evaluation.run import EvalConfig, pick_batch_size

    return EvalConfig(
        dataset=args.dataset,
        generated=args.generated,
        metrics=metrics,
        split=args.split,
        clips_per_video=args.clips_per_video,
        size=args.size,
        it_text=args.it_text,
        cache=None if args.no_cache or str(args.cache) == "none" else args.cache or args.out / "cache",
        progress=not args.no_progress,
        workers=args.workers,
        batch_size=pick_batch_size(args.batch_size, device),
    )


def report_protocol(args: argparse.Namespace, config, num_clips: int) -> dict:
    """How the scores were measured, as stated in every report."""
    return {
        "fid_size": args.fid_size,
        "clips_per_video": config.clips_per_video,
        "num_clips": num_clips,
        "num_frames": config.num_frames,
        "fps": config.fps,
        "frame_size": config.size,
        "split": config.split,
        "it_text": config.it_text,
        "synthetic": args.synthetic,
    }


if __name__ == "__main__":
    sys.exit(main())
