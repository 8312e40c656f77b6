"""Configuration of the ImageBind audio, vision and text branches, and its named presets.

Presets are small JSON files `presets/imagebind-<name>.json` next to the other model presets:
`huge` is the official `imagebind_huge`, `tiny` a few-channel copy with the same token geometry
(229 audio tokens, 257 image tokens, 77 text tokens) for CPU tests. A variant is a preset plus
overrides: `ImageBindConfig.from_preset("tiny", embed_dim=24, audio={"width": 24})`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from asva.models.jsonconfig import JsonConfig, preset_names, read_preset

_PREFIX = "imagebind-"


@dataclass(frozen=True)
class TrunkConfig:
    """A pre-norm transformer trunk: `depth` blocks of `heads`-head attention and a GELU MLP."""

    width: int
    depth: int
    heads: int
    mlp_ratio: int = 4
    bias_kv: bool = False  # one learned key/value position appended after projection (audio)
    pre_norm: bool = False  # LayerNorm before the first block (vision, CLIP's ln_pre)
    eps: float = 1e-6  # every LayerNorm of the trunk and of the head
    drop_path: float = 0.0  # stochastic depth of the last block (linspace(0, drop_path) over the blocks)

    def __post_init__(self) -> None:
        for name in ("width", "depth", "heads", "mlp_ratio"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.drop_path < 1.0:
            raise ValueError(f"drop_path must be in [0, 1), got {self.drop_path}")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")


@dataclass(frozen=True)
class AudioConfig(TrunkConfig):
    """Audio: Conv2d patch stem (no bias) + LayerNorm(eps 1e-5) on a (b, 1, mel bins, frames) log-mel."""

    bias_kv: bool = True
    drop_path: float = 0.1  # imagebind_huge(audio_drop_path=0.1); active only in training mode
    num_mel_bins: int = 128
    target_length: int = 204
    patch_size: int = 16
    patch_stride: int = 10
    stem_eps: float = 1e-5
    logit_scale: float = 20.0  # a fixed buffer in the official model (ln 20 is stored)

    @property
    def patch_grid(self) -> tuple[int, int]:
        """(frequency rows, time columns) of the patch grid: (12, 19) for 128 x 204."""
        rows = (self.num_mel_bins - self.patch_size) // self.patch_stride + 1
        cols = (self.target_length - self.patch_size) // self.patch_stride + 1
        return rows, cols

    @property
    def num_tokens(self) -> int:
        rows, cols = self.patch_grid
        return 1 + rows * cols


@dataclass(frozen=True)
class VisionConfig(TrunkConfig):
    """Vision: the image repeated to `num_frames` frames, one Conv3d patch (no bias), CLS, pre-norm."""

    pre_norm: bool = True
    image_size: int = 224
    patch_size: int = 14
    num_frames: int = 2

    @property
    def num_tokens(self) -> int:
        return 1 + (self.image_size // self.patch_size) ** 2


@dataclass(frozen=True)
class TextConfig(TrunkConfig):
    """Text: token + position embedding, causal trunk, the end token (largest id) projected."""

    vocab_size: int = 49408
    context_length: int = 77
    logit_scale: float = 1 / 0.07  # initial value; a learned parameter in the checkpoint


def _branch(cls, data):
    return data if isinstance(data, cls) else cls(**data)


@dataclass(frozen=True)
class ImageBindConfig(JsonConfig):
    """The three branches and the shared embedding size. Defaults: `imagebind_huge`."""

    kind: ClassVar[str] = "ImageBind"

    embed_dim: int = 1024
    max_logit_scale: float = 100.0
    audio: AudioConfig = field(default_factory=lambda: AudioConfig(width=768, depth=12, heads=12))
    vision: VisionConfig = field(default_factory=lambda: VisionConfig(width=1280, depth=32, heads=16))
    text: TextConfig = field(default_factory=lambda: TextConfig(width=1024, depth=24, heads=16))

    def __post_init__(self) -> None:
        object.__setattr__(self, "audio", _branch(AudioConfig, self.audio))
        object.__setattr__(self, "vision", _branch(VisionConfig, self.vision))
        object.__setattr__(self, "text", _branch(TextConfig, self.text))
        if self.embed_dim < 1 or not math.isfinite(self.max_logit_scale):
            raise ValueError(f"bad embed_dim {self.embed_dim} / max_logit_scale {self.max_logit_scale}")


    @classmethod
    def from_preset(cls, name: str, **overrides) -> ImageBindConfig:
        """A named preset; a branch override is a dict merged into that branch's settings."""
        data = read_preset(_PREFIX, name, "ImageBind")
        for key, value in overrides.items():
            data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
        return cls.from_dict(data)


def list_presets() -> list[str]:
    """Names of the ImageBind presets (`huge`, `tiny`, ...)."""
    return preset_names(_PREFIX)


def resolve_config(config: ImageBindConfig | str) -> ImageBindConfig:
    """A config, or the name of a preset."""
    if isinstance(config, ImageBindConfig):
        return config
    if isinstance(config, str):
        return ImageBindConfig.from_preset(config)
    raise ValueError(f"config must be an ImageBindConfig or a preset name, got {type(config).__name__}")
