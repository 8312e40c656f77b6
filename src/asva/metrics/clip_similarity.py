"""IA and IT: ImageBind image-audio and image-text cosine similarity of generated frames.

Pure arithmetic on embeddings (the ImageBind encoders live in `asva.models.imagebind`). As in the
official evaluation, each frame's vision embedding (unit norm) is dotted with the clip's audio
embedding divided by its logit scale (unit norm again) or with the class-name text embedding;
the per-clip score is the mean over the generated frames 1..f-1 (frame 0 is the conditioning
image). Tables print the mean and std over clips x100 (`mean_std(..., scale=100)`).
"""
from __future__ import annotations

import torch

from .sync_scores import mean_std

UNIT_NORM_TOLERANCE = 1e-2


def _check_unit(emb: torch.Tensor, name: str) -> None:
    norms = emb.float().norm(dim=-1)
    if ((norms - 1).abs() > UNIT_NORM_TOLERANCE).any():
        raise ValueError(
            f"{name} must be unit-norm embeddings (audio/text divided by their logit scale), "
            f"got norms in [{norms.min().item():.4g}, {norms.max().item():.4g}]"
        )


def cosine_scores(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., d) x (..., d) unit-norm embeddings -> (...) dot products (broadcasting)."""
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"embedding sizes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    _check_unit(a, "first embeddings")
    _check_unit(b, "second embeddings")
    return (a * b).sum(dim=-1)


def frame_similarities(frame_emb: torch.Tensor, cond_emb: torch.Tensor) -> torch.Tensor:
    """frame_emb (b, f, d) vision embeddings, cond_emb (b, d) audio or text -> (b, f) cosines."""
    if frame_emb.ndim != 3 or cond_emb.ndim != 2 or cond_emb.shape[0] != frame_emb.shape[0]:
        raise ValueError(
            f"expected frame_emb (b, f, d) and cond_emb (b, d), got {tuple(frame_emb.shape)} "
            f"and {tuple(cond_emb.shape)}"
        )
    return cosine_scores(frame_emb, cond_emb[:, None, :])


def clip_scores(frame_sims: torch.Tensor, *, skip_first: bool = True) -> torch.Tensor:
    """(b, f) per-frame cosines -> (b,) per-clip mean over frames 1..f-1 (or all frames)."""
    if frame_sims.ndim != 2 or frame_sims.shape[1] < (2 if skip_first else 1):
        raise ValueError(f"frame_sims must be (b, f) with enough frames, got {tuple(frame_sims.shape)}")
    return (frame_sims[:, 1:] if skip_first else frame_sims).mean(dim=1)


def ia_it_metrics(
    ia_frame_sims: torch.Tensor | None = None, it_frame_sims: torch.Tensor | None = None, scale: float = 100.0
) -> dict:
    """{"IA_mean", "IA_std"} / {"IT_mean", "IT_std"} from (b, f) per-frame cosines, x `scale`."""
    out: dict[str, float] = {}
    for name, sims in (("IA", ia_frame_sims), ("IT", it_frame_sims)):
        if sims is not None:
            out.update(zip((f"{name}_mean", f"{name}_std"), mean_std(clip_scores(sims), scale), strict=True))
    return out
