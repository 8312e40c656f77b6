"""Training configuration: one dataclass per section, named JSON presets, and `key=value` overrides.

    cfg = load_config("synth-tiny", ["train.lr=3e-4", "model.audio=false"])
    cfg.train.lr, cfg.model.unet, cfg.data.root

A preset is `presets/<name>.json` with the sections below (any omitted field keeps its default); a
path to a JSON file of the same form works too. Overrides are `section.field=value`
(`asva.training.overrides`: the value is checked against the field's type).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from asva import presets
from asva.training.overrides import apply_overrides
from asva.utils import normalize_size

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
MIXED_PRECISION = ("no", "fp16", "bf16")
TRAINABLE = ("adapter", "all")
VAE_LATENTS = ("sample", "mean")
LR_SCHEDULES = ("constant", "constant_with_warmup", "cosine", "warmup_stable_decay")


@dataclass
class ModelConfig:
    """What is trained. `init_from`: a model folder (`asva convert` output or a saved pipeline) giving
    the UNet's SD weights, the VAE, ImageBind and the text encoder; None builds everything from the
    presets below with fresh weights (the CPU route). `trainable`: "adapter" (temporal + audio
    layers, as the paper) or "all" (a model trained from scratch)."""

    init_from: str | None = None
    unet: str = "tiny"  # UNet preset when init_from is None
    unet_overrides: dict = field(default_factory=dict)
    imagebind: str = "tiny"  # ImageBind preset when init_from is None
    audio: bool = True  # False: the I2VD baseline, a UNet without audio attention
    trainable: str = "adapter"
    train_audio_encoder: bool = False
    # The official trainer never puts the frozen ImageBind in eval mode, so its audio DropPath (rates
    # linspace(0, 0.1) over the huge config's 12 blocks) is active in training; false: eval mode.
    imagebind_train_mode: bool = True
    autoencoder_factor: int = 8  # the patch autoencoder built when init_from is None
    autoencoder_channels: int = 32
    prompt_dim: int = 40  # width of the random class-prompt table when there is no text encoder
    prompt_length: int = 77


@dataclass
class DataConfig:
    root: str | None = None  # AVSync15-format folder (asva synth writes one); --data on the command line
    split: str = "train"
    size: int | tuple[int, int] = 256  # a side (square) or (height, width), e.g. [128, 256]
    fps: float = 6.0
    num_frames: int = 12
    flip_prob: float = 0.5
    cache: bool = False  # decode every video once into memory (small datasets)
    workers: int = 4  # DataLoader workers when not cached


@dataclass
class DiffusionConfig:
    num_train_timesteps: int = 1000
    beta_start: float = 0.00085
    beta_end: float = 0.012
    beta_schedule: str = "scaled_linear"
    prediction_type: str = "epsilon"
    rescale_betas_zero_snr: bool = False  # zero terminal SNR (Lin et al. 2024); samplers then start at t=999
    offset_noise: float = 0.0  # std of a per-(clip, channel) constant added to the noise (0: off)
    min_snr_gamma: float = 0.0  # min-SNR-gamma loss weighting (Hang et al. 2023; 0: plain MSE)


@dataclass
class OptimConfig:
    max_steps: int = 1000
    batch_size: int = 64  # total over all processes and accumulation steps
    grad_accum: int = 1
    lr: float = 1e-4
    weight_decay: float = 1e-2
    betas: tuple[float, float] = (0.9, 0.999)
    lr_schedule: str = "constant"  # or "constant_with_warmup", "cosine", "warmup_stable_decay"
    warmup_steps: int = 0
    decay_steps: int = 0  # warmup_stable_decay: the last decay_steps before max_steps fall linearly to 0
    grad_clip: float = 1.0
    null_audio_prob: float = 0.2
    vae_latents: str = "sample"  # "sample": latent_dist.sample() as the official trainer; "mean": .mode()
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False
    seed: int = 0
    threads: int | None = None  # torch CPU threads in this process (None: torch's default)
    ema_decay: float = 0.0  # EMA of the trainable weights, sampled from and exported (0: off)
    # Loss weight 1 + w at latent positions inside the clips' object boxes (synth sidecars), 1 elsewhere,
    # normalised per clip to average 1 (0: off, the official plain MSE)
    box_loss_weight: float = 0.0


@dataclass
class CheckpointConfig:
    every: int = 500
    keep: int = 3


@dataclass
class LogConfig:
    every: int = 10
    tensorboard: bool = True  # when the tensorboard package is installed
    progress: bool = True


@dataclass
class ValidationConfig:
    every: int = 0  # 0: never
    num_clips: int = 2
    split: str = "test"
    steps: int = 25
    scheduler: str = "dpm"
    audio_guidance_scale: float = 4.0


@dataclass
class ExportConfig:
    scheduler: str = "pndm"  # the sampler the exported model folder defaults to
    window_anchor: str = "previous"  # frame 0 of its later windows on long audio: "previous" or "image"


@dataclass
class TrainConfig:
    description: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    train: OptimConfig = field(default_factory=OptimConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    log: LogConfig = field(default_factory=LogConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        presets.check_fields(cls, data, "config section")
        sections = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for name, value in data.items():
            if name == "description":
                kwargs[name] = str(value)
                continue
            section_cls = sections[name].default_factory
            presets.check_fields(section_cls, value, f"config section {name!r}")
            kwargs[name] = section_cls(**value)
        config = cls(**kwargs)
        config.validate()
        return config

    def validate(self) -> None:
        t, m = self.train, self.model
        if t.mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"train.mixed_precision must be one of {MIXED_PRECISION}, "
                             f"got {t.mixed_precision!r}")
        if m.trainable not in TRAINABLE:
            raise ValueError(f"model.trainable must be one of {TRAINABLE}, got {m.trainable!r}")
        for name in ("max_steps", "batch_size", "grad_accum"):
            if int(getattr(t, name)) < 1:
                raise ValueError(f"train.{name} must be >= 1, got {getattr(t, name)!r}")
        if not 0.0 <= t.null_audio_prob <= 1.0:
            raise ValueError(f"train.null_audio_prob must be in [0, 1], got {t.null_audio_prob!r}")
        if t.lr <= 0:
            raise ValueError(f"train.lr must be positive, got {t.lr!r}")
        if t.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"train.lr_schedule must be one of {LR_SCHEDULES}, got {t.lr_schedule!r}")
        if t.lr_schedule == "warmup_stable_decay":
            room = t.max_steps - t.warmup_steps
            if not 1 <= t.decay_steps <= room:
                raise ValueError(f"train.decay_steps must be in [1, max_steps - warmup_steps = {room}] "
                                 f"for warmup_stable_decay, got {t.decay_steps!r}")
        elif t.decay_steps:
            raise ValueError(f"train.decay_steps is used only by lr_schedule warmup_stable_decay, "
                             f"got {t.decay_steps!r} with {t.lr_schedule!r}")
        if t.box_loss_weight < 0:
            raise ValueError(f"train.box_loss_weight must be >= 0 (0: off), got {t.box_loss_weight!r}")
        if not (t.ema_decay == 0.0 or 0.0 < t.ema_decay < 1.0):
            raise ValueError(f"train.ema_decay must be 0 (off) or in (0, 1), got {t.ema_decay!r}")
        dif = self.diffusion
        if dif.offset_noise < 0 or dif.min_snr_gamma < 0:
            raise ValueError(f"diffusion.offset_noise and diffusion.min_snr_gamma must be >= 0, got "
                             f"{dif.offset_noise!r} and {dif.min_snr_gamma!r}")
        normalize_size(self.data.size)  # raises on a bad size
        if t.vae_latents not in VAE_LATENTS:
            raise ValueError(f"train.vae_latents must be one of {VAE_LATENTS}, got {t.vae_latents!r}")
        if self.checkpoint.every < 0 or self.checkpoint.keep < 1:
            raise ValueError(f"checkpoint.every must be >= 0 and checkpoint.keep >= 1, got {self.checkpoint}")
        from asva.pipelines.long_audio import check_window_anchor  # torch: imported only when validating

        check_window_anchor(self.export.window_anchor, "export.window_anchor")  # now, not after training


def list_presets() -> list[str]:
    return presets.list_presets(PRESETS_DIR)


def load_config(preset_or_path: str, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """A preset name (see `list_presets`) or a JSON file, with `section.key=value` overrides applied."""
    data = presets.read_preset(PRESETS_DIR, preset_or_path, kind="training", allow_file=True)
    for section, values in apply_overrides(TrainConfig, overrides).items():
        data.setdefault(section, {}).update(values)
    return TrainConfig.from_dict(data)
