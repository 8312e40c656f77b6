"""asva.pipelines: AVSyncD sampling (see docs/pipeline.md).

    from asva.pipelines import AVSyncDPipeline, load_model, random_pipeline, make_scheduler
"""
from __future__ import annotations

from asva.utils import lazy_getattr

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

__getattr__ = lazy_getattr(__name__, _EXPORTS)
