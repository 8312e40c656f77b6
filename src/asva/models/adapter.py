"""The separable, trainable part of the video UNet: its temporal and audio layers.

The adapter is chosen by module, not by parameter names: every `FrameMix` (the first-frame temporal
layer after each convolution) plus the audio and temporal attention of each transformer block.
Everything else is Stable Diffusion's UNet, frozen in training. The adapter file is a safetensors file
holding just those weights, under the model's own parameter names.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from asva.utils import atomic_path

from .checkpoint import check_state_dict
from .layers import FrameMix
from .transformer import VideoTransformerBlock

ADAPTER_FORMAT = "asva-unet-adapter"


def adapter_modules(model: nn.Module) -> list[nn.Module]:
    """The adapter's modules, in model order."""
    found: list[nn.Module] = []
    for module in model.modules():
        if isinstance(module, FrameMix):
            found.append(module)
        elif isinstance(module, VideoTransformerBlock):
            found.extend(module.adapter_modules())
    return found


def adapter_parameter_names(model: nn.Module) -> list[str]:
    """Names (in `model.state_dict()`) of the adapter's parameters."""
    ids = {id(p) for m in adapter_modules(model) for p in m.parameters()}
    return [name for name, p in model.named_parameters() if id(p) in ids]


def adapter_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    names = set(adapter_parameter_names(model))
    return {k: v for k, v in model.state_dict().items() if k in names}


def reset_adapter(model: nn.Module) -> None:
    """Zero-initialise the adapter: the model then predicts like the 2-D UNet it was inflated from
    (frame by frame, except that spatial attention takes its keys and values from frame 0)."""
    for module in model.modules():
        if isinstance(module, FrameMix):
            nn.init.zeros_(module.proj.weight)
            nn.init.zeros_(module.proj.bias)
        elif isinstance(module, VideoTransformerBlock):
            module.reset_adapter()


def freeze_base(model: nn.Module) -> list[nn.Parameter]:
    """Freeze everything but the adapter; returns the adapter's (trainable) parameters."""
    model.requires_grad_(False)
    for module in adapter_modules(model):
        module.requires_grad_(True)
    return [p for m in adapter_modules(model) for p in m.parameters()]


def save_adapter(model: nn.Module, path: str | Path, *, config: dict | None = None) -> Path:
    """Write the adapter's weights to a safetensors file (atomically); `config` goes into its metadata."""
    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in adapter_state_dict(model).items()}
    meta = {"format": ADAPTER_FORMAT, "config": json.dumps(config or {})}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)
    return path


def load_adapter(model: nn.Module, path: str | Path) -> None:
    """Load an adapter file written by `save_adapter`, strictly: every adapter weight, nothing else."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"adapter file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
            state = {k: handle.get_tensor(k) for k in handle.keys()}
    except Exception as err:
        raise ValueError(
            f"cannot read {path} as a safetensors adapter file ({type(err).__name__}: {err})"
        ) from err
    if meta.get("format") != ADAPTER_FORMAT:
        raise ValueError(f"{path} is not an {ADAPTER_FORMAT} file (format {meta.get('format')!r})")
    expected = adapter_state_dict(model)
    check_state_dict(expected, state, source=f"adapter file {path}")
    with torch.no_grad():
        for name, value in state.items():
            expected[name].copy_(value)


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """Parameter counts: total, trainable (the adapter, by part) and frozen (the SD UNet)."""

    def count(modules) -> int:
        return sum(p.numel() for m in modules for p in m.parameters())

    blocks = [m for m in model.modules() if isinstance(m, VideoTransformerBlock)]
    parts = {
        "temporal_mix": count(m for m in model.modules() if isinstance(m, FrameMix)),
        "temporal_attention": count(b.temporal for b in blocks),
        "audio_attention": count(b.audio for b in blocks if b.audio is not None),
    }
    total = sum(p.numel() for p in model.parameters())
    trainable = count(adapter_modules(model))
    return {"total": total, "trainable": trainable, "frozen": total - trainable, **parts}
