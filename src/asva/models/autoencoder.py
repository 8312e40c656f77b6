"""A linear patch autoencoder for CPU-size models, with AutoencoderKL's interface.

    ae = PatchAutoencoder(factor=8, latent_channels=32)   # lossless when latent_channels = 3 * 8**2
    ae.fit(frames)                                        # PCA basis + scaling from (n, 3, h, w) in [-1, 1]
    z = ae.encode(x).latent_dist.sample()                 # (b, 3, h, w) -> (b, 32, h/8, w/8)
    x = ae.decode(z).sample                               # the projection back to pixels
    ae.config.scaling_factor                              # latents in model space: z * scaling_factor

There is no pretrained Stable Diffusion VAE on a CPU-only machine, and training one costs more than
the tiny video model itself. This autoencoder folds each `factor x factor` pixel block into a vector
(space to depth) and keeps its coordinates on the first `latent_channels` principal components of the
training frames' blocks: the best linear code of that size in mean squared error, fitted in seconds.
With all components it is lossless. It is a diffusers `ModelMixin`, so it saves and loads as a
pipeline's `vae/` component, and it mirrors what the pipeline uses of `AutoencoderKL`:
`encode(x).latent_dist.sample()/.mode()`, `decode(z).sample`, `config.scaling_factor`,
`config.shift_factor` and `config.block_out_channels` (its length minus one is the number of 2x
downsamplings, as for AutoencoderKL).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from einops import rearrange


class DeterministicLatents:
    """AutoencoderKL's `latent_dist` for a code without noise: sample() and mode() are the code."""

    def __init__(self, latents: torch.Tensor):
        self.mean = latents

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.mean

    def mode(self) -> torch.Tensor:
        return self.mean


@dataclass
class EncoderOutput(BaseOutput):
    latent_dist: DeterministicLatents


@dataclass
class DecoderOutput(BaseOutput):
    sample: torch.Tensor


class PatchAutoencoder(ModelMixin, ConfigMixin):
    """Space-to-depth by `factor` (a power of two), then an orthonormal projection to
    `latent_channels` (default: all `in_channels * factor**2`, the identity until `fit`)."""

    @register_to_config
    def __init__(self, in_channels: int = 3, factor: int = 8, latent_channels: int | None = None,
                 scaling_factor: float = 1.0, shift_factor: float = 0.0,
                 block_out_channels: tuple[int, ...] | None = None):
        super().__init__()
        if factor < 1 or factor & (factor - 1):
            raise ValueError(f"factor must be a power of two >= 1, got {factor}")
        if in_channels < 1:
            raise ValueError(f"in_channels must be positive, got {in_channels}")
        full = in_channels * factor**2
        latent_channels = full if latent_channels is None else latent_channels
        if not 1 <= latent_channels <= full:
            raise ValueError(f"latent_channels must be in 1..{full} for factor {factor}, "
                             f"got {latent_channels}")
        expected = [in_channels * 4**i for i in range(factor.bit_length())]  # one entry per 2x fold
        if block_out_channels is not None and list(block_out_channels) != expected:
            raise ValueError(f"block_out_channels {block_out_channels} do not match factor {factor}: "
                             f"expected {expected}")
        self.register_to_config(block_out_channels=expected, latent_channels=latent_channels)
        self.register_buffer("mean", torch.zeros(full))  # (d,) mean pixel block
        self.register_buffer("basis", torch.eye(full)[:, :latent_channels].contiguous())  # (d, k) orthonormal

    def encode(self, x: torch.Tensor, return_dict: bool = True):
        c, k = self.config.in_channels, self.config.factor
        if x.ndim != 4 or x.shape[1] != c or x.shape[-1] % k or x.shape[-2] % k:
            raise ValueError(f"expected images (b, {c}, h, w) with h and w multiples of {k}, "
                             f"got shape {tuple(x.shape)}")
        blocks = rearrange(F.pixel_unshuffle(x, k), "b d h w -> b h w d")
        z = rearrange((blocks - self.mean) @ self.basis, "b h w k -> b k h w")
        dist = DeterministicLatents(z)
        return EncoderOutput(latent_dist=dist) if return_dict else (dist,)

    def decode(self, z: torch.Tensor, return_dict: bool = True, generator=None):
        n = self.config.latent_channels
        if z.ndim != 4 or z.shape[1] != n:
            raise ValueError(f"expected latents (b, {n}, h, w), got shape {tuple(z.shape)}")
        blocks = rearrange(z, "b k h w -> b h w k") @ self.basis.T + self.mean
        x = F.pixel_shuffle(rearrange(blocks, "b h w d -> b d h w"), self.config.factor)
        return DecoderOutput(sample=x) if return_dict else (x,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x).latent_dist.mode()).sample

    @torch.no_grad()
    def fit(self, images: torch.Tensor) -> dict[str, float]:
        """Fit the mean block, the principal components and `scaling_factor` (unit-variance latents)
        to `images` (n, 3, h, w) in [-1, 1]; returns {"psnr": reconstruction PSNR in dB, "scaling_factor"}."""
        c, k = self.config.in_channels, self.config.factor
        if images.ndim != 4 or images.shape[1] != c or images.shape[0] < 2:
            raise ValueError(f"fit needs images (n >= 2, {c}, h, w), got shape {tuple(images.shape)}")
        blocks = rearrange(F.pixel_unshuffle(images.double(), k), "b d h w -> (b h w) d")
        mean = blocks.mean(0)
        _, vectors = torch.linalg.eigh(torch.cov((blocks - mean).T))  # ascending eigenvalues
        basis = vectors.flip(1)[:, : self.config.latent_channels]
        codes = (blocks - mean) @ basis
        scale = 1.0 / float(codes.std())
        self.mean.copy_(mean)
        self.basis.copy_(basis)
        self.register_to_config(scaling_factor=scale)
        mse = float(((codes @ basis.T + mean - blocks) ** 2).mean())
        return {"psnr": 10 * torch.log10(torch.tensor(4.0 / max(mse, 1e-30))).item(), "scaling_factor": scale}
