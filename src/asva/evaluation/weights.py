"""The metric networks' weights: expected names in a `--weights DIR`, per-file overrides, loading.

| network | file or folder in DIR | metrics |
|---|---|---|
| FID Inception | `pt_inception-2015-12-05-6726825d.pth` (or `pt_inception-2015-12-05.pth`) | fid |
| I3D | `i3d_torchscript.pt` | fvd |
| ImageBind | `imagebind_huge.pth` | ia, it, alignsync |
| sync classifier | `sync_classifier/` (official `modules/` or `asva convert --sync`) | relsync, alignsync |

A network that a requested metric needs and that is not found is a ValueError naming the file and
the metric; with `skip_missing` the metrics that need it are dropped (and reported as skipped).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .features import Extractors, file_identity


@dataclass(frozen=True)
class WeightSpec:
    network: str
    what: str
    names: tuple[str, ...]  # accepted names inside --weights DIR, the first is the documented one
    flag: str


SPECS = {
    "fid": WeightSpec(
        "fid",
        "the FID Inception weights",
        ("pt_inception-2015-12-05-6726825d.pth", "pt_inception-2015-12-05.pth"),
        "--fid-weights",
    ),
    "i3d": WeightSpec("i3d", "the I3D TorchScript model", ("i3d_torchscript.pt",), "--i3d-weights"),
    "imagebind": WeightSpec(
        "imagebind", "the ImageBind weights", ("imagebind_huge.pth",), "--imagebind-weights"
    ),
    "sync": WeightSpec("sync", "the sync classifier", ("sync_classifier",), "--sync-weights"),
}
METRIC_NETWORKS = {
    "fid": ("fid",),
    "fvd": ("i3d",),
    "ia": ("imagebind",),
    "it": ("imagebind",),
    "relsync": ("sync",),
    "alignsync": ("sync", "imagebind"),
    "oracle": (),
}
METRIC_LABELS = {
    "fid": "FID",
    "fvd": "FVD",
    "ia": "IA",
    "it": "IT",
    "relsync": "RelSync",
    "alignsync": "AlignSync",
    "oracle": "Oracle",
}


def _find(spec: WeightSpec, weights_dir: Path | None, override) -> tuple[Path | None, Path]:
    """(found path or None, the path that was expected)."""
    if override is not None:
        path = Path(override)
        return (path if path.exists() else None), path
    if weights_dir is None:
        return None, Path(spec.names[0])
    for name in spec.names:
        if (weights_dir / name).exists():
            return weights_dir / name, weights_dir / name
    return None, weights_dir / spec.names[0]


def resolve_weights(
    metrics,
    weights_dir: str | os.PathLike | None = None,
    overrides: dict | None = None,
    *,
    skip_missing: bool = False,
) -> tuple[dict[str, Path], list[str], dict[str, str]]:
    """(network -> weight path, metrics kept, {metric label: why skipped}).

    `overrides` maps a network ("fid", "i3d", "imagebind", "sync") to an explicit path.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    weights_dir = None if weights_dir is None else Path(weights_dir)
    if weights_dir is not None and not weights_dir.is_dir():
        raise ValueError(f"--weights {weights_dir}: not a folder")
    found, errors, kept, skipped = {}, [], [], {}
    for metric in metrics:
        missing = []
        for network in METRIC_NETWORKS[metric]:
            spec = SPECS[network]
            path, expected = _find(spec, weights_dir, overrides.get(network))
            if path is None:
                missing.append(
                    f"{spec.what} {expected} (give --weights DIR holding {spec.names[0]}, "
                    f"or {spec.flag} PATH)"
                )
            else:
                found[network] = path
        label = METRIC_LABELS[metric]
        if missing and skip_missing:
            skipped[label] = "missing " + "; ".join(m.split(" (")[0] for m in missing)
        elif missing:
            errors += [f"metric {label} needs {m}: not found" for m in missing]
        else:
            kept.append(metric)
    if errors:
        raise ValueError(
            "missing metric weights (pass --skip-missing to run the other metrics):\n  " + "\n  ".join(errors)
        )
    used = {n for m in kept for n in METRIC_NETWORKS[m]}
    return {n: p for n, p in found.items() if n in used}, kept, skipped


def load_extractors(
    paths: dict[str, Path],
    metrics,
    *,
    fid_size: int,
    device: str | torch.device = "cpu",
    imagebind_config: str = "huge",
) -> Extractors:
    """Load the networks in `paths` (only the ImageBind branches the metrics use)."""
    nets = Extractors(fid_size=fid_size, device=device)
    if "fid" in paths:
        from asva.metrics.inception import load_fid_inception

        nets.fid = load_fid_inception(paths["fid"], device=device)
    if "i3d" in paths:
        from asva.metrics.fvd import load_i3d

        nets.i3d = load_i3d(paths["i3d"], device=device)
    if "imagebind" in paths:
        from asva.models.imagebind import load_imagebind

        modalities = ["vision", "audio"] if {"ia", "alignsync"} & set(metrics) else ["vision"]
        if "it" in metrics:
            modalities.append("text")
        nets.imagebind = load_imagebind(paths["imagebind"], imagebind_config, modalities, device=device)
    if "sync" in paths:
        from asva.models.sync import load_sync_classifier

        nets.sync = load_sync_classifier(paths["sync"], device=device)
    nets.identity = {
        n: file_identity(p) + (f":{imagebind_config}" if n == "imagebind" else "") for n, p in paths.items()
    }
    return nets
