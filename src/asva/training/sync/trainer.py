"""Contrastive training of the sync classifier on shifted clips (see `loss.py`), on accelerate.

    OUTPUT/checkpoints/checkpoint-<step>/   atomic accelerate states, the last `keep` of them
    OUTPUT/log.csv                          step, loss, loss_av, loss_va, acc_av, acc_va, lr, seconds
    OUTPUT/model/                           the trained classifier (`load_sync_classifier(OUTPUT/model)`)
    OUTPUT/training.json                    config, data, wall time and final training metrics

Data order is a function of (seed, step) only (`ShiftedClipDataset.sample`), and the optimizer,
scheduler and RNG states are in every checkpoint, so a resumed run ends with the same weights as
an uninterrupted one.
"""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from asva.data.shifted import SampleStream, ShiftedClipDataset
from asva.models.sync import SyncClassifier, save_sync_classifier
from asva.models.sync.convert import load_avid_cma_trunks
from asva.training import checkpoint as ckpt
from asva.utils import atomic_path, write_json

from .config import SyncTrainConfig
from .loss import contrastive_sync_loss, pair_logits

LOG_FIELDS = ("step", "loss", "loss_av", "loss_va", "acc_av", "acc_va", "lr", "seconds")


class PairScorer(nn.Module):
    """Wraps the classifier so that one forward gives the (b, K, K) pair logits (DDP-friendly)."""

    def __init__(self, classifier: SyncClassifier):
        super().__init__()
        self.classifier = classifier

    def forward(self, mels: torch.Tensor, videos: torch.Tensor) -> torch.Tensor:
        return pair_logits(self.classifier, mels, videos)


def warmup_constant(warmup_steps: int):
    """The recipe's constant-with-warmup schedule as a LambdaLR factor."""
    return lambda step: min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0


def _loader(dataset: ShiftedClipDataset, cfg: SyncTrainConfig, first_step: int, accelerator) -> DataLoader:
    """Batches of sample numbers n = (step * world + rank) * B + slot, steps first_step..steps-1."""
    world, rank, b = accelerator.num_processes, accelerator.process_index, cfg.batch_size
    numbers = [(s * world + rank) * b + j for s in range(first_step, cfg.steps) for j in range(b)]
    return DataLoader(SampleStream(dataset), batch_size=b, sampler=numbers, num_workers=cfg.num_workers)


class CsvLog:
    """log.csv, rewritten atomically at every flush; rows after a resumed step are dropped."""

    def __init__(self, path: Path, resume_step: int):
        self.path, self.rows = path, []
        if resume_step and path.is_file():
            rows = list(csv.DictReader(io.StringIO(path.read_text())))
            self.rows = [r for r in rows if int(r["step"]) <= resume_step]

    def add(self, row: dict) -> None:
        self.rows.append({k: row[k] for k in LOG_FIELDS})

    def flush(self) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=LOG_FIELDS)
        writer.writeheader()
        writer.writerows(self.rows)
        with atomic_path(self.path) as tmp:
            tmp.write_text(buf.getvalue())


def folder_to_resume(cfg: SyncTrainConfig, out: Path):
    """The checkpoint a run resumes from, or None for a fresh run."""
    return ckpt.ACCELERATE_CHECKPOINTS.resolve(cfg.resume, out)


def train_sync(cfg: SyncTrainConfig, accelerator=None, *, command: str | None = None) -> dict:
    """Run (or resume) training; returns the summary written to OUTPUT/training.json."""
    from accelerate import Accelerator  # (heavy import, only for training)
    from accelerate.utils import set_seed

    accelerator = accelerator or Accelerator()
    set_seed(cfg.seed)
    out = Path(cfg.output)
    classifier = SyncClassifier(cfg.model_config())
    if cfg.init_from is not None and folder_to_resume(cfg, out) is None:
        load_avid_cma_trunks(classifier, cfg.init_from)  # a mismatch fails before any data is read
    dataset = ShiftedClipDataset(cfg.data, "train", cfg.clip_config(), seed=cfg.seed, cache=cfg.cache)
    model = PairScorer(classifier)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8,
                                  weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_constant(cfg.warmup_steps))
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    start_step, elapsed = 0, 0.0
    folder = folder_to_resume(cfg, out)
    if folder is not None:
        state = ckpt.load_accelerate_checkpoint(accelerator, folder)
        start_step, elapsed = int(state["step"]), float(state.get("seconds", 0.0))
        if start_step > cfg.steps:
            raise ValueError(f"checkpoint {folder} is at step {start_step}, past --steps {cfg.steps}")
    log = CsvLog(out / "log.csv", start_step)
    metrics = _run_steps(cfg, accelerator, model, optimizer, scheduler, dataset, start_step, elapsed, log)

    summary = {"config": cfg.to_dict(), "model_config": cfg.model_config().to_dict(),
               "train_videos": len(dataset), "skipped_short_videos": len(dataset.skipped),
               "resumed_from_step": start_step, "steps": cfg.steps, "command": command,
               "wall_seconds": round(metrics.pop("seconds"), 1), "final": metrics,
               "accelerate": {"num_processes": accelerator.num_processes, "device": str(accelerator.device)},
               "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    if accelerator.is_main_process:
        save_sync_classifier(accelerator.unwrap_model(model).classifier, out / "model")
        write_json(out / "training.json", summary)
    accelerator.wait_for_everyone()
    return summary


def _run_steps(cfg, accelerator, model, optimizer, scheduler, dataset, start_step, elapsed, log) -> dict:
    """The training loop from `start_step` to `cfg.steps`; returns the last step's metrics."""
    bar = tqdm(total=cfg.steps, initial=start_step, desc="asva train-sync", unit="step",
               disable=not (cfg.progress and accelerator.is_main_process))
    last = {"seconds": elapsed}
    tick = time.perf_counter()
    try:
        for step, batch in enumerate(_loader(dataset, cfg, start_step, accelerator), start=start_step + 1):
            model.train()
            logits = model(batch["mel"].to(accelerator.device), batch["video"].to(accelerator.device))
            out = contrastive_sync_loss(logits, cfg.tau)
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(out.loss)
            accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            now = time.perf_counter()
            elapsed, tick = elapsed + now - tick, now
            last = {"step": step, **out.scalars(), "lr": scheduler.get_last_lr()[0], "seconds": elapsed}
            bar.update()
            bar.set_postfix(loss=f"{last['loss']:.3f}", acc_av=f"{last['acc_av']:.2f}")
            if accelerator.is_main_process and (step % cfg.log_every == 0 or step == cfg.steps):
                log.add({**last, "seconds": round(elapsed, 2)})
                log.flush()
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                ckpt.save_accelerate_checkpoint(accelerator, cfg.output, step, keep=cfg.keep_checkpoints,
                                                extra={"seconds": elapsed})
                tick = time.perf_counter()  # checkpoint time is not training time
    finally:
        bar.close()
    if "step" not in last and (found := ckpt.ACCELERATE_CHECKPOINTS.find(cfg.output)):
        last["step"] = ckpt.ACCELERATE_CHECKPOINTS.step_of(found[-1])
    return last
