"""Thin diffusers adapters so the library's own models ride in a `DiffusionPipeline` folder.

diffusers loads a pipeline component through `from_pretrained` only if its class subclasses
`ModelMixin` (see `diffusers.pipelines.pipeline_loading_utils.LOADABLE_CLASSES`). The models in
`asva.models` are plain `nn.Module`s with their own folder formats, so each gets a wrapper here that
subclasses `ModelMixin` and saves / loads through the model's own format: a pipeline's `unet/` folder
is exactly what `asva.models.convert.save_unet` writes and `load_unet` reads.
"""
from __future__ import annotations

import os

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config

from asva.models.config import UNetConfig
from asva.models.convert import load_unet, save_unet
from asva.models.imagebind.config import ImageBindConfig
from asva.models.imagebind.convert import load_imagebind_folder, save_imagebind
from asva.models.imagebind.model import ImageBind
from asva.models.unet3d import VideoUNet


class AVSyncDUNet(ModelMixin, ConfigMixin):
    """`VideoUNet` as a diffusers component; calls go straight through to it.

    `eps = unet(sample, t, text_states, audio_states, audio_mask)`, see `asva.models.unet3d`.
    """

    @register_to_config
    def __init__(self, unet_config: dict | None = None):
        super().__init__()
        self.model = VideoUNet(UNetConfig.from_dict(unet_config or {}))

    @classmethod
    def wrap(cls, model: VideoUNet) -> AVSyncDUNet:
        """Wrap an existing VideoUNet (its weights are shared, not copied)."""
        return _around(cls, model, unet_config=model.config.to_dict())

    @property
    def unet_config(self) -> UNetConfig:
        return self.model.config

    def forward(self, sample, timestep, text_states, audio_states=None, audio_mask=None) -> torch.Tensor:
        return self.model(sample, timestep, text_states, audio_states, audio_mask)

    def save_pretrained(self, save_directory: str | os.PathLike, **_ignored) -> None:
        save_unet(self.model, save_directory)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *,
                        dtype: torch.dtype | None = None, torch_dtype: torch.dtype | None = None,
                        **_ignored) -> AVSyncDUNet:
        """Read a UNet folder (`asva.models.convert.load_unet`); diffusers' loading options are ignored."""
        return cls.wrap(load_unet(pretrained_model_name_or_path, dtype=dtype or torch_dtype))


class AVSyncDAudioEncoder(ModelMixin, ConfigMixin):
    """ImageBind's audio branch as a diffusers component: AVSyncD's audio tokens and null tokens.

    `audio_tokens(mel (b, 1, 128, 204)) -> (b, 229, width)`; `null_audio_tokens(b)`: the tokens of an
    all-zero normalised mel. `imagebind_config` is an `ImageBindConfig` dict (default: imagebind_huge),
    of which only the audio branch is built. The folder is `asva.models.imagebind.convert`'s own
    (`save_imagebind`), so a converted three-branch ImageBind folder loads too (its audio branch only).
    """

    @register_to_config
    def __init__(self, imagebind_config: dict | None = None):
        super().__init__()
        config = ImageBindConfig.from_dict(imagebind_config) if imagebind_config else ImageBindConfig()
        self.model = ImageBind(config, modalities=("audio",))

    @classmethod
    def wrap(cls, model: ImageBind) -> AVSyncDAudioEncoder:
        """Wrap an existing ImageBind that has an audio branch (weights shared, not copied)."""
        model.branch("audio")
        return _around(cls, model, imagebind_config=model.config.to_dict())

    @property
    def width(self) -> int:
        return self.model.config.audio.width

    def audio_tokens(self, mel: torch.Tensor) -> torch.Tensor:
        return self.model.audio_tokens(mel)

    def null_audio_tokens(self, batch_size: int = 1) -> torch.Tensor:
        return self.model.null_audio_tokens(batch_size)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.audio_tokens(mel)

    def save_pretrained(self, save_directory: str | os.PathLike, **_ignored) -> None:
        save_imagebind(self.model, save_directory)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *,
                        dtype: torch.dtype | None = None, torch_dtype: torch.dtype | None = None,
                        **_ignored) -> AVSyncDAudioEncoder:
        """Read an ImageBind folder's audio branch; diffusers' loading options are ignored."""
        model = load_imagebind_folder(pretrained_model_name_or_path, ("audio",),
                                      dtype=dtype or torch_dtype or torch.float32)
        return cls.wrap(model)


def _around(cls, model, **config):
    """A component of class `cls` holding `model` (weights shared, not copied): built on the meta
    device from `config`, then the model swapped in."""
    with torch.device("meta"):
        wrapper = cls(**config)
    wrapper.model = model
    return wrapper
