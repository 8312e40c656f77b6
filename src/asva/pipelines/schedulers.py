"""Noise schedulers by name: the paper's PNDM and three faster diffusers samplers.

Every scheduler shares Stable Diffusion 1.5's training schedule (1000 steps, scaled-linear betas from
0.00085 to 0.012, epsilon prediction), which is what AVSyncD was fine-tuned with.

    >>> make_scheduler("dpm").config.algorithm_type
    'dpmsolver++'
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

# Stable Diffusion 1.5's scheduler/scheduler_config.json, the schedule AVSyncD was trained on.
SD15_SCHEDULE: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "prediction_type": "epsilon",
    "timestep_spacing": "leading",
    "steps_offset": 1,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "clip_sample": False,
}

# Few-step samplers start at t = 999 ("trailing"): with SD1.5's "leading" spacing a 2-step DDIM run
# would start at t = 501 from pure noise. PNDM keeps SD1.5's own settings exactly, as in the paper.
_TRAILING = {"timestep_spacing": "trailing", "steps_offset": 0}

# name -> (diffusers class name, settings that define the sampler beyond the shared schedule);
# diffusers is imported when a scheduler is built, so parsers can list the names cheaply
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "pndm": ("PNDMScheduler", {}),
    "ddim": ("DDIMScheduler", _TRAILING),
    "dpm": ("DPMSolverMultistepScheduler", {**_TRAILING, "algorithm_type": "dpmsolver++", "solver_order": 2}),
    "unipc": ("UniPCMultistepScheduler", {**_TRAILING, "solver_order": 2}),
}

# The paper samples with PNDM for 50 steps.
DEFAULT_SCHEDULER = "pndm"
DEFAULT_STEPS = 50

# The training-schedule keys a saved scheduler config may override (a model folder's own betas win).
_SCHEDULE_KEYS = ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas",
                  "prediction_type")


def scheduler_names() -> list[str]:
    return sorted(SCHEDULERS)


def make_scheduler(name: str, base_config: Mapping[str, Any] | None = None):
    """Build scheduler `name` on the SD1.5 schedule, or on the schedule of `base_config`.

    `base_config` is another scheduler's config (e.g. the one saved with a model), whose
    training-schedule keys replace the SD1.5 defaults; its sampler-specific keys are ignored.
    """
    if name not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {name!r}; expected one of {', '.join(scheduler_names())}")
    import diffusers

    class_name, extra = SCHEDULERS[name]
    cls = getattr(diffusers, class_name)
    settings = dict(SD15_SCHEDULE)
    for key in _SCHEDULE_KEYS:
        if base_config is not None and key in base_config:
            settings[key] = base_config[key]
    settings.update(extra)
    accepted = set(inspect.signature(cls.__init__).parameters)
    return cls(**{k: v for k, v in settings.items() if k in accepted})


def scheduler_name(scheduler) -> str | None:
    """The registry name of a scheduler instance (None for a class not in the table)."""
    for name, (class_name, _) in SCHEDULERS.items():
        if type(scheduler).__name__ == class_name and type(scheduler).__module__.startswith("diffusers"):
            return name
    return None
