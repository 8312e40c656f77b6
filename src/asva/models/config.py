"""Size and options of the AVSyncD video UNet, and its named presets.

    from asva.models.config import list_presets, load_preset
    cfg = load_preset("sd15")                     # the paper's model (SD1.5 inflated to video)
    cfg = load_preset("tiny", audio_dim=None)     # a variant is a preset plus overrides

Presets are small JSON files `presets/unet-<name>.json` (other models keep theirs in the same folder
under their own prefix, `sync-`, `imagebind-`; see `asva.models.jsonconfig`).
`config_from_diffusers` reads the `config.json` of a Stable Diffusion
`unet/` folder or of an official AVSyncD checkpoint, so those folders need no preset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from asva.models.jsonconfig import JsonConfig, preset_names, read_preset

_PREFIX = "unet-"


@dataclass(frozen=True)
class UNetConfig(JsonConfig):
    """Shape of the video UNet. The defaults are the paper's (`sd15` preset).

    `attention[i]` says whether down level i (and its mirrored up level) has transformers; the
    middle always has one. `audio_dim=None` builds no audio attention at all (the I2VD baseline).
    """

    kind: ClassVar[str] = "UNet"

    in_channels: int = 4
    out_channels: int = 4
    channels: tuple[int, ...] = (320, 640, 1280, 1280)
    attention: tuple[bool, ...] = (True, True, True, False)
    layers_per_block: int = 2
    num_heads: int = 8  # SD's "attention_head_dim" really is the head count
    norm_groups: int = 32
    norm_eps: float = 1e-5
    text_dim: int = 768
    audio_dim: int | None = 768
    flip_sin_to_cos: bool = True
    freq_shift: float = 0.0
    downsample_padding: int = 1
    # the image conditioning of the paper's Table 2a: the inflated convolutions' temporal layer and the
    # spatial attention look up frame 0 (True, AVSyncD) or only the frame itself and its predecessor
    first_frame_conv: bool = True
    first_frame_attention: bool = True
    # what the model was trained on; informational (any frame count / even latent size runs)
    sample_size: int = 64
    num_frames: int = 12

    def __post_init__(self) -> None:
        for name in ("channels", "attention"):
            object.__setattr__(self, name, tuple(getattr(self, name)))  # JSON gives lists
        if len(self.attention) != len(self.channels):
            raise ValueError(
                f"attention {self.attention} needs one flag per level of channels {self.channels}"
            )
        positive = ("in_channels", "out_channels", "layers_per_block", "num_heads", "norm_groups", "text_dim")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.audio_dim is not None and self.audio_dim < 1:
            raise ValueError(f"audio_dim must be a positive integer or None, got {self.audio_dim!r}")
        for c in self.channels:
            if c % self.norm_groups or c % self.num_heads:
                raise ValueError(
                    f"channel count {c} must be divisible by norm_groups={self.norm_groups} "
                    f"and num_heads={self.num_heads}"
                )

    @property
    def time_dim(self) -> int:
        """Width of the timestep embedding (4x the first level, as in SD)."""
        return 4 * self.channels[0]

    def replace(self, **overrides) -> UNetConfig:
        return UNetConfig.from_dict({**self.to_dict(), **overrides})


def list_presets() -> list[str]:
    """Names of the UNet presets (`sd15`, `tiny`, ...)."""
    return preset_names(_PREFIX)


def load_preset(name: str, **overrides) -> UNetConfig:
    """The preset `name` with keyword `overrides` applied (a variant)."""
    return UNetConfig.from_dict({**read_preset(_PREFIX, name, "UNet"), **overrides})


# ---------------------------------------------------------------- diffusers-style configs
_ATTN_BLOCKS = {  # block type -> (has transformers, has audio attention)
    "CrossAttnDownBlock2D": (True, None),
    "DownBlock2D": (False, None),
    "CrossAttnUpBlock2D": (True, None),
    "UpBlock2D": (False, None),
    "FFSpatioAudioTempCrossAttnDownBlock3D": (True, True),
    "FFSpatioTempCrossAttnDownBlock3D": (True, False),
    "FFSpatioTempResDownBlock3D": (False, None),
    "FFSpatioAudioTempCrossAttnUpBlock3D": (True, True),
    "FFSpatioTempCrossAttnUpBlock3D": (True, False),
    "FFSpatioTempResUpBlock3D": (False, None),
    "UNetMidBlock2DCrossAttn": (True, None),
    "FFSpatioAudioTempCrossAttnUNetMidBlock3D": (True, True),
    "FFSpatioTempCrossAttnUNetMidBlock3D": (True, False),
}
# options SD1.5 / AVSyncD leave at these values; anything else is a different architecture
_FIXED = {
    "center_input_sample": False,
    "use_linear_projection": False,
    "only_cross_attention": False,
    "dual_cross_attention": False,
    "upcast_attention": False,
    "class_embed_type": None,
    "addition_embed_type": None,
    "num_class_embeds": None,
    "encoder_hid_dim": None,
    "resnet_time_scale_shift": "default",
    "time_embedding_type": "positional",
    "time_embedding_dim": None,
    "time_embedding_act_fn": None,
    "timestep_post_act": None,
    "time_cond_proj_dim": None,
    "conv_in_kernel": 3,
    "conv_out_kernel": 3,
    "mid_block_scale_factor": 1,
    "resnet_out_scale_factor": 1.0,
    "act_fn": "silu",
    "num_attention_heads": None,
    "transformer_layers_per_block": 1,
}


def _all_equal(value, expected) -> bool:
    """`value` is `expected`, or a per-level list of it."""
    return value == expected or (isinstance(value, list) and all(v == expected for v in value))


def _block_kinds(types: list[str], what: str, source: str) -> list[tuple[bool, bool | None]]:
    unknown = [t for t in types if t not in _ATTN_BLOCKS]
    if unknown:
        raise ValueError(f"{source}: unsupported {what} {unknown}; expected some of {sorted(_ATTN_BLOCKS)}")
    return [_ATTN_BLOCKS[t] for t in types]


def config_from_diffusers(cfg: dict, *, audio_dim: int | None = 768, source: str = "config") -> UNetConfig:
    """UNetConfig from a diffusers `config.json`: SD's `UNet2DConditionModel` or AVSyncD's 3-D UNet.

    For a 2-D config `audio_dim` gives the audio token width to add; a 3-D config brings its own
    (`audio_cross_attention_dim`, or no audio for the image-only FFSpatioTemp blocks).
    """
    bad = {k: cfg[k] for k, v in _FIXED.items() if k in cfg and not _all_equal(cfg[k], v)}
    if bad:
        raise ValueError(
            f"{source}: unsupported UNet options {bad}; expected {[f'{k}={_FIXED[k]}' for k in bad]}"
        )
    absent = [k for k in ("block_out_channels", "down_block_types", "up_block_types") if k not in cfg]
    if absent:
        raise ValueError(f"{source}: not a diffusers UNet config, it lacks {absent}")
    down = _block_kinds(list(cfg["down_block_types"]), "down_block_types", source)
    up = _block_kinds(list(cfg["up_block_types"]), "up_block_types", source)
    mid = _block_kinds([cfg.get("mid_block_type", "UNetMidBlock2DCrossAttn")], "mid_block_type", source)
    if [a for a, _ in up] != [a for a, _ in down][::-1]:
        raise ValueError(
            f"{source}: up_block_types {cfg['up_block_types']} do not mirror {cfg['down_block_types']}"
        )
    audio_flags = {flag for _, flag in down + up + mid if flag is not None}
    if len(audio_flags) > 1:
        raise ValueError(f"{source}: some attention blocks have audio attention and some do not")
    if audio_flags:  # a 3-D AVSyncD config decides for itself
        audio_dim = cfg.get("audio_cross_attention_dim", 768) if audio_flags == {True} else None
    sizes = {"attention_head_dim": 8, "cross_attention_dim": 1280, "layers_per_block": 2}
    sizes = {k: cfg.get(k, default) for k, default in sizes.items()}
    per_level = {k: v for k, v in sizes.items() if not isinstance(v, int)}
    if per_level:
        raise ValueError(
            f"{source}: per-level sizes {per_level} are not supported; expected one integer each"
        )
    return UNetConfig(
        in_channels=cfg.get("in_channels", 4),
        out_channels=cfg.get("out_channels", 4),
        channels=tuple(cfg["block_out_channels"]),
        attention=tuple(a for a, _ in down),
        layers_per_block=sizes["layers_per_block"],
        num_heads=sizes["attention_head_dim"],
        norm_groups=cfg.get("norm_num_groups", 32),
        norm_eps=cfg.get("norm_eps", 1e-5),
        text_dim=sizes["cross_attention_dim"],
        audio_dim=audio_dim,
        flip_sin_to_cos=cfg.get("flip_sin_to_cos", True),
        freq_shift=float(cfg.get("freq_shift", 0)),
        downsample_padding=cfg.get("downsample_padding", 1),
        sample_size=cfg.get("sample_size") or 64,
    )


def structure_of(config: UNetConfig) -> dict:
    """The fields that decide the shapes of the SD part: two configs must share them to swap SD weights."""
    keys = ("in_channels", "out_channels", "channels", "attention", "layers_per_block")
    keys += ("norm_groups", "text_dim")
    return {k: getattr(config, k) for k in keys}
