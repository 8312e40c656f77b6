"""The UNet's levels: down stages, the middle and up stages, wired as in SD's UNet.

A down stage runs (resnet -> transformer) x layers, then an optional stride-2 inflated convolution,
and hands every intermediate result to the up path as a skip connection; an up stage concatenates one
skip before each resnet. With `gradient_checkpointing` set, each resnet and transformer is recomputed
in the backward pass instead of keeping its activations.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.utils.checkpoint
from torch import nn

from .layers import InflatedConv, Upsample
from .resnet import ResBlock
from .transformer import Conditioning, VideoTransformer

MakeRes = Callable[[int, int], ResBlock]  # (in_channels, out_channels) -> ResBlock
MakeTransformer = Callable[[int], VideoTransformer]  # channels -> VideoTransformer


class _Stage(nn.Module):
    gradient_checkpointing = False

    def _run(self, module: nn.Module, *args) -> torch.Tensor:
        if self.gradient_checkpointing and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(module, *args, use_reentrant=False)
        return module(*args)

    def _layers(self, x: torch.Tensor, i: int, temb: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        x = self._run(self.res[i], x, temb)
        if len(self.transformers):
            x = self._run(self.transformers[i], x, cond)
        return x


class DownStage(_Stage):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        layers: int,
        make_res: MakeRes,
        make_transformer: MakeTransformer | None,
        downsample_padding: int | None,
    ):
        super().__init__()
        self.res = nn.ModuleList(
            make_res(in_channels if i == 0 else out_channels, out_channels) for i in range(layers)
        )
        self.transformers = nn.ModuleList(
            make_transformer(out_channels) for _ in range(layers if make_transformer else 0)
        )
        self.downsample = None
        if downsample_padding is not None:
            self.downsample = InflatedConv(
                out_channels, out_channels, 3, stride=2, padding=downsample_padding
            )

    def skip_channels(self) -> list[int]:
        """Channels of the skips this stage hands to the up path, in order."""
        out = self.res[0].time_proj.out_features
        return [out] * (len(self.res) + (self.downsample is not None))

    def forward(
        self, x: torch.Tensor, temb: torch.Tensor, cond: Conditioning
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for i in range(len(self.res)):
            x = self._layers(x, i, temb, cond)
            skips.append(x)
        if self.downsample is not None:
            x = self.downsample(x)
            skips.append(x)
        return x, skips


class MidStage(_Stage):
    def __init__(self, channels: int, make_res: MakeRes, make_transformer: MakeTransformer):
        super().__init__()
        self.res_in = make_res(channels, channels)
        self.transformer = make_transformer(channels)
        self.res_out = make_res(channels, channels)

    def forward(self, x: torch.Tensor, temb: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        x = self._run(self.res_in, x, temb)
        x = self._run(self.transformer, x, cond)
        return self._run(self.res_out, x, temb)


class UpStage(_Stage):
    def __init__(
        self,
        skip_channels: list[int],
        in_channels: int,
        out_channels: int,
        make_res: MakeRes,
        make_transformer: MakeTransformer | None,
        upsample: bool,
    ):
        super().__init__()
        self.res = nn.ModuleList(
            make_res((in_channels if i == 0 else out_channels) + skip, out_channels)
            for i, skip in enumerate(skip_channels)
        )
        self.transformers = nn.ModuleList(
            make_transformer(out_channels) for _ in range(len(skip_channels) if make_transformer else 0)
        )
        self.upsample = Upsample(out_channels) if upsample else None

    def forward(
        self, x: torch.Tensor, skips: list[torch.Tensor], temb: torch.Tensor, cond: Conditioning
    ) -> torch.Tensor:
        """Consumes its skips from the end of `skips` (the list is shortened in place)."""
        for i in range(len(self.res)):
            x = self._layers(torch.cat([x, skips.pop()], dim=1), i, temb, cond)
        if self.upsample is not None:
            size = tuple(skips[-1].shape[-2:]) if skips else None  # match the next skip (odd sizes)
            x = self.upsample(x, size)
        return x
