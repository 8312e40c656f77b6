"""Atomic training checkpoints with accelerate: `OUTPUT/checkpoints/checkpoint-<step>/`.

Each checkpoint folder holds what `Accelerator.save_state` writes (model, optimizer, scheduler,
RNG states) plus `trainer_state.json` ({"step": ...}). The folder is written under a temporary
name and renamed into place only when complete (`asva.utils.atomic_path`), so a run killed while
saving leaves the previous checkpoints intact and never a half-written "latest". Only the last
`keep` checkpoints are kept. Nothing here is specific to the sync classifier.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from asva.utils import atomic_path

STATE_FILE = "trainer_state.json"
_NAME = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_dir(output: Path, step: int) -> Path:
    return Path(output) / "checkpoints" / f"checkpoint-{step:07d}"


def list_checkpoints(output: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints under OUTPUT/checkpoints, oldest first, as (step, folder)."""
    root = Path(output) / "checkpoints"
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir()
             if (m := _NAME.match(p.name)) and (p / STATE_FILE).is_file()]
    return sorted(found)


def save_checkpoint(accelerator, output: Path, step: int, *, keep: int = 2,
                    extra: dict | None = None) -> Path:
    """Save the accelerator's state for `step` atomically, then delete all but the newest `keep`."""
    if keep < 1:
        raise ValueError(f"keep must be >= 1 checkpoints, got {keep}")
    target = checkpoint_dir(output, step)
    if accelerator.is_main_process:
        with atomic_path(target, is_dir=True) as tmp:
            accelerator.save_state(str(tmp))
            (tmp / STATE_FILE).write_text(json.dumps({"step": step, **(extra or {})}, indent=1) + "\n")
        for _, old in list_checkpoints(output)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return target


def resolve_resume(output: Path, resume: str | None) -> Path | None:
    """The checkpoint folder to resume from: None, "latest" (None when there is none yet) or a path."""
    if resume is None:
        return None
    if resume == "latest":
        found = list_checkpoints(output)
        return found[-1][1] if found else None
    path = Path(resume)
    if not (path / STATE_FILE).is_file():
        raise ValueError(f"--resume {resume!r}: not a checkpoint folder (no {STATE_FILE}); "
                         "expected 'latest' or OUTPUT/checkpoints/checkpoint-<step>")
    return path


def load_checkpoint(accelerator, folder: Path) -> dict:
    """Restore the accelerator's state from `folder`; returns its trainer_state.json."""
    accelerator.load_state(str(folder))
    return json.loads((Path(folder) / STATE_FILE).read_text())
