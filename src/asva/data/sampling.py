"""Where a clip starts inside a video: the training and evaluation protocols of AVSync15.

All times are in seconds. `duration` is the usable length of a video, the shorter of its
video and audio streams; `clip` is the clip length (12 frames at 6 fps = 2 s).

- training: a start drawn uniformly from [0, duration - clip];
- evaluation, "center": the one centred start (duration - clip) / 2;
- evaluation, "three": the paper's protocol, starts i * (duration - clip) / 2 for i = 0, 1, 2
  (the first, middle and last 2 s of the video).

Randomness comes from an explicit `torch.Generator`. `item_generator(seed, epoch, index)`
derives one from the item itself, so an item's clip does not depend on which DataLoader
worker draws it or in which order.
"""
from __future__ import annotations

import numpy as np
import torch

EVAL_STARTS = {"center": 1, "three": 3}  # evaluation start rule -> clips per video


def eval_starts_for(clips_per_video: int) -> str:
    """The evaluation start rule that gives `clips_per_video` clips (1: "center", 3: "three")."""
    for name, count in EVAL_STARTS.items():
        if count == clips_per_video:
            return name
    raise ValueError(f"clips per video must be one of {sorted(EVAL_STARTS.values())}, got {clips_per_video}")


def _slack(duration: float, clip: float) -> float:
    """Room left for the start; never negative (a too-short video starts at 0)."""
    if clip <= 0:
        raise ValueError(f"clip length must be positive, got {clip}")
    return max(0.0, float(duration) - float(clip))


def train_start(duration: float, clip: float, generator: torch.Generator | None = None) -> float:
    """A start drawn uniformly from [0, duration - clip]; `generator=None` uses torch's global RNG."""
    u = torch.rand((), generator=generator, dtype=torch.float64).item()
    return u * _slack(duration, clip)


def center_start(duration: float, clip: float) -> float:
    """The centred start (duration - clip) / 2, as the official evaluation loader takes it."""
    return _slack(duration, clip) / 2.0


def eval_starts(duration: float, clip: float, n: int = 3) -> list[float]:
    """`n` evenly spaced starts from 0 to duration - clip; n = 1 gives the centred start."""
    if n < 1:
        raise ValueError(f"number of evaluation clips must be >= 1, got {n}")
    if n == 1:
        return [center_start(duration, clip)]
    slack = _slack(duration, clip)
    return [i * slack / (n - 1) for i in range(n)]


def item_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """A generator seeded from (seed, epoch, index), well mixed by NumPy's SeedSequence."""
    state = np.random.SeedSequence([int(seed), int(epoch), int(index)]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def coin(p: float, generator: torch.Generator | None = None) -> bool:
    """True with probability `p` (one draw from `generator`, or torch's global RNG)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {p}")
    return bool(torch.rand((), generator=generator, dtype=torch.float64).item() < p)
