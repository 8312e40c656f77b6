"""Input checks and output shaping shared by the baseline pipelines (the AVSyncD pipeline's contract).

Images are (3, h, w) or (b, 3, h, w), uint8 or float in [-1, 1]; audio is a float waveform (n,), (b, n)
or (b, channels, n) at `sample_rate`; the clip lasts floor(seconds * fps) frames and the returned audio
is resampled to 16 kHz and trimmed to the video.
"""
from __future__ import annotations

import torch

from asva.pipelines.avsyncd import OUTPUT_TYPES, SAMPLE_RATE, AnimationOutput, normalize_inputs
from asva.pipelines.long_audio import frame_count, resample_frames


def check_media(image: torch.Tensor, audio: torch.Tensor, sample_rate: int,
                output_types: tuple[str, ...] = OUTPUT_TYPES,
                output_type: str = "uint8") -> tuple[torch.Tensor, torch.Tensor]:
    """-> image (b, 3, h, w) float in [-1, 1], audio (b, [ch,] n) float at 16 kHz."""
    if output_type not in output_types:
        raise ValueError(f"output_type must be one of {output_types}, got {output_type!r}")
    return normalize_inputs(image, audio, sample_rate)


def clip_frames(audio: torch.Tensor, fps: float) -> int:
    """Frames of the clip at `fps` for 16-kHz `audio`; at least one, else a ValueError."""
    seconds = audio.shape[-1] / SAMPLE_RATE
    frames = frame_count(seconds, fps)
    if frames < 1:
        raise ValueError(f"audio of {seconds:.3f} s is shorter than one frame at {fps} fps")
    return frames


def finish(video: torch.Tensor, audio: torch.Tensor, src_fps: float, fps: float,
           output_type: str) -> AnimationOutput:
    """(b, 3, f, h, w) float frames in [-1, 1] at `src_fps` -> the pipeline output at `fps`."""
    video = resample_frames(video, src_fps, fps, frame_count(audio.shape[-1] / SAMPLE_RATE, fps))
    if output_type == "uint8":
        video = ((video.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    keep = round(video.shape[2] / fps * SAMPLE_RATE)
    return AnimationOutput(videos=video.cpu(), audio=audio[..., :keep].cpu(), fps=float(fps))
