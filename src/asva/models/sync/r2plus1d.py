"""Video branch of the sync classifier: an R(2+1)D-18-style network on (b, 3, f, h, w) frames.

The official variant has a full 3-D (3, 7, 7) stem with a spatial max-pool, keeps the channel
count between the spatial and temporal convs, puts the block's last BatchNorm **after** the
residual sum, and uses a bare 1x1x1 conv (no BN) as the projection shortcut.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import SyncClassifierConfig
from .pool import pool_time_bins


class R2Plus1DBlock(nn.Module):
    """Two (1,3,3) spatial + (3,1,1) temporal conv pairs; out = relu(BN(main + shortcut))."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, temporal_stride: int | None = None
    ) -> None:
        super().__init__()
        t_stride = stride if temporal_stride is None else temporal_stride
        self.spatial1 = nn.Conv3d(
            in_channels, out_channels, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False
        )
        self.norm1 = nn.BatchNorm3d(out_channels)
        self.temporal1 = nn.Conv3d(
            out_channels, out_channels, (3, 1, 1), stride=(t_stride, 1, 1), padding=(1, 0, 0), bias=False
        )
        self.norm2 = nn.BatchNorm3d(out_channels)
        self.spatial2 = nn.Conv3d(out_channels, out_channels, (1, 3, 3), padding=(0, 1, 1), bias=False)
        self.norm3 = nn.BatchNorm3d(out_channels)
        self.temporal2 = nn.Conv3d(out_channels, out_channels, (3, 1, 1), padding=(1, 0, 0), bias=False)
        self.out_norm = nn.BatchNorm3d(out_channels)
        self.shortcut = (
            nn.Conv3d(in_channels, out_channels, 1, stride=(t_stride, stride, stride), bias=False)
            if in_channels != out_channels or stride != 1 or t_stride != 1
            else None
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.norm1(self.spatial1(x)))
        h = self.act(self.norm2(self.temporal1(h)))
        h = self.act(self.norm3(self.spatial2(h)))
        h = self.temporal2(h)
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.act(self.out_norm(h + skip))


class VideoStem(nn.Module):
    """Conv3d (3, 7, 7) / (1, 2, 2) + BN + ReLU + spatial max-pool 3/2."""

    def __init__(self, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, out_channels, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False)
        self.norm = nn.BatchNorm3d(out_channels)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.act(self.norm(self.conv(x))))


class R2Plus1DNet(nn.Module):
    """(b, 3, f, h, w) normalised frames -> (b, video_dim) embedding."""

    def __init__(self, config: SyncClassifierConfig) -> None:
        super().__init__()
        self.stem = VideoStem(config.video_stem_channels)
        widths = (config.video_stem_channels, *config.video_channels)
        self.temporal_bins = config.temporal_bins
        self.stages = nn.ModuleList()
        stages = zip(widths[:-1], widths[1:], config.video_strides, config.temporal_strides, strict=True)
        for c_in, c_out, stride, t_stride in stages:
            blocks = [R2Plus1DBlock(c_in, c_out, stride, t_stride)]
            blocks += [R2Plus1DBlock(c_out, c_out, 1) for _ in range(config.video_blocks_per_stage - 1)]
            self.stages.append(nn.Sequential(*blocks))

    def stage_outputs(self, video: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the stem (after its pool) and of every stage, each (b, c, f, h, w)."""
        outputs = [self.stem(self._check(video))]
        for stage in self.stages:
            outputs.append(stage(outputs[-1]))
        return outputs

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        x = self.stem(self._check(video))
        for stage in self.stages:
            x = stage(x)
        if self.temporal_bins == 1:
            return x.mean(dim=(2, 3, 4))  # (b, c, f, h, w) -> (b, c), the official pooling
        return pool_time_bins(x.mean(dim=(3, 4)), self.temporal_bins)

    @staticmethod
    def _check(video: torch.Tensor) -> torch.Tensor:
        if video.ndim != 5 or video.shape[1] != 3:
            raise ValueError(f"video input must be (b, 3, f, h, w) frames, got shape {tuple(video.shape)}")
        return video
