"""asva.models: the AVSyncD video UNet (and, in sub-packages, ImageBind and the sync classifier).

    from asva.models import VideoUNet, load_preset, load_avsyncd, load_sd15, load_unet, audio_token_mask
    unet = VideoUNet(load_preset("tiny"))               # or load_avsyncd(official_unet_dir)
    eps = unet(sample_bcfhw, t, text_bnd, audio_bmd, audio_token_mask(12))

See docs/models.md for the architecture, the official checkpoint quirks and the key conversion.
"""
from __future__ import annotations

from asva.utils import lazy_getattr

_EXPORTS = {
    "NUM_AUDIO_TOKENS": "asva.models.audio_tokens",
    "OFFICIAL_RENAMES": "asva.models.convert",
    "StateDictMismatch": "asva.models.checkpoint",
    "UNetConfig": "asva.models.config",
    "VideoUNet": "asva.models.unet3d",
    "audio_token_mask": "asva.models.audio_tokens",
    "check_sd15_matches": "asva.models.convert",
    "config_from_diffusers": "asva.models.config",
    "convert_official": "asva.models.convert",
    "list_presets": "asva.models.config",
    "load_avsyncd": "asva.models.convert",
    "load_preset": "asva.models.config",
    "load_sd15": "asva.models.convert",
    "load_unet": "asva.models.convert",
    "parameter_counts": "asva.models.adapter",
    "read_state_dict": "asva.models.checkpoint",
    "save_unet": "asva.models.convert",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
