"""Pooling shared by the sync classifier's audio and video encoders."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def pool_time_bins(features: torch.Tensor, bins: int) -> torch.Tensor:
    """(b, c, t) -> (b, c * bins): the mean within `bins` equal time bins, channel-major."""
    return F.adaptive_avg_pool1d(features, bins).flatten(1)
