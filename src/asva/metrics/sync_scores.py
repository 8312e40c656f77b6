"""RelSync and AlignSync (paper eq. 2-4) as pure functions on classifier logits and IA similarities.

- RelSync: exp(phi_gen) / (exp(phi_gt) + exp(phi_gen)), where phi is the sync classifier's raw
  logit for the generated clip and for the ground-truth clip, both with the same audio.
- AlignProb: the mean over the generated frames j = 1..f-1 of
  exp(s_gen_j) / (exp(s_gt_0) + exp(s_gen_j)), with s the ImageBind image-audio cosine similarity
  of the ground-truth *first* frame (s_gt_0) and of generated frame j (s_gen_j).
- AlignSync = AlignProb x RelSync.
Reported numbers are the mean and the unbiased std over clips (tables print them x100).
"""
from __future__ import annotations

import math

import torch


def _vector(x, name: str) -> torch.Tensor:
    t = torch.as_tensor(x)
    if t.ndim != 1 or t.numel() == 0 or not t.is_floating_point():
        raise ValueError(
            f"{name} must be a 1-d float tensor, one value per clip; got {tuple(t.shape)} {t.dtype}"
        )
    return t


def relsync(gt_phi, gen_phi) -> torch.Tensor:
    """(b,) RelSync of each generated clip: softmax([phi_gt, phi_gen])[1] (overflow-safe form)."""
    gt, gen = _vector(gt_phi, "gt_phi"), _vector(gen_phi, "gen_phi")
    if gt.shape != gen.shape:
        raise ValueError(f"gt_phi {tuple(gt.shape)} and gen_phi {tuple(gen.shape)} must have the same shape")
    return torch.softmax(torch.stack([gt, gen], dim=1), dim=1)[:, 1]


def align_probs(gt_first_frame_sim, gen_frame_sims) -> torch.Tensor:
    """(b,) AlignProb: gt_first_frame_sim (b,) or (b, 1); gen_frame_sims (b, f - 1), frames 1..f-1."""
    gt = torch.as_tensor(gt_first_frame_sim)
    gen = torch.as_tensor(gen_frame_sims)
    if gt.ndim == 1:
        gt = gt[:, None]
    if gen.ndim != 2 or gen.shape[1] == 0 or gt.shape != (gen.shape[0], 1):
        raise ValueError(
            f"expected gt_first_frame_sim (b,) or (b, 1) and gen_frame_sims (b, f - 1), got "
            f"{tuple(torch.as_tensor(gt_first_frame_sim).shape)} and {tuple(gen.shape)}"
        )
    pairs = torch.stack([gt.expand_as(gen), gen], dim=2)  # (b, f - 1, 2)
    return torch.softmax(pairs, dim=2)[:, :, 1].mean(dim=1)


def alignsync(gt_phi, gen_phi, gt_first_frame_sim, gen_frame_sims) -> torch.Tensor:
    """(b,) AlignSync = AlignProb x RelSync."""
    return align_probs(gt_first_frame_sim, gen_frame_sims) * relsync(gt_phi, gen_phi)


def mean_std(values, scale: float = 1.0) -> tuple[float, float]:
    """Mean and unbiased std (torch.std) over clips, times `scale`; the std of one clip is nan."""
    v = _vector(values, "values")
    std = v.std().item() if v.numel() > 1 else math.nan
    return v.mean().item() * scale, std * scale


def sync_metrics(gt_phi, gen_phi, gt_first_frame_sim=None, gen_frame_sims=None, scale: float = 1.0) -> dict:
    """{"RelSync_mean", "RelSync_std"} and, given the IA similarities, {"AlignSync_mean", "AlignSync_std"}."""
    rel = relsync(gt_phi, gen_phi)
    out = dict(zip(("RelSync_mean", "RelSync_std"), mean_std(rel, scale), strict=True))
    if (gt_first_frame_sim is None) != (gen_frame_sims is None):
        raise ValueError("AlignSync needs both gt_first_frame_sim and gen_frame_sims (or neither)")
    if gen_frame_sims is not None:
        align = align_probs(gt_first_frame_sim, gen_frame_sims) * rel
        out.update(zip(("AlignSync_mean", "AlignSync_std"), mean_std(align, scale), strict=True))
    return out
