"""The one way to load a diffusion model: a registry name or a model folder -> a ready pipeline.

    model = load_model("asva-synth-tiny")                       # the bundled model, CPU, float32
    model = load_model("runs/r1/model", device="cuda", dtype="bfloat16", scheduler="ddim", size=256)
    out = model.pipe(image, audio, prompt, ...)                 # frames at model.size px

Every command that animates (`asva animate`, `asva generate-eval`, `asva table1`, `asva applications`)
loads through here, so they all use the model folder's own sampler and the frame size the model was
trained at (its `training.json`, else the registry's size, else 256) unless the caller overrides them.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import NamedTuple

import torch

DEFAULT_SIZE = 256  # frame side when neither the caller, the model folder nor the registry says


class LoadedModel(NamedTuple):
    pipe: object  # AVSyncDPipeline
    size: int | tuple[int, int]  # frame size to animate at: a side (square) or (height, width)
    folder: Path  # where the weights came from


def load_model(name_or_dir: str | os.PathLike, device: str | torch.device = "cpu",
               dtype: str | torch.dtype | None = None, scheduler: str | None = None,
               size: int | tuple[int, int] | None = None, *, quiet: bool = True) -> LoadedModel:
    """Load a registered name (`asva.models.registry`) or a model folder onto `device` (a name,
    "auto" = cuda, then mps, then cpu) in `dtype` (a torch dtype or its name, or "auto": see
    `asva.pipelines.speed.pick_dtype`; None keeps the stored one). `scheduler` (a name from
    `asva.pipelines.schedulers`) replaces the folder's own sampler and `size` (a side, or (height,
    width)) the model's training size. `quiet` hides loading and sampling
    progress bars."""
    from asva.pipelines.schedulers import make_scheduler
    from asva.pipelines.speed import pick_dtype

    folder, _, size = model_settings(name_or_dir, size=size)
    device = pick_device(device) if isinstance(device, str) else device
    dtype = pick_dtype(dtype, device) if isinstance(dtype, str) else dtype
    if dtype is not None:
        check_dtype(device, dtype)
    with quiet_loading(quiet):
        pipe = _read_folder(folder, dtype)
    pipe = pipe.to(device)
    if scheduler is not None:
        pipe.scheduler = make_scheduler(scheduler, pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=quiet, leave=False)
    return LoadedModel(pipe, size, folder)


def model_settings(name_or_dir: str | os.PathLike, scheduler: str | None = None,
                   size: int | tuple[int, int] | None = None) -> tuple[Path, str, int | tuple[int, int]]:
    """(folder, sampler name, frame size) that `load_model` will use, read without loading weights:
    the given values, else the folder's own sampler and training size (registry size, else 256)."""
    from asva.media.transform import normalize_size
    from asva.models.registry import MODELS, resolve_model
    from asva.pipelines.schedulers import DEFAULT_SCHEDULER, SCHEDULERS

    size = None if size is None else normalize_size(size)  # raises on a non-positive side
    folder = resolve_model(name_or_dir)
    name = os.fspath(name_or_dir)
    registered = MODELS[name].size if name in MODELS else None
    if scheduler is None:
        try:
            saved = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())["_class_name"]
        except (OSError, ValueError, KeyError):
            saved = None
        names = {class_name: n for n, (class_name, _) in SCHEDULERS.items()}
        scheduler = names.get(saved, DEFAULT_SCHEDULER)
    return folder, scheduler, size or training_size(folder) or registered or DEFAULT_SIZE


# component -> (library, class) in a model_index.json, for the parts `asva convert` writes
INDEX_CLASSES = {
    "unet": ("asva.pipelines.components", "AVSyncDUNet"),
    "audio_encoder": ("asva.pipelines.components", "AVSyncDAudioEncoder"),
    "vae": ("diffusers", "AutoencoderKL"),
    "text_encoder": ("transformers", "CLIPTextModel"),
    "tokenizer": ("transformers", "CLIPTokenizer"),
    "prompt_table": ("asva.pipelines.prompts", "PromptTable"),
}


def write_model_index(folder: Path, components: list[str]) -> Path:
    """The model_index.json of a pipeline folder whose components were written one by one (the
    scheduler's class is read from its config); components not listed are absent (null)."""
    import diffusers

    from asva.pipelines.avsyncd import AVSyncDPipeline

    index = {"_class_name": AVSyncDPipeline.__name__, "_diffusers_version": diffusers.__version__,
             "frames_per_window": 12, "window_fps": 6.0}
    for name in ("audio_encoder", "prompt_table", "scheduler", "text_encoder", "tokenizer", "unet", "vae"):
        if name not in components:
            index[name] = [None, None]
        elif name == "scheduler":
            config = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
            index[name] = ["diffusers", config["_class_name"]]
        else:
            index[name] = list(INDEX_CLASSES[name])
    path = Path(folder) / "model_index.json"
    path.write_text(json.dumps(index, indent=2) + "\n")
    return path


def _read_folder(folder: Path, dtype: torch.dtype | None):
    import asva.models.autoencoder  # noqa: F401  (diffusers resolves model_index.json classes among imported modules)
    from asva.pipelines.avsyncd import AVSyncDPipeline
    from asva.pipelines.prompts import CLASS_MAPPING, read_class_mapping

    if (folder / "model_index.json").is_file():
        pipe = AVSyncDPipeline.from_pretrained(folder, dtype=dtype)
    else:
        print(f"note: {folder} is an older `asva convert` folder (asva_model.json); it loads, and re-running "
              "`asva convert` writes the current format (model_index.json)", file=sys.stderr)
        pipe = _from_converted(folder, dtype)
    if pipe.audio_encoder is None and pipe.unet.unet_config.audio_dim is not None:
        raise ValueError(f"{folder} has no audio encoder; animation needs ImageBind (re-run `asva convert` "
                         "with --imagebind)")
    mapping = folder / CLASS_MAPPING  # class -> prompt, for `--class` on models without imported encodings
    pipe.class_prompts = read_class_mapping(mapping) if mapping.is_file() else {}
    return pipe


def _from_converted(path: Path, dtype: torch.dtype | None):
    """An older `asva convert` folder (asva_model.json): the components, assembled by hand."""
    from diffusers import AutoencoderKL
    from transformers import CLIPTextModel, CLIPTokenizer

    from asva.pipelines.avsyncd import AVSyncDPipeline
    from asva.pipelines.components import AVSyncDAudioEncoder, AVSyncDUNet
    from asva.pipelines.schedulers import DEFAULT_SCHEDULER, make_scheduler

    manifest = json.loads((path / "asva_model.json").read_text())
    components = manifest.get("components", {})
    missing = [name for name in ("unet", "vae", "imagebind") if name not in components]
    if missing:
        raise ValueError(f"{path} lacks {missing}; animation needs the UNet, the VAE and ImageBind "
                         f"(re-run `asva convert` with --imagebind)")
    kwargs = {} if dtype is None else {"dtype": dtype}
    parts = {
        "unet": AVSyncDUNet.from_pretrained(path / components["unet"], **kwargs),
        "audio_encoder": AVSyncDAudioEncoder.from_pretrained(path / components["imagebind"], **kwargs),
        "vae": AutoencoderKL.from_pretrained(path / components["vae"], **kwargs),
    }
    if "text_encoder" in components and "tokenizer" in components:
        parts["text_encoder"] = CLIPTextModel.from_pretrained(path / components["text_encoder"], **kwargs)
        parts["tokenizer"] = CLIPTokenizer.from_pretrained(path / components["tokenizer"])
    if "prompt_table" in components:
        from asva.pipelines.prompts import PromptTable

        parts["prompt_table"] = PromptTable.from_pretrained(path / components["prompt_table"], **kwargs)
    pipe = AVSyncDPipeline(scheduler=make_scheduler(DEFAULT_SCHEDULER), **parts)
    return pipe if dtype is None else pipe.to(dtype)


def training_size(folder: Path) -> int | tuple[int, int] | None:
    """The frame size a model was trained at (a side, or (height, width)), from the `training.json`
    that `asva train` exports."""
    from asva.media.transform import normalize_size

    path = Path(folder) / "training.json"
    try:
        return normalize_size(json.loads(path.read_text())["config"]["data"]["size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pick_device(name: str) -> torch.device:
    """"auto" (cuda, then mps, then cpu), "cpu", "cuda[:i]" or "mps"; a ValueError if unavailable."""
    mps = getattr(torch.backends, "mps", None)
    has_mps = mps is not None and mps.is_available()
    available = {"cuda": torch.cuda.is_available(), "mps": has_mps, "cpu": True}
    if name == "auto":
        return torch.device(next(kind for kind, ok in available.items() if ok))
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ValueError(f"--device {name!r} is not a device name ({err})") from err
    if not available.get(device.type, False):
        raise ValueError(f"--device {name}: not available on this machine")
    return device


def check_dtype(device: torch.device, dtype: torch.dtype) -> None:
    """Raise unless `device` can run convolutions and matmuls in `dtype`."""
    try:
        x = torch.ones(1, 2, 4, 4, device=device, dtype=dtype)
        torch.nn.functional.conv2d(x, torch.ones(2, 2, 3, 3, device=device, dtype=dtype), padding=1)
        (x.flatten(1) @ x.flatten(1).T).sum().item()
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"--dtype {dtype} is not supported on {device} ({err})") from err


@contextlib.contextmanager
def quiet_loading(quiet: bool):
    """Hide diffusers'/transformers' loading bars when `quiet`, restoring them afterwards."""
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

