"""Classifier-free guidance for AVSyncD: wraps the denoiser callable, adds audio (and text) guidance.

With audio scale `eta` and text scale `s` the guided noise prediction is, as in the paper's code:

    audio only (s = 1):  eps = eps(text, null audio) + eta * (eps(text, audio) - eps(text, null audio))
    text only (eta = 1): eps = eps(null text, audio) + s * (eps(text, audio) - eps(null text, audio))
    both:                eps = eps(null, null) + s * (eps(text, null audio) - eps(null, null))
                                               + eta * (eps(text, audio) - eps(text, null audio))

A scale of exactly 1 drops its null branch, so `eta = 1, s = 1` is one plain conditional call; so does
a call with `guide=False` (the pipeline's `guidance_fraction` < 1 uses it for the last steps). The
branches run as ONE batched model call by default (`batched=False` runs them one after another, which
needs less memory and gives the same numbers up to float rounding).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# model(sample (b, c, f, h, w), timestep, text (b, n, d), audio (b, m, c), mask (b, f, m)) -> eps;
# text and audio may also be per frame, (b, f, n, d) and (b, f, m, c)
Denoiser = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Conditions:
    """The conditions of one clip batch, conditional and null versions.

    text / null_text: (b, n, d); audio / null_audio: (b, m, c) (or both per frame: (b, f, n, d) and
    (b, f, m, c)); mask: (b, f, m) bool, True = attend, which tokens each frame sees.
    The null audio uses the same mask as the audio. `null_text` is only needed for text guidance. For an
    image-only model audio, null_audio and mask are None (and audio guidance must be off).
    """

    text: torch.Tensor
    audio: torch.Tensor | None
    null_audio: torch.Tensor | None
    mask: torch.Tensor | None
    null_text: torch.Tensor | None = None


def check_scales(**scales: float) -> None:
    """Guidance scales must be >= 0 (0 = the null branch alone, 1 = no guidance)."""
    for name, value in scales.items():
        if not value >= 0:  # also rejects NaN
            raise ValueError(f"{name} must be >= 0, got {value}")


class GuidedDenoiser:
    """`eps = guided(sample, t, conditions)`: the denoiser with audio/text classifier-free guidance."""

    def __init__(self, model: Denoiser, *, audio_scale: float = 4.0, text_scale: float = 1.0,
                 batched: bool = True):
        check_scales(audio_scale=audio_scale, text_scale=text_scale)
        self.model = model
        self.audio_scale = float(audio_scale)
        self.text_scale = float(text_scale)
        self.batched = batched

    @property
    def num_branches(self) -> int:
        """How many conditioning branches one guided call evaluates (1, 2 or 3)."""
        return 1 + (self.audio_scale != 1.0) + (self.text_scale != 1.0)

    def _branches(self, c: Conditions) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The (text, audio) pair of every branch this guidance needs, by name."""
        branches = {"text_audio": (c.text, c.audio)}
        if self.audio_scale != 1.0:
            if c.audio is None:
                raise ValueError("audio guidance (audio_scale != 1) needs audio: this model takes none")
            branches["text"] = (c.text, c.null_audio)
        if self.text_scale != 1.0:
            if c.null_text is None:
                raise ValueError("text guidance (text_scale != 1) needs a null text encoding")
            branches["none"] = (c.null_text, c.null_audio if self.audio_scale != 1.0 else c.audio)
        return branches

    def _evaluate(self, sample: torch.Tensor, t: torch.Tensor, mask: torch.Tensor,
                  pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> list[torch.Tensor]:
        if not self.batched or len(pairs) == 1:
            return [self.model(sample, t, text, audio, mask) for text, audio in pairs]
        k = len(pairs)
        audio = None if pairs[0][1] is None else torch.cat([audio for _, audio in pairs])
        eps = self.model(
            torch.cat([sample] * k),
            t,
            torch.cat([text for text, _ in pairs]),
            audio,
            None if mask is None else torch.cat([mask] * k),
        )
        return list(eps.chunk(k))

    def __call__(self, sample: torch.Tensor, t: torch.Tensor, conditions: Conditions,
                 guide: bool = True) -> torch.Tensor:
        """The guided prediction; with `guide` False the conditional branch alone (one model call)."""
        if not guide:
            c = conditions
            return self.model(sample, t, c.text, c.audio, c.mask)
        branches = self._branches(conditions)
        eps = dict(zip(branches, self._evaluate(sample, t, conditions.mask, list(branches.values())),
                       strict=True))
        a, s = self.audio_scale, self.text_scale
        if a != 1.0 and s != 1.0:
            return (eps["none"] + s * (eps["text"] - eps["none"])
                    + a * (eps["text_audio"] - eps["text"]))
        if a != 1.0:
            return eps["text"] + a * (eps["text_audio"] - eps["text"])
        if s != 1.0:
            return eps["none"] + s * (eps["text_audio"] - eps["none"])
        return eps["text_audio"]
