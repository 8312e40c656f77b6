"""Which of ImageBind's 229 audio tokens each video frame may attend to (AVSyncD's segment masks).

ImageBind's audio stem turns the (1, 128, 204) log-mel into 12 frequency rows x 19 time columns of
patches, behind one CLS token: token 0 is CLS and token 1 + 19 r + t is row r, column t. Frame i of
n sees CLS plus `ceil(19 / n)` consecutive time columns in every row, the windows starting at
round(linspace(0, 19 - chunk, n)) (NumPy's round-half-to-even), as the official encoder computes them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

FREQ_ROWS = 12
TIME_COLUMNS = 19
NUM_AUDIO_TOKENS = 1 + FREQ_ROWS * TIME_COLUMNS  # 229


def segment_time_columns(num_frames: int, time_columns: int = TIME_COLUMNS) -> torch.Tensor:
    """(num_frames, time_columns) bool: the time columns each frame's segment covers."""
    if not 1 <= num_frames <= time_columns:
        raise ValueError(f"num_frames must be in 1..{time_columns}, got {num_frames}")
    chunk = math.ceil(time_columns / num_frames)
    starts = np.round(np.linspace(0, time_columns - chunk, num_frames)).astype(np.int64)
    cols = np.zeros((num_frames, time_columns), dtype=bool)
    for i, start in enumerate(starts):
        cols[i, start : start + chunk] = True
    return torch.from_numpy(cols)


def audio_token_mask(num_frames: int) -> torch.Tensor:
    """(num_frames, 229) bool, True where frame i may attend to the token (CLS always)."""
    cols = segment_time_columns(num_frames)  # (f, 19)
    grid = cols[:, None, :].expand(num_frames, FREQ_ROWS, TIME_COLUMNS).reshape(num_frames, -1)  # (f, 12*19)
    return torch.cat([torch.ones(num_frames, 1, dtype=torch.bool), grid], dim=1)
