"""asva.models: the AVSyncD video UNet (and, in sub-packages, ImageBind and the sync classifier).

    from asva.models import VideoUNet, load_preset, load_avsyncd, load_sd15, load_unet, audio_token_mask
    unet = VideoUNet(load_preset("tiny"))               # or load_avsyncd(official_unet_dir)
    eps = unet(sample_bcfhw, t, text_bnd, audio_bmd, audio_token_mask(12))

See docs/models.md for the architecture, the official checkpoint quirks and the key conversion.
"""
from .adapter import parameter_counts
from .audio_tokens import NUM_AUDIO_TOKENS, audio_token_mask
from .checkpoint import StateDictMismatch, read_state_dict
from .config import UNetConfig, config_from_diffusers, list_presets, load_preset
from .convert import (
    OFFICIAL_RENAMES,
    check_sd15_matches,
    convert_official,
    load_avsyncd,
    load_sd15,
    load_unet,
    save_unet,
)
from .unet3d import VideoUNet

__all__ = [
    "NUM_AUDIO_TOKENS",
    "OFFICIAL_RENAMES",
    "StateDictMismatch",
    "UNetConfig",
    "VideoUNet",
    "audio_token_mask",
    "check_sd15_matches",
    "config_from_diffusers",
    "convert_official",
    "list_presets",
    "load_avsyncd",
    "load_preset",
    "load_sd15",
    "load_unet",
    "parameter_counts",
    "read_state_dict",
    "save_unet",
]
