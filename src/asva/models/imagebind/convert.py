"""Loading `imagebind_huge.pth`: one ordered rename table and a strict load.

The official checkpoint holds all six ImageBind modalities (1311 entries, float32). The audio,
vision and text entries go through `IMAGEBIND_RENAMES` (first matching pattern wins) and must then
fit the model exactly: every missing, unrecognised or mis-shaped entry is reported in one
`ValueError` naming the file. Depth, thermal and IMU entries, and those of any branch not built, are
set aside explicitly and listed in `model.load_report`. The buffers the official model stores (the
text causal mask, the fixed audio logit scale) are loaded like parameters.
"""
from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file

from .config import ImageBindConfig
from .model import MODALITIES, ImageBind, check_modalities

log = logging.getLogger(__name__)

OTHER_MODALITIES = ("depth", "thermal", "imu")  # in the checkpoint, not implemented here
_BLOCK = r"^modality_trunks\.(audio|vision|text)\.blocks\.(\d+)\."
_MODALITY = re.compile(r"^modality_(?:preprocessors|trunks|heads|postprocessors)\.(\w+)\.")

# official name -> this package's name; the first matching pattern wins
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
    (
        r"^modality_trunks\.vision\.pre_transformer_layer\.0\.(weight|bias)$",
        r"vision.transformer.pre_norm.\1",
    ),
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
_COMPILED = tuple((re.compile(p), r) for p, r in IMAGEBIND_RENAMES)


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
    """A flat {name: tensor} dict from a torch pickle (weights_only, memory-mapped) or safetensors."""
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
        raise ValueError(f"ImageBind checkpoint {path} has entries that are not tensors: {_first(bad)}")
    return {str(k): v for k, v in obj.items()}


def rename_key(key: str) -> str:
    """Official name -> this package's name; an unknown name is returned unchanged."""
    for pattern, repl in _COMPILED:
        if pattern.match(key):
            return pattern.sub(repl, key, count=1)
    return key


def convert_state_dict(
    state_dict: Mapping[str, torch.Tensor], modalities: Iterable[str] = MODALITIES
) -> tuple[dict[str, torch.Tensor], dict[str, list[str]]]:
    """Official entries -> (this package's entries, {modality: official keys set aside}).

    Entries of depth, thermal and IMU, and of the branches not in `modalities`, are set aside.
    """
    keep = check_modalities(modalities)
    out: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    set_aside: dict[str, list[str]] = {}
    for key, value in state_dict.items():
        found = _MODALITY.match(key)
        modality = found[1] if found else None
        if modality in OTHER_MODALITIES or (modality in MODALITIES and modality not in keep):
            set_aside.setdefault(modality, []).append(key)
            continue
        new = rename_key(key)
        if new in origin:
            raise ValueError(f"checkpoint keys {origin[new]!r} and {key!r} both map to {new!r}")
        out[new], origin[new] = value, key
    return out, set_aside


def check_fits(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Raise one ValueError listing every missing, unrecognised, mis-shaped or non-float entry."""
    expected, given = model.state_dict(), state_dict.items()
    problems = {
        "missing": [k for k in expected if k not in state_dict],
        "unrecognised": [k for k in state_dict if k not in expected],
        "mis-shaped": [
            f"{k} {tuple(v.shape)}, expected {tuple(expected[k].shape)}"
            for k, v in given
            if k in expected and v.shape != expected[k].shape
        ],
        "not floating point": [f"{k} ({v.dtype})" for k, v in given if not v.is_floating_point()],
    }
    found = {label: items for label, items in problems.items() if items}
    if found:
        detail = "; ".join(f"{len(items)} {label}: {_first(items)}" for label, items in found.items())
        raise ValueError(
            f"{source} does not fit ImageBind {list(model.modalities)} "
            f"({len(expected)} entries expected, {len(state_dict)} given): {detail}"
        )


def build_imagebind(
    state_dict: Mapping[str, torch.Tensor],
    config: ImageBindConfig | str = "huge",
    modalities: Iterable[str] = MODALITIES,
    *,
    source: str = "ImageBind state dict",
) -> ImageBind:
    """An ImageBind (eval, no gradients) holding the official-named `state_dict`'s tensors.

    The model is built on the meta device and the tensors are assigned, not copied, so memory holds
    each weight once; branches not in `modalities` are never built.
    """
    ours, set_aside = convert_state_dict(state_dict, modalities)
    with torch.device("meta"):
        model = ImageBind(config, modalities)
    check_fits(model, ours, source)
    model.load_state_dict(ours, strict=True, assign=True)
    model.load_report = LoadReport(source, len(ours), set_aside)
    log.info(model.load_report.summary())
    return model.eval().requires_grad_(False)


def load_imagebind(
    path: str | Path,
    config: ImageBindConfig | str = "huge",
    modalities: Iterable[str] = MODALITIES,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> ImageBind:
    """Read `imagebind_huge.pth` (or a safetensors copy), load it strictly, return it in eval mode."""
    model = build_imagebind(read_checkpoint(path), config, modalities, source=f"ImageBind checkpoint {path}")
    return model.to(device=device, dtype=dtype)


def _first(items: list[str], n: int = 5) -> str:
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more
