"""AADiff's settings (light: command-line parsers read the defaults without importing diffusers)."""
from __future__ import annotations

from dataclasses import dataclass

STARTS = ("inversion", "sdedit")
CONTROLS = ("p2p", "reweight")


@dataclass
class AADiffConfig:
    """start: how every frame starts from the image; strength: the fraction of the noise schedule
    inverted to / noised to (1 = pure noise); attention_scale: lambda in w_n = 1 + lambda * a_n;
    smoothing: the sliding window (frames, odd) over the loudness; words: the prompt words re-weighted
    (None = every word); fps: frames generated per second of audio; frames_per_batch: UNet batch.
    control: `p2p` edits a base sample as Prompt-to-Prompt does (its cross-attention maps re-weighted
    and injected for the first `cross_replace` of the steps, its self-attention maps for the first
    `self_replace`, and local blending at `blend_threshold`, None = off); `reweight` re-weights every
    frame's own cross-attention (asva's first version). docs/baselines.md has the math."""

    start: str = "inversion"
    strength: float = 0.8
    attention_scale: float = 2.0
    smoothing: int = 1
    words: tuple[str, ...] | None = None
    fps: float = 6.0
    frames_per_batch: int = 12
    control: str = "p2p"
    cross_replace: float = 0.8
    self_replace: float = 0.4
    blend_threshold: float | None = 0.3

    def __post_init__(self) -> None:
        if self.start not in STARTS:
            raise ValueError(f"AADiff start must be one of {STARTS}, got {self.start!r}")
        if self.control not in CONTROLS:
            raise ValueError(f"AADiff control must be one of {CONTROLS}, got {self.control!r}")
        if not 0 < self.strength <= 1:
            raise ValueError(f"AADiff strength must be in (0, 1], got {self.strength}")
        if not self.attention_scale >= 0:
            raise ValueError(f"AADiff attention_scale must be >= 0, got {self.attention_scale}")
        if self.smoothing < 1 or self.smoothing % 2 == 0:
            raise ValueError(f"AADiff smoothing must be an odd number of frames, got {self.smoothing}")
        if self.frames_per_batch < 1:
            raise ValueError(f"frames_per_batch must be >= 1, got {self.frames_per_batch}")
        for name in ("cross_replace", "self_replace"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"AADiff {name} must be in [0, 1], got {getattr(self, name)}")
        if self.blend_threshold is not None and not 0 <= self.blend_threshold < 1:
            raise ValueError(f"AADiff blend_threshold must be in [0, 1) or None, got {self.blend_threshold}")
