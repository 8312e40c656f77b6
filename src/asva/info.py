"""asva info: what a UNet preset or a converted model folder contains.

Usage:
    asva info                               list the UNet presets
    asva info --preset sd15                 parameter counts of a preset (built on the meta device)
    asva info --preset tiny --set audio_dim=null --set num_heads=4     a variant
    asva info --model DIR                   a folder written by `asva convert`

Counts: total, trainable (the temporal + audio adapter, by part) and frozen (Stable Diffusion's UNet).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from asva.models.adapter import parameter_counts
from asva.models.config import UNetConfig, list_presets, load_preset
from asva.models.unet3d import VideoUNet

MANIFEST = "asva_model.json"


def _override(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"--set expects KEY=VALUE (VALUE as JSON), got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def describe_config(config: UNetConfig) -> list[str]:
    with torch.device("meta"):
        counts = parameter_counts(VideoUNet(config))
    audio = f"audio tokens of width {config.audio_dim}" if config.audio_dim else "no audio attention"
    return [
        f"  channels {list(config.channels)}, attention {list(config.attention)}, "
        f"{config.layers_per_block} layers per level, {config.num_heads} heads, {config.norm_groups} groups",
        f"  text tokens of width {config.text_dim}, {audio}; trained on {config.num_frames} frames of "
        f"{config.sample_size}x{config.sample_size} latents",
        f"  parameters        {counts['total']:>15,}",
        f"    trainable       {counts['trainable']:>15,}  (temporal + audio adapter)",
        f"      temporal mix  {counts['temporal_mix']:>15,}  (after every convolution)",
        f"      temporal attn {counts['temporal_attention']:>15,}",
        f"      audio attn    {counts['audio_attention']:>15,}",
        f"    frozen          {counts['frozen']:>15,}  (Stable Diffusion UNet)",
    ]


def describe_model(folder: Path) -> list[str]:
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise ValueError(f"{folder} is not a model folder written by `asva convert` (no {MANIFEST})")
    info = json.loads(manifest.read_text())
    config = json.loads((folder / "unet" / "config.json").read_text())
    config.pop("format", None)
    lines = [f"model folder {folder}"]
    lines += [f"  {name:<13} {sub}/" for name, sub in info.get("components", {}).items()]
    lines += [f"  {key} from {value}" for key, value in info.get("sources", {}).items()]
    return lines + ["unet:", *describe_config(UNetConfig.from_dict(config))]


def bundled_models() -> list[str]:
    """Released weights registered with this package (none yet: users bring local files)."""
    return ["bundled models: none registered; convert official weights with `asva convert`"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="asva info", description="Describe a UNet preset or a model folder."
    )
    parser.add_argument("--preset", help=f"a UNet preset: {', '.join(list_presets())}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a field")
    parser.add_argument("--model", type=Path, help="a folder written by `asva convert`")
    args = parser.parse_args(argv)
    if args.set and not args.preset:
        raise ValueError("--set needs --preset")
    lines: list[str] = []
    if args.preset:
        config = load_preset(args.preset, **dict(_override(s) for s in args.set))
        lines += [f"UNet preset {args.preset}:", *describe_config(config)]
    if args.model:
        lines += describe_model(args.model)
    if not lines:
        lines = [f"UNet presets: {', '.join(list_presets())}", *bundled_models()]
    print("\n".join(lines))
    return 0
