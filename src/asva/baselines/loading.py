"""One loader for every method: a pipeline with `AVSyncDPipeline`'s call, and its frame size.

    pipe, size = load_method("i2vd")                          # the registry's default I2VD model
    pipe, size = load_method("aadiff", "path/to/sd15", aadiff=AADiffConfig(start="sdedit"))

`model` is a registry name or a folder; None picks the method's default (`DEFAULT_MODELS`); AADiff needs
a Stable Diffusion 1.5-format diffusers folder. `size` None means the model's training size (its
training.json, the registry), else 256 for Stable Diffusion... (512 is SD1.5's native size; 256 keeps
AADiff comparable with the AVSyncD checkpoints). Static has no weights; its size follows the default
AVSyncD model's so that methods line up in comparisons.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from asva.baselines import METHODS

AADIFF_SIZE = 256


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    return method


def default_size(model: str | Path) -> int:
    """The frame side `model` was trained at: its training.json, else the registry's, else 256."""
    from asva.models.registry import MODELS, resolve_model

    folder = resolve_model(model)
    size = _training_size(folder)
    if size:
        return size
    return MODELS[str(model)].size if str(model) in MODELS else 256


def load_method(method: str, model: str | Path | None = None, *, device: torch.device | str = "cpu",
                dtype: torch.dtype | None = None, scheduler: str | None = None, size: int | None = None,
                quiet: bool = False, aadiff=None):
    """(pipeline, frame size) for `method` on `device`; `scheduler` replaces the sampler of AVSyncD
    and I2VD models (AADiff always samples with DDIM); `aadiff` is an `AADiffConfig`."""
    from asva.models.registry import DEFAULT_MODELS

    check_method(method)
    if method == "aadiff":
        if model is None:
            raise ValueError("--method aadiff needs --model SD15_DIR: a Stable Diffusion 1.5-format "
                             "diffusers folder (unet/, vae/, text_encoder/, tokenizer/, scheduler/)")
        from asva.baselines.aadiff import AADiffPipeline

        with quiet_loading(quiet):
            pipe = AADiffPipeline.from_sd15(model, aadiff, dtype=dtype)
        pipe = pipe.to(device)
        pipe.set_progress_bar_config(disable=quiet, leave=False)
        return pipe, size or AADIFF_SIZE
    model = DEFAULT_MODELS[method] if model is None else model
    if method == "static":
        from asva.baselines.static import StaticPipeline

        return StaticPipeline(), size or default_size(model)
    return _load_avsyncd(method, model, device, dtype, scheduler, quiet), size or default_size(model)


def _load_avsyncd(method: str, model, device, dtype, scheduler, quiet: bool):
    """An `AVSyncDPipeline`; for `i2vd` the model must be audio-free (trained with model.audio=false)."""
    from asva.models.registry import resolve_model
    from asva.pipelines.build import load_pipeline
    from asva.pipelines.schedulers import make_scheduler
    from asva.train.validation import without_audio_if_needed

    folder = resolve_model(model)
    with quiet_loading(quiet):
        pipe = load_pipeline(folder, dtype=dtype)
    if method == "i2vd" and pipe.hears_audio:
        raise ValueError(f"--method i2vd needs a model trained without audio (model.audio=false); "
                         f"{model} has audio layers (use --method avsyncd for it)")
    pipe = without_audio_if_needed(pipe).to(device)
    if scheduler is not None:
        pipe.scheduler = make_scheduler(scheduler, pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=quiet, leave=False)
    return pipe


def _training_size(folder: Path) -> int | None:
    import json

    try:
        size = json.loads((Path(folder) / "training.json").read_text())["config"]["data"]["size"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return int(size) if isinstance(size, int) and size > 0 else None


@contextlib.contextmanager
def quiet_loading(quiet: bool):
    """Hide diffusers'/transformers' loading bars in quiet mode, restoring them afterwards."""
    if not quiet:
        yield
        return
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    was = dlog.is_progress_bar_enabled(), tlog.is_progress_bar_enabled()
    dlog.disable_progress_bar()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        if was[0]:
            dlog.enable_progress_bar()
        if was[1]:
            tlog.enable_progress_bar()
