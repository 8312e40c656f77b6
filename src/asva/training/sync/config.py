"""The configuration of an `asva train-sync` run: one dataclass whose defaults are the command's
defaults (the official recipe's optimiser); the classifier itself is a preset + KEY=VALUE overrides
(`asva.models.sync.config`, `asva.training.overrides`)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from asva.models.sync.config import SyncClassifierConfig


@dataclass
class SyncTrainConfig:
    """Everything a `train-sync` run depends on (the official recipe's optimiser by default)."""

    data: Path
    output: Path
    preset: str = "tiny"
    model_overrides: dict = field(default_factory=dict)
    steps: int = 1000
    batch_size: int = 4
    lr: float = 2e-4
    weight_decay: float = 1e-2
    warmup_steps: int = 100
    max_grad_norm: float = 1.0
    tau: float = 0.1
    num_clips: int = 21
    shift: float = 0.2
    flip_prob: float = 0.5
    seed: int = 0
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 10
    num_workers: int = 0
    cache: bool = True
    resume: str | None = None
    init_from: str | None = None  # AVID-CMA checkpoint for the audio and video trunks (the official recipe)
    progress: bool = True

    def __post_init__(self) -> None:
        positive = ("steps", "batch_size", "checkpoint_every", "keep_checkpoints", "log_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0 or self.weight_decay < 0 or self.warmup_steps < 0 or self.num_workers < 0:
            raise ValueError(f"need lr > 0, weight_decay >= 0, warmup_steps >= 0, num_workers >= 0; got "
                             f"{self.lr}, {self.weight_decay}, {self.warmup_steps}, {self.num_workers}")
        if not self.tau > 0 or not self.max_grad_norm > 0:
            raise ValueError(f"tau and max_grad_norm must be positive, got {self.tau}, {self.max_grad_norm}")

    def model_config(self) -> SyncClassifierConfig:
        return SyncClassifierConfig.from_preset(self.preset, **self.model_overrides)

    def clip_config(self):
        """The shifted-clip sampling of this run (`asva.data.shifted.ShiftedClipConfig`)."""
        from asva.data.shifted import ShiftedClipConfig

        m = self.model_config()
        return ShiftedClipConfig(num_clips=self.num_clips, shift=self.shift, num_frames=m.num_frames,
                                 frame_size=m.frame_size, sampling="random", flip_prob=self.flip_prob)

    def to_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()}


def defaults() -> dict:
    """field -> default of SyncTrainConfig (the command line shows these)."""
    fields = dataclasses.fields(SyncTrainConfig)
    return {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
