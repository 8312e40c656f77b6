"""A table of precomputed prompt encodings, usable instead of a text encoder.

The released AVSyncD models condition on one CLIP text encoding per class ("dog barking", ...), which
the authors ship precomputed, plus the encoding of the empty prompt for text guidance. A pipeline can
carry this table instead of the 123M-parameter CLIP text encoder; it saves and loads like any other
diffusers model component.
"""
from __future__ import annotations

import json
import math
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config


class PromptTable(ModelMixin, ConfigMixin):
    """Named text encodings `(seq_len, dim)` plus the null (empty prompt) encoding."""

    @register_to_config
    def __init__(self, names: Sequence[str] = (), seq_len: int = 77, dim: int = 768):
        super().__init__()
        if len(set(names)) != len(names):
            raise ValueError(f"prompt names must be unique, got {list(names)}")
        self.names = list(names)
        self.embeddings = torch.nn.Parameter(torch.zeros(len(names), seq_len, dim), requires_grad=False)
        self.null_embedding = torch.nn.Parameter(torch.zeros(seq_len, dim), requires_grad=False)

    @classmethod
    def from_encodings(cls, encodings: Mapping[str, torch.Tensor], null: torch.Tensor) -> PromptTable:
        """Build a table from `{name: (seq_len, dim) or (1, seq_len, dim)}` and the null encoding."""
        null = null.reshape(null.shape[-2:])
        table = cls(names=list(encodings), seq_len=null.shape[0], dim=null.shape[1])
        with torch.no_grad():
            for i, (name, value) in enumerate(encodings.items()):
                if value.numel() != null.numel():
                    raise ValueError(f"encoding of {name!r} has shape {tuple(value.shape)}, "
                                     f"expected {tuple(null.shape)}")
                table.embeddings[i] = value.reshape(null.shape)
            table.null_embedding.copy_(null)
        return table

    def lookup(self, names: Sequence[str]) -> torch.Tensor:
        """Encodings of `names`, (b, seq_len, dim). A name is a prompt of the table or its class folder
        name (`bouncing_ball` for "bouncing ball"); an unknown name raises listing the known ones."""
        rows = []
        for name in names:
            key = name if name in self.names else name.replace("_", " ")
            if key not in self.names:
                raise ValueError(f"unknown prompt/class {name!r}; this model knows: {', '.join(self.names)}")
            rows.append(self.names.index(key))
        return self.embeddings[torch.tensor(rows, dtype=torch.long, device=self.embeddings.device)]

    def null(self, batch_size: int) -> torch.Tensor:
        """The empty-prompt encoding repeated to (batch_size, seq_len, dim)."""
        return self.null_embedding.unsqueeze(0).expand(batch_size, -1, -1)


# ---------------------------------------------------------------- the official precomputed encodings
NULL_SHAPE = (1, 77, 768)  # the official code views the null text encoding as (1, 77, 768)
CLASS_MAPPING = "class_mapping.json"  # its name in a model folder


def load_plain_tensors(path: str | Path, what: str):
    """`torch.load(path, weights_only=True)`: plain tensors, dicts and lists only; anything that needs
    unpickling code (a class, a function) is refused with a ValueError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(f"{what} {path} needs unpickling code beyond plain tensors, which asva refuses to "
                         f"run; re-save it as a tensor or a dict of tensors "
                         f"({str(err).splitlines()[0]})") from err
    except (RuntimeError, EOFError, OSError) as err:
        raise ValueError(f"{what} {path} is not a readable torch file ({err})") from err


def import_class_encodings(encodings: str | Path, null: str | Path, class_mapping: str | Path | None = None,
                           *, null_shape: tuple[int, int, int] = NULL_SHAPE) -> PromptTable:
    """A `PromptTable` from the official files.

    `encodings` (class_clip_text_encodings_stable-diffusion-v1-5.pt) maps prompt -> CLIP encoding for
    AVSync15 and Landscapes, and is one tensor for TheGreatestHits (its one class, "hitting with a
    stick"). `null` (openai-clip-l_null_text_encoding.pt) is viewed as `null_shape` (1, 77, 768). With
    `class_mapping` (class_mapping.json: class -> prompt) the table is keyed by class, each row the
    encoding of the class's prompt, as the official evaluation indexes it; without, by prompt.
    """
    table = load_plain_tensors(encodings, "--class-encodings")
    null_value = load_plain_tensors(null, "--null-text-encoding")
    if not isinstance(null_value, torch.Tensor) or null_value.numel() != math.prod(null_shape):
        raise ValueError(f"--null-text-encoding {null}: expected a tensor of {math.prod(null_shape)} values "
                         f"(viewed as {null_shape}), got {_describe(null_value)}")
    if isinstance(table, torch.Tensor):
        table = {"hitting with a stick": table}  # the official TheGreatestHits file: one tensor
    if not isinstance(table, dict) or not all(isinstance(v, torch.Tensor) for v in table.values()):
        raise ValueError(f"--class-encodings {encodings}: expected a tensor or a dict prompt -> tensor, "
                         f"got {_describe(table)}")
    if class_mapping is not None:
        mapping = read_class_mapping(class_mapping)
        missing = sorted(p for p in mapping.values() if p not in table)
        if missing:
            raise ValueError(f"--class-encodings {encodings} has no encoding for the prompts {missing} of "
                             f"--class-mapping {class_mapping}; it has: {sorted(table)}")
        table = {cls: table[prompt] for cls, prompt in mapping.items()}
    view = null_shape[1:]
    return PromptTable.from_encodings({k: v.float() for k, v in table.items()}, null_value.float().view(view))


def read_class_mapping(path: str | Path) -> dict[str, str]:
    """class_mapping.json (the official format: {"class folder name": "prompt", ...})."""
    path = Path(path)
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"class mapping {path} is not a readable JSON file ({err})") from err
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise ValueError(f"class mapping {path}: expected a JSON object class -> prompt string")
    return mapping


def save_class_prompts(folder: str | Path, table: PromptTable | None, mapping: dict[str, str] | None) -> dict:
    """Write `prompt_table/` and `class_mapping.json` into a converted model folder; returns the
    manifest entries (`components` additions and the `class_mapping` file name) that `load_pipeline` reads."""
    folder, entries = Path(folder), {"components": {}}
    if table is not None:
        table.save_pretrained(folder / "prompt_table")
        entries["components"]["prompt_table"] = "prompt_table"
    if mapping is not None:
        (folder / CLASS_MAPPING).write_text(json.dumps(mapping, indent=2, ensure_ascii=False) + "\n",
                                            encoding="utf-8")
        entries["class_mapping"] = CLASS_MAPPING
    return entries


@dataclass
class ClassPrompt:
    """How `--class NAME` conditions a model: `prompt` looked up in the table or encoded as text."""

    prompt: str
    use_table: bool
    note: str


def class_prompt(pipe, name: str) -> ClassPrompt:
    """Resolve a class name for `pipe`: the prompt table's precomputed encoding when it has the class
    (the official conditioning), else the CLIP text encoding of the class's prompt from the model's
    class_mapping.json (`pipe.class_prompts`), else of the name itself."""
    table = getattr(pipe, "prompt_table", None)
    if table is not None and name in table.names:
        return ClassPrompt(name, True, f"class {name!r}: the model's precomputed CLIP encoding")
    if getattr(pipe, "text_encoder", None) is None:
        known = ", ".join(table.names) if table is not None else "none"
        raise ValueError(f"unknown prompt/class {name!r}; this model has no text encoder and its prompt "
                         f"table knows: {known}")
    mapping = getattr(pipe, "class_prompts", None) or {}
    if name in mapping:
        return ClassPrompt(mapping[name], False, f"class {name!r}: no precomputed encoding; encoding its "
                                                 f"class_mapping.json prompt {mapping[name]!r} with CLIP")
    return ClassPrompt(name, False, f"class {name!r}: no precomputed encoding or class_mapping.json entry; "
                                    f"encoding the name itself with CLIP")


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return type(value).__name__
