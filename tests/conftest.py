"""Shared test fixtures: offline hub, small thread count, the golden parity cases."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]


def _golden_dir() -> Path | None:
    candidates = [os.environ.get("ASVA_GOLDEN"), ROOT.parent / "shared" / "golden"]
    for c in candidates:
        if c and Path(c, "synth_weights.py").is_file():
            return Path(c)
    return None


@pytest.fixture(scope="session")
def golden() -> Path:
    """The folder of golden parity cases (`../shared/golden`, or $ASVA_GOLDEN).

    In CI (CI=true) a missing folder is a failure, not a skip: parity must be checked there.
    """
    path = _golden_dir()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("golden cases not found at ../shared/golden (set ASVA_GOLDEN)")
        pytest.skip("golden cases not found at ../shared/golden (set ASVA_GOLDEN)")
    return path


@pytest.fixture(scope="session")
def synth_weights(golden):
    """The golden cases' `synth_weights` module (deterministic stand-in weights)."""
    sys.path.insert(0, str(golden))
    try:
        import synth_weights
    finally:
        sys.path.remove(str(golden))
    return synth_weights


@pytest.fixture(scope="module")
def one_thread():
    """The CPU is shared; one intra-op thread is faster than two fighting over it for tiny models.

    Module-scoped, so a module that uses it (`pytestmark = pytest.mark.usefixtures("one_thread")`)
    builds its module fixtures with one thread too.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory) -> Path:
    """A read-only 2-class `asva synth` dataset at 64 px: one train and one test video per class."""
    from asva.synth.generate import SynthConfig, generate

    data = tmp_path_factory.mktemp("tiny_synth") / "data"
    config = SynthConfig(out=data, videos_per_class=2, size=64, classes=("bell", "bouncing_ball"),
                         test_fraction=0.5, workers=1)
    generate(config, progress=False)
    return data
