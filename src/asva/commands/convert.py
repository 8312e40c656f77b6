"""asva convert: official weights -> one self-contained asva model folder.

Usage:
    asva convert --avsyncd PATH --sd15 DIR [--imagebind PATH] [--sync PATH] --out DIR
                 [--dtype float32|float16|bfloat16] [--overwrite]
    asva convert --sd15 DIR --out DIR      (no --avsyncd: SD1.5 inflated, adapter fresh, for training)

--avsyncd  the released AVSyncD UNet: its diffusers `unet/` folder (config.json + weights) or one file
--sd15     a local Stable Diffusion 1.5 diffusers folder (unet/, vae/, text_encoder/, tokenizer/, ...)
--imagebind, --sync   the ImageBind-huge checkpoint and the sync classifier (converted by their modules)

The output folder (written atomically):
    asva_model.json                 what is inside and where it came from
    unet/config.json, unet/model.safetensors      the video UNet in this package's names
    vae/ text_encoder/ tokenizer/ scheduler/      copied from the SD folder (safetensors preferred)
    imagebind/ sync/                when given
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
from pathlib import Path

from asva.commands.info import MANIFEST
from asva.models.convert import check_sd15_matches, load_avsyncd, load_sd15, save_unet
from asva.utils import DTYPE_NAMES, atomic_path, torch_dtype

SD_COMPONENTS = ("vae", "text_encoder", "tokenizer", "scheduler")
_PICKLED = {".bin", ".ckpt", ".pt", ".pth", ".msgpack", ".h5", ".onnx", ".pb"}

# option -> (module, function(src, out_dir) writing the component's folder, sub-folder)
COMPONENT_CONVERTERS = {
    "imagebind": ("asva.models.imagebind.convert", "convert_imagebind_checkpoint", "imagebind"),
    "sync": ("asva.commands.convert", "convert_sync_classifier", "sync"),
}


def convert_sync_classifier(src: Path, out_dir: Path) -> None:
    from asva.models.sync import load_sync_classifier, save_sync_classifier

    save_sync_classifier(load_sync_classifier(src), out_dir)


def _converter(option: str):
    module_name, func_name, _ = COMPONENT_CONVERTERS[option]
    try:
        return getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as err:
        raise ValueError(
            f"--{option}: this asva cannot convert it yet ({module_name}.{func_name}: {err})"
        ) from err


def copy_sd_components(sd_dir: Path, out: Path) -> list[str]:
    """Copy SD's vae, text encoder, tokenizer and scheduler; skip pickles beside safetensors."""
    copied = []
    for name in SD_COMPONENTS:
        src = sd_dir / name
        if not src.is_dir():
            continue
        has_safetensors = any(p.suffix == ".safetensors" for p in src.iterdir())
        (out / name).mkdir()
        for path in sorted(src.iterdir()):
            if path.is_file() and not (has_safetensors and path.suffix in _PICKLED):
                shutil.copy2(path, out / name / path.name)
        copied.append(name)
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="asva convert", description="Convert official weights to an asva model folder."
    )
    parser.add_argument("--avsyncd", type=Path, help="AVSyncD UNet folder or weight file")
    parser.add_argument("--sd15", type=Path, required=True, help="Stable Diffusion 1.5 diffusers folder")
    parser.add_argument("--imagebind", type=Path, help="ImageBind-huge checkpoint")
    parser.add_argument("--sync", type=Path, help="sync classifier checkpoint (folder or file)")
    parser.add_argument("--out", type=Path, required=True, help="output model folder")
    parser.add_argument(
        "--dtype", choices=DTYPE_NAMES, help="store the UNet in this dtype (default: as given)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    args = parser.parse_args(argv)
    if not args.sd15.is_dir():
        raise ValueError(f"--sd15 {args.sd15} is not a folder")
    if args.out.exists() and not args.overwrite:
        raise ValueError(f"--out {args.out} exists; pass --overwrite to replace it")
    extras = {opt: getattr(args, opt) for opt in COMPONENT_CONVERTERS if getattr(args, opt) is not None}
    converters = {opt: _converter(opt) for opt in extras}  # fail before the slow part
    dtype = torch_dtype(args.dtype) if args.dtype else None

    with atomic_path(args.out, is_dir=True) as tmp:
        if args.avsyncd is not None:
            unet = load_avsyncd(args.avsyncd, dtype=dtype)
            check_sd15_matches(args.sd15, unet)
        else:
            unet = load_sd15(args.sd15, dtype=dtype)
        save_unet(unet, tmp / "unet")
        del unet
        components = {"unet": "unet", **{name: name for name in copy_sd_components(args.sd15, tmp)}}
        for opt, src in extras.items():
            sub = COMPONENT_CONVERTERS[opt][2]
            converters[opt](src, tmp / sub)
            components[opt] = sub
        sources = {"sd15": str(args.sd15.resolve()), **{k: str(v.resolve()) for k, v in extras.items()}}
        if args.avsyncd is not None:
            sources["avsyncd"] = str(args.avsyncd.resolve())
        manifest = {
            "format": "asva-model",
            "version": 1,
            "unet_adapter": "avsyncd" if args.avsyncd is not None else "fresh (untrained)",
            "components": components,
            "sources": sources,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {args.out}: {', '.join(components)}")
    return 0
