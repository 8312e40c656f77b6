"""Loading `imagebind_huge.pth` through one ordered rename table and a strict load; native folders.

The official checkpoint holds all six ImageBind modalities (1311 entries, float32). The audio,
vision and text entries go through `IMAGEBIND_RENAMES` and must then fit the model exactly: every
missing, unexpected or mis-shaped entry is reported in one `ValueError` naming the file. Depth,
thermal and IMU entries, and those of any branch not built, are set aside explicitly and listed in
`model.load_report`. The buffers the official model stores (the text causal mask, the fixed audio
logit scale) are loaded like parameters.

A converted ImageBind is a folder: `config.json` (format, modalities, `ImageBindConfig`) and
`model.safetensors` in this package's names (`save_imagebind`, `load_imagebind_folder`).
"""
from __future__ import annotations

import json
import logging
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from asva.models.checkpoint import apply_renames, check_state_dict
from asva.utils import atomic_path

from .config import ImageBindConfig, resolve_config
from .model import MODALITIES, ImageBind, check_modalities

log = logging.getLogger(__name__)

FOLDER_FORMAT = "asva-imagebind"
OTHER_MODALITIES = ("depth", "thermal", "imu")  # in the checkpoint, not implemented here
_BLOCK = r"^modality_trunks\.(audio|vision|text)\.blocks\.(\d+)\."
_MODALITY = re.compile(r"^modality_(?:preprocessors|trunks|heads|postprocessors)\.(\w+)\.")

# official name -> this package's name, applied in order (each pattern is anchored on an official
# prefix, so a renamed key is never matched again)
IMAGEBIND_RENAMES: tuple[tuple[str, str], ...] = (
    # pre-processors: patch stems, CLS tokens, position embeddings, the text mask buffer
    (r"^modality_preprocessors\.audio\.rgbt_stem\.proj\.weight$", "audio.patch_embed.weight"),
    (r"^modality_preprocessors\.audio\.rgbt_stem\.norm_layer\.(weight|bias)$", r"audio.patch_norm.\1"),
    (r"^modality_preprocessors\.vision\.rgbt_stem\.proj\.1\.weight$", "vision.patch_embed.weight"),
    (r"^modality_preprocessors\.(audio|vision)\.cls_token$", r"\1.cls_token"),
    (r"^modality_preprocessors\.(audio|vision)\.pos_embedding_helper\.pos_embed$", r"\1.pos_embed"),
    (r"^modality_preprocessors\.text\.token_embedding\.weight$", "text.token_embedding.weight"),
    (r"^modality_preprocessors\.text\.pos_embed$", "text.pos_embed"),
    (r"^modality_preprocessors\.text\.mask$", "text.attn_mask"),
    # trunks: vision's ln_pre, then the blocks (packed in_proj rows q, k, v)
    (r"^modality_trunks\.vision\.pre_transformer_layer\.0\.", "vision.transformer.pre_norm."),
    (_BLOCK + r"norm_([12])\.(weight|bias)$", r"\1.transformer.blocks.\2.norm\3.\4"),
    (_BLOCK + r"attn\.in_proj_(weight|bias)$", r"\1.transformer.blocks.\2.attn.qkv.\3"),
    (_BLOCK + r"attn\.out_proj\.(weight|bias)$", r"\1.transformer.blocks.\2.attn.proj.\3"),
    (_BLOCK + r"attn\.(bias_k|bias_v)$", r"\1.transformer.blocks.\2.attn.\3"),
    (_BLOCK + r"mlp\.(fc[12])\.(weight|bias)$", r"\1.transformer.blocks.\2.mlp.\3.\4"),
    # heads: Sequential(LN, SelectElement, Linear) and text's SelectEOSAndProject(proj=(LN, Linear))
    (r"^modality_heads\.(audio|vision)\.0\.(weight|bias)$", r"\1.head.norm.\2"),
    (r"^modality_heads\.(audio|vision)\.2\.weight$", r"\1.head.proj.weight"),
    (r"^modality_heads\.text\.proj\.0\.(weight|bias)$", r"text.head.norm.\1"),
    (r"^modality_heads\.text\.proj\.1\.weight$", "text.head.proj.weight"),
    # post-processors: Sequential(Normalize, LearnableLogitScaling)
    (r"^modality_postprocessors\.(audio|text)\.1\.log_logit_scale$", r"\1.log_logit_scale"),
)


@dataclass
class LoadReport:
    """What a load took from the checkpoint and what it set aside, by modality."""

    source: str
    loaded: int = 0
    set_aside: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> str:
        aside = ", ".join(f"{m}: {len(k)}" for m, k in self.set_aside.items()) or "none"
        return f"{self.source}: loaded {self.loaded} entries; set aside {aside}"


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """A flat {name: tensor} dict from a torch pickle (weights_only) or a safetensors file.

    Zip-format pickles are memory-mapped: the entries of branches not built are never read.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"ImageBind checkpoint {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            obj = load_file(str(path), device="cpu")
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except Exception as err:  # truncated archive, foreign pickle, not a checkpoint at all ...
        raise ValueError(
            f"cannot read ImageBind checkpoint {path} as a tensor state dict ({type(err).__name__}: {err})"
        ) from err
    if not isinstance(obj, Mapping) or not obj:
        kind = type(obj).__name__
        raise ValueError(f"ImageBind checkpoint {path} holds {kind}, expected a dict of tensors")
    bad = [f"{k!r} ({type(v).__name__})" for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ValueError(f"ImageBind checkpoint {path} has entries that are not tensors: {bad[:5]}{more}")
    return {str(k): v for k, v in obj.items()}


def official_names(keys: Iterable[str]) -> dict[str, str]:
    """{this package's name: official name} for official keys (unknown keys map to themselves)."""
    return apply_renames({k: k for k in keys}, IMAGEBIND_RENAMES)


def convert_state_dict(
    state_dict: Mapping[str, torch.Tensor], modalities: Iterable[str] = MODALITIES
) -> tuple[dict[str, torch.Tensor], dict[str, list[str]]]:
    """Official entries -> (this package's entries, {modality: official keys set aside}).

    Entries of depth, thermal and IMU, and of the branches not in `modalities`, are set aside.
    """
    keep = check_modalities(modalities)
    kept: dict[str, torch.Tensor] = {}
    set_aside: dict[str, list[str]] = {}
    for key, value in state_dict.items():
        found = _MODALITY.match(key)
        modality = found[1] if found else None
        if modality in OTHER_MODALITIES or (modality in MODALITIES and modality not in keep):
            set_aside.setdefault(modality, []).append(key)
        else:
            kept[key] = value
    return apply_renames(kept, IMAGEBIND_RENAMES), set_aside


def _assemble(state: dict[str, torch.Tensor], config, modalities, report: LoadReport) -> ImageBind:
    """Build on the meta device, check strictly, assign the tensors (no copy): eval, no gradients."""
    with torch.device("meta"):
        model = ImageBind(config, modalities)
    source = f"{report.source} (ImageBind {list(model.modalities)})"
    check_state_dict(model.state_dict(), state, source=source)
    model.load_state_dict(state, strict=True, assign=True)
    report.loaded = len(state)
    model.load_report = report
    log.info(report.summary())
    return model.eval().requires_grad_(False)


def build_imagebind(
    state_dict: Mapping[str, torch.Tensor],
    config: ImageBindConfig | str = "huge",
    modalities: Iterable[str] = MODALITIES,
    *,
    source: str = "ImageBind state dict",
) -> ImageBind:
    """An ImageBind holding the official-named `state_dict`'s tensors; unbuilt branches never exist."""
    ours, set_aside = convert_state_dict(state_dict, modalities)
    return _assemble(ours, config, modalities, LoadReport(source, set_aside=set_aside))


def load_imagebind(
    path: str | Path,
    config: ImageBindConfig | str | None = None,
    modalities: Iterable[str] | None = None,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> ImageBind:
    """`imagebind_huge.pth` (or a safetensors copy), or a converted folder, loaded strictly.

    For a file, `config` defaults to the `huge` preset and `modalities` to all three; a folder
    carries its own config, and `modalities` picks branches among those it holds.
    """
    if Path(path).is_dir():
        if config is not None:
            raise ValueError(f"{path} is a converted ImageBind folder: its config.json sets the config")
        return load_imagebind_folder(path, modalities, device=device, dtype=dtype)
    source = f"ImageBind checkpoint {path}"
    model = build_imagebind(read_checkpoint(path), config or "huge", modalities or MODALITIES, source=source)
    return model.to(device=device, dtype=dtype)


def save_imagebind(model: ImageBind, folder: str | Path) -> Path:
    """Write `config.json` + `model.safetensors` (this package's names), atomically."""
    folder = Path(folder)
    meta = {"format": FOLDER_FORMAT, "version": 1, "modalities": list(model.modalities),
            "config": model.config.to_dict()}
    with atomic_path(folder, is_dir=True) as tmp:
        (tmp / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": FOLDER_FORMAT})
    return folder


def load_imagebind_folder(
    folder: str | Path,
    modalities: Iterable[str] | None = None,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> ImageBind:
    """A folder written by `save_imagebind`; only the tensors of `modalities` are read."""
    folder = Path(folder)
    meta_path, weights = folder / "config.json", folder / "model.safetensors"
    if not (meta_path.is_file() and weights.is_file()):
        raise ValueError(f"{folder} is not a converted ImageBind folder (config.json + model.safetensors)")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FOLDER_FORMAT:
        raise ValueError(f"{meta_path} has format {meta.get('format')!r}, expected {FOLDER_FORMAT!r}")
    held = check_modalities(meta["modalities"])
    wanted = check_modalities(modalities or held)
    if set(wanted) - set(held):
        raise ValueError(f"{folder} holds the branches {list(held)}, not {sorted(set(wanted) - set(held))}")
    with safe_open(str(weights), "pt", device="cpu") as f:
        state = {k: f.get_tensor(k) for k in f.keys() if k.split(".", 1)[0] in wanted}
    config = resolve_config(ImageBindConfig.from_dict(meta["config"]))
    model = _assemble(state, config, wanted, LoadReport(f"ImageBind folder {folder}"))
    return model.to(device=device, dtype=dtype)


def convert_imagebind_checkpoint(src: str | Path, out_dir: str | Path) -> Path:
    """`imagebind_huge.pth` -> a converted folder with the audio, vision and text branches."""
    return save_imagebind(load_imagebind(src), out_dir)
