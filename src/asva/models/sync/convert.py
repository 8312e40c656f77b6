"""Checkpoint reading, key renaming and strict loading; the official sync classifier's rename table.

The released classifier (`.../checkpoint-40000/modules`) is three diffusers folders,
`audio_encoder/`, `video_encoder/` and `head/`, each holding `diffusion_pytorch_model.bin`
(or `.safetensors`) whose keys lack the folder name. A single file with the composite keys
(`audio_encoder.conv1.0.weight`, ...) works too, and so does a folder written by
`save_sync_classifier` (`config.json` + `model.safetensors`, in this package's own names).

Every official key goes through one ordered rename table; the result must then match the model
exactly: every missing, unexpected and mis-shaped key is reported in one `ValueError`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from asva.utils import atomic_path

from .config import SyncClassifierConfig
from .model import SyncClassifier

Rename = tuple[str, "str | Callable[[re.Match], str] | None"]
SYNC_WHAT = "sync classifier (RelSync / AlignSync)"
_PARTS = ("audio_encoder", "video_encoder", "head")
_PART_FILES = ("diffusion_pytorch_model.bin", "diffusion_pytorch_model.safetensors")
NATIVE_FORMAT = "asva-sync-classifier"


# --------------------------------------------------------------------------- generic helpers
def read_state_dict(path: str | Path, *, what: str) -> dict[str, torch.Tensor]:
    """Read a flat {name: tensor} dict from a `.safetensors` file or a torch pickle (weights only).

    `what` names the model / metric that needs the file, for the error messages.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what}: weight file {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            obj = load_file(str(path), device="cpu")
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, foreign pickle, not a checkpoint at all ...
        reason = f"{type(err).__name__}: {err}"
        raise ValueError(f"{what}: cannot read {path} as a weight file ({reason})") from err
    if isinstance(obj, dict) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for wrapper in ("state_dict", "model"):
            if isinstance(obj.get(wrapper), dict):
                obj = obj[wrapper]
                break
    if not isinstance(obj, dict) or not obj:
        raise ValueError(f"{what}: {path} holds {type(obj).__name__}, expected a non-empty dict of tensors")
    bad = [f"{k!r} ({type(v).__name__})" for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f"{what}: {path} has non-tensor entries: {', '.join(bad[:10])}" + (
            f" and {len(bad) - 10} more" if len(bad) > 10 else ""))
    return {str(k): v for k, v in obj.items()}


def rename_state_dict(
    state_dict: dict[str, torch.Tensor], renames: Sequence[Rename]
) -> dict[str, torch.Tensor]:
    """Apply the first matching (pattern, replacement) of `renames` to each key.

    A replacement of None drops the key on purpose (a known-unused checkpoint entry); a key that no
    pattern matches is kept as it is, so the strict load reports it if the model lacks it.
    """
    compiled = [(re.compile(pattern), repl) for pattern, repl in renames]
    out: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    for key, value in state_dict.items():
        new = key
        for pattern, repl in compiled:
            if pattern.search(key):
                new = None if repl is None else pattern.sub(repl, key, count=1)
                break
        if new is None:
            continue
        if new in out:
            raise ValueError(f"checkpoint keys {origin[new]!r} and {key!r} both map to {new!r}")
        out[new], origin[new] = value, key
    return out


def _shape(t: torch.Tensor) -> str:
    return "x".join(str(s) for s in t.shape) or "scalar"


def load_state_dict_strict(module: nn.Module, state_dict: dict[str, torch.Tensor], *, source: str) -> None:
    """Load `state_dict` into `module`, or raise one ValueError listing every key problem."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mis_shaped = [
        f"{k} (checkpoint {_shape(v)} vs model {_shape(expected[k])})"
        for k, v in state_dict.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    problems = [
        (f"{len(items)} {label}", items)
        for label, items in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", mis_shaped))
        if items
    ]
    if problems:
        detail = "; ".join(f"{head}: {', '.join(items)}" for head, items in problems)
        raise ValueError(
            f"{source} does not fit {type(module).__name__} "
            f"({len(expected)} entries expected, {len(state_dict)} given): {detail}"
        )
    module.load_state_dict(state_dict, strict=True)


# --------------------------------------------------------------------------- sync classifier
_BLOCK_LAYERS = {
    "spt_conv1": "spatial1", "spt_bn1": "norm1", "tmp_conv1": "temporal1", "tmp_bn1": "norm2",
    "spt_conv2": "spatial2", "spt_bn2": "norm3", "tmp_conv2": "temporal2", "out_bn": "out_norm",
    "res_conv": "shortcut",
}


def _audio_block(m: re.Match) -> str:
    layer = {"conv": "conv", "bn": "norm"}[m[2]]
    return f"audio_encoder.blocks.{int(m[1]) - 1}.{layer}{m[3]}."


def _video_block(m: re.Match) -> str:
    layer = _BLOCK_LAYERS.get(m[3])
    if layer is None:
        return m[0]  # unknown layer: keep the name so the strict load reports it
    return f"video_encoder.stages.{int(m[1]) - 2}.{m[2]}.{layer}."


# official composite name -> this package's name; the first matching pattern wins
SYNC_RENAMES: tuple[Rename, ...] = (
    (r"^audio_encoder\.conv1\.0\.", "audio_encoder.stem.conv."),
    (r"^audio_encoder\.conv1\.1\.", "audio_encoder.stem.norm."),
    (r"^audio_encoder\.block(\d+)\.(conv|bn)([12])\.", _audio_block),
    (r"^video_encoder\.conv1\.0\.", "video_encoder.stem.conv."),
    (r"^video_encoder\.conv1\.1\.", "video_encoder.stem.norm."),
    (r"^video_encoder\.conv([2-9])x\.(\d+)\.(\w+?)\.", _video_block),
    (r"^head\.fc\.0\.", "head.hidden.0."),
    (r"^head\.fc\.3\.", "head.hidden.1."),
    (r"^head\.fc\.6\.", "head.out."),
)


def _read_sync_folder(folder: Path) -> dict[str, torch.Tensor]:
    if (folder / "modules").is_dir():  # accept the training checkpoint folder above `modules/`
        folder = folder / "modules"
    absent = [p for p in _PARTS if not (folder / p).is_dir()]
    if absent:
        raise ValueError(
            f"{SYNC_WHAT}: {folder} lacks the folders {absent}; expected audio_encoder/, video_encoder/ "
            "and head/ (the official release) or config.json + model.safetensors (save_sync_classifier)"
        )
    state: dict[str, torch.Tensor] = {}
    for part in _PARTS:
        files = [folder / part / name for name in _PART_FILES if (folder / part / name).is_file()]
        if not files:
            raise ValueError(f"{SYNC_WHAT}: weight file {folder / part / _PART_FILES[0]} does not exist")
        state.update({f"{part}.{k}": v for k, v in read_state_dict(files[0], what=SYNC_WHAT).items()})
    return state


def convert_sync_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Official (or native) sync classifier weights at `path` -> state dict in this package's names."""
    path = Path(path)
    if path.is_dir() and (path / "model.safetensors").is_file():
        return read_state_dict(path / "model.safetensors", what=SYNC_WHAT)
    if path.is_dir():
        state = _read_sync_folder(path)
    else:
        state = read_state_dict(path, what=SYNC_WHAT)
    return rename_state_dict(state, SYNC_RENAMES)


def load_sync_classifier(
    path: str | Path,
    config: SyncClassifierConfig | None = None,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> SyncClassifier:
    """Build the classifier, load `path` strictly, and return it in eval mode without gradients.

    The config comes from `config`, else from the folder's `config.json` (native folders), else the
    official preset.
    """
    path = Path(path)
    if config is None and (path / "config.json").is_file() and (path / "model.safetensors").is_file():
        data = json.loads((path / "config.json").read_text())
        if data.pop("format", None) != NATIVE_FORMAT:
            raise ValueError(f"{path / 'config.json'} is not an {NATIVE_FORMAT} config")
        config = SyncClassifierConfig.from_dict(data)
    model = SyncClassifier(config or SyncClassifierConfig())
    load_state_dict_strict(model, convert_sync_checkpoint(path), source=f"{SYNC_WHAT} weights {path}")
    return model.to(device=device, dtype=dtype).eval().requires_grad_(False)


def save_sync_classifier(model: SyncClassifier, path: str | Path) -> Path:
    """Write `path/config.json` and `path/model.safetensors` (this package's names), atomically."""
    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path, is_dir=True) as tmp:
        (tmp / "config.json").write_text(
            json.dumps({"format": NATIVE_FORMAT, **model.config.to_dict()}, indent=2) + "\n"
        )
        save_file(state, str(tmp / "model.safetensors"))
    return path
