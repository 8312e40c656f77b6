"""Shifted clips of one video for the sync classifier: K clips whose starts are `shift` s apart.

Training (the official recipe): 21 clips 0.2 s apart, the first start drawn uniformly so that
all of them fit in the video ("random-compact"), each clip flipped on its own. Evaluation: 31
clips 0.04 s apart, centred in the video ("center-compact"), no flip. Clip k is 12 frames at
6 fps from `starts[k]` and the 2 s of audio from the same start; audio k goes with video k.

A video is decoded once at its native frame rate; the frame shown at time t is the source frame
nearest to t (as the official loader picks it). Frames are centre-cropped to a square and then
prepared with the sync classifier's own `preprocess_sync_video` (bicubic resize, CLIP norm).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from asva.data.sampling import coin, item_generator
from asva.data.validate import format_bad, scan_split
from asva.media import audio_window, normalize_mel, probe, read_audio, waveform_to_mel
from asva.media.audio import SAMPLE_RATE
from asva.media.video import read_all_frames
from asva.models.sync import preprocess_sync_video

SAMPLINGS = ("random", "center")


@dataclass(frozen=True)
class ShiftedClipConfig:
    """Which clips a video gives: `num_clips` starts `shift` s apart, `sampling` random or centred."""

    num_clips: int = 21
    shift: float = 0.2
    num_frames: int = 12
    fps: float = 6.0
    frame_size: int = 224
    sampling: str = "random"
    flip_prob: float = 0.5

    def __post_init__(self) -> None:
        if self.num_clips < 2:
            raise ValueError(f"num_clips must be >= 2 (contrastive pairs), got {self.num_clips}")
        if not self.shift > 0:
            raise ValueError(f"shift must be positive seconds, got {self.shift}")
        if self.num_frames < 1 or not self.fps > 0 or self.frame_size < 1:
            raise ValueError(f"need num_frames >= 1, fps > 0, frame_size >= 1; got "
                             f"{self.num_frames}, {self.fps}, {self.frame_size}")
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {SAMPLINGS}, got {self.sampling!r}")
        if not 0.0 <= self.flip_prob <= 1.0:
            raise ValueError(f"flip_prob must be in [0, 1], got {self.flip_prob}")

    @property
    def clip_duration(self) -> float:
        return self.num_frames / self.fps

    @property
    def span(self) -> float:
        """Seconds of video the K clips cover together."""
        return (self.num_clips - 1) * self.shift + self.clip_duration


def clip_starts(duration: float, config: ShiftedClipConfig, generator: torch.Generator | None = None
                ) -> np.ndarray:
    """(K,) starts `shift` apart, all clips inside [0, duration]: the first one uniform ("random")
    or the block centred ("center")."""
    slack = float(duration) - config.span
    if slack < -1e-6:
        raise ValueError(f"a {duration:.3f} s video cannot hold {config.num_clips} clips {config.shift} s "
                         f"apart ({config.span:.3f} s needed)")
    slack = max(slack, 0.0)
    if config.sampling == "random":
        first = torch.rand((), generator=generator, dtype=torch.float64).item() * slack
    else:
        first = slack / 2.0
    return first + config.shift * np.arange(config.num_clips)


def nearest_frames(starts: np.ndarray, num_frames: int, fps: float, source_fps: float, available: int
                   ) -> torch.Tensor:
    """(K, f) source frame indices nearest to the times starts[k] + i / fps."""
    times = starts[:, None] + np.arange(num_frames)[None, :] / fps
    index = np.clip(np.rint(times * source_fps), 0, available - 1).astype(np.int64)
    return torch.from_numpy(index)


def center_square(video: torch.Tensor) -> torch.Tensor:
    """(..., h, w) -> (..., s, s), s = min(h, w), the centred square."""
    h, w = video.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return video[..., top:top + s, left:left + s]


def clip_mel(wave: torch.Tensor, start: float, duration: float) -> torch.Tensor:
    """(1, 128, 204) normalised ImageBind mel of the `duration` s of `wave` from `start`."""
    window = audio_window(wave, sample_rate=SAMPLE_RATE, start=start, duration=duration)
    return normalize_mel(waveform_to_mel(window, sample_rate=SAMPLE_RATE))


def shifted_clips(frames: torch.Tensor, source_fps: float, wave: torch.Tensor, starts: np.ndarray,
                  config: ShiftedClipConfig, flips: list[bool] | None = None) -> dict:
    """Cut K clips from one decoded video: frames uint8 (3, F, h, w) at `source_fps`, wave (n,) 16 kHz.

    Returns {"mel": (K, 1, 128, 204), "video": (K, 3, f, S, S) float (the classifier's input)}.
    """
    index = nearest_frames(starts, config.num_frames, config.fps, source_fps, frames.shape[1])
    clips = frames[:, index]  # (3, K, f, h, w)
    clips = center_square(clips.permute(1, 0, 2, 3, 4))  # (K, 3, f, s, s)
    video = preprocess_sync_video(clips, config.frame_size)
    if flips is not None:
        video = torch.stack([v.flip(-1) if f else v for v, f in zip(video, flips, strict=True)])
    mel = torch.stack([clip_mel(wave, float(s), config.clip_duration) for s in starts])
    return {"mel": mel, "video": video}


class ShiftedClipDataset(Dataset):
    """Item i: the K shifted clips of video i of ROOT/<split>.txt (see `shifted_clips`).

    Videos shorter than the K clips' span are left out with one warning (`skipped`); any other
    bad entry raises (as `asva.data.AVSyncDataset`). `cache=True` keeps decoded videos in memory
    (for small datasets such as `asva synth` output). With a seed, `sample(n)` draws the n-th
    training sample of the run: video order from a per-epoch permutation seeded by (seed, epoch),
    starts and flips from a generator seeded by (seed, n), so a run is reproducible and resumable
    from its step alone, whatever the DataLoader workers.
    """

    def __init__(self, root: str | Path, split: str, config: ShiftedClipConfig, *, seed: int | None = None,
                 cache: bool = False):
        self.root, self.split, self.config, self.seed = Path(root), split, config, seed
        _, entries, bad = scan_split(self.root, split, config.span - 1e-6)
        short = [b for b in bad if b.reason.startswith("too short")]
        other = [b for b in bad if not b.reason.startswith("too short")]
        if other:
            raise ValueError(f"dataset {str(self.root)!r}, {split}.txt: {len(other)} bad entries:\n"
                             + format_bad(other))
        if short:
            warnings.warn(f"{split}.txt: left out {len(short)} of {len(short) + len(entries)} videos shorter "
                          f"than {config.span:.2f} s ({config.num_clips} clips {config.shift} s apart)",
                          stacklevel=2)
        if not entries:
            raise ValueError(f"dataset {str(self.root)!r}, {split}.txt: no video is {config.span:.2f} s long")
        self.entries, self.skipped = entries, short
        self._cache: dict[int, tuple[torch.Tensor, float, torch.Tensor]] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.entries)

    def decode(self, index: int) -> tuple[torch.Tensor, float, torch.Tensor]:
        """(frames uint8 (3, F, h, w), their fps, mono 16 kHz wave) of video `index`."""
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        path = self.root / "videos" / self.entries[index].path
        fps = probe(path).fps
        if not fps or not math.isfinite(fps):
            raise ValueError(f"{path}: no frame rate in the video header")
        # channel 0, as the official loader's mel (ImageBind's fbank takes channel 0, no mixdown)
        wave = read_audio(path, sample_rate=SAMPLE_RATE, mono=False)[0]
        decoded = (read_all_frames(path)[0], float(fps), wave)  # every source frame
        if self._cache is not None:
            self._cache[index] = decoded
        return decoded

    def load(self, index: int, generator: torch.Generator | None = None) -> dict:
        frames, fps, wave = self.decode(index)
        duration = min(self.entries[index].duration, frames.shape[1] / fps, wave.numel() / SAMPLE_RATE)
        starts = clip_starts(duration, self.config, generator)
        flips = None
        if self.config.flip_prob > 0:
            flips = [coin(self.config.flip_prob, generator) for _ in starts]
        item = shifted_clips(frames, fps, wave, starts, self.config, flips)
        return {**item, "index": index, "path": self.entries[index].path,
                "starts": torch.from_numpy(starts)}

    def __getitem__(self, index: int) -> dict:
        return self.load(index, None)

    def sample(self, n: int) -> dict:
        """The n-th training sample of a seeded run (see the class docstring)."""
        if self.seed is None:
            raise ValueError("sample(n) needs a dataset built with a seed")
        epoch, slot = divmod(int(n), len(self))
        order = torch.randperm(len(self), generator=item_generator(self.seed, epoch + 1, 0))
        return self.load(int(order[slot]), item_generator(self.seed, 0, int(n)))


class SampleStream(Dataset):
    """`dataset.sample(n)` as a map-style dataset over sample numbers, for a DataLoader whose sampler
    is range(first, last)."""

    def __init__(self, dataset: ShiftedClipDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, n: int) -> dict:
        return self.dataset.sample(n)
