"""ImageBind's text branch: token ids -> causal trunk -> the end token's embedding."""
from __future__ import annotations

import math

import torch
from torch import nn

from .config import TextConfig
from .transformer import PoolHead, Transformer, check_shape


def causal_mask(n: int) -> torch.Tensor:
    """(n, n) additive float mask: 0 on and below the diagonal, -inf above."""
    return torch.full((n, n), float("-inf")).triu(1)


class TextBranch(nn.Module):
    """(b, 77) int64 token ids -> (b, embed_dim) head output (before normalisation).

    The pooled token is the end token, found as `ids.argmax(-1)` because 49407 is the largest id.
    The mask is a buffer loaded from the checkpoint (the official model stores it), causal when new.
    """

    def __init__(self, cfg: TextConfig, embed_dim: int):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.token_embedding = nn.Embedding(cfg.vocab_size, w)
        self.pos_embed = nn.Parameter(torch.randn(1, cfg.context_length, w) * 0.01)
        self.register_buffer("attn_mask", causal_mask(cfg.context_length))
        self.transformer = Transformer(cfg)
        self.head = PoolHead(w, embed_dim, eps=cfg.eps)
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(cfg.logit_scale)))

    def tokens(self, ids: torch.Tensor) -> torch.Tensor:
        """(b, 77) -> (b, 77, width): token embedding plus position embedding (no CLS)."""
        check_shape(ids, (None, self.cfg.context_length), "text token ids")
        if ids.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"text token ids must be int64, got {ids.dtype}")
        lo, hi = (int(ids.min()), int(ids.max())) if ids.numel() else (0, 0)
        if lo < 0 or hi >= self.cfg.vocab_size:
            raise ValueError(f"text token ids must lie in [0, {self.cfg.vocab_size}), got [{lo}, {hi}]")
        return self.token_embedding(ids) + self.pos_embed

    def trunk_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        """(b, 77) -> (b, 77, width): all blocks under the mask, no final norm."""
        x = self.tokens(ids)
        return self.transformer(x, self.attn_mask.to(x.dtype))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk_tokens(ids), ids.argmax(dim=-1))
