"""One loader for every method: a pipeline with `AVSyncDPipeline`'s call, and its frame size.

    pipe, size = load_method("i2vd")                          # the registry's default I2VD model
    pipe, size = load_method("aadiff", "path/to/sd15", aadiff=AADiffConfig(start="sdedit"))

`model` is a registry name or a folder; None picks the method's default (`registry.DEFAULT_MODELS`);
AADiff needs a Stable Diffusion 1.5-format diffusers folder. AVSyncD and I2VD load through
`asva.pipelines.loading.load_model` (the folder's sampler and training size unless overridden). Static
has no weights: its frame size is its default model's, so that methods line up in comparisons. AADiff
runs at 256 px unless told otherwise (SD1.5's native size is 512; 256 matches the AVSyncD checkpoints).
"""
from __future__ import annotations

from pathlib import Path

import torch

from asva.baselines import METHODS

AADIFF_SIZE = 256
AADIFF_SCHEDULER = "ddim"  # AADiff inverts and samples with DDIM whatever the folder's sampler


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    return method


def method_settings(method: str, model: str | Path | None = None, scheduler: str | None = None,
                    size: int | None = None) -> tuple[str, str, int]:
    """(model, sampler name, frame size) that `load_method` will use, read without loading weights."""
    from asva.models.registry import DEFAULT_MODELS
    from asva.pipelines.loading import model_settings

    check_method(method)
    if method == "aadiff":
        if model is None:
            raise ValueError("--method aadiff needs --model SD15_DIR: a Stable Diffusion 1.5-format "
                             "diffusers folder (unet/, vae/, text_encoder/, tokenizer/, scheduler/)")
        return str(model), AADIFF_SCHEDULER, size or AADIFF_SIZE
    model = DEFAULT_MODELS[method] if model is None else model
    _, scheduler, size = model_settings(model, scheduler, size)
    return str(model), scheduler, size


def load_method(method: str, model: str | Path | None = None, *, device: torch.device | str = "cpu",
                dtype: torch.dtype | str | None = None, scheduler: str | None = None,
                size: int | None = None, quiet: bool = True, aadiff=None):
    """(pipeline, frame size) for `method` on `device` ("auto" allowed); `scheduler` replaces the
    sampler of AVSyncD and I2VD models; `aadiff` is an `AADiffConfig` (default: its defaults)."""
    from asva.pipelines.loading import check_dtype, load_model, pick_device, quiet_loading
    from asva.utils import torch_dtype

    model, scheduler, size = method_settings(method, model, scheduler, size)
    if method == "static":
        from asva.baselines.static import StaticPipeline

        return StaticPipeline(), size
    device = pick_device(device) if isinstance(device, str) else device
    if method == "aadiff":
        from asva.baselines.aadiff import AADiffPipeline

        dtype = torch_dtype(dtype) if isinstance(dtype, str) else dtype
        if dtype is not None:
            check_dtype(device, dtype)
        with quiet_loading(quiet):
            pipe = AADiffPipeline.from_sd15(model, aadiff, dtype=dtype)
        pipe = pipe.to(device)
        pipe.set_progress_bar_config(disable=quiet, leave=False)
        return pipe, size
    pipe = load_model(model, device, dtype, scheduler, size, quiet=quiet).pipe
    if method == "i2vd" and pipe.hears_audio:
        raise ValueError(f"--method i2vd needs a model trained without audio (model.audio=false); "
                         f"{model} has audio layers (use --method avsyncd for it)")
    return pipe, size
