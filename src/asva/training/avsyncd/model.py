"""The models a training run uses, and the diffusion loss on the trainable ones.

`build_components` returns the UNet, the audio encoder, the autoencoder and the class-prompt table:
from a model folder (`model.init_from`, the paper's route from SD1.5 + ImageBind) or freshly built
from presets (the CPU route: a tiny UNet, a tiny ImageBind audio branch, a patch autoencoder fitted
to the training frames and random class-prompt encodings). `DiffusionLoss` is the one module that
`Accelerator.prepare` wraps (DDP): its parameters are exactly the trainable ones.
"""
from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler
from einops import rearrange
from torch import nn

from asva.models.audio_tokens import audio_token_mask
from asva.models.autoencoder import PatchAutoencoder
from asva.models.config import load_preset
from asva.models.imagebind.config import ImageBindConfig
from asva.models.unet3d import VideoUNet
from asva.pipelines.components import AVSyncDAudioEncoder
from asva.pipelines.prompts import PromptTable
from asva.training.avsyncd.config import DiffusionConfig, ModelConfig


@dataclass
class Components:
    unet: VideoUNet
    audio_encoder: AVSyncDAudioEncoder
    vae: nn.Module
    prompt_table: PromptTable
    built: list[str] = field(default_factory=list)  # parts made by this run (saved with checkpoints)


def build_components(cfg: ModelConfig, prompts: dict[str, str], *, seed: int = 0) -> Components:
    """The run's models; `prompts` maps class -> prompt (the table's rows)."""
    if cfg.init_from:
        return _from_folder(cfg, prompts, seed)
    torch.manual_seed(seed)
    ib_config = ImageBindConfig.from_preset(cfg.imagebind)
    audio_encoder = AVSyncDAudioEncoder(ib_config.to_dict())
    vae = PatchAutoencoder(factor=cfg.autoencoder_factor, latent_channels=cfg.autoencoder_channels)
    latent = vae.config.latent_channels
    unet_config = load_preset(cfg.unet, in_channels=latent, out_channels=latent, text_dim=cfg.prompt_dim,
                              audio_dim=ib_config.audio.width if cfg.audio else None, **cfg.unet_overrides)
    table = random_prompt_table(sorted(set(prompts.values())), cfg.prompt_length, cfg.prompt_dim, seed)
    return Components(VideoUNet(unet_config), audio_encoder, vae, table,
                      built=["vae", "prompt_table", "audio_encoder"])


def random_prompt_table(prompts: list[str], length: int, dim: int, seed: int) -> PromptTable:
    """Fixed random encodings, one (length, dim) standard normal per prompt (seeded by the prompt's
    text, so adding a class does not change the others); the null prompt is all zeros."""
    encodings = {}
    for prompt in prompts:
        g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(prompt.encode()))
        encodings[prompt] = torch.randn(length, dim, generator=g)
    return PromptTable.from_encodings(encodings, torch.zeros(length, dim))


def extend_prompt_table(table: PromptTable, names: list[str], seed: int) -> PromptTable:
    """Fine-tuning a model without a text encoder on new classes: the prompts it knows keep their
    encodings, new ones get fixed random encodings of the table's shape (as a model trained from
    scratch does), and the run learns what they mean."""
    known = {n: table.lookup([n])[0] for n in table.names}
    _, length, dim = table.embeddings.shape
    new = random_prompt_table([n for n in names if n not in known], length, dim, seed)
    fresh = {n: new.lookup([n])[0] for n in new.names}
    print(f"asva train: new classes for {len(fresh)} prompt(s) of the table ({', '.join(fresh)}): "
          "fixed random encodings, learned through the trained UNet")
    return PromptTable.from_encodings({**known, **fresh}, table.null_embedding.detach().clone())


def _from_folder(cfg: ModelConfig, prompts: dict[str, str], seed: int = 0) -> Components:
    from asva.pipelines.loading import load_model

    pipe = load_model(cfg.init_from).pipe
    unet = pipe.unet.model
    if not cfg.audio and unet.config.audio_dim is not None:
        plain = VideoUNet(unet.config.replace(audio_dim=None))
        state = {k: v for k, v in unet.state_dict().items() if k in plain.state_dict()}
        plain.load_state_dict(state, strict=True)
        unet = plain
    names = sorted(set(prompts.values()))
    if pipe.prompt_table is not None and all(p in pipe.prompt_table.names for p in names):
        table = pipe.prompt_table
    elif pipe.text_encoder is not None:
        with torch.no_grad():
            text, null = pipe.encode_prompt(names, len(names), need_null=True)
        table = PromptTable.from_encodings(dict(zip(names, text, strict=True)), null[0])
    elif pipe.prompt_table is not None:
        table = extend_prompt_table(pipe.prompt_table, names, seed)
    else:
        raise ValueError(f"{cfg.init_from} has neither a text encoder nor a prompt table to condition on")
    built = [] if table is pipe.prompt_table else ["prompt_table"]
    return Components(unet, pipe.audio_encoder, pipe.vae, table, built=built)


def select_trainable(components: Components, cfg: ModelConfig) -> None:
    """Set requires_grad: the UNet's adapter (or all of it) and, if asked, the audio encoder."""
    unet = components.unet
    if cfg.trainable == "all":
        unet.requires_grad_(True)
    else:
        unet.freeze_base()
    components.audio_encoder.requires_grad_(cfg.train_audio_encoder and cfg.audio)
    components.vae.requires_grad_(False)
    components.prompt_table.requires_grad_(False)


def noise_scheduler(cfg: DiffusionConfig) -> DDPMScheduler:
    return DDPMScheduler(num_train_timesteps=cfg.num_train_timesteps, beta_start=cfg.beta_start,
                         beta_end=cfg.beta_end, beta_schedule=cfg.beta_schedule,
                         prediction_type=cfg.prediction_type,
                         rescale_betas_zero_snr=cfg.rescale_betas_zero_snr)


@torch.no_grad()
def encode_video(vae: nn.Module, video: torch.Tensor, *, sample: bool = False,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """(b, 3, f, h, w) in [-1, 1] -> scaled latents (b, c, f, h', w'): posterior samples drawn with
    `generator` (`sample`, as the official trainer's `latent_dist.sample()`) or posterior means."""
    b = video.shape[0]
    flat = rearrange(video, "b c f h w -> (b f) c h w").to(vae.device, vae.dtype)
    dist = vae.encode(flat).latent_dist
    z = _posterior_sample(dist, generator) if sample else dist.mode()
    shift = getattr(vae.config, "shift_factor", None) or 0.0
    z = (z - shift) * vae.config.scaling_factor
    return rearrange(z, "(b f) c h w -> b c f h w", b=b)


def _posterior_sample(dist, generator: torch.Generator | None) -> torch.Tensor:
    """mean + std * noise with the noise drawn on the CPU from `generator` (reproducible on any device)."""
    if not hasattr(dist, "std"):  # a deterministic code (the patch autoencoder): sample() is the code
        return dist.sample()
    noise = torch.randn(dist.mean.shape, generator=generator, dtype=torch.float32).to(dist.mean.device)
    return dist.mean + dist.std * noise.to(dist.mean.dtype)


PREDICTION_TYPES = ("epsilon", "v_prediction")


def sampling_scheduler(name: str, cfg: DiffusionConfig):
    """Sampler `name` on the run's training schedule (betas and prediction type)."""
    from asva.pipelines.schedulers import make_scheduler

    return make_scheduler(name, dataclasses.asdict(cfg))


class DiffusionLoss(nn.Module):
    """Epsilon- (or v-) prediction loss of the video UNet on frames 2..f; frame 1 stays the clean latent.

    forward(latents (b, c, f, h, w), text (b, n, d), mel (b, 1, 128, 204) or None, drop_audio (b,)
    bool, noise (b, c, f, h, w), timesteps (b,)) -> scalar loss. Dropped samples get the null audio
    (the encoder's tokens for an all-zero mel), which classifier-free audio guidance needs.
    `min_snr_gamma` > 0 weights each clip's MSE by min(SNR, gamma) / SNR (epsilon) or
    min(SNR, gamma) / (SNR + 1) (v-prediction), SNR = a / (1 - a) at its timestep. `weight`
    (b, 1, 1, h, w), optional, weights the squared error per latent position (scaled per clip to mean 1,
    so the loss keeps its scale): `train.box_loss_weight`.
    """

    def __init__(self, unet: VideoUNet, audio_encoder: AVSyncDAudioEncoder, scheduler: DDPMScheduler,
                 min_snr_gamma: float = 0.0):
        super().__init__()
        self.min_snr_gamma = float(min_snr_gamma)
        self.unet = unet
        self.audio_encoder = audio_encoder if unet.config.audio_dim is not None else None
        self.register_buffer("alphas_cumprod", scheduler.alphas_cumprod.clone(), persistent=False)
        self.prediction_type = scheduler.config.prediction_type
        if self.prediction_type not in PREDICTION_TYPES:
            raise ValueError(f"diffusion.prediction_type must be one of {PREDICTION_TYPES}, "
                             f"got {self.prediction_type!r}")

    def add_noise(self, latents: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        a = self.alphas_cumprod.to(latents.device)[timesteps].to(latents.dtype).view(-1, 1, 1, 1, 1)
        noisy = a.sqrt() * latents + (1 - a).sqrt() * noise
        return torch.cat([latents[:, :, :1], noisy[:, :, 1:]], dim=2)

    def audio_tokens(self, mel: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
        enc = self.audio_encoder
        trained = any(p.requires_grad for p in enc.parameters())
        with torch.set_grad_enabled(torch.is_grad_enabled() and trained):
            tokens = enc.audio_tokens(mel.to(enc.dtype))
            if bool(drop.any()):
                null = enc.null_audio_tokens(1).expand_as(tokens)
                tokens = torch.where(drop.view(-1, 1, 1), null, tokens)
        return tokens

    def target(self, latents: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """epsilon: the noise; v_prediction: sqrt(a) * noise - sqrt(1 - a) * latents."""
        if self.prediction_type == "epsilon":
            return noise
        a = self.alphas_cumprod.to(latents.device)[timesteps].to(latents.dtype).view(-1, 1, 1, 1, 1)
        return a.sqrt() * noise - (1 - a).sqrt() * latents

    def forward(self, latents, text, mel, drop_audio, noise, timesteps, weight=None) -> torch.Tensor:
        noisy = self.add_noise(latents, noise, timesteps)
        audio = mask = None
        if self.audio_encoder is not None:
            audio = self.audio_tokens(mel, drop_audio)
            mask = audio_token_mask(latents.shape[2]).to(latents.device)
        pred = self.unet(noisy, timesteps, text, audio, mask)
        target = self.target(latents, noise, timesteps)
        if weight is None and not self.min_snr_gamma:
            return F.mse_loss(pred[:, :, 1:].float(), target[:, :, 1:].float())
        error = (pred[:, :, 1:].float() - target[:, :, 1:].float()).pow(2)  # (b, c, f - 1, h, w)
        if weight is not None:  # (b, 1, 1, h, w) per latent position, each clip's scaled to mean 1
            error = error * (weight / weight.mean(dim=(-2, -1), keepdim=True))
        per_clip = error.mean(dim=(1, 2, 3, 4))  # (b,)
        if not self.min_snr_gamma:
            return per_clip.mean()
        return (per_clip * self.snr_weight(timesteps)).mean()

    def snr_weight(self, timesteps: torch.Tensor) -> torch.Tensor:
        a = self.alphas_cumprod.to(timesteps.device)[timesteps].float()
        snr = a / (1 - a).clamp_min(1e-8)
        clipped = snr.clamp(max=self.min_snr_gamma)
        if self.prediction_type == "v_prediction":
            return clipped / (snr + 1)
        return clipped / snr.clamp_min(1e-8)
