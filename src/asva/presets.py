"""The one preset mechanism: named JSON files in a folder, `extends`, and strict dataclass fields.

Every preset family uses it: model presets (`models/presets/unet-*.json`, `sync-*.json`,
`imagebind-*.json`), training presets (`training/avsyncd/presets/*.json`) and curation presets
(`curation/presets/*.json`).

    names = list_presets(folder, prefix="unet-")          # ["sd15", "tiny"]
    data = read_preset(folder, "tiny", prefix="unet-", kind="UNet")
    check_fields(UNetConfig, data, "UNet config")         # ValueError naming unknown keys

A preset file may say `"extends": "OTHER"` (a preset of the same folder and prefix): it starts from
OTHER's settings; a value that is a dict in both is merged one level deep (a section), any other value
replaces OTHER's. This module sits on the bottom floor and imports only the standard library.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

_MAX_DEPTH = 5


def list_presets(folder: Path, prefix: str = "") -> list[str]:
    """Names of the presets stored as `folder/<prefix><name>.json`."""
    return sorted(p.stem[len(prefix):] for p in Path(folder).glob(f"{prefix}*.json"))


def preset_path(folder: Path, name: str, *, prefix: str = "", kind: str = "",
                allow_file: bool = False) -> Path:
    """The file of preset `name` (with `allow_file`, a JSON path may stand in); ValueError lists the names."""
    path = Path(folder) / f"{prefix}{name}.json"
    if name in list_presets(folder, prefix):
        return path
    if allow_file and Path(name).is_file():
        return Path(name)
    names = list_presets(folder, prefix)
    if allow_file:
        raise ValueError(f"{kind} preset {name!r} is neither a preset ({', '.join(names)}) nor a JSON file")
    raise ValueError(f"unknown {kind} preset {name!r}; expected one of {names}")


def read_json(path: Path, folder: Path, prefix: str = "", depth: int = 0) -> dict:
    """The settings in JSON file `path`, with its `extends` (a preset of `folder`/`prefix`) resolved."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(data).__name__}")
    base = data.pop("extends", None)
    if base is None:
        return data
    names = list_presets(folder, prefix)
    if base not in names or depth >= _MAX_DEPTH:
        raise ValueError(f"{path}: extends {base!r}, expected one of {names} (at most {_MAX_DEPTH} deep)")
    merged = read_json(Path(folder) / f"{prefix}{base}.json", folder, prefix, depth + 1)
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def read_preset(folder: Path, name: str, *, prefix: str = "", kind: str = "",
                allow_file: bool = False) -> dict:
    """The settings of preset `name` (`extends` resolved); see `preset_path` for the errors."""
    path = preset_path(folder, name, prefix=prefix, kind=kind, allow_file=allow_file)
    return read_json(path, folder, prefix)


def check_fields(cls, data: dict, what: str) -> None:
    """Raise a `ValueError` naming the keys of `data` that are not fields of dataclass `cls`."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} keys {unknown}; expected some of {sorted(known)}")
