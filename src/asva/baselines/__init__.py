"""asva.baselines: the paper's comparison methods as pipelines with the AVSyncD pipeline's call.

    from asva.baselines import load_method
    pipe, size = load_method("aadiff", model="path/to/sd15", device="cpu")
    out = pipe(image_uint8_3hw, wave_16k, "a dog barking")   # AnimationOutput, like AVSyncDPipeline

Methods (`METHODS`): `static` (the input frame repeated), `i2vd` (an AVSyncD-architecture model trained
without audio, sampled by `AVSyncDPipeline`), `aadiff` (AADiff, Lee et al. 2023: a Stable Diffusion 1.5
text-to-image model whose cross-attention to the prompt follows the audio's loudness) and `avsyncd`.
See docs/baselines.md.
"""
from __future__ import annotations

import importlib

METHODS = ("static", "i2vd", "aadiff", "avsyncd")

_EXPORTS = {
    "StaticPipeline": "asva.baselines.static",
    "AADiffPipeline": "asva.baselines.aadiff",
    "AADiffConfig": "asva.baselines.config",
    "amplitude_envelope": "asva.baselines.envelope",
    "load_method": "asva.baselines.loading",
    "generate_image": "asva.baselines.t2i",
}
__all__ = sorted([*_EXPORTS, "METHODS"])


def __getattr__(name: str):
    """Import on first use, so `import asva.baselines` stays light (parsers read METHODS)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'asva.baselines' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
