"""Official AVSyncD / Stable Diffusion UNet weights -> `VideoUNet`, and this package's own UNet folders.

Official names reach this package's names only through `OFFICIAL_RENAMES`, one ordered table of
regex renames; the result must then match the model exactly (`checkpoint.load_strict`). Stable
Diffusion 1.5's `unet/` uses the same names for its (2-D) part, so the same table converts it; the
adapter then starts fresh (zero-initialised: the model predicts like SD, frame by frame).

    model = load_avsyncd("ckpts/avsyncd/unet")               # official release: config.json + weights
    model = load_sd15("stable-diffusion-v1-5")                # SD1.5 inflated, adapter fresh
    save_unet(model, "out/unet"); model = load_unet("out")    # this package's folder
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from asva.utils import atomic_path

from . import adapter
from .checkpoint import apply_renames, check_state_dict, load_strict, read_state_dict
from .config import UNetConfig, config_from_diffusers, load_preset, structure_of
from .unet3d import VideoUNet

UNET_FORMAT = "asva-unet"
WEIGHTS_NAME = "model.safetensors"

# Official (diffusers-style) key -> this package's key. Every rule is applied to every key, in order:
# leaves are renamed while their official parents still identify them, then the parents.
OFFICIAL_RENAMES: tuple[tuple[str, str], ...] = (
    # every convolution is inflated: its 2-D kernel, then the first-frame temporal linear
    (r"(^|\.)(conv_in|conv_out|conv1|conv2|conv_shortcut|conv)\.(weight|bias)$", r"\1\2.spatial.\3"),
    (r"\.conv_temp\.", ".temporal_mix.proj."),
    # resnets
    (r"(resnets\.\d+)\.norm1\.", r"\1.in_norm."),
    (r"(resnets\.\d+)\.conv1\.", r"\1.in_conv."),
    (r"(resnets\.\d+)\.time_emb_proj\.", r"\1.time_proj."),
    (r"(resnets\.\d+)\.norm2\.", r"\1.out_norm."),
    (r"(resnets\.\d+)\.conv2\.", r"\1.out_conv."),
    (r"(resnets\.\d+)\.conv_shortcut\.", r"\1.skip."),
    # transformer blocks: first-frame, audio, text and temporal attention, feed-forward
    (r"(transformer_blocks\.\d+)\.norm1\.", r"\1.spatial.norm."),
    (r"(transformer_blocks\.\d+)\.attn1\.", r"\1.spatial.attn."),
    (r"(transformer_blocks\.\d+)\.norm_audio\.", r"\1.audio.norm."),
    (r"(transformer_blocks\.\d+)\.attn_audio\.", r"\1.audio.attn."),
    (r"(transformer_blocks\.\d+)\.norm2\.", r"\1.text.norm."),
    (r"(transformer_blocks\.\d+)\.attn2\.", r"\1.text.attn."),
    (r"(transformer_blocks\.\d+)\.pos_embedding_temp\.linear_([12])\.", r"\1.temporal.pos_mlp.fc\2."),
    (r"(transformer_blocks\.\d+)\.norm_temp\.", r"\1.temporal.norm."),
    (r"(transformer_blocks\.\d+)\.attn_temp\.", r"\1.temporal.attn."),
    (r"(transformer_blocks\.\d+)\.norm3\.", r"\1.ff.norm."),
    (r"(transformer_blocks\.\d+)\.ff\.net\.0\.proj\.", r"\1.ff.net.proj_in."),
    (r"(transformer_blocks\.\d+)\.ff\.net\.2\.", r"\1.ff.net.proj_out."),
    (r"\.to_([qkv])\.", r".\1."),
    (r"\.to_out\.0\.", ".out."),
    (r"\.transformer_blocks\.", ".blocks."),
    # levels
    (r"^down_blocks\.(\d+)\.downsamplers\.0\.conv\.", r"down.\1.downsample."),
    (r"^up_blocks\.(\d+)\.upsamplers\.0\.conv\.", r"up.\1.upsample."),
    (r"^mid_block\.resnets\.0\.", "mid.res_in."),
    (r"^mid_block\.resnets\.1\.", "mid.res_out."),
    (r"^mid_block\.attentions\.0\.", "mid.transformer."),
    (r"^down_blocks\.", "down."),
    (r"^up_blocks\.", "up."),
    (r"\.resnets\.", ".res."),
    (r"\.attentions\.", ".transformers."),
    # stem and head
    (r"^conv_in\.", "input_conv."),
    (r"^time_embedding\.linear_([12])\.", r"time_mlp.fc\1."),
    (r"^conv_norm_out\.", "out_norm."),
    (r"^conv_out\.", "out_conv."),
)


def convert_official(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official AVSyncD (or SD1.5 `unet/`) state dict -> this package's names (tensors shared)."""
    return apply_renames(state, OFFICIAL_RENAMES)


def build_unet(
    config: UNetConfig,
    state: dict[str, torch.Tensor],
    *,
    source: str,
    fresh_adapter: bool = False,
    dtype: torch.dtype | None = None,
) -> VideoUNet:
    """A VideoUNet holding `state` (this package's names) without a second copy of the weights.

    With `fresh_adapter` the adapter may be absent from `state`; it is then zero-initialised.
    """
    with torch.device("meta"):
        model = VideoUNet(config)
    optional = adapter.adapter_parameter_names(model) if fresh_adapter else ()
    load_strict(model, state, source=source, may_be_missing=optional, assign=True)
    for module in adapter.adapter_modules(model):
        if any(p.is_meta for p in module.parameters()):
            _materialise(module)
    dtype = dtype or next(iter(state.values())).dtype
    return model.to(dtype)


def _materialise(module: nn.Module) -> None:
    """Give a meta-device adapter module real, freshly initialised (zero-output) weights."""
    module.to_empty(device="cpu")
    for sub in module.modules():
        if hasattr(sub, "reset_parameters"):
            sub.reset_parameters()
    if hasattr(module, "zero_output"):
        module.zero_output()
    else:  # FrameMix
        for p in module.parameters():
            nn.init.zeros_(p)


# ---------------------------------------------------------------- official checkpoints
def _unet_folder(path: Path) -> Path:
    return path / "unet" if (path / "unet" / "config.json").is_file() else path


def read_diffusers_config(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        raise ValueError(f"{folder} has no config.json; expected a diffusers UNet folder")
    try:
        return json.loads(path.read_text())
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from err


def load_avsyncd(
    path: str | Path, *, config: UNetConfig | None = None, dtype: torch.dtype | None = None
) -> VideoUNet:
    """An official AVSyncD UNet: a diffusers folder (`unet/` or its parent) or a single weight file.

    A folder brings its `config.json`; a single file uses `config` (default: the `sd15` preset).
    """
    path = Path(path)
    if path.is_dir():
        folder = _unet_folder(path)
        config = config or config_from_diffusers(
            read_diffusers_config(folder), source=str(folder / "config.json")
        )
        weights = folder
    else:
        config, weights = config or load_preset("sd15"), path
    state = convert_official(read_state_dict(weights))
    return build_unet(config, state, source=f"AVSyncD UNet weights {weights}", dtype=dtype)


def sd15_unet_config(folder: str | Path, *, audio_dim: int | None = 768) -> UNetConfig:
    """The video UNet config for a Stable Diffusion folder (its `unet/config.json`)."""
    folder = _unet_folder(Path(folder))
    cfg = read_diffusers_config(folder)
    if cfg.get("_class_name", "UNet2DConditionModel") != "UNet2DConditionModel":
        raise ValueError(
            f"{folder / 'config.json'} is a {cfg['_class_name']}, expected SD's UNet2DConditionModel"
        )
    return config_from_diffusers(cfg, audio_dim=audio_dim, source=str(folder / "config.json"))


def load_sd15(
    folder: str | Path, *, audio_dim: int | None = 768, dtype: torch.dtype | None = None, **overrides
) -> VideoUNet:
    """Stable Diffusion's UNet inflated to video, with a fresh (zero-output) adapter."""
    unet_dir = _unet_folder(Path(folder))
    config = sd15_unet_config(unet_dir, audio_dim=audio_dim).replace(**overrides)
    state = convert_official(read_state_dict(unet_dir))
    return build_unet(
        config, state, source=f"Stable Diffusion UNet weights {unet_dir}", fresh_adapter=True, dtype=dtype
    )


def check_sd15_matches(folder: str | Path, model: VideoUNet) -> None:
    """Raise a ValueError unless the SD folder's UNet has the shapes of `model`'s frozen (SD) part."""
    unet_dir = _unet_folder(Path(folder))
    sd_config = sd15_unet_config(unet_dir, audio_dim=model.config.audio_dim)
    sd_shape, ours = structure_of(sd_config), structure_of(model.config)
    differ = {k: (sd_shape[k], ours[k]) for k in ours if sd_shape[k] != ours[k]}
    if differ:
        raise ValueError(
            f"Stable Diffusion folder {unet_dir} does not match the AVSyncD UNet: (SD, AVSyncD) {differ}"
        )
    shapes = convert_official(_read_shapes(unet_dir))
    check_state_dict(
        model.state_dict(),
        shapes,
        source=f"Stable Diffusion UNet weights {unet_dir}",
        may_be_missing=adapter.adapter_parameter_names(model),
    )


def _read_shapes(folder: Path) -> dict[str, torch.Tensor]:
    """Key -> (meta) tensor of the right shape; reads only the header of a safetensors file."""
    path = folder / "diffusion_pytorch_model.safetensors"
    if not path.is_file():
        return read_state_dict(folder)
    try:
        with safe_open(str(path), framework="pt") as handle:
            return {k: torch.empty(handle.get_slice(k).get_shape(), device="meta") for k in handle.keys()}
    except Exception as err:
        raise ValueError(f"cannot read {path} as a weight file ({type(err).__name__}: {err})") from err


# ---------------------------------------------------------------- this package's folders
def save_unet(model: VideoUNet, folder: str | Path) -> Path:
    """Write `folder/config.json` and `folder/model.safetensors` (this package's names), atomically."""
    folder = Path(folder)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(folder, is_dir=True) as tmp:
        (tmp / "config.json").write_text(
            json.dumps({"format": UNET_FORMAT, **model.config.to_dict()}, indent=2) + "\n"
        )
        save_file(state, str(tmp / WEIGHTS_NAME), metadata={"format": UNET_FORMAT})
    return folder


def load_unet(path: str | Path, *, dtype: torch.dtype | None = None) -> VideoUNet:
    """A UNet written by `save_unet`: its folder, or a model folder holding it as `unet/`."""
    path = Path(path)
    folder = path / "unet" if (path / "unet" / WEIGHTS_NAME).is_file() else path
    config_path = folder / "config.json"
    if not (config_path.is_file() and (folder / WEIGHTS_NAME).is_file()):
        raise ValueError(f"{path} is not an asva UNet folder; expected config.json and {WEIGHTS_NAME}")
    data = json.loads(config_path.read_text())
    if data.pop("format", None) != UNET_FORMAT:
        raise ValueError(f"{config_path} is not an {UNET_FORMAT} config")
    state = read_state_dict(folder / WEIGHTS_NAME)
    return build_unet(
        UNetConfig.from_dict(data), state, source=f"UNet weights {folder / WEIGHTS_NAME}", dtype=dtype
    )
