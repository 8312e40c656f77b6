"""What makes sampling fast: precision by hardware, sampling presets, an optional compiled UNet.

    pick_dtype("auto", torch.device("cpu"))   # bfloat16 on CPUs with native bf16, else float32
    SAMPLING_PRESETS["fast"]                   # DPM-Solver++ with few steps; "paper" is PNDM-50
    compile_unet(pipe)                         # torch.compile (inductor); False if unavailable

docs/speed.md says which flags to use and what each one costs in quality (measured).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from asva.utils import DTYPE_NAMES, torch_dtype

if TYPE_CHECKING:  # torch is imported where used: command parsers read this module's tables
    import torch

DTYPE_CHOICES = ("auto", *DTYPE_NAMES)  # the --dtype choices of the commands that animate
_NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes in bfloat16 natively (x86 flags avx512_bf16 or amx_bf16 in
    /proc/cpuinfo). Elsewhere bf16 is emulated, and slower than float32. False where unknown."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    return any(flag in flags for flag in _NATIVE_BF16_FLAGS)


def pick_dtype(name: str, device: torch.device) -> torch.dtype:
    """`name` from DTYPE_CHOICES -> a dtype. "auto": bfloat16 on CUDA (float16 where the GPU lacks
    bf16) and on CPUs with native bf16, float32 elsewhere (other CPUs, MPS)."""
    if name in DTYPE_NAMES:
        return torch_dtype(name)
    if name != "auto":
        raise ValueError(f"dtype must be one of {', '.join(DTYPE_CHOICES)}, got {name!r}")
    import torch

    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and sys.platform.startswith("linux") and cpu_has_native_bf16():
        return torch.bfloat16
    return torch.float32


@dataclass(frozen=True)
class SamplingPreset:
    """A sampler, its step count, and the fraction of the steps that run guidance (the rest run the
    conditional branch alone)."""

    scheduler: str
    steps: int
    guidance_fraction: float = 1.0


SAMPLING_PRESETS = {
    "paper": SamplingPreset("pndm", 50),  # the paper's sampler: PNDM, 50 steps, guidance throughout
    "fast": SamplingPreset("dpm", 15),  # DPM-Solver++(2M), 15 steps: see docs/speed.md's table
}


def apply_preset(args, defaults: dict[str, object]) -> None:
    """Fill args.scheduler / steps / guidance_fraction from `args.preset` where the user gave none.

    `defaults` holds the parser's defaults of those options: a value equal to it counts as not given.
    """
    if getattr(args, "preset", None) is None:
        return
    if args.preset not in SAMPLING_PRESETS:
        raise ValueError(f"--preset must be one of {', '.join(SAMPLING_PRESETS)}, got {args.preset!r}")
    preset = SAMPLING_PRESETS[args.preset]
    for key in ("scheduler", "steps", "guidance_fraction"):
        if getattr(args, key, None) == defaults.get(key):
            setattr(args, key, getattr(preset, key))


def compile_unet(pipe, **options) -> bool:
    """torch.compile the pipeline's UNet in place (inductor: needs a C++ compiler on CPU, Triton on
    GPU). Compiling happens on the first call; if it fails there the model falls back to eager
    (torch._dynamo's suppress_errors). Returns False, leaving the UNet as it was, if torch.compile
    itself is unavailable."""
    try:
        import torch
        import torch._dynamo

        torch._dynamo.config.suppress_errors = True
        pipe.unet.model = torch.compile(pipe.unet.model, **options)
    except Exception as err:  # no compiler backend in this torch build
        print(f"torch.compile unavailable ({type(err).__name__}: {err}); running eagerly", file=sys.stderr)
        return False
    return True
