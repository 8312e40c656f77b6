"""Training checkpoints (shared by `asva train` and `asva train-sync`) and the exported model folder.

Every checkpoint is a folder `OUTPUT/checkpoints/<prefix><step:07d>/`, written under a temporary
name and renamed when complete (`asva.utils.atomic_path`), so a crash never leaves a half
checkpoint; its JSON state file ({"step": ..., ...}) is written last. Only the newest `keep`
checkpoints are kept, and `--resume latest` picks the newest complete one. A `CheckpointLayout`
names the folders and the state file; the two trainers differ only in what else the folder holds:

`asva train` (`TRAIN_CHECKPOINTS`, `step-NNNNNNN/`, `save_checkpoint` / `load_checkpoint`):

    trainable.safetensors   the trainable parameters (names of the `DiffusionLoss` module)
    ema.safetensors         their exponential moving average (when train.ema_decay > 0)
    optimizer.pt            AdamW state;  scheduler.pt: the LR schedule's state
    rng.pt                  Python, NumPy and torch RNG states (of process 0)
    state.json              {"step": ..., "samples": ...}: the data position follows from the step
    <part>/                 parts this run built (patch autoencoder, prompt table, audio encoder)

`asva train-sync` and any other accelerate trainer (`ACCELERATE_CHECKPOINTS`, `checkpoint-NNNNNNN/`,
`save_accelerate_checkpoint` / `load_accelerate_checkpoint`): what `Accelerator.save_state` writes
(model, optimizer, scheduler, RNG states) plus `trainer_state.json` ({"step": ..., **extra}).

`export_model` writes the pipeline folder that `asva animate --model DIR` loads, plus
`training.json` describing how it was made.
"""
from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from asva.utils import atomic_path

TRAINING_INFO = "training.json"
EMA_FILE = "ema.safetensors"


@dataclass(frozen=True)
class CheckpointLayout:
    """Checkpoint folders `OUTPUT/checkpoints/<prefix><step:07d>/`, complete once `state_file` exists."""

    prefix: str
    state_file: str

    def folder(self, output: Path, step: int) -> Path:
        return Path(output) / "checkpoints" / f"{self.prefix}{step:07d}"

    def step_of(self, folder: Path) -> int:
        """The step of a checkpoint folder of this layout."""
        match = re.fullmatch(re.escape(self.prefix) + r"(\d+)", Path(folder).name)
        if match is None:
            raise ValueError(f"{folder} is not named {self.prefix}<step>")
        return int(match.group(1))

    def find(self, output: Path) -> list[Path]:
        """Complete checkpoints under OUTPUT/checkpoints, oldest first."""
        root = Path(output) / "checkpoints"
        if not root.is_dir():
            return []
        pattern = re.compile(re.escape(self.prefix) + r"\d+")
        found = [p for p in root.iterdir() if pattern.fullmatch(p.name) and (p / self.state_file).is_file()]
        return sorted(found, key=self.step_of)

    def resolve(self, resume: str | None, output: Path) -> Path | None:
        """The folder to resume from: None for None, the newest for "latest" (None when there is
        none yet), otherwise the given checkpoint folder."""
        if resume is None:
            return None
        if resume == "latest":
            found = self.find(output)
            return found[-1] if found else None
        path = Path(resume)
        if not (path / self.state_file).is_file():
            raise ValueError(f"--resume {resume!r}: not a checkpoint folder (no {self.state_file}); "
                             f"expected 'latest' or OUTPUT/checkpoints/{self.prefix}<step>")
        return path

    def write(self, output: Path, step: int, fill: Callable[[Path], None], state: dict, *,
              keep: int) -> Path:
        """Write checkpoint `step` atomically (`fill(tmp)` writes the contents, then the state file
        {"step": step, **state}), then delete all but the newest `keep` checkpoints."""
        if keep < 1:
            raise ValueError(f"keep must be >= 1 checkpoints, got {keep}")
        path = self.folder(output, step)
        with atomic_path(path, is_dir=True) as tmp:
            fill(tmp)
            (tmp / self.state_file).write_text(json.dumps({"step": step, **state}, indent=1) + "\n")
        for old in self.find(output)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
        return path

    def read_state(self, folder: Path) -> dict:
        return json.loads((Path(folder) / self.state_file).read_text())


TRAIN_CHECKPOINTS = CheckpointLayout("step-", "state.json")
ACCELERATE_CHECKPOINTS = CheckpointLayout("checkpoint-", "trainer_state.json")


# ---------------------------------------------------------------- asva train


def list_checkpoints(output: Path) -> list[Path]:
    """Complete `asva train` checkpoints of a run, oldest first."""
    return TRAIN_CHECKPOINTS.find(output)


def resolve_resume(resume: str, output: Path) -> Path:
    """`latest` -> the newest `asva train` checkpoint under `output`; otherwise the given folder."""
    path = TRAIN_CHECKPOINTS.resolve(resume, output)
    if path is None:
        raise ValueError(f"--resume latest: no checkpoints under {Path(output) / 'checkpoints'}")
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
                    samples: int, keep: int, ema=None) -> Path:
    """Write checkpoint `step` atomically and delete all but the newest `keep` (call on process 0);
    `ema` (a `WeightEMA`) is saved as ema.safetensors."""
    def fill(tmp: Path) -> None:
        save_file(trainable_state(module), str(tmp / "trainable.safetensors"))
        if ema is not None:
            save_file(ema.state_dict(), str(tmp / EMA_FILE))
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(lr_scheduler.state_dict(), tmp / "scheduler.pt")
        torch.save(rng_state(), tmp / "rng.pt")
        for name, part in parts.items():
            part.save_pretrained(tmp / name)

    return TRAIN_CHECKPOINTS.write(output, step, fill, {"samples": samples}, keep=keep)


def load_checkpoint(path: Path, module, optimizer, lr_scheduler, *, ema=None) -> dict:
    """Restore weights, optimizer, LR schedule, RNG states (and the `WeightEMA` `ema`); returns state.json."""
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
    if ema is not None:
        if not (path / EMA_FILE).is_file():
            raise ValueError(f"checkpoint {path} has no {EMA_FILE}, but this run averages weights "
                             f"(train.ema_decay={ema.decay}); resume with train.ema_decay=0")
        ema.load_state_dict(load_file(str(path / EMA_FILE)))
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
    lr_scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    set_rng_state(torch.load(path / "rng.pt", weights_only=False))
    return TRAIN_CHECKPOINTS.read_state(path)


# ---------------------------------------------------------------- accelerate trainers (asva train-sync)


def save_accelerate_checkpoint(accelerator, output: Path, step: int, *, keep: int = 2,
                               extra: dict | None = None) -> Path:
    """`Accelerator.save_state` as checkpoint `step` (written by the main process, atomically, keeping
    the newest `keep`), with {"step": step, **extra} in trainer_state.json; every process waits."""
    if accelerator.is_main_process:
        ACCELERATE_CHECKPOINTS.write(output, step, lambda tmp: accelerator.save_state(str(tmp)),
                                     extra or {}, keep=keep)
    accelerator.wait_for_everyone()
    return ACCELERATE_CHECKPOINTS.folder(output, step)


def load_accelerate_checkpoint(accelerator, folder: Path) -> dict:
    """Restore the accelerator's state from `folder`; returns its trainer_state.json."""
    accelerator.load_state(str(folder))
    return ACCELERATE_CHECKPOINTS.read_state(folder)


# ---------------------------------------------------------------- the exported model folder


def export_model(folder: Path, components, scheduler, info: dict, window_anchor: str = "previous") -> Path:
    """Write an `AVSyncDPipeline` folder (save_pretrained) plus `training.json`, atomically;
    `scheduler` (on the run's training schedule) becomes the folder's default sampler and
    `window_anchor` its default for long audio."""
    from asva.training.avsyncd.validation import in_memory_pipeline

    pipe = in_memory_pipeline(components, scheduler, window_anchor)
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
    loss = f"mean loss over the last logged steps {info.get('final_loss')}"
    if info.get("last_loss") is not None:  # what `asva train` printed as "last loss"
        loss = f"last loss {info['last_loss']:.4f} ({loss})"
    lines = [f"trained: {info.get('steps')} steps of batch {info.get('batch_size')} "
             f"on {info.get('processes', 1)} process(es), {info.get('wall_time_s')} s wall time, {loss}",
             f"training data: {info.get('data_description') or info.get('data')} "
             f"({data.get('num_frames')} frames at {data.get('fps')} fps, {data.get('size')} px)",
             f"optimizer: AdamW lr {train.get('lr')}, weight decay {train.get('weight_decay')}, "
             f"null audio p={train.get('null_audio_prob')}"]
    if info.get("command"):
        lines.append(f"command: {info['command']}")
    if info.get("note"):
        lines.append(f"note: {info['note']}")
    return lines
