"""Small helpers shared across the library: atomic file output, dtype names."""
from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; rename it onto `path` only if the block succeeds.

    The temporary name keeps the suffix of `path`, so writers that pick a format by
    extension (mp4, gif, png) still work. On any exception the temporary is removed and
    `path` is left as it was: no half-written outputs.
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
    if is_dir and path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)


def write_json(path: str | os.PathLike, data, *, indent: int = 1) -> Path:
    """Write `data` as JSON (plus a final newline) to `path` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=indent) + "\n")
    return Path(path)
