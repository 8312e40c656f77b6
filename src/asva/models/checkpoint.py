"""Reading weight files, renaming keys through an ordered table, and strict loading.

- `read_state_dict(path)`: a `.safetensors` file, a torch pickle of plain tensors (read with
  `weights_only=True`), or a diffusers folder (`diffusion_pytorch_model[.safetensors|.bin]`,
  sharded or not). Anything else raises a ValueError naming the file.
- `apply_renames(state, table)`: every (pattern, replacement) regex of the ordered table is applied
  to every key, in order; two keys mapping to one name is an error.
- `check_state_dict` / `load_strict`: every missing, unexpected and mis-shaped key is reported in one
  `StateDictMismatch` (a ValueError); nothing is ever silently re-initialised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

Renames = Sequence[tuple[str, str]]
_FOLDER_FILES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin", "model.safetensors")
_SHOWN = 8  # keys quoted per kind in an error message


def _read_file(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix == ".safetensors":
            obj = load_file(str(path), device="cpu")
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated file, a pickle of more than tensors, not a checkpoint at all
        raise ValueError(f"cannot read {path} as a weight file ({type(err).__name__}: {err})") from err
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj:
        raise ValueError(f"{path} holds {type(obj).__name__}, expected a non-empty dict of tensors")
    bad = [str(k) for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f"{path} has {len(bad)} entries that are not named tensors, first: {bad[:_SHOWN]}")
    return obj


def _read_sharded(index: Path) -> dict[str, torch.Tensor]:
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{index} is not a shard index with a 'weight_map' ({err})") from err
    state: dict[str, torch.Tensor] = {}
    for shard in sorted(set(weight_map.values())):
        state.update(_read_file(index.parent / shard))
    return state


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """{name: tensor} from a weight file or a diffusers model folder (see the module doc)."""
    path = Path(path)
    if path.is_dir():
        for name in _FOLDER_FILES:
            if (path / name).is_file():
                return _read_file(path / name)
            if (path / f"{name}.index.json").is_file():
                return _read_sharded(path / f"{name}.index.json")
        raise ValueError(f"{path} holds no weights; expected one of {list(_FOLDER_FILES)} (or a shard index)")
    if not path.is_file():
        raise ValueError(f"weight file {path} does not exist")
    return _read_file(path)


def apply_renames(state: dict[str, torch.Tensor], renames: Renames) -> dict[str, torch.Tensor]:
    """Rename every key through the ordered regex table; a key no pattern touches stays as it is."""
    table = [(re.compile(pattern), repl) for pattern, repl in renames]
    out: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    for key, value in state.items():
        new = key
        for pattern, repl in table:
            new = pattern.sub(repl, new)
        if new in out:
            raise ValueError(f"checkpoint keys {origin[new]!r} and {key!r} both map to {new!r}")
        out[new], origin[new] = value, key
    return out


class StateDictMismatch(ValueError):
    """Keys that are missing, unexpected or of the wrong shape; all of them are in the attributes."""

    def __init__(self, source: str, missing: list[str], unexpected: list[str], mis_shaped: list[str]):
        self.missing, self.unexpected, self.mis_shaped = missing, unexpected, mis_shaped
        parts = [
            f"{len(keys)} {label} (first: {', '.join(keys[:_SHOWN])}{', ...' if len(keys) > _SHOWN else ''})"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", mis_shaped))
            if keys
        ]
        super().__init__(f"{source} does not match the model: {'; '.join(parts)}")


def check_state_dict(
    expected: dict[str, torch.Tensor],
    given: dict[str, torch.Tensor],
    *,
    source: str,
    may_be_missing: Iterable[str] = (),
) -> None:
    """Raise StateDictMismatch unless `given` has exactly the keys and shapes of `expected`.

    Keys in `may_be_missing` may be absent from `given` (e.g. a fresh adapter on SD weights).
    """
    optional = set(may_be_missing)
    missing = [k for k in expected if k not in given and k not in optional]
    unexpected = [k for k in given if k not in expected]
    mis_shaped = [
        f"{k} {tuple(v.shape)} (model {tuple(expected[k].shape)})"
        for k, v in given.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or mis_shaped:
        raise StateDictMismatch(source, missing, unexpected, mis_shaped)


def load_strict(
    model: nn.Module,
    state: dict[str, torch.Tensor],
    *,
    source: str,
    may_be_missing: Iterable[str] = (),
    assign: bool = False,
) -> None:
    """Check `state` against `model` (see `check_state_dict`), then load it.

    With `assign=True` the tensors are taken over, not copied: build the model on the `meta` device
    to hold the weights only once (keys allowed to be missing must then be materialised by the caller).
    """
    check_state_dict(model.state_dict(), state, source=source, may_be_missing=may_be_missing)
    model.load_state_dict(state, strict=False, assign=assign)
