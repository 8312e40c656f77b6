"""The animation methods the page offers, by name.

A method is `run(pipe, image, audio, request) -> AnimationOutput` (`asva.pipelines.avsyncd`):
`image` uint8 (3, h, w), `audio` float (channels, n) at 16 kHz, `request` an `engine.Request`,
`pipe` the loaded AVSyncD pipeline with the request's sampler. The baselines (`asva.baselines`, on
its way) register here with one line each: `METHODS["I2VD"] = run_i2vd`; the page lists whatever
this table holds.
"""
from __future__ import annotations

from collections.abc import Callable

import torch


def run_avsyncd(pipe, image: torch.Tensor, audio: torch.Tensor, request):
    """AVSyncD itself, exactly as `asva animate` runs it."""
    use_table = pipe.prompt_table is not None and request.prompt in pipe.prompt_table.names
    return pipe(image, audio[None], request.prompt or None, use_prompt_table=use_table,
                num_inference_steps=int(request.steps), audio_guidance_scale=request.eta, fps=request.fps,
                generator=torch.Generator().manual_seed(int(request.seed)))


METHODS: dict[str, Callable] = {"AVSyncD": run_avsyncd}
