"""Multi-head attention on token sequences, with PyTorch's scaled-dot-product kernel.

`Attention` is SD's: q, k and v without bias, an output projection with bias, scale 1/sqrt(head dim).
The residual sub-layers of a transformer block (LayerNorm -> attention -> add) are built on it:
  - `FirstFrameAttention`: queries from every frame, keys/values from frame 0 only (SD's self-attention
    turned into first-frame attention, reusing its weights);
  - `CrossAttention`: attention to condition tokens (text, or audio with a per-frame token mask),
    per frame or shared by all frames of a video;
  - `TemporalAttention`: self-attention over the frames at each position, with a learned projection
    of a sinusoidal frame-index embedding added to its norm input only.
Token tensors are ((b f), n, c): frames folded into the batch, n = h * w positions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .layers import EmbeddingMLP, sinusoidal_embedding


class Attention(nn.Module):
    """(B, n, dim) queries attend to (B, m, context_dim) keys/values; `mask` (B, m) bool, True = attend."""

    def __init__(self, dim: int, heads: int, context_dim: int | None = None):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(context_dim or dim, dim, bias=False)
        self.v = nn.Linear(context_dim or dim, dim, bias=False)
        self.out = nn.Linear(dim, dim)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        context = x if context is None else context
        q, k, v = (
            rearrange(t, "B n (h d) -> B h n d", h=self.heads)
            for t in (self.q(x), self.k(context), self.v(context))
        )
        if mask is not None:
            mask = mask[:, None, None, :]  # (B, 1, 1, m): the same keys for every head and query
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(rearrange(out, "B h n d -> B n (h d)"))


class _PreNormAttention(nn.Module):
    def __init__(self, dim: int, heads: int, context_dim: int | None = None, eps: float = 1e-5):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, context_dim)

    def zero_output(self) -> None:
        """Zero the output projection, so that the fresh sub-layer adds nothing."""
        nn.init.zeros_(self.attn.out.weight)
        nn.init.zeros_(self.attn.out.bias)


class FirstFrameAttention(_PreNormAttention):
    """x + attn(norm(x) of every frame -> norm(x) of frame 0). Equals self-attention on frame 0.

    With `use_first_frame` False (the Table 2a ablation) it is plain self-attention within each frame.
    """

    use_first_frame = True

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        h = self.norm(x)
        if not self.use_first_frame:
            return x + self.attn(h)
        queries = rearrange(h, "(b f) n c -> b (f n) c", f=num_frames)  # all frames share the keys
        anchor = rearrange(h, "(b f) n c -> b f n c", f=num_frames)[:, 0]  # (b, n, c)
        out = self.attn(queries, anchor)
        return x + rearrange(out, "b (f n) c -> (b f) n c", f=num_frames)


class CrossAttention(_PreNormAttention):
    """x + attn(norm(x) -> context); x ((b f), n, c), context ((b f), m, d) per frame or (b, m, d)
    shared by the frames; mask ((b f), m) bool or None (per-frame context only)."""

    def forward(
        self, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        bf, b = x.shape[0], context.shape[0]
        if b == bf:
            return x + self.attn(self.norm(x), context, mask)
        if mask is not None or bf % b:
            raise ValueError(
                f"context of batch {b} must be per frame ({bf}) or divide it without a mask, "
                f"got mask {None if mask is None else tuple(mask.shape)}"
            )
        queries = rearrange(self.norm(x), "(b f) n c -> b (f n) c", b=b)  # all frames share the keys
        out = rearrange(self.attn(queries, context), "b (f n) c -> (b f) n c", b=b, n=x.shape[1])
        return x + out


class TemporalAttention(_PreNormAttention):
    """Self-attention over the f frames at each position: x + attn(norm(x + pos_mlp(sin(frame index))))."""

    def __init__(self, dim: int, heads: int, eps: float = 1e-5):
        super().__init__(dim, heads, eps=eps)
        self.pos_mlp = EmbeddingMLP(dim, dim)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        n = x.shape[1]
        frames = torch.arange(num_frames, device=x.device)
        pos = self.pos_mlp(sinusoidal_embedding(frames, x.shape[-1]).to(x.dtype))  # (f, c), float32 first
        h = rearrange(x, "(b f) n c -> (b n) f c", f=num_frames)
        h = h + self.attn(self.norm(h + pos))
        return rearrange(h, "(b n) f c -> (b f) n c", n=n)
