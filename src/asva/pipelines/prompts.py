"""A table of precomputed prompt encodings, usable instead of a text encoder.

The released AVSyncD models condition on one CLIP text encoding per class ("dog barking", ...), which
the authors ship precomputed, plus the encoding of the empty prompt for text guidance. A pipeline can
carry this table instead of the 123M-parameter CLIP text encoder; it saves and loads like any other
diffusers model component.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

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
