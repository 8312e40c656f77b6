"""asva.pipelines: AVSyncD sampling (see docs/pipeline.md).

    from asva.pipelines import AVSyncDPipeline, load_model, random_pipeline, make_scheduler
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "AVSyncDPipeline": "asva.pipelines.avsyncd",
    "AnimationOutput": "asva.pipelines.avsyncd",
    "AVSyncDUNet": "asva.pipelines.components",
    "AVSyncDAudioEncoder": "asva.pipelines.components",
    "PromptTable": "asva.pipelines.prompts",
    "GuidedDenoiser": "asva.pipelines.guidance",
    "make_scheduler": "asva.pipelines.schedulers",
    "load_model": "asva.pipelines.loading",
    "random_pipeline": "asva.pipelines.testing",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Import on first use, so `import asva.pipelines.schedulers` stays light."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'asva.pipelines' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
