"""The contrastive objective of the sync classifier (the official `vggss_sync_contrast` recipe).

For one video and its K shifted clips, every audio p is scored against every video q:
logits[p, q] = phi(audio_p, video_q). Only the diagonal pairs are synchronised, so

    loss_av = CE over rows    (audio p must pick video p among the K videos)
    loss_va = CE over columns (video q must pick audio q among the K audios)
    loss    = (loss_av + loss_va) / 2,

with the logits divided by a temperature tau (0.1 in the recipe). Accuracy is the fraction of
rows (columns) whose argmax is the diagonal.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange, repeat


@dataclass
class ContrastiveOutput:
    loss: torch.Tensor
    loss_av: torch.Tensor
    loss_va: torch.Tensor
    acc_av: torch.Tensor
    acc_va: torch.Tensor

    def scalars(self) -> dict[str, float]:
        names = ("loss", "loss_av", "loss_va", "acc_av", "acc_va")
        return {k: float(getattr(self, k).detach()) for k in names}


def pair_logits(model, mels: torch.Tensor, videos: torch.Tensor) -> torch.Tensor:
    """(b, K, K) logits[b, p, q] = phi(mels[b, p], videos[b, q]); each clip is encoded once.

    mels (b, K, 1, n_mels, t); videos (b, K, 3, f, h, w) preprocessed frames. `model` is a
    `SyncClassifier` (anything with `score_pairs(mels, frames, audio_index, video_index)`).
    """
    if mels.shape[:2] != videos.shape[:2]:
        raise ValueError(f"mels {tuple(mels.shape)} and videos {tuple(videos.shape)} must share (b, K)")
    b, k = mels.shape[:2]
    clip = torch.arange(b * k, device=mels.device).view(b, k)
    audio_index = repeat(clip, "b p -> (b p q)", q=k)
    video_index = repeat(clip, "b q -> (b p q)", p=k)
    phi = model.score_pairs(rearrange(mels, "b k c n t -> (b k) c n t"),
                            rearrange(videos, "b k c f h w -> (b k) c f h w"), audio_index, video_index)
    return rearrange(phi, "(b p q) -> b p q", b=b, p=k, q=k)


def contrastive_sync_loss(logits: torch.Tensor, tau: float = 0.1) -> ContrastiveOutput:
    """Cross-entropy over rows and over columns of (b, K, K) pair logits, diagonal = positives."""
    if logits.ndim != 3 or logits.shape[1] != logits.shape[2] or logits.shape[1] < 2:
        raise ValueError(f"logits must be (b, K, K) with K >= 2, got {tuple(logits.shape)}")
    if not tau > 0:
        raise ValueError(f"temperature tau must be positive, got {tau}")
    b, k, _ = logits.shape
    target = torch.arange(k, device=logits.device).repeat(b)  # (b k,)
    rows = rearrange(logits, "b p q -> (b p) q")  # audio p over videos q
    cols = rearrange(logits, "b p q -> (b q) p")  # video q over audios p
    loss_av = F.cross_entropy(rows / tau, target)
    loss_va = F.cross_entropy(cols / tau, target)
    with torch.no_grad():
        acc_av = (rows.argmax(dim=1) == target).float().mean()
        acc_va = (cols.argmax(dim=1) == target).float().mean()
    return ContrastiveOutput((loss_av + loss_va) / 2, loss_av, loss_va, acc_av, acc_va)
