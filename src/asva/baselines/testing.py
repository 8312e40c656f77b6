"""A tiny random Stable Diffusion 1.5-format model, for tests and examples of the SD-based baselines.

    folder = save_random_sd15(tmp_path / "sd")     # unet/ vae/ text_encoder/ tokenizer/ scheduler/
    pipe = AADiffPipeline.from_sd15(folder)

Same component classes and folder layout as runwayml/stable-diffusion-v1-5 (StableDiffusionPipeline),
a few channels each; the tokenizer is CLIP's, built from the bundled BPE merges (nothing downloads).
"""
from __future__ import annotations

from pathlib import Path

import torch


def random_sd15_components(seed: int = 0) -> dict:
    """unet (2 levels, channels (16, 32)), vae (8x, tiny), text_encoder (1 layer, width 32), tokenizer,
    scheduler (SD1.5's PNDM settings): the components `StableDiffusionPipeline` takes."""
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel

    from asva.pipelines.testing import _vae_kwargs, clip_tokenizer, text_encoder_config

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32, norm_num_groups=4,
        attention_head_dim=4)
    scheduler = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              skip_prk_steps=True, set_alpha_to_one=False, steps_offset=1)
    parts = {"unet": unet, "vae": AutoencoderKL(**_vae_kwargs("tiny")),
             "text_encoder": CLIPTextModel(text_encoder_config("tiny", 32)),
             "tokenizer": clip_tokenizer(), "scheduler": scheduler}
    for part in ("unet", "vae", "text_encoder"):
        parts[part].eval()
    return parts


def save_random_sd15(folder: str | Path, seed: int = 0) -> Path:
    """Write a tiny random SD1.5-format diffusers folder (model_index.json and the five subfolders)."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(**random_sd15_components(seed), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder)
    return Path(folder)
