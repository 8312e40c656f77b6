"""Building blocks of the video UNet: sinusoidal embeddings, inflated convolutions, GEGLU feed-forward.

Video tensors are (b, c, f, h, w). An "inflated" convolution applies SD's 2-D kernel to every frame
and then mixes, at every pixel, the features of frame 1, frame t-1 and frame t (`FrameMix`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


def sinusoidal_embedding(
    positions: torch.Tensor,
    dim: int,
    *,
    flip_sin_to_cos: bool = True,
    freq_shift: float = 0.0,
    max_period: float = 10000.0,
) -> torch.Tensor:
    """(n,) timesteps or frame indices -> (n, dim) float32 sin/cos features (SD's `Timesteps`).

    Frequencies are max_period^(-i / (dim/2 - freq_shift)); `flip_sin_to_cos` puts the cosines first.
    """
    if positions.ndim != 1:
        raise ValueError(f"positions must be 1-D (n,), got shape {tuple(positions.shape)}")
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=positions.device)
    freqs = torch.exp(exponent / (half - freq_shift))
    angles = positions[:, None].float() * freqs[None, :]  # (n, half)
    emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class EmbeddingMLP(nn.Module):
    """Linear -> SiLU -> Linear: projects sinusoidal features (timestep, frame index)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, out_dim)
        self.fc2 = nn.Linear(out_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.silu(self.fc1(x)))


class FrameMix(nn.Module):
    """First-frame temporal layer: x[t] += W [x[0], x[max(t-1, 0)], x[t]] + b at every pixel.

    Zero-initialised, so a fresh layer is the identity and the inflated model equals the 2-D one.
    With `use_first_frame` False (the Table 2a ablation) the x[0] slot is zeros: the layer only sees
    the frame and its predecessor, and the weights keep their shape.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.proj = nn.Linear(3 * channels, channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        self.use_first_frame = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, f = x.shape[:3]
        tokens = rearrange(x, "b c f h w -> b f h w c")  # a view when x is channels-last (see VideoUNet)
        # W [x0, x_prev, x] + b = (W_first x0 + b) + W_prev x_prev + W_cur x: three c x c products, of
        # which the first runs on frame 0 only, instead of one 3c x c product on a 3c concatenation.
        # They accumulate in one buffer (addmm_), and x is added last, so that in bf16 the small
        # terms are rounded among themselves and the sum once at x's magnitude.
        w_first, w_prev, w_cur = self.proj.weight.split(c, dim=1)
        flat = tokens.reshape(-1, c)  # (b f h w, c); a view when x is channels-last
        out = F.linear(flat, w_cur).view(b, f, -1, c)  # W_cur x, (b, f, h*w, c)
        # Under autocast `out` may be in lower precision: the in-place products take one dtype.
        frames, w_prev = flat.view(b, f, -1, c).to(out.dtype), w_prev.to(out.dtype)
        for i in range(b):  # frame t adds W_prev x[t - 1], frame 0 W_prev x[0]
            out[i, 1:].view(-1, c).addmm_(frames[i, :-1].reshape(-1, c), w_prev.t())
            out[i, 0].addmm_(frames[i, 0], w_prev.t())
        if self.use_first_frame:
            out += F.linear(frames[:, :1], w_first, self.proj.bias)  # (b, 1, h*w, c), every frame
        else:
            out += self.proj.bias
        out += frames
        return rearrange(out.view(tokens.shape), "b f h w c -> b c f h w")


class InflatedConv(nn.Module):
    """A 2-D convolution applied to each frame, followed by `FrameMix`."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, *, stride: int = 1, padding: int = 0
    ):
        super().__init__()
        self.spatial = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        self.temporal_mix = FrameMix(out_channels)
        # The kernel is held channels-last ((out, kh, kw, in) in memory), the layout oneDNN's
        # convolution of channels-last frames asks for; held contiguous, it would be copied on every
        # call. Loading keeps that layout; state_dict() hands out contiguous copies (safetensors).
        _channels_last_kernel(self)
        self.register_load_state_dict_post_hook(_channels_last_kernel)
        self.register_state_dict_post_hook(_contiguous_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        x = self.spatial(rearrange(x, "b c f h w -> (b f) c h w"))
        return self.temporal_mix(rearrange(x, "(b f) c h w -> b c f h w", b=b))


def _channels_last_kernel(conv: InflatedConv, *_) -> None:
    weight = conv.spatial.weight
    if not weight.is_contiguous(memory_format=torch.channels_last):
        weight.data = weight.data.contiguous(memory_format=torch.channels_last)


def _contiguous_kernel(conv: InflatedConv, state_dict: dict, prefix: str, *_) -> None:
    key = prefix + "spatial.weight"
    if key in state_dict:
        state_dict[key] = state_dict[key].contiguous()


class Upsample(InflatedConv):
    """Nearest-neighbour x2 on h and w (frames kept), then a 3x3 inflated convolution."""

    def __init__(self, channels: int):
        super().__init__(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        f, h, w = x.shape[2:]
        x = F.interpolate(x, size=(f, *(size or (2 * h, 2 * w))), mode="nearest")
        return super().forward(x)


class FeedForward(nn.Module):
    """GEGLU feed-forward: proj_in (C -> 8C) splits into value and gate; value * GELU(gate) -> C."""

    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        self.proj_in = nn.Linear(dim, 2 * mult * dim)
        self.proj_out = nn.Linear(mult * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj_in(x).chunk(2, dim=-1)
        return self.proj_out(value * F.gelu(gate))
