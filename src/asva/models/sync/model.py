"""The audio-visual synchronisation classifier: score phi(audio, video), an unbounded logit.

phi is the raw output of the MLP head (no sigmoid, no training temperature); RelSync and
AlignSync (`asva.metrics.sync_scores`) exponentiate it directly.
"""
from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from .audio_cnn import AudioCNN
from .config import SyncClassifierConfig
from .preprocess import preprocess_sync_video
from .r2plus1d import R2Plus1DNet


class SyncHead(nn.Module):
    """cat([audio, video]) -> (Linear, ReLU, Dropout) x len(hidden) -> Linear -> (b,) logit."""

    def __init__(self, config: SyncClassifierConfig) -> None:
        super().__init__()
        dims = (config.audio_dim + config.video_dim, *config.head_hidden)
        pairs = zip(dims[:-1], dims[1:], strict=True)
        self.hidden = nn.ModuleList(nn.Linear(d_in, d_out) for d_in, d_out in pairs)
        self.out = nn.Linear(dims[-1], 1)
        self.act = nn.ReLU()
        self.dropout = nn.Dropout(config.head_dropout)

    def forward(self, audio_emb: torch.Tensor, video_emb: torch.Tensor) -> torch.Tensor:
        x = torch.cat([audio_emb, video_emb], dim=1)  # audio first, as in the official head
        for layer in self.hidden:
            x = self.dropout(self.act(layer(x)))
        return self.out(x)[:, 0]


class CorrelationHead(nn.Module):
    """phi = sum over time bins t of <A a_t, V v_t> / sqrt(d): audio and video compared bin by bin."""

    def __init__(self, config: SyncClassifierConfig) -> None:
        super().__init__()
        self.bins = config.temporal_bins
        width = config.head_hidden[0]
        self.audio_proj = nn.Linear(config.audio_channels[-1], width)
        self.video_proj = nn.Linear(config.video_channels[-1], width)
        self.scale = width**-0.5

    def forward(self, audio_emb: torch.Tensor, video_emb: torch.Tensor) -> torch.Tensor:
        audio = rearrange(audio_emb, "b (c t) -> b t c", t=self.bins)  # `pool_time_bins` is channel-major
        video = rearrange(video_emb, "b (c t) -> b t c", t=self.bins)
        return (self.audio_proj(audio) * self.video_proj(video)).sum(dim=(1, 2)) * self.scale


class SyncClassifier(nn.Module):
    """phi = head(audio_encoder(mel), video_encoder(frames)).

    mel: (b, 1, n_mels, t) normalised log-mel (`asva.media.waveform_to_mel` + `normalize_mel`);
    frames: (b, 3, f, h, w) from `preprocess_sync_video`.
    """

    def __init__(self, config: SyncClassifierConfig | None = None) -> None:
        super().__init__()
        self.config = config or SyncClassifierConfig()
        self.audio_encoder = AudioCNN(self.config)
        self.video_encoder = R2Plus1DNet(self.config)
        self.head = SyncHead(self.config) if self.config.head == "mlp" else CorrelationHead(self.config)

    def forward(self, mel: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        if mel.shape[0] != frames.shape[0]:
            raise ValueError(
                f"mel batch {mel.shape[0]} and video batch {frames.shape[0]} must match "
                f"(mel {tuple(mel.shape)}, frames {tuple(frames.shape)})"
            )
        self._check_geometry(mel, frames)
        return self.head(self.audio_encoder(mel), self.video_encoder(frames))

    def _check_geometry(self, mel: torch.Tensor, frames: torch.Tensor) -> None:
        """The protocol's input sizes: (n_mels, mel_frames) log-mels and num_frames frames."""
        c = self.config
        if mel.ndim == 4 and tuple(mel.shape[2:]) != (c.n_mels, c.mel_frames):
            raise ValueError(f"mel must be (b, 1, {c.n_mels}, {c.mel_frames}), got {tuple(mel.shape)}")
        if frames.ndim == 5 and frames.shape[2] != c.num_frames:
            raise ValueError(f"video must have {c.num_frames} frames, got {tuple(frames.shape)}")

    def score_pairs(
        self, mels: torch.Tensor, frames: torch.Tensor, audio_index: torch.Tensor, video_index: torch.Tensor
    ) -> torch.Tensor:
        """phi for the pairs (mels[audio_index[k]], frames[video_index[k]]), each input encoded once."""
        self._check_geometry(mels, frames)
        audio_emb = self.audio_encoder(mels)
        video_emb = self.video_encoder(frames)
        return self.head(audio_emb[audio_index], video_emb[video_index])


@torch.no_grad()
def score_clips(model: SyncClassifier, mels: torch.Tensor, videos: torch.Tensor) -> torch.Tensor:
    """phi for each (mel, clip) pair: videos (b, 3, f, h, w) uint8 or float in [0, 1].

    Frames are preprocessed with the model's frame size; `mels` must already be (b, 1, n_mels, t).
    """
    param = next(model.parameters())
    frames = preprocess_sync_video(videos, model.config.frame_size).to(param.device, param.dtype)
    return model(mels.to(param.device, param.dtype), frames)
