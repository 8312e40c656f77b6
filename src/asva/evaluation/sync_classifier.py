"""Evaluating a sync classifier: shift-detection accuracy (A2V / V2A) and P_sync of one pair.

Accuracy protocol (the official `avsync_eval.py`): from each test video, 31 clips 0.04 s apart,
centred in the video. A2V: the centre audio is scored against the 31 videos, and the prediction
is right when the best video is within +-5 clips (+-0.2 s) of the centre. V2A: the centre video
against the 31 audios, likewise. The accuracies are the fractions of test videos predicted right.

A "scorer" is anything with `score_pairs(mels, frames, audio_index, video_index) -> (n,)` logits,
as `SyncClassifier` has, so the protocol can be checked with a hand-made oracle.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from tqdm import tqdm

from asva.data.shifted import ShiftedClipConfig, ShiftedClipDataset, center_square, clip_mel
from asva.media import SAMPLE_RATE, probe, read_audio, read_video
from asva.models.sync import SyncClassifier, score_clips


def eval_clip_config(model_config, num_clips: int = 31, shift: float = 0.04) -> ShiftedClipConfig:
    return ShiftedClipConfig(num_clips=num_clips, shift=shift, num_frames=model_config.num_frames,
                             frame_size=model_config.frame_size, sampling="center", flip_prob=0.0)


@torch.no_grad()
def shift_predictions(scorer, mels: torch.Tensor, videos: torch.Tensor) -> tuple[int, int]:
    """(A2V, V2A) predicted clip index for one video's K clips: mels (K, 1, n, t), videos (K, 3, f, h, w)."""
    k = mels.shape[0]
    if videos.shape[0] != k or k < 1:
        raise ValueError(f"need as many mels as videos, got {tuple(mels.shape)} and {tuple(videos.shape)}")
    clips, centre = torch.arange(k), torch.full((k,), k // 2)
    phi = scorer.score_pairs(mels, videos, torch.cat([centre, clips]), torch.cat([clips, centre]))
    return int(phi[:k].argmax()), int(phi[k:].argmax())


def sync_accuracy(scorer, items, *, tolerance: int = 5, progress: bool = False) -> dict:
    """A2V / V2A accuracy over `items` (dicts with "mel" (K, ...), "video" (K, ...), "path")."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0 clips, got {tolerance}")
    rows = []
    for item in tqdm(items, desc="asva eval-sync", unit="video", disable=not progress):
        centre = item["mel"].shape[0] // 2
        a2v, v2a = shift_predictions(scorer, item["mel"], item["video"])
        a2v, v2a = a2v - centre, v2a - centre
        rows.append({"path": item["path"], "a2v_pred": a2v, "v2a_pred": v2a,
                     "a2v_correct": abs(a2v) <= tolerance, "v2a_correct": abs(v2a) <= tolerance})
    if not rows:
        raise ValueError("no videos to evaluate")
    n = len(rows)
    return {"a2v_acc": sum(r["a2v_correct"] for r in rows) / n,
            "v2a_acc": sum(r["v2a_correct"] for r in rows) / n,
            "num_videos": n, "tolerance": tolerance, "per_video": rows}


def evaluate_dataset(model: SyncClassifier, root: str | Path, split: str = "test", *, num_clips: int = 31,
                     shift: float = 0.04, tolerance: int = 5, progress: bool = True) -> dict:
    """The accuracy protocol on ROOT/<split>.txt (videos too short for the clips are left out)."""
    dataset = ShiftedClipDataset(root, split, eval_clip_config(model.config, num_clips, shift))
    result = sync_accuracy(model.eval(), (dataset[i] for i in range(len(dataset))),
                           tolerance=tolerance, progress=progress)
    return {"data": str(root), "split": split, "num_clips": num_clips, "shift": shift,
            "skipped_short_videos": len(dataset.skipped), **result}


def read_clip_frames(path: str | Path, start: float, num_frames: int = 12, fps: float = 6.0, *,
                     rule: str = "official") -> torch.Tensor:
    """(3, num_frames, s, s) uint8: the centre square of `num_frames` frames at `fps` from `start`,
    picked by `rule` (`read_video`); a clip that ends early repeats its last frame."""
    frames = read_video(path, fps=fps, size=None, start=start, duration=num_frames / fps,
                        rule=rule)[:, :num_frames]
    if frames.shape[1] == 0:
        raise ValueError(f"no frames decoded from {str(path)!r} at {start:.3f} s")
    missing = num_frames - frames.shape[1]
    if missing:
        frames = torch.cat([frames, frames[:, -1:].expand(-1, missing, -1, -1)], dim=1)
    return center_square(frames)


def read_clip_mel(path: str | Path, start: float, duration: float = 2.0) -> torch.Tensor:
    """(1, 128, 204) mel of `duration` s of the audio of `path` from `start` (channel 0)."""
    wave = read_audio(path, sample_rate=SAMPLE_RATE, mono=False)[0]
    return clip_mel(wave, start, duration)


@torch.no_grad()
def phi_of(model: SyncClassifier, mel: torch.Tensor, frames: torch.Tensor) -> float:
    """phi for one (mel (1, n, t), frames uint8 (3, f, h, w)) pair (`asva.models.sync.score_clips`,
    the one computation of phi behind every RelSync and AlignSync)."""
    return float(score_clips(model.eval(), mel[None], frames[None])[0])


def pair_score(model: SyncClassifier, video: str | Path, audio: str | Path | None = None,
               start: float | None = None) -> dict:
    """phi and P_sync = sigmoid(phi) of the 2 s from `start` (default: centred) of `video`'s frames
    and `audio`'s sound (default: the video's own audio track)."""
    audio = video if audio is None else audio
    clip = model.config.num_frames / 6.0
    if start is None:
        v, a = probe(video), probe(audio)
        usable = min(v.duration, a.duration)
        start = max(0.0, (usable - clip) / 2) if math.isfinite(usable) else 0.0
    frames = read_clip_frames(video, start, model.config.num_frames)
    phi = phi_of(model, read_clip_mel(audio, start, clip), frames)
    return {"video": str(video), "audio": str(audio), "start": start, "phi": phi,
            "p_sync": 1.0 / (1.0 + math.exp(-phi))}
