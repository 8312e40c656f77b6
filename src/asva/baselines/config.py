"""AADiff's settings (light: command-line parsers read the defaults without importing diffusers)."""
from __future__ import annotations

from dataclasses import dataclass

STARTS = ("inversion", "sdedit")


@dataclass
class AADiffConfig:
    """start: how every frame starts from the image; strength: the fraction of the noise schedule
    inverted to / noised to (1 = pure noise); attention_scale: lambda in w_n = 1 + lambda * a_n;
    smoothing: the sliding window (frames, odd) over the loudness; words: the prompt words re-weighted
    (None = every word); fps: frames generated per second of audio; frames_per_batch: UNet batch."""

    start: str = "inversion"
    strength: float = 0.8
    attention_scale: float = 2.0
    smoothing: int = 1
    words: tuple[str, ...] | None = None
    fps: float = 6.0
    frames_per_batch: int = 12

    def __post_init__(self) -> None:
        if self.start not in STARTS:
            raise ValueError(f"AADiff start must be one of {STARTS}, got {self.start!r}")
        if not 0 < self.strength <= 1:
            raise ValueError(f"AADiff strength must be in (0, 1], got {self.strength}")
        if not self.attention_scale >= 0:
            raise ValueError(f"AADiff attention_scale must be >= 0, got {self.attention_scale}")
        if self.smoothing < 1 or self.smoothing % 2 == 0:
            raise ValueError(f"AADiff smoothing must be an odd number of frames, got {self.smoothing}")
        if self.frames_per_batch < 1:
            raise ValueError(f"frames_per_batch must be >= 1, got {self.frames_per_batch}")
