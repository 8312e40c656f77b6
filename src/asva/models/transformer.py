"""The video transformer: SD's spatial transformer with first-frame, audio and temporal attention.

Each block runs, every step a residual add:
  1. first-frame attention (SD's self-attention weights; keys/values from frame 0),
  2. audio cross-attention to the per-frame audio tokens with the per-frame token mask (absent when
     `audio_dim` is None),
  3. text cross-attention (SD's),
  4. temporal self-attention over frames, with the frame-position embedding,
  5. GEGLU feed-forward (SD's).
Steps 2 and 4 are the trainable adapter; the rest is Stable Diffusion's, frozen in training.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn

from .attention import CrossAttention, FirstFrameAttention, TemporalAttention
from .layers import FeedForward


@dataclass(frozen=True)
class Conditioning:
    """The per-frame conditions shared by every transformer of one forward pass.

    text and audio are (b, n, dim) when every frame sees the same tokens (the frames' queries then
    attend to them together, with no per-frame copy), or ((b f), n, dim) per frame; audio is None
    without audio attention; audio_mask ((b f), m) bool or None.
    """

    num_frames: int
    text: torch.Tensor
    audio: torch.Tensor | None = None
    audio_mask: torch.Tensor | None = None


class FeedForwardLayer(nn.Module):
    """x + GEGLU(LayerNorm(x)), computed on chunks of the tokens.

    Each token is computed alone, so chunking changes nothing but the cost: a chunk's 8 * dim-wide
    intermediates (at most `chunk_elements` values, 16 MB in float32) are reused from the allocator's
    cache, where the whole step's (252 MB at SD1.5's first level) would be fresh pages, faulted in on
    every call, and they stay in the CPU caches.
    """

    chunk_elements = 2**22

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.net = FeedForward(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.reshape(-1, x.shape[-1])  # (B n, dim)
        rows = max(1, self.chunk_elements // self.net.proj_in.out_features)
        if tokens.shape[0] <= rows:
            return x + self.net(self.norm(x))
        return torch.cat([t + self.net(self.norm(t)) for t in tokens.split(rows)]).view(x.shape)


class VideoTransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, text_dim: int, audio_dim: int | None = None):
        super().__init__()
        self.spatial = FirstFrameAttention(dim, heads)
        self.audio = CrossAttention(dim, heads, audio_dim) if audio_dim is not None else None
        self.text = CrossAttention(dim, heads, text_dim)
        self.temporal = TemporalAttention(dim, heads)
        self.ff = FeedForwardLayer(dim)

    def adapter_modules(self) -> list[nn.Module]:
        """The trainable part of the block: audio and temporal attention."""
        return [m for m in (self.audio, self.temporal) if m is not None]

    def reset_adapter(self) -> None:
        """Zero the adapter's output projections: the block then equals SD's (bar first-frame attention)."""
        for module in self.adapter_modules():
            module.zero_output()

    def forward(self, x: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        x = self.spatial(x, cond.num_frames)
        if self.audio is not None:
            x = self.audio(x, cond.audio, cond.audio_mask)
        x = self.text(x, cond.text)
        x = self.temporal(x, cond.num_frames)
        return self.ff(x)


class VideoTransformer(nn.Module):
    """GroupNorm per frame (eps 1e-6) -> 1x1 proj_in -> blocks -> 1x1 proj_out, added to the input."""

    def __init__(
        self, channels: int, heads: int, groups: int, text_dim: int, audio_dim: int | None, depth: int = 1
    ):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)
        self.proj_in = nn.Conv2d(channels, channels, 1)
        self.blocks = nn.ModuleList(
            VideoTransformerBlock(channels, heads, text_dim, audio_dim) for _ in range(depth)
        )
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        b, _, f, h, w = x.shape
        hidden = self.proj_in(self.norm(rearrange(x, "b c f h w -> (b f) c h w")))
        tokens = rearrange(hidden, "bf c h w -> bf (h w) c")
        for block in self.blocks:
            tokens = block(tokens, cond)
        hidden = self.proj_out(rearrange(tokens, "bf (h w) c -> bf c h w", h=h))
        return x + rearrange(hidden, "(b f) c h w -> b c f h w", b=b)
