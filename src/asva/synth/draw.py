"""Vectorised 2-D drawing: signed distances on pixel grids, anti-aliased fills, backgrounds.

Objects are drawn in the unit square of their bounding box: `u` runs 0 -> 1 left to right and
`v` 0 -> 1 top to bottom. A shape is a signed distance in those units (negative inside); a
`Patch` turns it into anti-aliased coverage (one pixel of soft edge) and paints it.
"""
from __future__ import annotations

import colorsys

import numpy as np

Color = np.ndarray  # (3,) float32 RGB in [0, 1]


class Patch:
    """The square region `[y0:y0+s, x0:x0+s]` of a frame, being drawn on.

    `img` is (s, s, 3) float32 in [0, 1]; `u` is (1, s) and `v` is (s, 1) box coordinates of
    the pixel centres, so shapes broadcast to (s, s).
    """

    def __init__(self, img: np.ndarray):
        if img.ndim != 3 or img.shape[0] != img.shape[1] or img.shape[2] != 3:
            raise ValueError(f"expected a square (s, s, 3) patch, got shape {img.shape}")
        self.img = img.astype(np.float32, copy=True)
        self.size = img.shape[0]
        centres = (np.arange(self.size, dtype=np.float32) + 0.5) / self.size
        self.u = centres[None, :]
        self.v = centres[:, None]

    def fill(self, sd: np.ndarray, color: Color, alpha: float = 1.0) -> None:
        """Paint `color` where the signed distance `sd` (box units) is negative."""
        cover = np.clip(0.5 - sd * self.size, 0.0, 1.0) * np.float32(alpha)
        self.img += cover[..., None] * (np.asarray(color, np.float32) - self.img)

    def glow(self, sd: np.ndarray, color: Color, radius: float, strength: float) -> None:
        """Add light that is `strength` inside the shape and fades over `radius` outside it."""
        if strength <= 0:
            return
        light = np.float32(strength) * np.exp(-np.maximum(sd, 0.0) / np.float32(radius))
        self.img += light[..., None] * (np.asarray(color, np.float32) - self.img)


# ---- signed distances (box units, negative inside) ---------------------------------------


def circle(u, v, cu: float, cv: float, r: float) -> np.ndarray:
    return np.sqrt((u - cu) ** 2 + (v - cv) ** 2) - np.float32(r)


def ellipse(u, v, cu: float, cv: float, ru: float, rv: float) -> np.ndarray:
    """First-order distance k (k - 1) / |grad k|, k the normalised radius: exact on the boundary's
    normal near it, smooth far away (soft edges and glows look right for thin ellipses too)."""
    ru, rv = np.float32(max(ru, 1e-4)), np.float32(max(rv, 1e-4))
    du, dv = u - cu, v - cv
    k = np.sqrt((du / ru) ** 2 + (dv / rv) ** 2)
    grad = np.sqrt((du / ru**2) ** 2 + (dv / rv**2) ** 2)
    return k * (k - 1.0) / np.maximum(grad, np.float32(1e-6))


def rect(u, v, u0: float, v0: float, u1: float, v1: float) -> np.ndarray:
    """Axis-aligned rectangle [u0, u1] x [v0, v1]."""
    hu, hv = (u1 - u0) / 2, (v1 - v0) / 2
    qu = np.abs(u - np.float32((u0 + u1) / 2)) - np.float32(hu)
    qv = np.abs(v - np.float32((v0 + v1) / 2)) - np.float32(hv)
    outside = np.sqrt(np.maximum(qu, 0.0) ** 2 + np.maximum(qv, 0.0) ** 2)
    return outside + np.minimum(np.maximum(qu, qv), 0.0)


def polygon(u, v, points) -> np.ndarray:
    """Convex polygon given by its corners (any winding): the largest edge-line distance."""
    pts = np.asarray(points, np.float32)
    centre = pts.mean(axis=0)
    sd = None
    for a, b in zip(pts, np.roll(pts, -1, axis=0), strict=True):
        normal = np.array([b[1] - a[1], a[0] - b[0]], np.float32)
        normal /= np.linalg.norm(normal)
        if np.dot(centre - a, normal) > 0:
            normal = -normal
        d = (u - a[0]) * normal[0] + (v - a[1]) * normal[1]
        sd = d if sd is None else np.maximum(sd, d)
    return sd


def star(u, v, cu: float, cv: float, radius: float, points: int = 7, depth: float = 0.45) -> np.ndarray:
    """A spiky burst (muzzle flash, spark): radius modulated by `points` spikes."""
    du, dv = u - cu, v - cv
    r = np.sqrt(du**2 + dv**2)
    spikes = 1.0 - depth * (0.5 - 0.5 * np.cos(points * np.arctan2(dv, du)))
    return r - np.float32(radius) * spikes


def rotate(u, v, pu: float, pv: float, angle: float):
    """Coordinates in which shapes drawn unrotated appear rotated by `angle` (radians,
    clockwise on screen because v points down) about the pivot (pu, pv)."""
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    du, dv = u - pu, v - pv
    return pu + c * du + s * dv, pv - s * du + c * dv


def scale(u, v, cu: float, cv: float, factor: float):
    """Coordinates in which shapes appear scaled by `factor` about (cu, cv)."""
    f = np.float32(factor)
    return cu + (u - cu) / f, cv + (v - cv) / f


# ---- colours and backgrounds -------------------------------------------------------------


def hsv(h: float, s: float, v: float) -> Color:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), np.float32)


def mix(a: Color, b: Color, t: float) -> Color:
    return (np.asarray(a, np.float32) * (1 - t) + np.asarray(b, np.float32) * t).astype(np.float32)


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A static random backdrop (size, size, 3) in [0, 1]: a dim two-colour linear gradient,
    sometimes with soft blotches, plus fixed fine grain. Objects are drawn brighter."""
    hue = rng.random()
    c0 = hsv(hue, rng.uniform(0.15, 0.6), rng.uniform(0.12, 0.4))
    c1 = hsv(hue + rng.uniform(-0.25, 0.25), rng.uniform(0.15, 0.6), rng.uniform(0.12, 0.45))
    angle = rng.uniform(0, 2 * np.pi)
    pos = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    t = np.clip(pos[None, :] * np.cos(angle) + pos[:, None] * np.sin(angle) + 0.5, 0, 1)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    if rng.random() < 0.5:  # soft blotches: upsampled coarse noise
        coarse = rng.normal(0, 0.06, (5, 5, 3)).astype(np.float32)
        idx = np.minimum((np.arange(size) * 4 / size), 3.999)
        i0 = idx.astype(int)
        w = (idx - i0).astype(np.float32)
        rows = coarse[i0] * (1 - w)[:, None, None] + coarse[i0 + 1] * w[:, None, None]
        blot = rows[:, i0] * (1 - w)[None, :, None] + rows[:, i0 + 1] * w[None, :, None]
        img = img + blot
    img = img + rng.normal(0, rng.uniform(0.0, 0.025), (size, size, 1)).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)
