"""Generated images: the first frame made from text by the user's Stable Diffusion 1.5 folder.

The paper animates text-to-image outputs to make "full videos without a base image"; `asva animate
--t2i SD15_DIR --prompt ...` does so with diffusers' `StableDiffusionPipeline` and then animates the image.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch


def generate_image(folder: str | os.PathLike, prompt: str, *, size: int | tuple[int, int], seed: int = 0,
                   steps: int = 50, guidance_scale: float = 7.5, device: torch.device | str = "cpu",
                   dtype: torch.dtype | str | None = None, quiet: bool = False) -> torch.Tensor:
    """(3, h, w) uint8: one `StableDiffusionPipeline` sample of `prompt` (no safety checker) at `size`
    (a side, or (height, width))."""
    from diffusers import StableDiffusionPipeline

    from asva.pipelines.loading import quiet_loading

    folder = Path(folder)
    if not (folder / "model_index.json").is_file():
        raise ValueError(f"--t2i {folder} is not a diffusers Stable Diffusion folder (no model_index.json)")
    height, width = (size, size) if isinstance(size, int) else size
    if height % 8 or width % 8:
        raise ValueError(f"the image sides must be multiples of 8 for Stable Diffusion, got {height}x{width}")
    from asva.utils import torch_dtype

    dtype = torch_dtype(dtype) if isinstance(dtype, str) else dtype
    kw = {} if dtype is None else {"dtype": dtype}
    with quiet_loading(quiet):
        pipe = StableDiffusionPipeline.from_pretrained(folder, safety_checker=None, feature_extractor=None,
                                                       requires_safety_checker=False, **kw).to(device)
    pipe.set_progress_bar_config(disable=quiet, leave=False)
    image = pipe(prompt, height=height, width=width, num_inference_steps=steps, guidance_scale=guidance_scale,
                 generator=torch.Generator().manual_seed(seed),
                 output_type="pt").images[0]  # (3, h, w), [0, 1]
    return (image.float().cpu() * 255).round().clamp(0, 255).to(torch.uint8)
