"""The animation methods the page offers, by their label: AVSyncD and the available baselines.

Every method is an `asva.baselines` method loaded once by the library's `load_method` (the pipeline
`asva animate --method ...` and `asva compare` use) and called with the AVSyncD pipeline's signature,
so the page animates exactly as the command line does. Which methods are offered:

    AVSyncD  always (the demo's --model)
    Static   always (no weights: the image repeated)
    I2VD     with --i2vd DIR, or when the registry's I2VD model is installed (bundled or downloaded)
    AADiff   with --aadiff SD15_DIR (a Stable Diffusion 1.5-format folder)
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Method:
    name: str  # the `asva.baselines` method (`asva animate --method NAME`)
    eta: bool  # eta (audio guidance) acts on it
    sampler: bool  # it samples with the page's sampler choice (AVSyncD-architecture models)
    exclusive: bool = False  # one call at a time (it swaps the shared UNet's attention processors)


METHODS: dict[str, Method] = {
    "AVSyncD": Method("avsyncd", eta=True, sampler=True),
    "Static": Method("static", eta=False, sampler=False),
    "I2VD": Method("i2vd", eta=False, sampler=True),
    "AADiff": Method("aadiff", eta=False, sampler=False, exclusive=True),  # DDIM: the sampler it inverts
}


def available_models(avsyncd: str, i2vd: str | None = None, aadiff: str | None = None) -> dict[str, str]:
    """label -> model name or folder of every method the page offers, in the page's order."""
    from asva.models.registry import DEFAULT_MODELS, resolve_model

    models = {"AVSyncD": avsyncd, "Static": avsyncd}  # Static: the frame size of the AVSyncD model
    if i2vd is None:
        try:
            resolve_model(DEFAULT_MODELS["i2vd"])
            i2vd = DEFAULT_MODELS["i2vd"]
        except ValueError:  # not installed: the page offers no I2VD
            pass
    if i2vd is not None:
        models["I2VD"] = i2vd
    if aadiff is not None:
        models["AADiff"] = aadiff
    return models


def load_methods(models: dict[str, str], device: str, dtype: str) -> dict[str, tuple]:
    """label -> (pipeline, frame size), each loaded once; the pipelines' tqdm bars drive the page's."""
    from asva.baselines.loading import load_method

    loaded = {}
    for label, model in models.items():
        method = METHODS[label].name
        if method == "static":  # its size: the AVSyncD model's, so methods line up in comparisons
            loaded[label] = load_method("static")[0], loaded["AVSyncD"][1]
            continue
        pipe, size = load_method(method, model, device=device, dtype=dtype)
        pipe.set_progress_bar_config(disable=False, leave=False)
        loaded[label] = pipe, size
    return loaded


def uses_class_table(pipe, prompt: str) -> bool:
    """True when `prompt` is one of the pipeline's class prompts (looked up in its table)."""
    table = getattr(pipe, "prompt_table", None)
    return table is not None and prompt in table.names


def check_prompt(pipe, prompt: str) -> None:
    """A class-only model (a table, no text encoder) takes only its classes."""
    table = getattr(pipe, "prompt_table", None)
    if table is not None and getattr(pipe, "text_encoder", None) is None and prompt not in table.names:
        raise ValueError(f"unknown class {prompt!r}; this model knows: {', '.join(table.names)}")


def run_method(label: str, pipe, image: torch.Tensor, audio: torch.Tensor, request):
    """Animate `image` (float (3, h, w) in [-1, 1]) with `audio` (float (channels, n) at 16 kHz) by the
    method `label`, as `asva animate --method ...` does; eta is given only to methods it acts on."""
    eta = request.eta if METHODS[label].eta else 1.0
    return pipe(image, audio[None], request.prompt or None,
                use_prompt_table=uses_class_table(pipe, request.prompt),
                num_inference_steps=int(request.steps), audio_guidance_scale=eta, fps=request.fps,
                generator=torch.Generator().manual_seed(int(request.seed)))
