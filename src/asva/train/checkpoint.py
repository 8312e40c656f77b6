"""Training checkpoints and the exported model folder.

A checkpoint is a folder `OUTPUT/checkpoints/step-NNNNNNN/`, written to a temporary sibling and
renamed when complete (so a crash never leaves a half checkpoint), holding:

    trainable.safetensors   the trainable parameters (names of the `DiffusionLoss` module)
    optimizer.pt            AdamW state;  scheduler.pt: the LR schedule's state
    rng.pt                  Python, NumPy and torch RNG states (of process 0)
    state.json              {"step": ..., "samples": ...}: the data position follows from the step
    <part>/                 parts this run built (patch autoencoder, prompt table, audio encoder)

Only the newest `keep` checkpoints are kept. `export_model` writes the pipeline folder that
`asva animate --model DIR` loads, plus `training.json` describing how it was made.
"""
from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from asva.utils import atomic_path

_NAME = re.compile(r"^step-(\d{7,})$")
TRAINING_INFO = "training.json"


def checkpoint_dir(output: Path, step: int) -> Path:
    return Path(output) / "checkpoints" / f"step-{step:07d}"


def list_checkpoints(output: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    folder = Path(output) / "checkpoints"
    found = [p for p in folder.glob("step-*") if p.is_dir() and _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))


def resolve_resume(resume: str, output: Path) -> Path:
    """`latest` -> the newest checkpoint under `output`; otherwise the given checkpoint folder."""
    if resume == "latest":
        found = list_checkpoints(output)
        if not found:
            raise ValueError(f"--resume latest: no checkpoints under {Path(output) / 'checkpoints'}")
        return found[-1]
    path = Path(resume)
    if not (path / "state.json").is_file():
        raise ValueError(f"--resume {resume!r} is not a checkpoint folder (no state.json)")
    return path


def trainable_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().contiguous() for n, p in module.named_parameters() if p.requires_grad}


def rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(output: Path, step: int, module, optimizer, lr_scheduler, parts: dict, *,
                    samples: int, keep: int) -> Path:
    """Write checkpoint `step` atomically and delete all but the newest `keep` (call on process 0)."""
    path = checkpoint_dir(output, step)
    with atomic_path(path, is_dir=True) as tmp:
        save_file(trainable_state(module), str(tmp / "trainable.safetensors"))
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(lr_scheduler.state_dict(), tmp / "scheduler.pt")
        torch.save(rng_state(), tmp / "rng.pt")
        for name, part in parts.items():
            part.save_pretrained(tmp / name)
        (tmp / "state.json").write_text(json.dumps({"step": step, "samples": samples}) + "\n")
    for old in list_checkpoints(output)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def load_checkpoint(path: Path, module, optimizer, lr_scheduler) -> dict:
    """Restore weights, optimizer, LR schedule and RNG states; returns state.json."""
    state = load_file(str(path / "trainable.safetensors"))
    params = dict(module.named_parameters())
    expected = {n for n, p in params.items() if p.requires_grad}
    if set(state) != expected:
        missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
        raise ValueError(f"checkpoint {path} does not match this run's trainable parameters: "
                         f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                         f"unexpected {extra[:5]}{'...' if len(extra) > 5 else ''}")
    with torch.no_grad():
        for name, value in state.items():
            if params[name].shape != value.shape:
                raise ValueError(f"checkpoint {path}: {name} has shape {tuple(value.shape)}, "
                                 f"this run expects {tuple(params[name].shape)}")
            params[name].copy_(value)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
    lr_scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    set_rng_state(torch.load(path / "rng.pt", weights_only=False))
    return json.loads((path / "state.json").read_text())


def export_model(folder: Path, components, scheduler, info: dict) -> Path:
    """Write an `AVSyncDPipeline` folder (save_pretrained) plus `training.json`, atomically;
    `scheduler` (on the run's training schedule) becomes the folder's default sampler."""
    from asva.train.validation import in_memory_pipeline

    pipe = in_memory_pipeline(components, scheduler)
    folder = Path(folder)
    with atomic_path(folder, is_dir=True) as tmp:
        pipe.save_pretrained(tmp)
        (tmp / TRAINING_INFO).write_text(json.dumps(info, indent=1) + "\n")
    return folder


def read_training_info(folder: str | Path) -> dict | None:
    """The `training.json` of a model folder (how it was trained), or None if it has none."""
    path = Path(folder) / TRAINING_INFO
    return json.loads(path.read_text()) if path.is_file() else None


def describe_training(folder: str | Path) -> list[str]:
    """Lines for `asva info --model DIR`: how the model in `folder` was trained ([] if unknown)."""
    info = read_training_info(folder)
    if info is None:
        return []
    cfg = info.get("config", {})
    data, train = cfg.get("data", {}), cfg.get("train", {})
    lines = [f"trained: {info.get('steps')} steps of batch {info.get('batch_size')} "
             f"on {info.get('processes', 1)} process(es), {info.get('wall_time_s')} s wall time, "
             f"final loss {info.get('final_loss')}",
             f"training data: {info.get('data_description') or info.get('data')} "
             f"({data.get('num_frames')} frames at {data.get('fps')} fps, {data.get('size')} px)",
             f"optimizer: AdamW lr {train.get('lr')}, weight decay {train.get('weight_decay')}, "
             f"null audio p={train.get('null_audio_prob')}"]
    if info.get("command"):
        lines.append(f"command: {info['command']}")
    if info.get("note"):
        lines.append(f"note: {info['note']}")
    return lines
