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
def synth_dataset(tmp_path_factory):
    """Factory: `synth_dataset(**overrides)` -> an `asva synth` dataset folder (SynthConfig fields;
    default 2 videos per class of bell and drum at 32 px, half in test.txt). Equal requests within the
    session share one folder, so treat it as read-only."""
    from asva.synth.generate import SynthConfig, generate

    made: dict[str, Path] = {}

    def make(**overrides) -> Path:
        settings = {"videos_per_class": 2, "size": 32, "classes": ("bell", "drum"), "test_fraction": 0.5,
                    "workers": 1, **overrides}
        key = repr(sorted(settings.items()))
        if key not in made:
            root = tmp_path_factory.mktemp("synth") / "data"
            generate(SynthConfig(out=root, **settings), progress=False)
            made[key] = root
        return made[key]

    return make


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """Factory: `tiny_model_dir(prompts=..., size=None)` -> a saved random tiny AVSyncD
    (`random_pipeline("tiny")`) whose prompt table holds `prompts`: a tuple of prompts, or a dataset
    folder whose class_mapping.json gives them; with `size`, its training.json says it was trained at
    that frame size (as an `asva train` export does). Shared within the session; read-only."""
    import json

    from asva.pipelines.testing import random_pipeline

    made: dict[tuple, Path] = {}

    def make(prompts=("dog barking", "lions roaring"), size=None) -> Path:
        if isinstance(prompts, Path):
            prompts = tuple(json.loads((prompts / "class_mapping.json").read_text()).values())
        key = (tuple(prompts), size)
        if key not in made:
            folder = tmp_path_factory.mktemp("tiny_model") / "model"
            random_pipeline("tiny", text="table", prompts=tuple(prompts)).save_pretrained(folder)
            if size is not None:
                (folder / "training.json").write_text(json.dumps({"config": {"data": {"size": size}}}))
            made[key] = folder
        return made[key]

    return make


@pytest.fixture(scope="session")
def tiny_synth(synth_dataset) -> Path:
    """A read-only 2-class `asva synth` dataset at 64 px: one train and one test video per class."""
    return synth_dataset(size=64, classes=("bell", "bouncing_ball"))
