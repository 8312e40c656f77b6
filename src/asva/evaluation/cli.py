"""asva evaluate: score a generated set against the test clips (FID, FVD, IA, IT, RelSync, AlignSync, oracle).

Usage:
    asva evaluate --dataset DIR --generated DIR -o OUTDIR [--metrics fid,fvd,ia,it,relsync,alignsync,oracle]
                  [--weights DIR] [--fid-weights F] [--i3d-weights F] [--imagebind-weights F]
                  [--sync-weights DIR] [--fid-size 229|299] [--skip-missing] [--clips-per-video 3]
                  [--split test] [--size 256] [--it-text folder|prompt] [--cache DIR | --no-cache]
                  [--device cpu] [--workers 2] [--no-progress]
    asva evaluate --synthetic --dataset DIR --generated DIR -o OUTDIR [same options]
    asva evaluate --synthetic --dataset DIR --model M -o OUTDIR [--baseline I2VD_DIR] [--etas 1 4 8]
                  [--steps 20] [--scheduler dpm] [--size 64] [--batch-size 16] [--limit N] [--seed 0]
                  [--sync-model NAME|DIR|none] [--label NAME] [--no-reference]

GENERATED must hold <class>/<stem>_clip-00.mp4 ... for every <class>/<stem>.mp4 of the dataset's
test.txt (the layout `asva generate-eval` writes): clip k animates the first frame of the k-th of
the three test clips of that video (starts k * (duration - 2) / 2) with its audio, which the mp4
carries. Missing, extra or wrongly sized files are refused with a list of what is wrong.

--weights DIR holds the metric networks under their expected names (pt_inception-2015-12-05-6726825d.pth,
i3d_torchscript.pt, imagebind_huge.pth, sync_classifier/); the --*-weights flags override single paths.
A metric whose weights are missing is an error, or with --skip-missing is left out (and listed in the
reports). --synthetic evaluates an `asva synth` benchmark: default metrics oracle and relsync, and the
sync classifier defaults to the shipped `sync-synth-tiny`. With --model instead of --generated it runs
the paper's Table 1 in miniature (`asva.evaluate_synthetic`): Static, I2VD (--baseline) and AVSyncD at
each --etas value, generated in memory and scored by the oracle and by RelSync (--sync-model, default
`sync-synth-tiny`, `none` to leave RelSync out; the audio is each clip's own waveform in memory),
with the Spearman correlation of per-clip RelSync and oracle correlation over the generated clips.
--label names the model's rows (default AVSyncD); --no-reference leaves out the Real and Static rows.

Writes OUTDIR/metrics.json, OUTDIR/per_clip.csv and OUTDIR/metrics.md, each stating the FID protocol
(229 px: the official ASVA evaluation; 299 px: the common FID resolution). Features are cached under
OUTDIR/cache (or --cache DIR), so a re-run, or one with more metrics, only computes what is new.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from asva.metrics.inception import ASVA_FID_SIZE, STANDARD_FID_SIZE

from .run import METRICS, EvalConfig, run_evaluation

DEFAULT_METRICS = "fid,fvd,ia,it,relsync,alignsync"
SYNTHETIC_METRICS = "oracle,relsync"
SHIPPED_SYNC = "sync-synth-tiny"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="asva evaluate",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_input_options(p)
    _add_weight_options(p)
    _add_reading_options(p)
    _add_table1_options(p)
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
        help=f"the synthetic benchmark: metrics {SYNTHETIC_METRICS}, sync model {SHIPPED_SYNC}",
    )
    p.add_argument(
        "--metrics",
        help=f"comma-separated subset of {','.join(METRICS)} "
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
    p.add_argument("--sync-weights", type=Path, help="sync classifier folder or file")
    p.add_argument(
        "--imagebind-config", default="huge", help="ImageBind preset of the weights (default huge)"
    )
    p.add_argument(
        "--fid-size",
        type=int,
        choices=(ASVA_FID_SIZE, STANDARD_FID_SIZE),
        default=ASVA_FID_SIZE,
        help="FID resize: 229 = the official ASVA evaluation (default), 299 = the usual FID",
    )
    p.add_argument("--skip-missing", action="store_true", help="leave out metrics whose weights are missing")


def _add_reading_options(p: argparse.ArgumentParser) -> None:
    """How the clips are read, the feature cache, the device and the progress bar."""
    p.add_argument(
        "--clips-per-video", type=int, default=3, choices=(1, 3), help="3 (the paper) or 1 (centred)"
    )
    p.add_argument("--split", default="test", help="list file of the dataset to evaluate on (default test)")
    p.add_argument("--size", type=int, help="frame side the clips are read at (default 256; Table 1: 64)")
    p.add_argument(
        "--it-text",
        choices=("folder", "prompt"),
        default="folder",
        help="IT text: the class folder name (official) or its class_mapping.json prompt",
    )
    cache = p.add_mutually_exclusive_group()
    cache.add_argument("--cache", type=Path, help="feature cache folder (default OUTDIR/cache)")
    cache.add_argument("--no-cache", action="store_true", help="do not cache features")
    p.add_argument("--device", default="cpu", help="device for the metric networks, e.g. cuda (default cpu)")
    p.add_argument("--workers", type=int, default=2,
                   help="processes decoding clips ahead of the feature networks (0 = none; default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_table1_options(p: argparse.ArgumentParser) -> None:
    """--synthetic --model M: generate in memory and score (the paper's Table 1 in miniature)."""
    table = p.add_argument_group("synthetic Table 1 (--synthetic --model M)")
    table.add_argument("--model", help="AVSyncD model folder or registered name (instead of --generated)")
    table.add_argument("--baseline", help="I2VD model folder (trained without audio)")
    table.add_argument("--etas", type=float, nargs="+", default=[1.0, 4.0, 8.0], help="audio guidance scales")
    table.add_argument("--steps", type=int, default=20)
    table.add_argument("--scheduler", default="dpm")
    table.add_argument("--batch-size", type=int, default=16)
    table.add_argument("--limit", type=int, help="only N test videos, spread evenly over test.txt")
    table.add_argument("--seed", type=int, default=0)
    table.add_argument(
        "--sync-model",
        help=f"sync classifier for RelSync: bundled name, folder or file, or none (default {SHIPPED_SYNC})",
    )
    table.add_argument("--label", default="AVSyncD", help="name of the model's rows: LABEL (eta=E)")
    table.add_argument("--no-reference", action="store_true", help="leave out the Real clips and Static rows")


def check_modes(args: argparse.Namespace) -> None:
    """--generated (any dataset), or --synthetic --model (Table 1 in miniature), never both."""
    if args.model is not None and not args.synthetic:
        raise ValueError("--model runs the synthetic Table 1 and needs --synthetic (or give --generated DIR)")
    if args.model is not None and args.generated is not None:
        raise ValueError(
            "give --generated DIR (score a generated set) or --model M (generate in memory), not both"
        )
    if args.model is None and args.generated is None:
        raise ValueError("--generated DIR is required (or, with --synthetic, --model M)")
    table_only = {
        "--sync-model": args.sync_model is not None,
        "--label": args.label != "AVSyncD",
        "--no-reference": args.no_reference,
    }
    if args.model is None and any(table_only.values()):
        given = ", ".join(k for k, v in table_only.items() if v)
        raise ValueError(f"{given}: only for --synthetic --model M (--generated takes --sync-weights)")


def parse_metrics(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(m.strip().lower() for m in text.split(",") if m.strip()))
    bad = [m for m in names if m not in METRICS]
    if bad or not names:
        raise ValueError(
            f"--metrics {text!r}: unknown {bad or 'empty list'}; expected some of {','.join(METRICS)}"
        )
    return names


def shipped_sync_model() -> Path | None:
    """The bundled synthetic-benchmark sync classifier folder, if this asva ships one."""
    from importlib import resources  # noqa: PLC0415

    assets = Path(str(resources.files("asva").joinpath("assets")))
    for folder in (assets / "models" / SHIPPED_SYNC, assets / SHIPPED_SYNC):
        if (folder / "config.json").is_file():
            return folder
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check_modes(args)
    if args.model is not None:
        from .synthetic import synthetic_table  # noqa: PLC0415

        return synthetic_table(args)
    args.size = args.size or 256
    return evaluate_generated(args)


def evaluate_generated(args: argparse.Namespace) -> int:
    """Score the --generated set against the dataset's test clips and write the three reports."""
    from .report import write_reports  # noqa: PLC0415
    from .weights import load_extractors, resolve_weights  # noqa: PLC0415

    metrics = parse_metrics(args.metrics or (SYNTHETIC_METRICS if args.synthetic else DEFAULT_METRICS))
    overrides = weight_overrides(args)
    paths, kept, skipped = resolve_weights(metrics, args.weights, overrides, skip_missing=args.skip_missing)
    for label, why in skipped.items():
        print(f"asva evaluate: skipping {label}: {why}", file=sys.stderr)
    if not kept:
        raise ValueError(
            f"no metric left to compute: every requested metric lacks its weights ({', '.join(skipped)})"
        )
    config = eval_config(args, tuple(kept))
    nets = load_extractors(
        paths, kept, fid_size=args.fid_size, device=args.device, imagebind_config=args.imagebind_config
    )
    result = run_evaluation(config, nets)
    inputs = {
        "dataset": str(args.dataset),
        "generated": str(args.generated),
        "weights": {n: str(p) for n, p in paths.items()},
        "metrics": list(kept),
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
    the shipped one unless --sync-weights or WEIGHTS/sync_classifier is there."""
    overrides = {
        "fid": args.fid_weights,
        "i3d": args.i3d_weights,
        "imagebind": args.imagebind_weights,
        "sync": args.sync_weights,
    }
    if (
        args.synthetic
        and overrides["sync"] is None
        and not (args.weights and (args.weights / "sync_classifier").exists())
    ):
        overrides["sync"] = shipped_sync_model()
    return overrides


def eval_config(args: argparse.Namespace, metrics: tuple[str, ...]) -> EvalConfig:
    """The evaluation of the --generated set, computing `metrics`."""
    return EvalConfig(
        dataset=args.dataset,
        generated=args.generated,
        metrics=metrics,
        split=args.split,
        clips_per_video=args.clips_per_video,
        size=args.size,
        it_text=args.it_text,
        cache=None if args.no_cache else (args.cache or args.out / "cache"),
        progress=not args.no_progress,
        workers=args.workers,
    )


def report_protocol(args: argparse.Namespace, config: EvalConfig, num_clips: int) -> dict:
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
