"""Audio branch of the sync classifier: a plain 2-D CNN over the log-mel spectrogram.

Stem conv 7x7/2 + BN + ReLU, then blocks of two 3x3 conv + BN + ReLU with **no skip
connection** (as in the official classifier), then the mean over frequency and time (or, with
`temporal_bins` > 1, over frequency and within each of that many time bins).
"""
from __future__ import annotations

import torch
from torch import nn

from .config import SyncClassifierConfig
from .pool import pool_time_bins


class ConvBlock2d(nn.Module):
    """conv3x3(stride) -> BN -> ReLU -> conv3x3 -> BN -> ReLU, without a residual path."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.norm1(self.conv1(x)))
        return self.act(self.norm2(self.conv2(x)))


class AudioStem(nn.Module):
    def __init__(self, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, out_channels, 7, stride=2, padding=3, bias=False)
        self.norm = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class AudioCNN(nn.Module):
    """(b, 1, n_mels, t) log-mel -> (b, audio_dim) embedding."""

    def __init__(self, config: SyncClassifierConfig) -> None:
        super().__init__()
        self.stem = AudioStem(config.audio_stem_channels)
        self.temporal_bins = config.temporal_bins
        widths = (config.audio_stem_channels, *config.audio_channels)
        self.blocks = nn.ModuleList(
            ConvBlock2d(c_in, c_out, stride)
            for c_in, c_out, stride in zip(widths[:-1], widths[1:], config.audio_strides, strict=True)
        )

    def stage_outputs(self, mel: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the stem and of every block, each (b, c, n, t)."""
        outputs = [self.stem(self._check(mel))]
        for block in self.blocks:
            outputs.append(block(outputs[-1]))
        return outputs

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.stem(self._check(mel))
        for block in self.blocks:
            x = block(x)
        if self.temporal_bins == 1:
            return x.mean(dim=(2, 3))  # (b, c, n, t) -> (b, c), the official pooling
        return pool_time_bins(x.mean(dim=2), self.temporal_bins)

    @staticmethod
    def _check(mel: torch.Tensor) -> torch.Tensor:
        if mel.ndim != 4 or mel.shape[1] != 1:
            raise ValueError(f"audio input must be a (b, 1, n_mels, t) log-mel, got shape {tuple(mel.shape)}")
        return mel
