"""Training batches whose order and content depend only on (seed, step): exact resumption for free.

Global step s of a run takes `batch_size` items: epoch e = s // steps_per_epoch walks a permutation
of the dataset seeded by (seed, e), and item k of epoch e draws its clip start and flip from
`asva.data.sampling.item_generator(seed, e, k)` (as `AVSyncDataset` does with a seed). Each process
takes its own slice of every global batch, so `--resume` only needs the step number.

`CachedClips` decodes every video once into memory (every source frame with its time, the whole
waveform) and cuts the same clips `AVSyncDataset` would read from disk (same frame rule, same
transform); it suits small datasets such as the synthetic benchmark on a CPU, where decoding
dominates a tiny model's step.

`object_boxes` reads a clip's object boxes from its synth sidecar (`videos/<class>/<name>.json`) and
`object_mask` draws them at the training frames' size, for the optional loss weighting inside them
(`train.box_loss_weight`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from asva.data import AVSyncDataset, sampling
from asva.data.avsync import collate
from asva.media import crop_box, fit_frames, normalize_mel, read_audio, waveform_to_mel
from asva.media.audio import SAMPLE_RATE
from asva.media.video import read_all_frames, select_frames
from asva.metrics.oracle import load_sidecar, sidecar_objects
from asva.utils import as_hw


class CachedClips:
    """Items of `dataset` (an `AVSyncDataset` in train mode) served from decoded copies in memory."""

    def __init__(self, dataset: AVSyncDataset):
        self.dataset = dataset
        self.videos, self.audio, self.times = [], [], []
        for entry in dataset.entries:
            path = dataset.root / "videos" / entry.path
            frames, times = read_all_frames(path)  # (3, F, h, w) uint8 at the source rate
            self.videos.append(frames)
            self.times.append(times)
            self.audio.append(read_audio(path, sample_rate=SAMPLE_RATE, mono=False))  # (c, n)

    def __len__(self) -> int:
        return len(self.dataset)

    def item(self, index: int, generator: torch.Generator) -> dict:
        ds = self.dataset
        video_index = index // ds.clips_per_video
        entry = ds.entries[video_index]
        _, start = ds.clip_start(index, generator)
        flipped = sampling.coin(ds.flip_prob, generator)
        picks = select_frames(self.times[video_index], start, fps=ds.fps, duration=ds.clip_duration,
                              count=ds.num_frames, pad=True)  # as read_video + the dataset's padding
        if not picks:
            raise ValueError(f"no frames decoded from {entry.path!r} at {start:.3f} s")
        video = fit_frames(self.videos[video_index][:, picks], ds.size) * 2.0 - 1.0
        if flipped:
            video = video.flip(-1)
        wave = self.audio[video_index]
        first, length = round(start * SAMPLE_RATE), round(ds.clip_duration * SAMPLE_RATE)
        piece = wave[:, first:first + length]
        piece = torch.nn.functional.pad(piece, (0, length - piece.shape[-1]))
        mel = normalize_mel(waveform_to_mel(piece, SAMPLE_RATE))  # channel 0, as AVSyncDataset
        return {"video": video, "audio": piece.mean(0), "mel": mel,
                "label": ds.class_to_idx[entry.cls], "prompt": ds.prompts[entry.cls], "path": entry.path,
                "start": start, "flipped": flipped}


def sidecar_path(root: str | Path, entry_path: str) -> Path:
    """The synth sidecar of the video `entry_path` (relative to `root / "videos"`)."""
    return (Path(root) / "videos" / entry_path).with_suffix(".json")


def object_boxes(root: str | Path, entry_path: str) -> tuple[list, int, int]:
    """(boxes (x0, y0, x1, y1) in source pixels, source width, height) of every object (sounding or
    silent) the clip's sidecar lists."""
    path = sidecar_path(root, entry_path)
    if not path.is_file():
        raise ValueError(f"train.box_loss_weight needs object boxes, but {entry_path!r} has no sidecar "
                         f"{path} (only `asva synth` data has them)")
    meta = load_sidecar(path)
    return [o["box"] for o in sidecar_objects(meta)], int(meta["width"]), int(meta["height"])


def object_mask(boxes: list, width: int, height: int, size, flipped: bool) -> torch.Tensor:
    """(th, tw) float32 in [0, 1]: the fraction of each training-frame pixel that lies inside one of
    `boxes` (source pixels of a width x height clip, as `object_boxes` gives them), cropped, resized and
    mirrored as `fit_frames` and the flip treat the frames."""
    mask = torch.zeros(height, width)
    for box in boxes:
        x0, y0, x1, y1 = (max(int(round(float(v))), 0) for v in box)
        mask[y0:y1, x0:x1] = 1.0
    top, crop_h, left, crop_w = crop_box(height, width, size)
    crop = mask[top:top + crop_h, left:left + crop_w]
    out = F.interpolate(crop[None, None], size=as_hw(size), mode="area")[0, 0]
    return out.flip(-1) if flipped else out


class BatchPlan:
    """Which dataset items process `rank` of `world` trains on at each global step."""

    def __init__(self, num_items: int, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        if batch_size % world:
            raise ValueError(f"train.batch_size {batch_size} must be divisible by the {world} processes")
        if num_items < batch_size:
            raise ValueError(f"the dataset has {num_items} clips, fewer than train.batch_size={batch_size}")
        self.num_items, self.batch_size, self.seed = num_items, batch_size, seed
        self.rank, self.world = rank, world
        self.steps_per_epoch = num_items // batch_size  # the last partial batch of an epoch is dropped
        self._perm: tuple[int, torch.Tensor] | None = None

    def epoch_of(self, step: int) -> int:
        return step // self.steps_per_epoch

    def permutation(self, epoch: int) -> torch.Tensor:
        if self._perm is None or self._perm[0] != epoch:
            state = np.random.SeedSequence([int(self.seed), int(epoch), 0x0DE7]).generate_state(2)
            g = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
            self._perm = (epoch, torch.randperm(self.num_items, generator=g))
        return self._perm[1]

    def indices(self, step: int) -> list[int]:
        """This process's item indices for global step `step` (0-based)."""
        epoch, within = divmod(step, self.steps_per_epoch)
        batch = self.permutation(epoch)[within * self.batch_size:(within + 1) * self.batch_size]
        per_rank = self.batch_size // self.world
        return [int(i) for i in batch[self.rank * per_rank:(self.rank + 1) * per_rank]]


class BatchSource:
    """Batches for steps `start_step`, `start_step + 1`, ...: from memory (`cached`) or a DataLoader."""

    def __init__(self, dataset: AVSyncDataset, plan: BatchPlan, *, cached: bool, workers: int,
                 object_masks: bool = False):
        self.dataset, self.plan = dataset, plan
        self.cached, self._cache = cached, None
        self.workers = workers
        # with object_masks: every clip's boxes, read before training (naming the first clip without
        # them), so that each item's `object_mask` needs no file
        self.boxes = None
        if object_masks:
            self.boxes = {e.path: object_boxes(dataset.root, e.path) for e in dataset.entries}

    @property
    def cache(self) -> CachedClips | None:
        """The decoded videos, decoded on first use (a run resumed at its last step never needs them)."""
        if self.cached and self._cache is None:
            self._cache = CachedClips(self.dataset)
        return self._cache

    def _load(self, step: int) -> list[dict]:
        epoch = self.plan.epoch_of(step)
        items = []
        for index in self.plan.indices(step):
            g = sampling.item_generator(self.plan.seed, epoch, index)
            items.append(self.cache.item(index, g) if self.cache else self.dataset.load(index, g))
        if self.boxes is not None:
            for item in items:
                boxes, width, height = self.boxes[item["path"]]
                item["object_mask"] = object_mask(boxes, width, height, self.dataset.size, item["flipped"])
        return items

    def batches(self, start_step: int, end_step: int):
        if self.cache is not None or self.workers == 0:
            for step in range(start_step, end_step):
                yield collate(self._load(step))
            return
        loader = torch.utils.data.DataLoader(
            _StepItems(self, start_step, end_step), batch_size=None, num_workers=self.workers,
            prefetch_factor=2, persistent_workers=False)
        yield from loader


class _StepItems(torch.utils.data.Dataset):
    """Step k -> the collated batch of step start + k (so DataLoader workers can prefetch)."""

    def __init__(self, source: BatchSource, start: int, end: int):
        self.source, self.start, self.end = source, start, end

    def __len__(self) -> int:
        return max(0, self.end - self.start)

    def __getitem__(self, k: int) -> dict:
        return collate(self.source._load(self.start + k))
