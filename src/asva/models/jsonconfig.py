"""What the model config dataclasses share: plain-dict round trips and the JSON preset registry.

Presets of every model live in `asva/models/presets/` as `<prefix><name>.json` (`unet-sd15.json`,
`imagebind-huge.json`, `sync-tiny.json`, ...). A preset file may carry a `description` and may
start from another preset of its prefix (`"extends"`); reading, listing and field checks are `asva.presets`.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

from asva import presets

PRESETS_DIR = Path(__file__).resolve().parent / "presets"


class JsonConfig:
    """Mixin for config dataclasses: `to_dict` / `from_dict`, strict about unknown keys."""

    kind: ClassVar[str] = "model"

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: dict):
        presets.check_fields(cls, data, f"{cls.kind} config")
        return cls(**data)


def preset_names(prefix: str) -> list[str]:
    """Names of the presets stored as `<prefix><name>.json`."""
    return presets.list_presets(PRESETS_DIR, prefix)


def read_preset(prefix: str, name: str, kind: str) -> dict:
    """The settings of preset `name` (without its description); a `ValueError` lists the known ones."""
    data = presets.read_preset(PRESETS_DIR, name, prefix=prefix, kind=kind)
    data.pop("description", None)
    return data
