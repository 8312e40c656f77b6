"""Prompt-to-Prompt's attention re-weighting edit with local blending, as AADiff's frame control.

Prompt-to-Prompt (Hertz et al., "Prompt-to-Prompt Image Editing with Cross Attention Control", 2022;
the official code is google/prompt-to-prompt, classes `AttentionReweight` and `LocalBlend`) edits a
generation by running the base sample and its edits in one batch. Here the batch of every UNet call is
the base sample (weight 1) followed by k frames with weights w_1..w_k, (1 + k, ...) latents:

- cross-attention, during the first `cross_steps` denoising steps: every frame's map is the base's map
  with the chosen tokens' columns scaled by the frame's weight, M_n = M_base * w_n (no renormalisation);
  afterwards each frame attends with its own, unweighted map (P2P's cross_replace_steps, default 0.8);
- self-attention, during the first `self_steps` steps, in layers of at most (h / 4) * (w / 4) queries
  for an h x w latent (P2P: 16 x 16 for SD's 64 x 64): every frame takes the base's map (P2P's
  self_replace_steps, default 0.4);
- local blending (optional), after every denoising step: the chosen tokens' cross-attention maps,
  summed over the steps so far, over the tokens and over the heads and layers of the resolution nearest
  (h / 4) x (w / 4), max-pooled 3 x 3, resized to the latent (nearest), divided by their maximum and
  thresholded (P2P: 0.3) give a mask a_n per sample; z_n <- z_base + (a_base | a_n) * (z_n - z_base), so
  the frames change only where the chosen tokens are.

A frame of weight 1 is the base sample exactly, whatever the settings.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention, AttnProcessor

from asva.baselines.attention import edited_attention


@dataclass
class P2PControl:
    """The state one denoising run shares across the UNet's attention layers.

    weights (k,): the frames' re-weighting (the base sample has 1); tokens (L,) bool: the re-weighted
    (and blended) tokens; latent_hw: the latent's (h, w); blend_threshold None: no local blending."""

    weights: torch.Tensor
    tokens: torch.Tensor
    cross_steps: int
    self_steps: int
    latent_hw: tuple[int, int]
    blend_threshold: float | None = 0.3
    active: bool = True
    step: int = 0
    maps: dict[int, torch.Tensor] = field(default_factory=dict)  # queries -> (1 + k, queries)
    base_sample: ClassVar[bool] = True  # the batch starts with the base sample

    @property
    def self_max_queries(self) -> int:
        h, w = self.latent_hw
        return max(1, (h // 4) * (w // 4))

    def cross(self, probs: torch.Tensor) -> torch.Tensor:
        """(1 + k, heads, queries, L) cross-attention probabilities -> the edited ones."""
        if self.step < self.cross_steps:
            scale = 1 + (self.weights[:, None] - 1) * self.tokens.to(self.weights.dtype)  # (k, L)
            probs = torch.cat([probs[:1], probs[:1] * scale[:, None, None, :].to(probs.dtype)])
        if self.blend_threshold is not None:
            n = probs.shape[2]
            found = probs[..., self.tokens].sum(-1).mean(1).float()  # (1 + k, queries)
            self.maps[n] = self.maps[n] + found if n in self.maps else found
        return probs

    def self_attention(self, probs: torch.Tensor) -> torch.Tensor:
        """(1 + k, heads, queries, queries) self-attention probabilities -> the edited ones."""
        if self.step < self.self_steps and probs.shape[2] <= self.self_max_queries:
            return probs[:1].expand_as(probs)
        return probs

    def after_step(self, z: torch.Tensor) -> torch.Tensor:
        """(1 + k, c, h, w) latents after a denoising step -> the frames kept to the tokens' region
        (local blending); counts the step."""
        self.step += 1
        if self.blend_threshold is None or not self.maps:
            return z
        h, w = z.shape[-2:]
        n = min(self.maps, key=lambda q: abs(math.log(q / max(1, (h // 4) * (w // 4)))))
        rows = max(1, round(math.sqrt(n * h / w)))
        mask = self.maps[n].reshape(z.shape[0], 1, rows, n // rows)
        mask = F.interpolate(F.max_pool2d(mask, 3, stride=1, padding=1), size=(h, w))
        mask = mask / mask.amax(dim=(2, 3), keepdim=True).clamp_min(1e-12) > self.blend_threshold
        mask = (mask[:1] | mask[1:]).to(z.dtype)  # (k, 1, h, w): the base's region or the frame's
        return torch.cat([z[:1], z[:1] + mask * (z[1:] - z[:1])])


class P2PProcessor:
    """A diffusers attention processor that hands the probabilities to `control` (None or inactive:
    exactly diffusers' `AttnProcessor`)."""

    def __init__(self, cross: bool) -> None:
        self.cross = cross
        self.control: P2PControl | None = None

    def __call__(self, attn: Attention, hidden_states: torch.Tensor,
                 encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None,
                 **kwargs) -> torch.Tensor:
        control = self.control
        if control is None or not control.active:
            return AttnProcessor()(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        b = hidden_states.shape[0]
        if hidden_states.ndim == 3 and b != control.weights.shape[0] + 1:
            raise ValueError(f"Prompt-to-Prompt control set for 1 base + {control.weights.shape[0]} frames, "
                             f"the layer got batch {b}")
        edit = control.cross if self.cross else control.self_attention

        def controlled(probs: torch.Tensor) -> torch.Tensor:  # (b * heads, n, L), edited per sample
            return edit(probs.reshape(b, attn.heads, *probs.shape[1:])).reshape(probs.shape)

        return edited_attention(attn, hidden_states, encoder_hidden_states, attention_mask, controlled,
                                "Prompt-to-Prompt control supports Stable Diffusion's transformer attention")


@contextlib.contextmanager
def p2p_processors(unet):
    """Install P2P processors on every self- (attn1) and cross-attention (attn2) layer of `unet`; yields
    the list of the two processors (set their `control`); the UNet's own processors come back on exit."""
    saved = unet.attn_processors
    own, cross = P2PProcessor(cross=False), P2PProcessor(cross=True)
    unet.set_attn_processor({name: cross if name.endswith("attn2.processor") else
                             own if name.endswith("attn1.processor") else proc
                             for name, proc in saved.items()})
    try:
        yield [own, cross]
    finally:
        unet.set_attn_processor(saved)
