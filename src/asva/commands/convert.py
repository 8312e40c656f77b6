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

The output is a `save_pretrained` pipeline folder (written atomically), the format every asva model
folder has (`asva.pipelines.loading.load_model` reads it):
    model_index.json                the pipeline's components
    provenance.json                 where each part came from (paths, adapter trained or fresh)
    unet/config.json, unet/model.safetensors      the video UNet in this package's names
    vae/ text_encoder/ tokenizer/   copied from the SD folder (safetensors preferred)
    scheduler/                      PNDM on the SD folder's training schedule (the paper's sampler)
    audio_encoder/ sync/            ImageBind and the sync classifier, when given
    prompt_table/ class_mapping.json   the imported class encodings and the class -> prompt mapping
Folders written by older versions (asva_model.json) still load, with a one-line notice; re-running
`asva convert` on the same inputs rewrites them in this format.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from asva.utils import DTYPE_NAMES, HelpFormatter, atomic_path

SD_COMPONENTS = ("vae", "text_encoder", "tokenizer")
SUBFOLDERS = {"imagebind": "audio_encoder", "sync": "sync"}  # option -> sub-folder of the output
_PICKLED = {".bin", ".ckpt", ".pt", ".pth", ".msgpack", ".h5", ".onnx", ".pb"}


def convert_component(option: str, src: Path, out_dir: Path) -> None:
    """--imagebind / --sync: the checkpoint converted into its sub-folder."""
    if option == "imagebind":
        from asva.models.imagebind.convert import convert_imagebind_checkpoint

        convert_imagebind_checkpoint(src, out_dir)
    else:
        from asva.models.sync import load_sync_classifier, save_sync_classifier

        save_sync_classifier(load_sync_classifier(src), out_dir)


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="asva convert", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--avsyncd", type=Path, help="AVSyncD UNet folder or file (default none: fresh adapter)")
    p.add_argument("--sd15", type=Path, required=True, help="Stable Diffusion 1.5 diffusers folder")
    p.add_argument("--imagebind", type=Path, help="ImageBind-huge checkpoint (default: none)")
    p.add_argument("--sync", type=Path, help="sync classifier checkpoint, folder or file (default: none)")
    p.add_argument("--class-encodings", type=Path,
                   help="official per-class CLIP encodings .pt (default: none)")
    p.add_argument("--null-text-encoding", type=Path,
                   help="official null-prompt CLIP encoding .pt (default: none; needed with "
                        "--class-encodings)")
    p.add_argument("--class-mapping", type=Path, help="class_mapping.json, class -> prompt (default: none)")
    p.add_argument("--out", type=Path, required=True, help="output model folder")
    p.add_argument("--dtype", choices=DTYPE_NAMES, help="store the UNet in this dtype (default: as given)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    from asva.models.convert import check_sd15_matches, load_avsyncd, load_sd15, save_unet
    from asva.pipelines.loading import write_model_index
    from asva.pipelines.prompts import save_class_prompts
    from asva.utils import torch_dtype

    if not args.sd15.is_dir():
        raise ValueError(f"--sd15 {args.sd15} is not a folder")
    if args.out.exists() and not args.overwrite:
        raise ValueError(f"--out {args.out} exists; pass --overwrite to replace it")
    table, mapping = class_prompts(args)  # read and checked before the slow part
    extras = {opt: getattr(args, opt) for opt in SUBFOLDERS if getattr(args, opt) is not None}
    dtype = torch_dtype(args.dtype) if args.dtype else None
    with atomic_path(args.out, is_dir=True) as tmp:
        if args.avsyncd is not None:
            unet = load_avsyncd(args.avsyncd, dtype=dtype)
            check_sd15_matches(args.sd15, unet)
        else:
            unet = load_sd15(args.sd15, dtype=dtype)
        save_unet(unet, tmp / "unet")
        del unet
        components = ["unet", *copy_sd_components(args.sd15, tmp), "scheduler"]
        write_scheduler(args.sd15, tmp / "scheduler")
        for opt, src in extras.items():
            convert_component(opt, src, tmp / SUBFOLDERS[opt])
            components.append(SUBFOLDERS[opt])
        components += list(save_class_prompts(tmp, table, mapping)["components"])
        write_model_index(tmp, components)
        sources = {"sd15": str(args.sd15.resolve()), **{k: str(v.resolve()) for k, v in extras.items()}}
        if args.avsyncd is not None:
            sources["avsyncd"] = str(args.avsyncd.resolve())
        for opt in ("class_encodings", "null_text_encoding", "class_mapping"):
            if getattr(args, opt) is not None:
                sources[opt] = str(getattr(args, opt).resolve())
        provenance = {"written_by": "asva convert " + " ".join(sys.argv[2:] if argv is None else argv),
                      "unet_adapter": "avsyncd" if args.avsyncd is not None else "fresh (untrained)",
                      "sources": sources}
        (tmp / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"wrote {args.out}: {', '.join(components)}")
    return 0


def class_prompts(args):
    """(PromptTable or None, class mapping or None) from the --class-* options."""
    from asva.pipelines.prompts import import_class_encodings, read_class_mapping

    if (args.class_encodings is None) != (args.null_text_encoding is None):
        raise ValueError("--class-encodings and --null-text-encoding go together "
                         "(the official code uses both)")
    mapping = None if args.class_mapping is None else read_class_mapping(args.class_mapping)
    table = None
    if args.class_encodings is not None:
        table = import_class_encodings(args.class_encodings, args.null_text_encoding, args.class_mapping)
    return table, mapping


def write_scheduler(sd_dir: Path, out: Path) -> None:
    """The paper's sampler (PNDM) on the SD folder's training schedule (SD1.5's when it has none)."""
    from asva.pipelines.schedulers import DEFAULT_SCHEDULER, make_scheduler

    config = sd_dir / "scheduler" / "scheduler_config.json"
    base = json.loads(config.read_text()) if config.is_file() else None
    make_scheduler(DEFAULT_SCHEDULER, base).save_pretrained(out)


if __name__ == "__main__":
    sys.exit(main())
