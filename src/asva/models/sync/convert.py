"""Official sync classifier weights -> this package's module names, loaded strictly.

The released classifier (`.../checkpoint-40000/modules`) is three diffusers folders,
`audio_encoder/`, `video_encoder/` and `head/`, each holding `diffusion_pytorch_model.bin`
(or `.safetensors`) whose keys lack the folder name. A single file with the composite keys
(`audio_encoder.conv1.0.weight`, ...) works too, and so does a folder written by
`save_sync_classifier` (`config.json` + `model.safetensors`, in this package's own names).

Every official key goes through one ordered rename table (`SYNC_RENAMES`, applied with
`asva.models.checkpoint.apply_renames`); the result must then match the model exactly: every
missing, unexpected and mis-shaped key is collected in one `StateDictMismatch` (a ValueError).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from asva.models.checkpoint import apply_renames, check_state_dict, load_strict, read_state_dict
from asva.utils import atomic_path

from .config import SyncClassifierConfig
from .model import SyncClassifier

SYNC_WHAT = "sync classifier (RelSync / AlignSync)"
NATIVE_FORMAT = "asva-sync-classifier"
_PARTS = ("audio_encoder", "video_encoder", "head")

_VIDEO_LAYERS = (  # official R(2+1)D block layer -> ours
    ("spt_conv1", "spatial1"), ("spt_bn1", "norm1"), ("tmp_conv1", "temporal1"), ("tmp_bn1", "norm2"),
    ("spt_conv2", "spatial2"), ("spt_bn2", "norm3"), ("tmp_conv2", "temporal2"), ("out_bn", "out_norm"),
    ("res_conv", "shortcut"),
)

# official composite name -> this package's name; applied in order, each to the running key
SYNC_RENAMES: tuple[tuple[str, str], ...] = (
    (r"^audio_encoder\.conv1\.0\.", "audio_encoder.stem.conv."),
    (r"^audio_encoder\.conv1\.1\.", "audio_encoder.stem.norm."),
    *((rf"^audio_encoder\.block{i + 1}\.", f"audio_encoder.blocks.{i}.") for i in range(4)),
    (r"^(audio_encoder\.blocks\.\d+)\.bn([12])\.", r"\1.norm\2."),
    (r"^video_encoder\.conv1\.0\.", "video_encoder.stem.conv."),
    (r"^video_encoder\.conv1\.1\.", "video_encoder.stem.norm."),
    *((rf"^video_encoder\.conv{i + 2}x\.", f"video_encoder.stages.{i}.") for i in range(4)),
    *((rf"^(video_encoder\.stages\.\d+\.\d+)\.{old}\.", rf"\1.{new}.") for old, new in _VIDEO_LAYERS),
    (r"^head\.fc\.0\.", "head.hidden.0."),
    (r"^head\.fc\.3\.", "head.hidden.1."),
    (r"^head\.fc\.6\.", "head.out."),
)


# AVID-CMA (facebookresearch/AVID-CMA) checkpoint: {"model": {"module.audio_model.<official audio_encoder
# key>", "module.video_model.<official video_encoder key>", ...}}, as the official avsync/models/audio.py
# and video.py read it; then the classifier's own table above.
AVID_CMA_RENAMES: tuple[tuple[str, str], ...] = (
    (r"^module\.audio_model\.", "audio_encoder."),
    (r"^module\.video_model\.", "video_encoder."),
)
_AVID_TRUNKS = ("module.audio_model.", "module.video_model.")


def convert_avid_cma_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """The audio and video trunks of an AVID-CMA checkpoint (`..._checkpoint.pth.tar`) in this package's
    names (`audio_encoder.*`, `video_encoder.*`). Read with `torch.load(weights_only=True)`; the
    checkpoint's other entries (optimizer, memory bank, heads) are not used."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"AVID-CMA checkpoint {path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a pickle of more than tensors, truncated, or not a checkpoint
        raise ValueError(f"cannot read {path} as an AVID-CMA checkpoint ({type(err).__name__}: "
                         f"{str(err).splitlines()[0]})") from err
    state = obj.get("model") if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not an AVID-CMA checkpoint: expected a dict with a 'model' state dict")
    trunks = {k: v for k, v in state.items() if isinstance(k, str) and k.startswith(_AVID_TRUNKS)}
    if not trunks:
        raise ValueError(f"{path}: no 'module.audio_model.*' or 'module.video_model.*' keys in its 'model' "
                         f"(first keys: {list(state)[:4]})")
    return apply_renames(apply_renames(trunks, AVID_CMA_RENAMES), SYNC_RENAMES)


def load_avid_cma_trunks(model: SyncClassifier, path: str | Path) -> None:
    """Initialise `model`'s audio and video encoders from an AVID-CMA checkpoint, strictly: every key
    and shape of both encoders must be there (the head stays as built)."""
    state = convert_avid_cma_checkpoint(path)
    trunks = ("audio_encoder.", "video_encoder.")
    expected = {k: v for k, v in model.state_dict().items() if k.startswith(trunks)}
    check_state_dict(expected, state, source=f"AVID-CMA checkpoint {path}")
    model.load_state_dict(state, strict=False)


def _read(path: Path) -> dict[str, torch.Tensor]:
    try:
        return read_state_dict(path)
    except ValueError as err:
        raise ValueError(f"{SYNC_WHAT}: {err}") from err


def _is_native(path: Path) -> bool:
    return path.is_dir() and (path / "model.safetensors").is_file()


def _read_official_folder(folder: Path) -> dict[str, torch.Tensor]:
    if (folder / "modules").is_dir():  # accept the training checkpoint folder above `modules/`
        folder = folder / "modules"
    absent = [p for p in _PARTS if not (folder / p).is_dir()]
    if absent:
        raise ValueError(
            f"{SYNC_WHAT}: {folder} lacks the folders {absent}; expected audio_encoder/, video_encoder/ "
            "and head/ (the official release) or config.json + model.safetensors (save_sync_classifier)"
        )
    return {f"{part}.{k}": v for part in _PARTS for k, v in _read(folder / part).items()}


def convert_sync_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Official (or native) sync classifier weights at `path` -> state dict in this package's names."""
    path = Path(path)
    if _is_native(path):
        return _read(path / "model.safetensors")
    state = _read_official_folder(path) if path.is_dir() else _read(path)
    return apply_renames(state, SYNC_RENAMES)


def load_sync_classifier(
    path: str | Path,
    config: SyncClassifierConfig | None = None,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> SyncClassifier:
    """Build the classifier, load `path` strictly, and return it in eval mode without gradients.

    The config is `config`, else the folder's `config.json` (native folders), else the official one.
    """
    path = Path(path)
    if config is None and _is_native(path) and (path / "config.json").is_file():
        data = json.loads((path / "config.json").read_text())
        if data.pop("format", None) != NATIVE_FORMAT:
            raise ValueError(f"{path / 'config.json'} is not an {NATIVE_FORMAT} config")
        config = SyncClassifierConfig.from_dict(data)
    model = SyncClassifier(config or SyncClassifierConfig())
    load_strict(model, convert_sync_checkpoint(path), source=f"{SYNC_WHAT} weights {path}")
    return model.to(device=device, dtype=dtype).eval().requires_grad_(False)


def load_sync_model(name_or_path: str | Path = "sync-synth-tiny", *, device: str | torch.device = "cpu",
                    dtype: torch.dtype = torch.float32) -> SyncClassifier:
    """A sync classifier by registry name (`asva.models.registry`, e.g. the bundled "sync-synth-tiny")
    or by folder / file path."""
    from asva.models.registry import resolve_sync_model

    return load_sync_classifier(resolve_sync_model(name_or_path), device=device, dtype=dtype)


def save_sync_classifier(model: SyncClassifier, path: str | Path) -> Path:
    """Write `path/config.json` and `path/model.safetensors` (this package's names), atomically."""
    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path, is_dir=True) as tmp:
        config = {"format": NATIVE_FORMAT, **model.config.to_dict()}
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        save_file(state, str(tmp / "model.safetensors"))
    return path
