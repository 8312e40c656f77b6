"""`CurateConfig`: every threshold and size of the curation pipeline in one place.

Defaults are the paper's values where it states them (AVSync15, Sec. 3.1: 3-s clips with a 0.5-s
stride, at least 100 clips per class, 10 test videos per class) and documented choices of ours
otherwise (docs/curation.md lists which is which). Named presets are small JSON files in
`curation/presets/` holding overrides of these defaults (`synthetic`: thresholds calibrated on
`asva synth` clips for the defect-injection proof).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from asva import presets

PRESETS_DIR = Path(__file__).parent / "presets"

# the stages in the order they run; `--skip` takes these names
STAGES = ("scenes", "pixel", "semantic", "audio", "alignment", "sync")
STAGE_HELP = {
    "scenes": "PySceneDetect cuts; each scene split into clip_seconds clips every clip_stride s",
    "pixel": "mean |frame t - frame t-1| (0..1): reject < pixel_low (static) or > pixel_high (camera motion)",
    "semantic": "image-embedding cosine distance between frames: reject mean < semantic_low (zoom, static "
    "content) or max > semantic_high (content jump)",
    "audio": "peak |amplitude|: reject < audio_peak_min (silent)",
    "alignment": "ImageBind image-audio (IA) and image-text (IT) cosines: reject < ia_min or < it_min",
    "sync": "P_sync: softmax of the sync classifier's phi over the own audio and sync_shifts: "
    "reject < p_sync_min",
}


@dataclass(frozen=True)
class CurateConfig:
    """Thresholds and sizes. Scores are computed on frames decoded at `analysis_fps`."""

    # 1. clips (paper: 3-s clips, 0.5-s stride) and scenes (PySceneDetect ContentDetector defaults)
    clip_seconds: float = 3.0
    clip_stride: float = 0.5
    scene_threshold: float = 27.0
    scene_min_seconds: float = 0.5
    # frames the stages look at
    analysis_fps: float = 6.0
    analysis_size: int = 64
    # 2. raw pixel difference (mean absolute difference of consecutive frames, 0..1)
    pixel_low: float = 0.001
    pixel_high: float = 0.1
    # 3. image-semantic change (cosine distance of consecutive frame embeddings)
    semantic_fps: float = 2.0
    semantic_low: float = 0.0005
    semantic_high: float = 0.25
    # 4. audio peak (-40 dBFS)
    audio_peak_min: float = 0.01
    # 5. ImageBind IA / IT cosines
    ia_min: float = 0.05
    it_min: float = 0.1
    # 6. synchrony: P_sync = softmax of phi over the own audio and these shifts (s), mean over the
    #    clip's 2-s windows at its start and end; 1 / (1 + len(sync_shifts)) is chance
    sync_shifts: tuple[float, ...] = (-1.0, -0.5, 0.5, 1.0)
    p_sync_min: float = 0.3
    # 7. dataset (paper: classes with >= 100 clips, 10 test videos per class)
    min_per_class: int = 100
    test_per_class: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "sync_shifts", tuple(float(s) for s in self.sync_shifts))
        if 0.0 in self.sync_shifts:
            raise ValueError(
                f"sync_shifts must not contain 0 (the own audio is always scored): {self.sync_shifts}"
            )
        positive = ("clip_seconds", "clip_stride", "analysis_fps", "semantic_fps", "analysis_size")
        bad = [f"{n}={getattr(self, n)}" for n in positive if not getattr(self, n) > 0]
        if bad:
            raise ValueError(f"curation config: {', '.join(bad)} must be positive")
        for low, high in (("pixel_low", "pixel_high"), ("semantic_low", "semantic_high")):
            if getattr(self, low) > getattr(self, high):
                raise ValueError(
                    f"curation config: {low}={getattr(self, low)} must be <= {high}={getattr(self, high)}"
                )
        if self.min_per_class < 1 or self.test_per_class < 0:
            raise ValueError(
                f"curation config: min_per_class must be >= 1 and test_per_class >= 0, got "
                f"{self.min_per_class} and {self.test_per_class}"
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def with_overrides(self, overrides: dict) -> CurateConfig:
        presets.check_fields(CurateConfig, overrides, "curation setting")
        return dataclasses.replace(self, **overrides)


def list_presets() -> list[str]:
    return presets.list_presets(PRESETS_DIR)


def load_config(preset: str | None = None, settings: list[str] | tuple[str, ...] = ()) -> CurateConfig:
    """The defaults, a preset's overrides (a name from `list_presets()` or a JSON file), then `settings`."""
    data: dict = {}
    if preset:
        data = presets.read_preset(PRESETS_DIR, preset, kind="curation", allow_file=True)
        data = {k: v for k, v in data.items() if not k.startswith("_")}
    from asva.training.overrides import apply_overrides  # the one KEY=VALUE syntax, type-checked

    data.update(apply_overrides(CurateConfig, settings))
    return CurateConfig().with_overrides(data)
