"""asva.utils: atomic outputs keep the permissions the umask gives; the shared help format."""
from __future__ import annotations

import os
import stat

import pytest

from asva.utils import atomic_path


@pytest.mark.parametrize("mask", [0o022, 0o002])
def test_atomic_outputs_honour_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("x")
        with atomic_path(tmp_path / "folder", is_dir=True) as tmp:
            (tmp / "inner.txt").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == 0o777 & ~mask
