"""ImageBind with its audio, vision and text branches, and the audio tokens AVSyncD attends to."""
from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .audio import AudioBranch
from .config import ImageBindConfig, resolve_config
from .text import TextBranch
from .vision import VisionBranch

MODALITIES = ("audio", "vision", "text")


def check_modalities(modalities: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(modalities))
    bad = [m for m in chosen if m not in MODALITIES]
    if bad or not chosen:
        raise ValueError(f"modalities must be a non-empty subset of {MODALITIES}, got {list(modalities)}")
    return chosen


class ImageBind(nn.Module):
    """The audio, vision and text branches of ImageBind (any subset of them).

    Embeddings are unit vectors unless `scaled=True`, which gives the official output: the unit
    vector times `logit_scale` (audio and text; vision has no scale). Modules:
    `audio` (`AudioBranch`), `vision` (`VisionBranch`), `text` (`TextBranch`), None when not built.
    """

    def __init__(self, config: ImageBindConfig | str = "huge", modalities: Iterable[str] = MODALITIES):
        super().__init__()
        self.config = resolve_config(config)
        self.modalities = check_modalities(modalities)
        cfg, dim = self.config, self.config.embed_dim
        self.audio = AudioBranch(cfg.audio, dim) if "audio" in self.modalities else None
        self.vision = VisionBranch(cfg.vision, dim) if "vision" in self.modalities else None
        self.text = TextBranch(cfg.text, dim) if "text" in self.modalities else None

    def branch(self, modality: str) -> nn.Module:
        module = getattr(self, modality, None) if modality in MODALITIES else None
        if module is None:
            raise ValueError(f"this ImageBind has no {modality!r} branch; it has {self.modalities}")
        return module

    def logit_scale(self, modality: str) -> torch.Tensor:
        """0-d: clip(exp(log_logit_scale), max=100) for audio / text; 1 for vision."""
        branch = self.branch(modality)
        if modality == "vision":
            return torch.ones((), dtype=branch.cls_token.dtype, device=branch.cls_token.device)
        return branch.log_logit_scale.exp().clamp(max=self.config.max_logit_scale)

    def encode_audio(self, mel: torch.Tensor, *, scaled: bool = False) -> torch.Tensor:
        """(b, 1, 128, 204) normalised log-mel -> (b, embed_dim).

        (b, s, 1, 128, 204), several clips per sample, gives the official average of the scaled
        clip embeddings (not unit-norm); with `scaled=False` that average is divided by the scale.
        """
        if mel.ndim == 5:
            scale = self.logit_scale("audio")
            unit = self.encode_audio(rearrange(mel, "b s c f t -> (b s) c f t"))
            mean = rearrange(unit * scale, "(b s) d -> b s d", b=mel.shape[0]).mean(dim=1)
            return mean if scaled else mean / scale
        return self._embed("audio", mel, scaled)

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """(b, 3, 224, 224) CLIP-normalised pixels -> (b, embed_dim) unit vectors."""
        return self._embed("vision", pixels, False)

    def encode_text(self, ids: torch.Tensor, *, scaled: bool = False) -> torch.Tensor:
        """(b, 77) int64 token ids (see `tokenize`) -> (b, embed_dim)."""
        return self._embed("text", ids, scaled)

    def _embed(self, modality: str, x: torch.Tensor, scaled: bool) -> torch.Tensor:
        unit = F.normalize(self.branch(modality)(x), dim=-1)
        return unit * self.logit_scale(modality) if scaled else unit

    def audio_tokens(self, mel: torch.Tensor) -> torch.Tensor:
        """(b, 1, 128, 204) -> (b, 229, width): AVSyncD's audio condition.

        ASVA's `ImageBindSegmaskAudioEncoder` takes the trunk output (CLS + 12 x 19 patch tokens) and
        applies its own `final_layer_norm`, a fresh `LayerNorm(768, eps=1e-6)` that no checkpoint
        fills, so weight 1 and bias 0: a plain normalisation, not the audio head's trained LayerNorm.
        Pair with `asva.models.audio_tokens.audio_token_mask(num_frames)` for the per-frame masks.
        """
        tokens = self.branch("audio").trunk_tokens(mel)
        return F.layer_norm(tokens, tokens.shape[-1:], eps=self.config.audio.eps)

    def null_audio_tokens(self, batch_size: int = 1) -> torch.Tensor:
        """(batch_size, 229, width): the tokens of an all-zero mel, AVSyncD's null audio for CFG."""
        cfg = self.config.audio
        ref = self.branch("audio").cls_token
        shape = (batch_size, 1, cfg.num_mel_bins, cfg.target_length)
        mel = torch.zeros(shape, dtype=ref.dtype, device=ref.device)
        return self.audio_tokens(mel)
