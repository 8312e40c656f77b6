"""The training loop on `accelerate`: one CPU, one GPU, or many GPUs / nodes with the same code.

    result = train(load_config("synth-tiny"), output="runs/tiny", data_root="data/synth")

Every random draw of step s (diffusion noise, timesteps, null-audio coin flips, the clips of the
batch) comes from generators seeded by (seed, step, process), so a run resumed from a checkpoint
continues exactly as the uninterrupted run would have.
"""
from __future__ import annotations

import contextlib
import csv
import importlib.util
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from diffusers.optimization import get_scheduler
from tqdm import tqdm

from asva.data import AVSyncDataset
from asva.training import checkpoint as ckpt
from asva.training.avsyncd.config import TrainConfig
from asva.training.avsyncd.data import BatchPlan, BatchSource
from asva.training.avsyncd.ema import WeightEMA
from asva.training.avsyncd.model import (
    Components,
    DiffusionLoss,
    build_components,
    encode_video,
    noise_scheduler,
    sampling_scheduler,
    select_trainable,
)
from asva.training.avsyncd.validation import fit_autoencoder, write_validation

WEIGHT_DTYPES = {"no": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
METRICS = ("step", "loss", "lr", "samples_per_s", "elapsed_s")


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; no update was applied and the last checkpoint is kept."""


@dataclass
class TrainResult:
    step: int
    loss: float
    output: Path
    model: Path | None  # the exported model folder (process 0 only)
    seconds: float  # wall time of the whole run, setup included
    module: torch.nn.Module  # the trained `DiffusionLoss` (unwrapped)


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    state = np.random.SeedSequence([int(seed), int(step), int(rank), 0x7EA1]).generate_state(2)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def box_weight(object_mask: torch.Tensor, latent_hw, extra: float) -> torch.Tensor:
    """(b, 1, 1, h, w) loss weights 1 + extra * (the fraction of each latent cell inside an object box)
    from the batch's (b, H, W) frame-pixel `object_mask`."""
    cover = F.adaptive_avg_pool2d(object_mask[:, None].float(), tuple(latent_hw))  # (b, 1, h, w)
    return (1.0 + extra * cover)[:, :, None]


def train(config: TrainConfig, *, output: str | Path, data_root: str | Path | None = None,
          resume: str | None = None, command: str | None = None) -> TrainResult:
    """Train as `config` says, writing checkpoints, metrics and the exported model under `output`."""
    t, began = config.train, time.perf_counter()
    if t.threads:
        torch.set_num_threads(int(t.threads))
    root = data_root or config.data.root
    if root is None:
        raise ValueError("no training data: pass --data DIR (or set data.root)")
    output = Path(output)
    accelerator = Accelerator(mixed_precision=t.mixed_precision, gradient_accumulation_steps=t.grad_accum)
    dataset = AVSyncDataset(root, config.data.split, num_frames=config.data.num_frames, fps=config.data.fps,
                            size=config.data.size, mode="train", flip_prob=config.data.flip_prob, seed=t.seed)
    plan = BatchPlan(len(dataset), t.batch_size, t.seed, accelerator.process_index, accelerator.num_processes)
    resume_path = ckpt.resolve_resume(resume, output) if resume else None
    components = build_components(config.model, dataset.prompts, seed=t.seed)
    source = BatchSource(dataset, plan, cached=config.data.cache, workers=config.data.workers,
                         object_masks=bool(t.box_loss_weight))
    _prepare_components(components, config, source, resume_path)
    run = _Run(config, accelerator, components, output, dataset)
    start = run.restore(resume_path) if resume_path else 0
    if accelerator.is_main_process:
        output.mkdir(parents=True, exist_ok=True)
        (output / "config.json").write_text(json.dumps(config.to_dict(), indent=1) + "\n")
    return run.loop(source, start, command=command, data_root=str(root), began=began)


def _prepare_components(components: Components, config: TrainConfig, source: BatchSource,
                        resume_path: Path | None) -> None:
    """Load the parts a resumed run built (or fit the autoencoder of a new run); set trainability."""
    for name in components.built:
        if resume_path is not None and (resume_path / name).is_dir():
            part = getattr(components, name)
            setattr(components, name, type(part).from_pretrained(resume_path / name))
        elif name == "vae" and resume_path is None:
            fit_autoencoder(components.vae, source)
    select_trainable(components, config.model)


class _Run:
    """State of one training run: the wrapped module, optimizer, LR schedule and logs."""

    def __init__(self, config: TrainConfig, accelerator: Accelerator, components: Components,
                 output: Path, dataset):
        t = config.train
        self.config, self.acc, self.parts = config, accelerator, components
        self.output, self.dataset = output, dataset
        self.noise = noise_scheduler(config.diffusion)
        module = DiffusionLoss(components.unet, components.audio_encoder, self.noise,
                               min_snr_gamma=config.diffusion.min_snr_gamma)
        if t.gradient_checkpointing:
            components.unet.set_gradient_checkpointing(True)
        weight_dtype = WEIGHT_DTYPES[t.mixed_precision]
        for p in [*module.parameters(), *components.vae.parameters(), *components.prompt_table.parameters()]:
            if not p.requires_grad:
                p.data = p.data.to(weight_dtype)
        for part in (components.vae, components.prompt_table):
            part.to(accelerator.device)
        self.params = [p for p in module.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("nothing to train: every parameter is frozen")
        optimizer = torch.optim.AdamW(self.params, lr=t.lr, betas=tuple(t.betas), weight_decay=t.weight_decay)
        if t.lr_schedule == "warmup_stable_decay":
            factor = warmup_stable_decay(t.warmup_steps, t.decay_steps, t.max_steps)
            self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        else:
            self.lr_scheduler = get_scheduler(t.lr_schedule, optimizer, num_warmup_steps=t.warmup_steps,
                                              num_training_steps=t.max_steps)
        self.raw = module
        self.ema = WeightEMA(module, t.ema_decay) if t.ema_decay else None
        self.module, self.optimizer = accelerator.prepare(module, optimizer)
        self.last_checkpoint: Path | None = None

    def restore(self, path: Path) -> int:
        state = ckpt.load_checkpoint(path, self.raw, self.optimizer.optimizer, self.lr_scheduler,
                                     ema=self.ema)
        self.last_checkpoint = path
        if self.acc.is_main_process:
            _trim_metrics(self.output / "metrics.csv", state["step"])
        return int(state["step"])

    # ------------------------------------------------------------ one step
    def step(self, batch: dict, step: int) -> float:
        t = self.config.train
        rank, micro = self.acc.process_index, max(1, len(batch["prompt"]) // t.grad_accum)
        g = step_generator(t.seed, step, rank)
        total = 0.0
        for k in range(t.grad_accum):
            part = {key: v[k * micro:(k + 1) * micro] for key, v in batch.items()}
            with self.acc.accumulate(self.module):
                loss = self._loss(part, g)
                self.acc.backward(loss)
                total += float(loss.detach()) / t.grad_accum
                if self.acc.sync_gradients:
                    self._check_finite(total, step)
                    if t.grad_clip > 0:
                        self.acc.clip_grad_norm_(self.params, t.grad_clip)
                    self.optimizer.step()
                    self.optimizer.zero_grad(set_to_none=True)
                    if self.ema is not None:
                        self.ema.update(self.raw, step)
        self.lr_scheduler.step()
        return total

    def _loss(self, batch: dict, g: torch.Generator) -> torch.Tensor:
        device, parts = self.acc.device, self.parts
        sample = self.config.train.vae_latents == "sample"
        latents = encode_video(parts.vae, batch["video"].to(device), sample=sample, generator=g).float()
        b = latents.shape[0]
        noise = torch.randn(latents.shape, generator=g).to(device)
        offset = self.config.diffusion.offset_noise
        if offset:  # one constant per (clip, channel): lets the model shift a frame's mean brightness
            noise = noise + offset * torch.randn((b, latents.shape[1], 1, 1, 1), generator=g).to(device)
        timesteps = torch.randint(0, self.noise.config.num_train_timesteps, (b,), generator=g).to(device)
        drop = (torch.rand(b, generator=g) < self.config.train.null_audio_prob).to(device)
        text = parts.prompt_table.lookup(list(batch["prompt"])).to(device)
        mel = batch["mel"].to(device)
        weight = None
        if self.config.train.box_loss_weight:
            weight = box_weight(batch["object_mask"], latents.shape[-2:], self.config.train.box_loss_weight)
            weight = weight.to(device)
        return self.module(latents, text, mel, drop, noise, timesteps, weight)

    def _check_finite(self, loss: float, step: int) -> None:
        value = float(self.acc.reduce(torch.tensor(loss, device=self.acc.device), "mean"))
        if not math.isfinite(value):
            kept = self.last_checkpoint or "none (no checkpoint was written yet)"
            raise NonFiniteLossError(f"non-finite loss {value} at step {step + 1}: training stopped before "
                                     f"applying it; the last good checkpoint is {kept}")

    # ------------------------------------------------------------ the loop
    def loop(self, source: BatchSource, start: int, *, command: str | None, data_root: str,
             began: float) -> TrainResult:
        t, acc = self.config.train, self.acc
        bar = tqdm(total=t.max_steps, initial=start, desc="asva train", unit="step",
                   disable=not (self.config.log.progress and acc.is_main_process))
        log = _MetricLog(self.output / "metrics.csv", self.config.log, acc.is_main_process)
        self._train_mode()
        loss, window, window_start = float("nan"), [], time.perf_counter()
        for step, batch in zip(range(start, t.max_steps), source.batches(start, t.max_steps), strict=True):
            loss = self.step(batch, step)
            window.append(loss)
            done = step + 1
            rate = len(window) * t.batch_size / max(time.perf_counter() - window_start, 1e-9)
            bar.set_postfix(loss=f"{loss:.4f}", samples_s=f"{rate:.2f}")
            bar.update()
            if done % self.config.log.every == 0 or done == t.max_steps:
                log.write(done, sum(window) / len(window), self.lr_scheduler.get_last_lr()[0], rate,
                          time.perf_counter() - began)
                window, window_start = [], time.perf_counter()
            self._maybe_checkpoint(done, force=done == t.max_steps)
            self._maybe_validate(done)
        bar.close()
        log.close()
        model = self._export(command, data_root, time.perf_counter() - began, start, loss)
        acc.end_training()
        return TrainResult(t.max_steps, loss, self.output, model, time.perf_counter() - began, self.raw)

    def _maybe_checkpoint(self, done: int, *, force: bool) -> None:
        every = self.config.checkpoint.every
        if not (force or (every and done % every == 0)):
            return
        if self.acc.is_main_process:
            parts = {name: getattr(self.parts, name) for name in self.parts.built
                     if not any(p.requires_grad for p in getattr(self.parts, name).parameters())}
            self.last_checkpoint = ckpt.save_checkpoint(
                self.output, done, self.raw, self.optimizer.optimizer, self.lr_scheduler, parts,
                samples=done * self.config.train.batch_size, keep=self.config.checkpoint.keep, ema=self.ema)
        self.acc.wait_for_everyone()

    def _train_mode(self) -> None:
        """Training mode, with the audio encoder in train mode only if `model.imagebind_train_mode`
        (the official trainer: its DropPath active) and in eval mode otherwise."""
        self.module.train()
        if self.raw.audio_encoder is not None:
            self.raw.audio_encoder.train(self.config.model.imagebind_train_mode)

    def _maybe_validate(self, done: int) -> None:
        v = self.config.validation
        if v.every and done % v.every == 0 and self.acc.is_main_process:
            self.module.eval()
            with self._averaged():
                write_validation(self.parts, self.config, self.output / "validation" / f"step-{done:07d}",
                                 self.dataset.root)
            self._train_mode()
        if v.every and done % v.every == 0:
            self.acc.wait_for_everyone()

    def _export(self, command: str | None, data_root: str, seconds: float, start: int,
                last_loss: float) -> Path | None:
        if not self.acc.is_main_process:
            return None
        info = {"preset_description": self.config.description, "command": command, "data": data_root,
                "steps": self.config.train.max_steps, "resumed_from_step": start or None,
                "batch_size": self.config.train.batch_size, "processes": self.acc.num_processes,
                "wall_time_s": round(seconds, 1), "final_loss": _last_loss(self.output / "metrics.csv"),
                "last_loss": last_loss if math.isfinite(last_loss) else None,
                "config": self.config.to_dict()}
        scheduler = sampling_scheduler(self.config.export.scheduler, self.config.diffusion)
        with self._averaged():
            return ckpt.export_model(self.output / "model", self.parts, scheduler, info,
                                     self.config.export.window_anchor)

    def _averaged(self):
        """The EMA weights in place (when train.ema_decay is set) for sampling and export."""
        return self.ema.applied(self.raw) if self.ema is not None else contextlib.nullcontext()


class _MetricLog:
    """metrics.csv (and TensorBoard when installed and enabled), written by process 0 only."""

    def __init__(self, path: Path, cfg, enabled: bool):
        self.path, self.enabled, self.tb = path, enabled, None
        if not enabled:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.is_file()
        self.file = path.open("a", newline="")
        self.writer = csv.writer(self.file)
        if new:
            self.writer.writerow(METRICS)
        if cfg.tensorboard and importlib.util.find_spec("tensorboard") is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(path.parent / "tensorboard"))

    def write(self, step: int, loss: float, lr: float, rate: float, elapsed: float) -> None:
        if not self.enabled:
            return
        self.writer.writerow([step, f"{loss:.6f}", f"{lr:.3e}", f"{rate:.3f}", f"{elapsed:.1f}"])
        self.file.flush()
        if self.tb is not None:
            for name, value in (("loss", loss), ("lr", lr), ("samples_per_s", rate)):
                self.tb.add_scalar(f"train/{name}", value, step)

    def close(self) -> None:
        if self.enabled:
            self.file.close()
            if self.tb is not None:
                self.tb.close()


def warmup_stable_decay(warmup_steps: int, decay_steps: int, max_steps: int):
    """LambdaLR factor after `step` optimizer steps: a linear warm-up (as diffusers'
    constant_with_warmup, so such a run resumes into this one unchanged), 1, then a linear fall to 0
    over the last `decay_steps` before `max_steps` (the warmup-stable-decay schedule)."""
    decay_start = max_steps - decay_steps

    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        if step < decay_start:
            return 1.0
        return max(0.0, (max_steps - step) / decay_steps)

    return factor


def _trim_metrics(path: Path, step: int) -> None:
    """Drop metric rows past `step` (written after the checkpoint being resumed)."""
    if not path.is_file():
        return
    rows = list(csv.reader(path.open()))
    kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= step]
    path.write_text("".join(",".join(r) + "\n" for r in kept))


def _last_loss(path: Path) -> float | None:
    if not path.is_file():
        return None
    rows = list(csv.reader(path.open()))
    return float(rows[-1][1]) if len(rows) > 1 else None
