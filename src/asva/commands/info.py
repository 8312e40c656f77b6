"""asva info: what a UNet preset, a training preset or a model folder contains.

Usage:
    asva info                               list the UNet and training presets and the bundled models
    asva info --preset sd15                 parameter counts of a preset (built on the meta device)
    asva info --preset tiny --set audio_dim=null --set num_heads=4     a variant
    asva info --config synth-tiny --set train.lr=3e-4                  a training preset, resolved
    asva info --model DIR|NAME              a model folder (`asva convert`, `asva train`) or registry name

--set takes the KEY=VALUE overrides of `asva train` and `asva train-sync` (asva.training.overrides).

Without options it also lists the models that ship inside asva, with how they were trained.

Counts: total, trainable (the temporal + audio adapter, by part) and frozen (Stable Diffusion's UNet).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from asva.models.config import UNetConfig, list_presets, load_preset
from asva.models.registry import MODELS, list_models, resolve_model
from asva.training.avsyncd import config as training_config
from asva.training.overrides import apply_overrides
from asva.utils import HelpFormatter

PIPELINE_INDEX = "model_index.json"
PROVENANCE = "provenance.json"  # `asva convert`'s side file
OLD_MANIFEST = "asva_model.json"  # `asva convert` folders of earlier versions


def describe_config(config: UNetConfig, trainable: str = "adapter") -> list[str]:
    """Sizes of a UNet; `trainable` is how it is (or was) trained: "adapter" (the paper: temporal and
    audio layers on a frozen Stable Diffusion UNet) or "all" (every weight, from scratch)."""
    import torch

    from asva.models.adapter import parameter_counts
    from asva.models.unet3d import VideoUNet

    with torch.device("meta"):
        counts = parameter_counts(VideoUNet(config))
    audio = f"audio tokens of width {config.audio_dim}" if config.audio_dim else "no audio attention"
    lines = [
        f"  channels {list(config.channels)}, attention {list(config.attention)}, "
        f"{config.layers_per_block} layers per level, {config.num_heads} heads, {config.norm_groups} groups",
        f"  text tokens of width {config.text_dim}, {audio}; trained on {config.num_frames} frames of "
        f"{config.sample_size}x{config.sample_size} latents",
        f"  parameters        {counts['total']:>15,}",
    ]
    adapter = [f"      temporal mix  {counts['temporal_mix']:>15,}  (after every convolution)",
               f"      temporal attn {counts['temporal_attention']:>15,}",
               f"      audio attn    {counts['audio_attention']:>15,}"]
    if trainable == "all":
        everything = f"    trainable       {counts['total']:>15,}  (all: model.trainable=all, from scratch)"
        return [*lines, everything,
                f"    of which the temporal + audio layers {counts['trainable']:,}:", *adapter]
    frozen = f"    frozen          {counts['frozen']:>15,}  (the image UNet's layers: Stable Diffusion's)"
    adapter_only = f"    trainable       {counts['trainable']:>15,}  (temporal + audio adapter, as the paper)"
    return [*lines, adapter_only, *adapter, frozen]


def describe_prompts(folder: Path) -> list[str]:
    """What --prompt / --class accept with this model."""
    lines = []
    if (folder / "text_encoder").is_dir():
        lines.append("  prompts: free text (CLIP text encoder)")
    table = folder / "prompt_table" / "config.json"
    if table.is_file():
        names = json.loads(table.read_text()).get("names", [])
        lines.append(f"  classes (--class, or --prompt without a text encoder): {', '.join(names)}")
    return lines


def describe_model(folder: Path) -> list[str]:
    """Components, sources, UNet sizes and (for trained models) how the folder's model was trained."""
    from asva.training.checkpoint import describe_training, read_training_info

    lines = [f"model folder {folder}"]
    if (folder / PIPELINE_INDEX).is_file():  # every model folder (`asva train`, `asva convert`)
        index = json.loads((folder / PIPELINE_INDEX).read_text())
        lines += [f"  {name:<13} {spec[1]}" for name, spec in index.items()
                  if isinstance(spec, list) and spec[0] is not None]
    elif (folder / OLD_MANIFEST).is_file():  # written by `asva convert` before model_index.json
        info = json.loads((folder / OLD_MANIFEST).read_text())
        lines += [f"  {name:<13} {sub}/" for name, sub in info.get("components", {}).items()]
    else:
        raise ValueError(f"{folder} is not a model folder: expected {PIPELINE_INDEX} (or {OLD_MANIFEST})")
    for name in (PROVENANCE, OLD_MANIFEST):  # where the converted weights came from
        if (folder / name).is_file():
            sources = json.loads((folder / name).read_text()).get("sources", {})
            lines += [f"  {key} from {value}" for key, value in sources.items()]
    config = json.loads((folder / "unet" / "config.json").read_text())
    config.pop("format", None)
    lines += describe_prompts(folder)
    info = read_training_info(folder) or {}
    trainable = info.get("config", {}).get("model", {}).get("trainable", "adapter")
    lines += ["unet:", *describe_config(UNetConfig.from_dict(config), trainable)]
    trained = describe_training(folder)
    return lines + (["training:", *(f"  {line}" for line in trained)] if trained else [])


def bundled_models() -> list[str]:
    """The models that ship inside asva, each with how it was trained."""
    from asva.training.checkpoint import describe_training

    lines = []
    for name in list_models():
        model = MODELS[name]
        if not model.bundled:
            continue
        lines.append(f"bundled model {name}: {model.description}")
        try:
            folder = resolve_model(name)
        except ValueError as err:
            lines.append(f"  not installed: {err}")
            continue
        lines += [f"  {line}" for line in [f"folder {folder}", *describe_training(folder)]]
    others = ", ".join(n for n in list_models() if not MODELS[n].bundled)
    syncs = ", ".join(f"{n} ({'bundled' if MODELS[n].bundled else 'bring the weights'})"
                      for n in list_models("sync"))
    return lines + [f"released models (bring the weights; see `asva animate --model NAME`): {others}",
                    f"sync classifiers (--sync-model, --sync-weights): {syncs}"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="asva info", description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--preset", help=f"a UNet preset: {', '.join(list_presets())}")
    p.add_argument("--config", help=f"a training preset: {', '.join(training_config.list_presets())}")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field of --preset or --config (repeatable)")
    p.add_argument("--model", help="a model folder or a registry name")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.set and bool(args.preset) == bool(args.config):
        raise ValueError("--set needs one of --preset (UNet) or --config (training)")
    lines: list[str] = []
    if args.preset:
        config = load_preset(args.preset, **apply_overrides(UNetConfig, args.set))
        lines += [f"UNet preset {args.preset}:", *describe_config(config)]
    if args.config:
        train = training_config.load_config(args.config, args.set)
        lines += [f"training preset {args.config}:", json.dumps(train.to_dict(), indent=1)]
    if args.model:
        lines += describe_model(resolve_model(args.model))
    if not lines:
        lines = [f"UNet presets: {', '.join(list_presets())}",
                 f"training presets: {', '.join(training_config.list_presets())}", *bundled_models()]
    print("\n".join(lines))
    return 0
