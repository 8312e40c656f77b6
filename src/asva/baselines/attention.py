"""Cross-attention re-weighting for AADiff: scale the attention paid to chosen prompt tokens, per sample.

A diffusers attention processor for the `attn2` (cross-attention) layers of a `UNet2DConditionModel`.
For sample i of the batch the attention probabilities M (queries x tokens, after the softmax) become

    M'[:, j] = w_i * M[:, j]   for the selected tokens j,   M'[:, j] = M[:, j] otherwise,

without renormalising (Prompt-to-Prompt's re-weighting), each sample on its own attention map (the
`reweight` control; `asva.baselines.p2p` is Prompt-to-Prompt's edit of a base sample). w_i = 1 leaves
the layer exactly as diffusers' `AttnProcessor` computes it.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import ClassVar

import torch
from diffusers.models.attention_processor import Attention, AttnProcessor


@dataclass
class ReweightControl:
    """weights (b,): each sample's weight; tokens (L,) bool: the re-weighted tokens; inactive: no change."""

    weights: torch.Tensor
    tokens: torch.Tensor
    active: bool = True
    base_sample: ClassVar[bool] = False  # every sample of the batch is a frame

    def after_step(self, z: torch.Tensor) -> torch.Tensor:
        return z


class TokenReweightProcessor:
    """Set `control` (a `ReweightControl`) before the UNet calls; None or inactive = no change."""

    def __init__(self) -> None:
        self.control: ReweightControl | None = None

    def __call__(self, attn: Attention, hidden_states: torch.Tensor,
                 encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None,
                 **kwargs) -> torch.Tensor:
        control = self.control
        if encoder_hidden_states is None or control is None or not control.active:
            return AttnProcessor()(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        b, tokens = hidden_states.shape[0], encoder_hidden_states.shape[1]
        if hidden_states.ndim == 3 and (control.weights.shape != (b,) or control.tokens.shape != (tokens,)):
            raise ValueError(f"re-weighting set for {tuple(control.weights.shape)} samples and tokens "
                             f"{tuple(control.tokens.shape)}, the layer got batch {b}, {tokens} tokens")

        def scaled(probs: torch.Tensor) -> torch.Tensor:  # (b * heads, n, L)
            scale = 1 + (control.weights[:, None] - 1) * control.tokens.to(control.weights.dtype)  # (b, L)
            return probs * scale.repeat_interleave(attn.heads, dim=0)[:, None, :].to(probs.dtype)

        return edited_attention(attn, hidden_states, encoder_hidden_states, attention_mask, scaled,
                                "token re-weighting supports Stable Diffusion's transformer cross-attention")


def edited_attention(attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None,
                     attention_mask: torch.Tensor | None, edit, what: str) -> torch.Tensor:
    """diffusers' `AttnProcessor` computation with `edit` applied to the attention probabilities
    ((b * heads, n, L) -> the same) before they weigh the values; self-attention when
    `encoder_hidden_states` is None. `what` opens the error for layers it does not support."""
    if hidden_states.ndim != 3 or attn.spatial_norm is not None or attn.group_norm is not None:
        raise ValueError(f"{what} (3-D hidden states, no spatial or group norm); got "
                         f"{tuple(hidden_states.shape)}")
    context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
    if encoder_hidden_states is not None and attn.norm_cross:
        context = attn.norm_encoder_hidden_states(context)
    mask = attn.prepare_attention_mask(attention_mask, context.shape[1], hidden_states.shape[0])
    query = attn.head_to_batch_dim(attn.to_q(hidden_states))  # (b * heads, n, d)
    key = attn.head_to_batch_dim(attn.to_k(context))  # (b * heads, L, d)
    value = attn.head_to_batch_dim(attn.to_v(context))
    probs = edit(attn.get_attention_scores(query, key, mask))  # (b * heads, n, L)
    out = attn.to_out[1](attn.to_out[0](attn.batch_to_head_dim(torch.bmm(probs, value))))
    if attn.residual_connection:
        out = out + hidden_states
    return out / attn.rescale_output_factor


@contextlib.contextmanager
def reweighting(unet):
    """Install one `TokenReweightProcessor` on every cross-attention layer of `unet`; yields it in a
    list; the UNet's own processors come back on exit."""
    saved = unet.attn_processors
    processor = TokenReweightProcessor()
    unet.set_attn_processor({name: processor if name.endswith("attn2.processor") else proc
                             for name, proc in saved.items()})
    try:
        yield [processor]
    finally:
        unet.set_attn_processor(saved)
