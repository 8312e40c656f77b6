"""SD's residual block on video, with inflated convolutions.

The GroupNorms see the whole (b, c, f, h, w) tensor, so their statistics span all frames (as the
official model computes them); the timestep embedding is added after the first convolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import InflatedConv


class ResBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, time_dim: int, groups: int, eps: float):
        super().__init__()
        self.in_norm = nn.GroupNorm(groups, in_channels, eps=eps)
        self.in_conv = InflatedConv(in_channels, out_channels, 3, padding=1)
        self.time_proj = nn.Linear(time_dim, out_channels)
        self.out_norm = nn.GroupNorm(groups, out_channels, eps=eps)
        self.out_conv = InflatedConv(out_channels, out_channels, 3, padding=1)
        self.skip = InflatedConv(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        """x (b, c, f, h, w), temb (b, time_dim) -> (b, out_channels, f, h, w)."""
        # The adds go into h in place: no backward pass needs a convolution's output.
        h = self.in_conv(_norm_silu(self.in_norm, x))
        h += self.time_proj(F.silu(temb))[:, :, None, None, None]  # same for every frame and pixel
        h = self.out_conv(_norm_silu(self.out_norm, h))
        h += x if self.skip is None else self.skip(x)
        return h


def _norm_silu(norm: nn.GroupNorm, x: torch.Tensor) -> torch.Tensor:
    """silu(norm(x)); in place on the norm's output when no gradient is recorded."""
    return F.silu(norm(x), inplace=not torch.is_grad_enabled())
