"""Small helpers shared across the library: atomic file output, dtype names."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

DTYPE_NAMES = ("float32", "bfloat16", "float16")  # the --dtype choices of every command


def torch_dtype(name: str):
    """The torch dtype called `name` (one of DTYPE_NAMES)."""
    import torch

    if name not in DTYPE_NAMES:
        raise ValueError(f"unknown dtype {name!r}; expected one of {', '.join(DTYPE_NAMES)}")
    return getattr(torch, name)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The help format of every asva command: the docstring as written, and each option's default
    appended when its help does not already state it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unset = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "default" in text or unset or not action.option_strings:
            return text
        return f"{text} (default %(default)s)" if text else "(default %(default)s)"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; rename it onto `path` only if the block succeeds.

    The temporary name keeps the suffix of `path`, so writers that pick a format by
    extension (mp4, gif, png) still work. On any exception the temporary is removed and
    `path` is left as it was: no half-written outputs. The result gets the permissions the
    umask gives a new file or folder (not the temporary's private 0600 / 0700).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_dir:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise
    os.chmod(tmp, (0o777 if is_dir else 0o666) & ~_umask())  # mkstemp/mkdtemp made it 0600/0700
    if is_dir and path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)


def _umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, data, *, indent: int = 1) -> Path:
    """Write `data` as JSON (plus a final newline) to `path` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=indent) + "\n")
    return Path(path)


def lazy_getattr(package: str, exports: dict[str, str]):
    """A package's module `__getattr__` that imports `exports` (name -> module) on first use, so the
    light parts of a package (presets, the registry, parsers) do not import torch with it."""

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    return __getattr__


# ---------------------------------------------------------------- frame sizes (torch-free, for parsers)
Size = int | tuple[int, int]


def as_hw(size: Size) -> tuple[int, int]:
    """`size` as (height, width): an int is a square, a pair is (h, w). Raises on non-positive sides."""
    if isinstance(size, int) and not isinstance(size, bool):
        hw = (size, size)
    elif isinstance(size, (tuple, list)) and len(size) == 2 and all(isinstance(s, int) for s in size):
        hw = (int(size[0]), int(size[1]))
    else:
        raise ValueError(f"size must be an int or a (height, width) pair of ints, got {size!r}")
    if min(hw) <= 0:
        raise ValueError(f"size sides must be positive, got {size!r}")
    return hw


def parse_size(text: str) -> Size:
    """'256' -> 256; '128x256' -> (128, 256) (height x width); a square 'NxN' -> N."""
    parts = str(text).lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise ValueError(f"size must be N or HxW (height x width), e.g. 256 or 128x256, got {text!r}")
    return normalize_size(values[0] if len(values) == 1 else (values[0], values[1]))


def normalize_size(size) -> Size:
    """An int, or an (h, w) pair (list or tuple, e.g. from JSON) -> int for a square, (h, w) otherwise."""
    h, w = as_hw(tuple(size) if isinstance(size, list) else size)
    return h if h == w else (h, w)
