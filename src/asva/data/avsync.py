"""`AVSyncDataset`: audio-video clips from an AVSync15-format dataset (see `asva.data.validate`).

Each item is one clip of `num_frames` frames at `fps` (12 at 6 fps = 2 s) with the audio of the
same 2 s:

    video      float32 (c, f, h, w) in [-1, 1]
    audio      float32 (n,) mono 16 kHz waveform, n = round(clip seconds * 16000) (32000)
    mel        float32 (1, 128, 204) normalised ImageBind mel of `audio`
    label      int, index of the class in `dataset.classes` (class folders sorted by name)
    prompt     str, the class's prompt from class_mapping.json
    path       str, "<class>/<file>.mp4" relative to ROOT/videos
    sidecar    str path of "<file>.json" next to the video (`asva synth` writes one), or None
    start      float, clip start in seconds
    clip_index int, which evaluation clip of the video (0 in training and "center" mode)
    flipped    bool, whether the frames were mirrored (training augmentation)

`collate` batches such items: tensors stacked (video becomes (b, c, f, h, w)), numbers as
tensors, strings and sidecars as lists.
"""
from __future__ import annotations

import copy
import warnings
from pathlib import Path

import torch
from torch.utils.data import Dataset

from asva.data import sampling
from asva.data.validate import format_bad, scan_split
from asva.media import audio_window, normalize_mel, normalize_size, read_audio, read_video, waveform_to_mel
from asva.media.audio import SAMPLE_RATE
from asva.media.video import FRAME_RULES

MODES = ("train", "eval")


class AVSyncDataset(Dataset):
    """Clips of `ROOT/<split>.txt`, checked at construction.

    mode="train": one clip per video, start uniform over the video, horizontal flip with
    probability `flip_prob`. mode="eval": no flip; eval_starts="center" gives the centred clip,
    "three" the paper's three clips per video (starts i * (duration - 2) / 2, i = 0, 1, 2), so
    the dataset has 3 items per video, item k being clip k % 3 of video k // 3.

    Randomness: with `seed=None` training draws come from torch's global RNG (which DataLoader
    seeds differently in every worker). With a seed, item k of epoch e uses a generator derived
    from (seed, e, k): the same clip whatever the worker or order; call `set_epoch(e)` each epoch.

    A malformed dataset raises one ValueError listing every bad line; with `skip_bad=True` the
    bad lines are left out with a warning and kept in `dataset.skipped` (`BadEntry` items).

    `frame_rule` picks the frames as the official loader ("official") or as written ("exact", for
    asva's own oracle; `asva.media.video.FRAME_RULES`).
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        *,
        num_frames: int = 12,
        fps: float = 6.0,
        size: int | tuple[int, int] = 256,
        mode: str = "train",
        eval_starts: str = "center",
        flip_prob: float = 0.5,
        skip_bad: bool = False,
        seed: int | None = None,
        frame_rule: str = "official",
    ):
        _check_options(num_frames, fps, size, mode, eval_starts, flip_prob)
        self.frame_rule = _checked_rule(frame_rule)
        self.root = Path(root)
        self.split, self.mode, self.seed = split, mode, seed
        self.num_frames, self.fps, self.size = int(num_frames), float(fps), normalize_size(size)
        self.clip_duration = self.num_frames / self.fps
        self.flip_prob = float(flip_prob) if mode == "train" else 0.0
        self.clips_per_video = 1 if mode == "train" else sampling.EVAL_STARTS[eval_starts]
        self.epoch = 0

        mapping, self.entries, self.skipped = scan_split(self.root, split, self.clip_duration)
        where = f"dataset {str(self.root)!r}, {split}.txt"
        if self.skipped and not skip_bad:
            raise ValueError(f"{where}: {len(self.skipped)} bad entries (pass skip_bad=True to skip them):\n"
                             + format_bad(self.skipped))
        if self.skipped:
            warnings.warn(f"{where}: skipped {len(self.skipped)} bad entries of "
                          f"{len(self.skipped) + len(self.entries)}", stacklevel=2)
        if not self.entries:
            raise ValueError(f"{where}: no usable videos")
        self.classes = sorted(mapping)
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.prompts = dict(mapping)

    def __len__(self) -> int:
        return len(self.entries) * self.clips_per_video

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch that seeded training draws depend on (no effect with seed=None)."""
        self.epoch = int(epoch)

    def clip_start(self, index: int, generator: torch.Generator | None = None) -> tuple[int, float]:
        """(clip_index, start seconds) of item `index`; training draws one number from `generator`."""
        entry = self.entries[index // self.clips_per_video]
        clip_index = index % self.clips_per_video
        if self.mode == "train":
            return 0, sampling.train_start(entry.duration, self.clip_duration, generator)
        starts = sampling.eval_starts(entry.duration, self.clip_duration, self.clips_per_video)
        return clip_index, starts[clip_index]

    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} clips")
        index %= len(self)
        generator = None
        if self.mode == "train" and self.seed is not None:
            generator = sampling.item_generator(self.seed, self.epoch, index)
        return self.load(index, generator)

    def load(self, index: int, generator: torch.Generator | None = None) -> dict:
        """Item `index`, with the training draws (start, flip) taken from `generator`."""
        entry = self.entries[index // self.clips_per_video]
        clip_index, start = self.clip_start(index, generator)
        flipped = self.mode == "train" and sampling.coin(self.flip_prob, generator)
        path = self.root / "videos" / entry.path
        video = self._load_frames(path, start)
        if flipped:
            video = video.flip(-1)
        channels = self._load_audio(path, start)  # (c, n)
        audio = channels.mean(0)
        # As the official loader: the mel of a stereo clip is its channel 0 (no mixdown).
        mel = normalize_mel(waveform_to_mel(channels, sample_rate=SAMPLE_RATE))
        sidecar = path.with_suffix(".json")
        return {
            "video": video,
            "audio": audio,
            "mel": mel,
            "label": self.class_to_idx[entry.cls],
            "prompt": self.prompts[entry.cls],
            "path": entry.path,
            "sidecar": str(sidecar) if sidecar.is_file() else None,
            "start": start,
            "clip_index": clip_index,
            "flipped": flipped,
        }

    def with_frame_rule(self, rule: str) -> AVSyncDataset:
        """The same clips with frames picked by `rule` (this dataset when it already reads that way)."""
        if _checked_rule(rule) == self.frame_rule:
            return self
        other = copy.copy(self)
        other.frame_rule = rule
        return other

    def _load_frames(self, path: Path, start: float) -> torch.Tensor:
        """(c, num_frames, h, w) float32 in [-1, 1], picked and transformed as the official loader does
        (`read_video`); a short read repeats its last frame."""
        frames = read_video(path, fps=self.fps, size=self.size, start=start, duration=self.clip_duration,
                            rule=self.frame_rule)
        if frames.shape[1] == 0:
            raise ValueError(f"no frames decoded from {str(path)!r} at {start:.3f} s")
        frames = frames[:, : self.num_frames]
        missing = self.num_frames - frames.shape[1]
        if missing:
            frames = torch.cat([frames, frames[:, -1:].expand(-1, missing, -1, -1)], dim=1)
        return frames * 2.0 - 1.0  # the official Normalize([0.5], [0.5]) on [0, 1] frames

    def _load_audio(self, path: Path, start: float) -> torch.Tensor:
        """(c, round(clip seconds * 16000)) float32 waveform of the clip's time span, all channels."""
        wave = read_audio(path, sample_rate=SAMPLE_RATE, start=start, duration=self.clip_duration, mono=False)
        return audio_window(wave, sample_rate=SAMPLE_RATE, start=0.0, duration=self.clip_duration)


def _checked_rule(rule: str) -> str:
    if rule not in FRAME_RULES:
        raise ValueError(f"frame_rule must be one of {sorted(FRAME_RULES)}, got {rule!r}")
    return rule


def _check_options(num_frames, fps, size, mode, eval_starts, flip_prob) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if eval_starts not in sampling.EVAL_STARTS:
        raise ValueError(f"eval_starts must be one of {tuple(sampling.EVAL_STARTS)}, got {eval_starts!r}")
    if mode == "train" and eval_starts != "center":
        raise ValueError(f"eval_starts={eval_starts!r} applies to mode='eval' only")
    if not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive int, got {num_frames!r}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    normalize_size(size)  # an int (square) or (height, width); raises on anything else
    if not 0.0 <= flip_prob <= 1.0:
        raise ValueError(f"flip_prob must be in [0, 1], got {flip_prob!r}")


def collate(items: list[dict]) -> dict:
    """Batch dataset items: tensors stacked on a new first axis (video (b, c, f, h, w), audio (b, n),
    mel (b, 1, 128, 204)); bools, ints and floats as tensors; strings and None kept as lists."""
    if not items:
        raise ValueError("collate needs at least one item")
    batch = {}
    for key in items[0]:
        values = [item[key] for item in items]
        first = values[0]
        if isinstance(first, torch.Tensor):
            batch[key] = torch.stack(values)
        elif isinstance(first, bool):
            batch[key] = torch.tensor(values, dtype=torch.bool)
        elif isinstance(first, int):
            batch[key] = torch.tensor(values, dtype=torch.long)
        elif isinstance(first, float):
            batch[key] = torch.tensor(values, dtype=torch.float64)
        else:
            batch[key] = values
    return batch
