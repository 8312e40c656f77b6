"""ImageBind's vision branch: an image as a 2-frame clip -> 257 tokens -> trunk -> CLS embedding."""
from __future__ import annotations

import torch
from einops import rearrange, repeat
from torch import nn

from .config import VisionConfig
from .transformer import PoolHead, Transformer, check_shape, with_cls


class VisionBranch(nn.Module):
    """(b, 3, 224, 224) CLIP-normalised pixels -> (b, embed_dim) head output (before normalisation)."""

    def __init__(self, cfg: VisionConfig, embed_dim: int):
        super().__init__()
        self.cfg = cfg
        w, p = cfg.width, cfg.patch_size
        kernel = (cfg.num_frames, p, p)
        self.patch_embed = nn.Conv3d(3, w, kernel, stride=kernel, bias=False)
        self.cls_token = nn.Parameter(torch.randn(1, 1, w) * w**-0.5)
        self.pos_embed = nn.Parameter(torch.randn(1, cfg.num_tokens, w) * 0.02)
        self.transformer = Transformer(cfg)
        self.head = PoolHead(w, embed_dim, eps=cfg.eps)

    def tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """(b, 3, 224, 224) -> (b, 257, width): the image repeated over time, Conv3d, CLS, position."""
        size = self.cfg.image_size
        check_shape(pixels, (None, 3, size, size), "image pixels")
        clip = repeat(pixels, "b c h w -> b c t h w", t=self.cfg.num_frames)
        x = self.patch_embed(clip)  # (b, w, 1, 16, 16)
        return with_cls(rearrange(x, "b c t h w -> b (t h w) c"), self.cls_token, self.pos_embed)

    def trunk_tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """(b, 3, 224, 224) -> (b, 257, width): pre-norm and all blocks, no final norm."""
        return self.transformer(self.tokens(pixels))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk_tokens(pixels))
