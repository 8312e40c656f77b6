"""Methods side by side: one image, one or more sounds, each method (and eta) as a column.

    columns = plan_columns(["static", "i2vd", "avsyncd"], etas=[1, 4, 8])
    rows = plan_rows([Path("drum.wav")], gains=[1.0])
    result = render_comparison(pipes, Path("drum.png"), rows, columns, ComparisonSettings(prompt="drum"))
    save_comparison(result, Path("grid.mp4"), Path("grid.png"))   # the video (with sound), the sheet

Columns: every method once, and AVSyncD once per eta (the only method eta acts on: Static and AADiff have
no audio guidance, I2VD hears no audio). Rows: one per audio, or per gain (the paper's Fig. 5a: louder
audio vs higher eta), or per (audio, gain) pair. The comparison's sound is the first row's (first audio at
the first gain): a video has one audio track, and the rows share the time axis, so the other rows are
silent companions to watch against it. Shorter clips hold their last frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from asva.media.grid import contact_sheet, draw_labels, grid_video, resize_clip

NAMES = {"static": "Static", "i2vd": "I2VD", "aadiff": "AADiff", "avsyncd": "AVSyncD"}


@dataclass(frozen=True)
class Column:
    method: str
    eta: float  # audio guidance scale given to the pipeline (1 for methods it does not act on)
    label: str


@dataclass(frozen=True)
class Row:
    audio: Path
    gain: float  # amplitude factor (2 = +6.02 dB)
    label: str


@dataclass
class ComparisonSettings:
    prompt: str | None = None
    steps: int = 50
    seed: int = 0
    fps: float = 6.0
    text_scale: float = 1.0
    tile: int = 128


@dataclass
class Comparison:
    video: torch.Tensor  # (3, f, rows * tile, columns * tile) uint8, labelled
    audio: torch.Tensor  # (n,) the first row's sound at 16 kHz, trimmed to the video
    fps: float
    clips: list[tuple[str, torch.Tensor]]  # (label, (3, f, tile, tile)) per cell, rows first


def _number(x: float) -> str:
    return f"{x:g}"


def plan_columns(methods: list[str], etas: list[float]) -> list[Column]:
    """Each method in the order given; AVSyncD once per eta."""
    if not methods or not etas:
        raise ValueError("--methods and --eta need at least one value each")
    if len(set(methods)) != len(methods):
        raise ValueError(f"--methods lists a method twice: {','.join(methods)}")
    unknown = [m for m in methods if m not in NAMES]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; expected some of {', '.join(NAMES)}")
    if any(not eta >= 0 for eta in etas):
        raise ValueError(f"--eta values must be >= 0, got {etas}")
    columns = []
    for method in methods:
        if method == "avsyncd":
            columns += [Column(method, eta, f"AVSyncD, eta={_number(eta)}") for eta in etas]
        else:
            columns.append(Column(method, 1.0, NAMES[method]))
    return columns


def plan_rows(audios: list[Path], gains: list[float]) -> list[Row]:
    """One row per (audio, gain), audios first; labels name what differs between rows."""
    if not audios or not gains:
        raise ValueError("need at least one audio and one gain")
    if any(not (g > 0 and math.isfinite(g)) for g in gains):
        raise ValueError(f"gains are amplitude factors > 0, got {gains}")
    rows = []
    for audio in audios:
        for gain in gains:
            parts = ([audio.stem] if len(audios) > 1 else []) + ([f"gain x{_number(gain)}"] if len(gains) > 1
                                                                 else [])
            rows.append(Row(audio, gain, " ".join(parts)))
    return rows


def _read(audio: Path, gain: float) -> torch.Tensor:
    from asva.media import read_audio
    from asva.media.audio import apply_gain

    wave = read_audio(audio, mono=False)  # (channels, n) at 16 kHz
    return apply_gain(wave, 20 * math.log10(gain)) if gain != 1 else wave


@torch.no_grad()
def render_comparison(pipes: dict, image: Path | torch.Tensor, rows: list[Row], columns: list[Column],
                      settings: ComparisonSettings) -> Comparison:
    """Animate `image` (a file, or its uint8 (3, h, w) pixels) with every (row, column); `pipes` maps a
    method to (pipeline, frame size), each loaded once. Every method gets the image by the official
    transform at its size (`fit_image`, as `asva animate`). Every cell restarts the generator from
    settings.seed."""
    from asva.media import fit_image, read_image

    pixels = image if isinstance(image, torch.Tensor) else read_image(image)
    images = {size: fit_image(pixels, size)[0] for _, size in pipes.values()}
    tiles, clips, sound = [], [], None
    for row in rows:
        wave = _read(row.audio, row.gain)
        tiles.append([])
        for col in columns:
            pipe, size = pipes[col.method]
            out = pipe(images[size], wave[None], settings.prompt, num_inference_steps=settings.steps,
                       audio_guidance_scale=col.eta, text_guidance_scale=settings.text_scale,
                       fps=settings.fps, generator=torch.Generator().manual_seed(settings.seed))
            clip = resize_clip(out.videos[0], settings.tile)
            sound = out.audio[0].mean(dim=0) if sound is None else sound
            clips.append((col.label + (f" | {row.label}" if row.label else ""), clip))
            tiles[-1].append(draw_labels(clip, col.label, row.label))
    video = grid_video(tiles)
    keep = round(video.shape[1] / settings.fps * 16000)
    return Comparison(video=video, audio=sound[:keep], fps=settings.fps, clips=clips)


def comparison_sheet(result: Comparison, num_frames: int = 8) -> torch.Tensor:
    """(3, H, W) uint8 contact sheet: one row of `num_frames` frames per cell (frames x methods)."""
    return contact_sheet(result.clips, num_frames)


def save_comparison(result: Comparison, video: Path, sheet: Path, sheet_frames: int = 8) -> None:
    """Write the labelled grid video (with the first row's sound) and its contact sheet PNG; both files
    appear complete or not at all."""
    from asva.media import write_image, write_video
    from asva.utils import atomic_path

    with atomic_path(video) as tmp_video, atomic_path(sheet) as tmp_sheet:
        write_video(tmp_video, result.video, result.fps, audio=result.audio)
        write_image(tmp_sheet, comparison_sheet(result, sheet_frames))
