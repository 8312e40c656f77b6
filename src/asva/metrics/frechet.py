"""Frechet distance between two feature sets (FID on Inception features, FVD on I3D features).

Same arithmetic as the official evaluation (pytorch-fid's stable form): the mean in the input
dtype, unbiased covariances in float64, and scipy's `sqrtm` of the product sigma1 @ sigma2.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy import linalg


def _as_features(x, name: str) -> np.ndarray:
    array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if array.ndim != 2 or array.shape[0] < 2:
        raise ValueError(f"{name} must be (n, d) features with n >= 2, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains non-finite values")
    return array


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) features -> mean (d,) in the input dtype and unbiased covariance (d, d) in float64."""
    array = _as_features(features, "features")
    return np.mean(array, axis=0), np.cov(array, rowvar=False)


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr(sqrtm(sigma1 @ sigma2))."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"statistics do not match: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}"
        )
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        warnings.warn(f"Frechet distance: singular covariance product; adding {eps} to the diagonals",
                      stacklevel=2)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(
                f"Frechet distance: sqrtm has an imaginary component of {np.abs(covmean.imag).max():.3g}"
            )
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def frechet_distance(x1, x2, eps: float = 1e-6) -> float:
    """Frechet distance between feature sets x1 (n1, d) and x2 (n2, d) (tensors or arrays)."""
    a, b = _as_features(x1, "x1"), _as_features(x2, "x2")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x1 and x2 must have the same feature size, got {a.shape[1]} and {b.shape[1]}")
    return frechet_distance_from_statistics(*feature_statistics(a), *feature_statistics(b), eps=eps)
