"""The one KEY=VALUE override syntax for presets: UNet (`asva info --set`), sync classifier
(`asva train-sync --set`) and training runs (`asva train ... train.lr=3e-4`).

    apply_overrides(UNetConfig, ["num_heads=4", "audio_dim=null"])  # {"num_heads": 4, "audio_dim": None}
    apply_overrides(TrainConfig, ["train.lr=3e-4"])                 # {"train": {"lr": 0.0003}}

VALUE is read as JSON when it parses (`3e-4`, `true`, `null`, `[8, 16]`, `{"a": 1}`) and as text
otherwise (`none` also clears a field that may be None); a tuple field also takes comma-separated
items (`audio_channels=8,16`). For a config made of sections (TrainConfig) KEY is `section.field`.
The value must fit the field's declared type: an unknown key or a value of the wrong type is a
ValueError naming the key and the expected type (the CLI exits with code 2), never a TypeError deep
inside a run.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterable


def parse_override(text: str) -> tuple[str, str, object]:
    """"key=value" -> (key, the raw text, the value parsed as JSON when it parses)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"override {text!r} must look like KEY=VALUE (e.g. train.lr=1e-4)")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, raw, value


def apply_overrides(config_cls: type, items: Iterable[str]) -> dict:
    """The overrides `items` as a dict of checked values for the dataclass `config_cls` (nested by
    section when its fields are dataclasses themselves)."""
    hints = typing.get_type_hints(config_cls)
    sectioned = any(dataclasses.is_dataclass(h) for h in hints.values())
    out: dict = {}
    for text in items:
        key, raw, value = parse_override(text)
        if sectioned:
            section, dot, name = key.partition(".")
            if not dot or section not in hints or not dataclasses.is_dataclass(hints[section]):
                known = sorted(k for k, h in hints.items() if dataclasses.is_dataclass(h))
                raise ValueError(f"override {text!r}: KEY must be section.field with a section of {known}")
            out.setdefault(section, {})[name] = checked_value(hints[section], name, raw, value, key)
        else:
            out[key] = checked_value(config_cls, key, raw, value, key)
    return out


def checked_value(config_cls: type, name: str, raw: str, value, label: str):
    """`value` (or its text `raw`) converted to field `name`'s type of `config_cls`, or a ValueError."""
    hints = typing.get_type_hints(config_cls)
    fields = {f.name for f in dataclasses.fields(config_cls)}
    if name not in fields:
        raise ValueError(f"unknown key {label!r}; expected one of {sorted(fields)}")
    hint = hints[name]
    try:
        return _convert(hint, raw, value)
    except (TypeError, ValueError):
        raise ValueError(f"{label} expects {_type_name(hint)}, got {raw!r}") from None


def _convert(hint, raw: str, value):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if (value is None or raw.strip().lower() == "none") and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(option, raw, value)
            except (TypeError, ValueError):
                continue
        raise ValueError(raw)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(raw)
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(raw)
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ValueError(raw)
    if hint is str:
        return raw
    if origin is tuple:
        items = value if isinstance(value, list) else raw.split(",")
        item_types = args[:1] * len(items) if len(args) == 2 and args[1] is Ellipsis else args
        if len(item_types) != len(items):
            raise ValueError(raw)
        return tuple(_convert(t, str(v), _json_or_text(v)) for t, v in zip(item_types, items, strict=True))
    if hint in (dict, list) or origin in (dict, list):
        if isinstance(value, origin or hint):
            return value
        raise ValueError(raw)
    return value  # a type this parser does not check (e.g. a Path): taken as given


def _json_or_text(item):
    if not isinstance(item, str):
        return item
    try:
        return json.loads(item)
    except json.JSONDecodeError:
        return item


def _type_name(hint) -> str:
    text = getattr(hint, "__name__", None) if typing.get_origin(hint) is None else None
    return text or str(hint).replace("typing.", "")
