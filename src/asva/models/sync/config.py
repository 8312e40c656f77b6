"""Configuration of the audio-visual synchronisation classifier, and its named presets.

Presets are small JSON files `presets/sync-<name>.json` next to the other model presets;
a variant is a preset plus keyword overrides (`SyncClassifierConfig.from_preset("tiny", frame_size=64)`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from asva.models.jsonconfig import JsonConfig, preset_names, read_preset

_PREFIX = "sync-"
HEADS = ("mlp", "correlation")


@dataclass(frozen=True)
class SyncClassifierConfig(JsonConfig):
    """Shape of the classifier: audio CNN, R(2+1)D video network and MLP head.

    The defaults are the official ASVA classifier (`official` preset).
    """

    kind: ClassVar[str] = "sync classifier"

    # audio CNN on a (b, 1, n_mels, mel_frames) log-mel
    audio_stem_channels: int = 64
    audio_channels: tuple[int, ...] = (64, 128, 256, 512)
    audio_strides: tuple[int, ...] = (2, 2, 2, 1)
    # R(2+1)D video network on (b, 3, num_frames, frame_size, frame_size); a stride halves f, h and w
    video_stem_channels: int = 64
    video_channels: tuple[int, ...] = (64, 128, 256, 512)
    video_strides: tuple[int, ...] = (1, 2, 2, 2)
    video_blocks_per_stage: int = 2
    # the temporal stride of each stage; None: the same as video_strides (official: time 12 -> 6 -> 3 -> 2)
    video_temporal_strides: tuple[int, ...] | None = None
    # 1 (official): both embeddings are means over time, so they cannot say *when* something happens in
    # the 2 s; k > 1: the time axis is averaged into k equal bins, kept in order and flattened (c * k
    # values), which lets a small classifier trained briefly compare event times directly
    temporal_bins: int = 1
    # "mlp" (official): MLP on cat([audio, video]) -> hidden ... -> 1. "correlation": each time bin's
    # audio and video features are projected to head_hidden[0] values and phi is the sum over bins of
    # their dot products / sqrt(head_hidden[0]) — a pure audio-video interaction, which a small model
    # learns in a few hundred CPU steps where the MLP stays at chance (docs/sync_training.md)
    head: str = "mlp"
    head_hidden: tuple[int, ...] = (512, 256)
    head_dropout: float = 0.0
    # input geometry (the evaluation protocol: 2 s of audio, 12 frames at 6 fps)
    n_mels: int = 128
    mel_frames: int = 204
    num_frames: int = 12
    frame_size: int = 224

    def __post_init__(self) -> None:
        names = ("audio_channels", "audio_strides", "video_channels", "video_strides",
                 "video_temporal_strides", "head_hidden")
        for name in names:
            value = getattr(self, name)
            if isinstance(value, list):  # JSON gives lists; keep the dataclass hashable
                object.__setattr__(self, name, tuple(value))
        if len(self.audio_channels) != len(self.audio_strides):
            raise ValueError(
                f"audio_channels {self.audio_channels} and audio_strides {self.audio_strides} "
                "must have the same length"
            )
        if len(self.video_channels) != len(self.video_strides):
            raise ValueError(
                f"video_channels {self.video_channels} and video_strides {self.video_strides} "
                "must have the same length"
            )
        t_strides = self.video_temporal_strides
        if t_strides is not None and len(t_strides) != len(self.video_strides):
            raise ValueError(
                f"video_temporal_strides {self.video_temporal_strides} needs one stride per stage "
                f"of video_strides {self.video_strides}"
            )
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {self.head!r}")
        if self.head == "correlation" and not self.head_hidden:
            raise ValueError("the correlation head needs head_hidden=(projection width,)")
        if self.temporal_bins < 1:
            raise ValueError(f"temporal_bins must be >= 1, got {self.temporal_bins}")
        if self.video_blocks_per_stage < 1:
            raise ValueError(f"video_blocks_per_stage must be >= 1, got {self.video_blocks_per_stage}")
        if not 0.0 <= self.head_dropout < 1.0:
            raise ValueError(f"head_dropout must be in [0, 1), got {self.head_dropout}")

    @property
    def temporal_strides(self) -> tuple[int, ...]:
        return self.video_strides if self.video_temporal_strides is None else self.video_temporal_strides

    @property
    def audio_dim(self) -> int:
        return self.audio_channels[-1] * self.temporal_bins

    @property
    def video_dim(self) -> int:
        return self.video_channels[-1] * self.temporal_bins


    @classmethod
    def from_preset(cls, name: str, **overrides) -> SyncClassifierConfig:
        data = read_preset(_PREFIX, name, "sync classifier")
        return cls.from_dict({**data, **overrides})


def list_presets() -> list[str]:
    """Names of the sync classifier presets (`official`, `tiny`, ...)."""
    return preset_names(_PREFIX)

