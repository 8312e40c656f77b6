"""What the model config dataclasses share: plain-dict round trips and the JSON preset registry.

Presets of every model live in `asva/models/presets/` as `<prefix><name>.json` (`unet-sd15.json`,
`imagebind-huge.json`, `sync-tiny.json`, ...). A preset file may carry a `description`.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import ClassVar

PRESETS_DIR = Path(__file__).resolve().parent / "presets"


class JsonConfig:
    """Mixin for config dataclasses: `to_dict` / `from_dict`, strict about unknown keys."""

    kind: ClassVar[str] = "model"

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: dict):
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown {cls.kind} config keys {unknown}; expected some of {sorted(known)}")
        return cls(**data)


def preset_names(prefix: str) -> list[str]:
    """Names of the presets stored as `<prefix><name>.json`."""
    return sorted(p.stem[len(prefix):] for p in PRESETS_DIR.glob(f"{prefix}*.json"))


def read_preset(prefix: str, name: str, kind: str) -> dict:
    """The settings of preset `name` (without its description); a `ValueError` lists the known ones."""
    path = PRESETS_DIR / f"{prefix}{name}.json"
    if not path.is_file():
        raise ValueError(f"unknown {kind} preset {name!r}; expected one of {preset_names(prefix)}")
    data = json.loads(path.read_text())
    data.pop("description", None)
    return data
