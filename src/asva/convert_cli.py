"""asva convert: official weights -> one self-contained asva model folder.

Usage:
    asva convert --avsyncd PATH --sd15 DIR [--imagebind PATH] [--sync PATH] --out DIR
                 [--dtype float32|float16|bfloat16] [--overwrite]
    asva convert --sd15 DIR --out DIR      (no --avsyncd: SD1.5 inflated, adapter fresh, for training)
    [--class-encodings PT --null-text-encoding PT] [--class-mapping JSON]   (with either form)

--avsyncd  the released AVSyncD UNet: its diffusers `unet/` folder (config.json + weights) or one file
--sd15     a local Stable Diffusion 1.5 diffusers folder (unet/, vae/, text_encoder/, tokenizer/, ...)
--imagebind, --sync   the ImageBind-huge checkpoint and the sync classifier (converted by their modules)
--class-encodings, --null-text-encoding   the official precomputed CLIP encodings
           (class_clip_text_encodings_stable-diffusion-v1-5.pt: prompt -> tensor, or one tensor for
           TheGreatestHits; openai-clip-l_null_text_encoding.pt), read with torch.load(weights_only=True),
           stored as the folder's prompt table so `asva animate --class NAME` uses them
--class-mapping   the dataset's class_mapping.json (class -> prompt): keys the table by class, and is kept
           in the folder so `--class` on a model without encodings encodes the class's prompt with CLIP

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

import torch

from asva.info import MANIFEST
from asva.models.convert import check_sd15_matches, load_avsyncd, load_sd15, save_unet
from asva.pipelines.prompts import import_class_encodings, read_class_mapping, save_class_prompts
from asva.utils import atomic_path

SD_COMPONENTS = ("vae", "text_encoder", "tokenizer", "scheduler")
_PICKLED = {".bin", ".ckpt", ".pt", ".pth", ".msgpack", ".h5", ".onnx", ".pb"}
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

# option -> (module, function(src, out_dir) writing the component's folder, sub-folder)
COMPONENT_CONVERTERS = {
    "imagebind": ("asva.models.imagebind.convert", "convert_imagebind_checkpoint", "imagebind"),
    "sync": ("asva.convert_cli", "convert_sync_classifier", "sync"),
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


def _class_prompts(args):
    """(PromptTable or None, class mapping or None) from the --class-* options."""
    if (args.class_encodings is None) != (args.null_text_encoding is None):
        raise ValueError("--class-encodings and --null-text-encoding go together (the official code uses both)")
    mapping = None if args.class_mapping is None else read_class_mapping(args.class_mapping)
    table = None
    if args.class_encodings is not None:
        table = import_class_encodings(args.class_encodings, args.null_text_encoding, args.class_mapping)
    return table, mapping


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="asva convert", description="Convert official weights to an asva model folder."
    )
    parser.add_argument("--avsyncd", type=Path, help="AVSyncD UNet folder or weight file")
    parser.add_argument("--sd15", type=Path, required=True, help="Stable Diffusion 1.5 diffusers folder")
    parser.add_argument("--imagebind", type=Path, help="ImageBind-huge checkpoint")
    parser.add_argument("--sync", type=Path, help="sync classifier checkpoint (folder or file)")
    parser.add_argument("--class-encodings", type=Path,
                        help="official per-class CLIP encodings .pt (default: none)")
    parser.add_argument("--null-text-encoding", type=Path,
                        help="official null (empty prompt) CLIP encoding .pt (default: none; required with "
                             "--class-encodings)")
    parser.add_argument("--class-mapping", type=Path, help="class_mapping.json, class -> prompt (default: none)")
    parser.add_argument("--out", type=Path, required=True, help="output model folder")
    parser.add_argument(
        "--dtype", choices=sorted(DTYPES), help="store the UNet in this dtype (default: as given)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    args = parser.parse_args(argv)
    if not args.sd15.is_dir():
        raise ValueError(f"--sd15 {args.sd15} is not a folder")
    if args.out.exists() and not args.overwrite:
        raise ValueError(f"--out {args.out} exists; pass --overwrite to replace it")
    table, mapping = _class_prompts(args)  # read and checked before the slow part
    extras = {opt: getattr(args, opt) for opt in COMPONENT_CONVERTERS if getattr(args, opt) is not None}
    converters = {opt: _converter(opt) for opt in extras}  # fail before the slow part
    dtype = DTYPES.get(args.dtype)

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
        prompts = save_class_prompts(tmp, table, mapping)
        components.update(prompts["components"])
        sources = {"sd15": str(args.sd15.resolve()), **{k: str(v.resolve()) for k, v in extras.items()}}
        for opt in ("class_encodings", "null_text_encoding", "class_mapping"):
            if getattr(args, opt) is not None:
                sources[opt] = str(getattr(args, opt).resolve())
        if args.avsyncd is not None:
            sources["avsyncd"] = str(args.avsyncd.resolve())
        manifest = {
            "format": "asva-model",
            "version": 1,
            "unet_adapter": "avsyncd" if args.avsyncd is not None else "fresh (untrained)",
            "components": components,
            "sources": sources,
            **({"class_mapping": prompts["class_mapping"]} if "class_mapping" in prompts else {}),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {args.out}: {', '.join(components)}")
    return 0
