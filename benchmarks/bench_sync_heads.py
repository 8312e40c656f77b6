"""Why the shipped synthetic sync classifier is `sync-synth`: held-out accuracy of three heads.

Usage:
    python benchmarks/bench_sync_heads.py --data SYNTH_DIR [--steps 300] [--train-items 480]

Pre-samples `--train-items` training items and 48 held-out items (6 clips 0.2 s apart each, 32-px
frames) from an `asva synth` benchmark, then trains each variant from the same seed for `--steps`
steps (batch 4, AdamW 1e-3, gradient clipping 1.0, 1 thread) with the contrastive loss of
`asva train-sync`, printing one line per 100 steps: the six-way held-out accuracy (chance 0.167) of
  - official: the official pooling (mean over time) and MLP head, in the tiny layout;
  - bins+mlp: 12 time bins, no temporal stride, MLP head;
  - sync-synth: 12 time bins, no temporal stride, correlation head (the shipped preset).
"""
from __future__ import annotations

import argparse
import random
import time

import torch

WIDE = {"head_hidden": (64, 32), "audio_stem_channels": 16, "audio_channels": (16, 32, 32, 32),
        "video_channels": (8, 16, 32, 32)}
VARIANTS = {
    "official": ("tiny", WIDE),
    "bins+mlp": ("tiny", {**WIDE, "temporal_bins": 12, "video_temporal_strides": (1, 1, 1, 1)}),
    "sync-synth": ("synth", {}),
}


def sample(root: str, split: str, count: int, seed: int, flip_prob: float) -> list[dict]:
    from asva.data.shifted import ShiftedClipConfig, ShiftedClipDataset

    config = ShiftedClipConfig(num_clips=6, frame_size=32, flip_prob=flip_prob)
    dataset = ShiftedClipDataset(root, split, config, seed=seed)
    return [dataset.sample(i) for i in range(count)]


def stack(items: list[dict]) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.stack([x["mel"] for x in items]), torch.stack([x["video"] for x in items])


@torch.no_grad()
def accuracy(model, items: list[dict]) -> float:
    from asva.training.sync.loss import pair_logits

    model.eval()
    hits = total = 0
    for i in range(0, len(items), 8):
        logits = pair_logits(model, *stack(items[i:i + 8]))  # (b, K, K)
        hits += (logits.argmax(-1) == torch.arange(logits.shape[-1])).sum().item()
        total += logits.shape[0] * logits.shape[1]
    model.train()
    return hits / total


def train(name: str, train_items: list[dict], test_items: list[dict], steps: int) -> None:
    from asva.models.sync import SyncClassifier, SyncClassifierConfig
    from asva.training.sync.loss import contrastive_sync_loss, pair_logits

    preset, overrides = VARIANTS[name]
    torch.manual_seed(0)
    model = SyncClassifier(SyncClassifierConfig.from_preset(preset, **overrides))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    rng, began = random.Random(0), time.perf_counter()
    for step in range(1, steps + 1):
        batch = [train_items[i] for i in rng.sample(range(len(train_items)), 4)]
        loss = contrastive_sync_loss(pair_logits(model, *stack(batch))).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0:
            print(f"{name} step {step}: held-out six-way accuracy {accuracy(model, test_items):.3f} "
                  f"({time.perf_counter() - began:.0f} s)", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--train-items", type=int, default=480)
    args = p.parse_args()
    torch.set_num_threads(1)
    train_items = sample(args.data, "train", args.train_items, seed=0, flip_prob=0.5)
    test_items = sample(args.data, "test", 48, seed=1, flip_prob=0.0)
    for name in VARIANTS:
        train(name, train_items, test_items, args.steps)


if __name__ == "__main__":
    main()
