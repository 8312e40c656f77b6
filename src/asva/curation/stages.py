"""The curation stages as small functions over one decoded video's clips.

Every scoring stage is `stage(video, spans, config, models) -> list[Verdict]`, one verdict per clip span
(start, end) in seconds: the clip's scores and, if the stage rejects it, the reason. The runner
(`asva.curation.process`) calls them in `STAGES` order on the clips still kept.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from einops import rearrange

from asva.curation.config import CurateConfig
from asva.curation.decode import SAMPLE_RATE, VideoData

Span = tuple[float, float]
Verdict = tuple[dict[str, float], str | None]


def detect_scenes(video: VideoData, config: CurateConfig) -> list[Span]:
    """Scenes (start, end) in seconds: PySceneDetect's ContentDetector on the analysis frames."""
    from scenedetect import ContentDetector, FrameTimecode

    min_len = max(1, round(config.scene_min_seconds * video.fps))
    detector = ContentDetector(threshold=config.scene_threshold, min_scene_len=min_len)
    bgr = rearrange(video.small, "c f h w -> f h w c").flip(-1).numpy()  # OpenCV order
    cuts = []
    for i, frame in enumerate(np.ascontiguousarray(bgr)):
        cuts += detector.process_frame(FrameTimecode(i, fps=video.fps), frame)
    # a cut found at frame k lies somewhere in (t_{k-1}, t_k]: the scene before it ends at t_{k-1}
    frames = sorted(c.frame_num for c in cuts)
    starts = [0.0, *(k / video.fps for k in frames)]
    ends = [*((k - 1) / video.fps for k in frames), video.duration]
    return [(a, b) for a, b in zip(starts, ends, strict=True) if b > a]


def split_scenes(scenes: list[Span], clip_seconds: float, stride: float) -> list[tuple[int, Span]]:
    """(scene index, (start, end)) of every clip_seconds clip every `stride` s inside each scene."""
    clips = []
    for index, (start, end) in enumerate(scenes):
        count = math.floor((end - start - clip_seconds) / stride + 1e-6) + 1
        clips += [
            (index, (round(start + k * stride, 6), round(start + k * stride + clip_seconds, 6)))
            for k in range(max(0, count))
        ]
    return clips


def pixel_stage(video: VideoData, spans: list[Span], config: CurateConfig, models=None) -> list[Verdict]:
    """Mean absolute difference of consecutive analysis frames, 0..1."""
    out = []
    for start, end in spans:
        frames = video.small[:, video.span(start, end)].float() / 255.0
        diff = float((frames[:, 1:] - frames[:, :-1]).abs().mean()) if frames.shape[1] > 1 else 0.0
        reason = None
        if diff < config.pixel_low:
            reason = f"static: pixel difference {diff:.4f} < pixel_low {config.pixel_low}"
        elif diff > config.pixel_high:
            reason = f"camera motion: pixel difference {diff:.4f} > pixel_high {config.pixel_high}"
        out.append(({"pixel_diff": diff}, reason))
    return out


def semantic_stage(video: VideoData, spans: list[Span], config: CurateConfig, models) -> list[Verdict]:
    """Cosine distance between embeddings of frames `1 / semantic_fps` s apart: mean and max."""
    out = []
    for start, end in spans:
        emb = models.embedder.embed_images(video.frames[:, video.span(start, end, config.semantic_fps)])
        dist = (1.0 - (emb[1:] * emb[:-1]).sum(-1)).clamp(min=0.0)
        mean, peak = (float(dist.mean()), float(dist.max())) if dist.numel() else (0.0, 0.0)
        reason = None
        if mean < config.semantic_low:
            reason = f"no semantic change: mean distance {mean:.5f} < semantic_low {config.semantic_low}"
        elif peak > config.semantic_high:
            reason = f"content jump: max distance {peak:.4f} > semantic_high {config.semantic_high}"
        out.append(({"semantic_mean": mean, "semantic_max": peak}, reason))
    return out


def audio_stage(video: VideoData, spans: list[Span], config: CurateConfig, models=None) -> list[Verdict]:
    """Peak absolute amplitude of the clip's audio."""
    out = []
    for start, end in spans:
        piece = video.audio[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]
        peak = float(piece.abs().max()) if piece.numel() else 0.0
        reason = (
            f"silent: audio peak {peak:.4f} < audio_peak_min {config.audio_peak_min}"
            if peak < config.audio_peak_min
            else None
        )
        out.append(({"audio_peak": peak}, reason))
    return out


def _mel(
    video: VideoData, start: float, seconds: float = 2.0, wave: torch.Tensor | None = None
) -> torch.Tensor:
    from asva.media import audio_window, normalize_mel, waveform_to_mel

    wave = video.audio if wave is None else wave
    with warnings.catch_warnings():  # a window past the end is padded with silence: expected here
        warnings.simplefilter("ignore")
        window = audio_window(wave, sample_rate=SAMPLE_RATE, start=start, duration=seconds)
    return normalize_mel(waveform_to_mel(window, sample_rate=SAMPLE_RATE))  # (1, 128, 204)


def alignment_stage(
    video: VideoData, spans: list[Span], config: CurateConfig, models, prompt: str = ""
) -> list[Verdict]:
    """ImageBind IA (frames vs the clip's centred 2 s of audio) and IT (frames vs the class prompt)."""
    text = models.imagebind.embed_text([prompt])[0]
    out = []
    for start, end in spans:
        images = models.imagebind.embed_images(video.frames[:, video.span(start, end, config.semantic_fps)])
        centre = max(0.0, (start + end) / 2 - 1.0)
        audio = models.imagebind.embed_audio(_mel(video, centre)[None])[0]
        ia, it = float((images @ audio).mean()), float((images @ text).mean())
        reason = None
        if ia < config.ia_min:
            reason = f"image-audio mismatch: IA {ia:.3f} < ia_min {config.ia_min}"
        elif it < config.it_min:
            reason = f"image-text mismatch: IT {it:.3f} < it_min {config.it_min}"
        out.append(({"ia": ia, "it": it}, reason))
    return out


def sync_windows(span: Span, seconds: float) -> list[float]:
    """Starts of the classifier's windows in a clip: at its start and ending at its end (one if equal)."""
    start, end = span
    return sorted({round(start, 6), round(max(start, end - seconds), 6)})


def _shifted_mels(video: VideoData, start: float, seconds: float, shifts: tuple[float, ...]) -> torch.Tensor:
    """(1 + len(shifts), 1, 128, t) mels of the audio at `start` and at start + each shift; audio before
    0 s or after the end is silence (a negative like any other)."""
    pad = max((abs(s) for s in shifts), default=0.0) + seconds
    n = round(pad * SAMPLE_RATE)
    wave = torch.nn.functional.pad(video.audio, (n, n))
    return torch.stack([_mel(video, pad + start + shift, seconds, wave) for shift in (0.0, *shifts)])


@torch.no_grad()
def sync_stage(video: VideoData, spans: list[Span], config: CurateConfig, models) -> list[Verdict]:
    """P_sync (paper eq. 1, temperature 1): softmax of phi over the clip's own audio and the same audio
    shifted by each of `sync_shifts` seconds, taken at the own audio; the mean over the clip's windows."""
    from asva.models.sync import preprocess_sync_video

    model, shifts = models.sync, tuple(config.sync_shifts)
    frames_n, seconds = model.config.num_frames, model.config.num_frames / 6.0
    starts = [sync_windows(span, seconds) for span in spans]
    flat = [s for group in starts for s in group]
    param = next(model.parameters())
    clips = torch.stack([_window_frames(video, s, frames_n) for s in flat])  # (w, 3, f, s, s)
    frames = preprocess_sync_video(clips, model.config.frame_size).to(param)
    mels = torch.cat([_shifted_mels(video, s, seconds, shifts) for s in flat]).to(param)  # (w * k, ...)
    k = 1 + len(shifts)
    pairs = torch.arange(len(flat) * k)
    phi = model.score_pairs(mels, frames, pairs, pairs // k).float().reshape(len(flat), k)
    p = torch.softmax(phi, dim=1)[:, 0].tolist()
    own = phi[:, 0].tolist()
    out, i = [], 0
    for group in starts:
        p_sync, phi_own = float(np.mean(p[i : i + len(group)])), float(np.mean(own[i : i + len(group)]))
        i += len(group)
        reason = (
            f"not in sync: P_sync {p_sync:.3f} < p_sync_min {config.p_sync_min}"
            if p_sync < config.p_sync_min
            else None
        )
        out.append(({"p_sync": p_sync, "phi": phi_own}, reason))
    return out


def _window_frames(video: VideoData, start: float, count: int) -> torch.Tensor:
    """(3, count, s, s) uint8: the centre square of `count` frames at 6 fps from `start`."""
    index = [video.frame_index(start + k / 6.0) for k in range(count)]
    frames = video.frames[:, index]
    h, w = frames.shape[-2:]
    s = min(h, w)
    return frames[..., (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]


SCORING_STAGES = {
    "pixel": pixel_stage,
    "semantic": semantic_stage,
    "audio": audio_stage,
    "alignment": alignment_stage,
    "sync": sync_stage,
}


def merge_spans(spans: list[Span]) -> list[Span]:
    """Consecutive overlapping or touching spans (sorted by start) merged into longer ones."""
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1e-6:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]
