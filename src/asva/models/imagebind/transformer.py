"""The transformer pieces all ImageBind branches share: attention, block, trunk, pooled head.

One block class serves every modality; the differences are options: a learned extra key/value
position (`bias_kv`, audio), a LayerNorm before the first block (`pre_norm`, vision) and an additive
attention mask (causal, text). Drop path is left out: it is the identity at inference.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .config import TrunkConfig


class Attention(nn.Module):
    """Multi-head self-attention with packed q/k/v rows, as `nn.MultiheadAttention` stores them.

    With `bias_kv`, the learned `bias_k` / `bias_v` (1, 1, width) are appended after the projection
    as one more key/value position that every query sees: n queries attend over n + 1 keys.
    """

    def __init__(self, width: int, heads: int, *, bias_kv: bool = False):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        if bias_kv:
            self.bias_k = nn.Parameter(torch.randn(1, 1, width) * width**-0.5)
            self.bias_v = nn.Parameter(torch.randn(1, 1, width) * width**-0.5)
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # (b, n, d) each
        if self.bias_k is not None:
            b = x.shape[0]
            k = torch.cat([k, self.bias_k.expand(b, -1, -1)], dim=1)  # (b, n + 1, d)
            v = torch.cat([v, self.bias_v.expand(b, -1, -1)], dim=1)
            if mask is not None:
                mask = F.pad(mask, (0, 1))  # the extra key is visible to every query
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(rearrange(out, "b h n d -> b n (h d)"))


class Mlp(nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


def drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Stochastic depth (timm's DropPath, which ImageBind uses): in training, zero a residual branch
    per sample with probability `rate` and scale the kept ones by 1 / (1 - rate); identity otherwise."""
    if rate == 0.0 or not training:
        return x
    keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1.0 - rate)
    return x * keep.div_(1.0 - rate)


class Block(nn.Module):
    """Pre-norm block: x + drop_path(attn(norm1(x))), then x + drop_path(mlp(norm2(x)))."""

    def __init__(self, width: int, heads: int, *, mlp_ratio: int = 4, bias_kv: bool = False,
                 eps: float = 1e-6, drop_path: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=eps)
        self.attn = Attention(width, heads, bias_kv=bias_kv)
        self.norm2 = nn.LayerNorm(width, eps=eps)
        self.mlp = Mlp(width, mlp_ratio * width)
        self.drop_path = drop_path  # active only in training mode

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + drop_path(self.attn(self.norm1(x), mask), self.drop_path, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)


class Transformer(nn.Module):
    """The trunk: optional pre-norm, then `depth` blocks. (b, n, d) -> (b, n, d), no final norm."""

    def __init__(self, cfg: TrunkConfig):
        super().__init__()
        self.pre_norm = nn.LayerNorm(cfg.width, eps=cfg.eps) if cfg.pre_norm else None
        # drop-path rate per block, as ImageBind's instantiate_trunk
        rates = torch.linspace(0, cfg.drop_path, cfg.depth, device="cpu").tolist()
        self.blocks = nn.ModuleList(
            Block(cfg.width, cfg.heads, mlp_ratio=cfg.mlp_ratio, bias_kv=cfg.bias_kv, eps=cfg.eps,
                  drop_path=rate)
            for rate in rates
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.pre_norm is not None:
            x = self.pre_norm(x)
        for block in self.blocks:
            x = block(x, mask)
        return x


class PoolHead(nn.Module):
    """Pick one token per sample (token 0, or `index`), LayerNorm it, project without bias."""

    def __init__(self, width: int, embed_dim: int, *, eps: float = 1e-6):
        super().__init__()
        self.norm = nn.LayerNorm(width, eps=eps)
        self.proj = nn.Linear(width, embed_dim, bias=False)

    def forward(self, tokens: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        if index is None:
            pooled = tokens[:, 0]
        else:
            pooled = tokens[torch.arange(tokens.shape[0], device=tokens.device), index]
        return self.proj(self.norm(pooled))


def with_cls(tokens: torch.Tensor, cls_token: torch.Tensor, pos_embed: torch.Tensor) -> torch.Tensor:
    """(b, n, d) patch tokens -> (b, 1 + n, d): the CLS token in front, then the position embedding."""
    cls = cls_token.expand(tokens.shape[0], -1, -1)
    return torch.cat([cls, tokens], dim=1) + pos_embed


def check_shape(x: torch.Tensor, expected: tuple[int | None, ...], what: str) -> None:
    """Raise a ValueError unless `x` has `expected` shape (None matches any size)."""
    ok = x.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, x.shape, strict=True))
    if not ok:
        want = "(" + ", ".join("b" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{what} must have shape {want}, got {tuple(x.shape)}")
