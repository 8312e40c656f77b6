"""ImageBind's audio branch: log-mel patches -> 229 tokens -> trunk -> CLS embedding."""
from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn

from .config import AudioConfig
from .transformer import PoolHead, Transformer, check_shape, with_cls


class AudioBranch(nn.Module):
    """(b, 1, 128, 204) normalised log-mel -> (b, embed_dim) head output (before normalisation).

    Token layout: 0 is CLS, `1 + 19 * r + t` is frequency row r (0..11) at time column t (0..18).
    """

    def __init__(self, cfg: AudioConfig, embed_dim: int):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.patch_embed = nn.Conv2d(1, w, cfg.patch_size, stride=cfg.patch_stride, bias=False)
        self.patch_norm = nn.LayerNorm(w, eps=cfg.stem_eps)
        self.cls_token = nn.Parameter(torch.randn(1, 1, w) * w**-0.5)
        self.pos_embed = nn.Parameter(torch.randn(1, cfg.num_tokens, w) * 0.02)
        self.transformer = Transformer(cfg)
        self.head = PoolHead(w, embed_dim, eps=cfg.eps)
        self.register_buffer("log_logit_scale", torch.tensor(math.log(cfg.logit_scale)))

    def tokens(self, mel: torch.Tensor) -> torch.Tensor:
        """(b, 1, mel bins, frames) -> (b, 229, width): patch stem, its LayerNorm, CLS, position."""
        check_shape(mel, (None, 1, self.cfg.num_mel_bins, self.cfg.target_length), "audio mel")
        x = self.patch_embed(mel)  # (b, w, 12, 19)
        x = self.patch_norm(rearrange(x, "b c f t -> b (f t) c"))  # frequency-major
        return with_cls(x, self.cls_token, self.pos_embed)

    def trunk_tokens(self, mel: torch.Tensor) -> torch.Tensor:
        """(b, 1, 128, 204) -> (b, 229, width): the output of the last block, no final norm."""
        return self.transformer(self.tokens(mel))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk_tokens(mel))
