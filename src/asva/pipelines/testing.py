"""Random tiny (or paper-size) AVSyncD pipelines for tests and benchmarks; loading real weights is
`asva.pipelines.loading.load_model`.

    pipe = random_pipeline("tiny")                       # seconds on CPU, 32-px frames and up
    pipe = random_pipeline("sd15", init="fast")          # paper-size shapes, cheap random weights

Random pipelines follow the paper's geometry: an 8x VAE, 12 frames at 6 fps, ImageBind's 229 audio
tokens. The CLIP tokenizer is built from the BPE merges bundled in `asva/assets`, so nothing downloads.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from diffusers import AutoencoderKL
from torch import nn
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from asva.models.config import load_preset
from asva.models.imagebind.config import ImageBindConfig
from asva.models.imagebind.tokenizer import clip_vocabulary
from asva.pipelines.avsyncd import AVSyncDPipeline
from asva.pipelines.components import AVSyncDAudioEncoder, AVSyncDUNet
from asva.pipelines.prompts import PromptTable
from asva.pipelines.schedulers import DEFAULT_SCHEDULER, make_scheduler

VAE_CONFIGS = {
    # SD1.5's vae/config.json (83.7M parameters)
    "sd15": {"block_out_channels": (128, 256, 512, 512), "layers_per_block": 2, "norm_num_groups": 32,
             "sample_size": 512},
    # the same 8x geometry with a few channels
    "tiny": {"block_out_channels": (8, 8, 16, 16), "layers_per_block": 1, "norm_num_groups": 4,
             "sample_size": 32},
}


def clip_tokenizer(max_length: int = 77) -> CLIPTokenizer:
    """OpenAI CLIP's tokenizer (49408 tokens) from the bundled BPE merges; no files are fetched."""
    vocab, merges = clip_vocabulary()
    ids = {token: i for i, token in enumerate(vocab)}
    return CLIPTokenizer(vocab=ids, merges=merges, model_max_length=max_length)


def text_encoder_config(size: str, hidden: int) -> CLIPTextConfig:
    """CLIP ViT-L/14's text tower (`sd15`, hidden 768) or a one-layer one of width `hidden` (`tiny`)."""
    if size == "sd15":
        return CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                              num_attention_heads=12, projection_dim=768, hidden_act="quick_gelu")
    return CLIPTextConfig(hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=1,
                          num_attention_heads=2, hidden_act="quick_gelu")


def init_random_(module: nn.Module, *, std: float = 0.02, seed: int = 0) -> nn.Module:
    """Cheap random weights for a (possibly meta) module: normal(0, std) matrices, zero vectors,
    unit norm scales, zero buffers. Meant for timing and memory runs, not for quality."""
    if any(p.is_meta for p in module.parameters()) or any(b.is_meta for b in module.buffers()):
        module.to_empty(device="cpu")
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.ndim >= 2:  # drawn in logical order, so that a channels-last kernel gets the same values
                p.copy_(torch.empty(p.shape).normal_(0.0, std, generator=g))
            else:
                p.fill_(1.0 if "norm" in name and name.endswith("weight") else 0.0)
        for b in module.buffers():
            b.zero_()
    return module


def random_pipeline(unet: str = "tiny", *, imagebind: str | None = None, vae: str | None = None,
                    text: str = "table", prompts: Sequence[str] = ("dog barking", "lions roaring"),
                    scheduler: str = DEFAULT_SCHEDULER, init: str = "default",
                    seed: int = 0) -> AVSyncDPipeline:
    """A pipeline with random weights. `unet`: a UNet preset (`tiny`, `sd15`); `imagebind`/`vae`
    default to the matching size (`tiny` / `huge`, `tiny` / `sd15`). `text`: "table" (random
    encodings of `prompts`), "clip" (a random CLIP text encoder + the real tokenizer), or "both".
    `init="fast"` builds on the meta device and fills cheap random weights (for big shapes)."""
    if text not in ("table", "clip", "both"):
        raise ValueError(f"text must be 'table', 'clip' or 'both', got {text!r}")
    if init not in ("default", "fast"):
        raise ValueError(f"init must be 'default' or 'fast', got {init!r}")
    big = unet != "tiny"
    ib_config = ImageBindConfig.from_preset(imagebind or ("huge" if big else "tiny"))
    unet_config = load_preset(unet, audio_dim=ib_config.audio.width)
    torch.manual_seed(seed)
    with torch.device("meta") if init == "fast" else torch.device("cpu"):
        parts = {
            "unet": AVSyncDUNet(unet_config.to_dict()),
            "audio_encoder": AVSyncDAudioEncoder(ib_config.to_dict()),
            "vae": AutoencoderKL(**_vae_kwargs(vae or ("sd15" if big else "tiny"))),
        }
        if text in ("clip", "both"):
            parts["text_encoder"] = CLIPTextModel(text_encoder_config("sd15" if big else "tiny",
                                                                      unet_config.text_dim))
    if init == "fast":
        for i, module in enumerate(parts.values()):
            init_random_(module, seed=seed + i)
    if text in ("clip", "both"):
        parts["tokenizer"] = clip_tokenizer()
    if text in ("table", "both"):
        g = torch.Generator().manual_seed(seed)
        encodings = {p: torch.randn(77, unet_config.text_dim, generator=g) for p in prompts}
        parts["prompt_table"] = PromptTable.from_encodings(encodings, torch.randn(77, unet_config.text_dim,
                                                                                  generator=g))
    pipe = AVSyncDPipeline(scheduler=make_scheduler(scheduler), **parts)
    for module in parts.values():
        if isinstance(module, nn.Module):
            module.eval()
    return pipe


def _vae_kwargs(name: str) -> dict:
    if name not in VAE_CONFIGS:
        raise ValueError(f"unknown VAE size {name!r}; expected one of {sorted(VAE_CONFIGS)}")
    cfg = dict(VAE_CONFIGS[name])
    levels = len(cfg["block_out_channels"])
    return {**cfg, "down_block_types": ("DownEncoderBlock2D",) * levels,
            "up_block_types": ("UpDecoderBlock2D",) * levels, "latent_channels": 4}
