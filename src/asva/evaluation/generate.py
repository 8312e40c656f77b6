"""Generating the clips `asva evaluate` scores (`asva generate-eval`): settings manifest, prompts, one clip.

Clip k of <class>/<stem>.mp4 animates the first frame of the k-th evaluation clip (start
k * (duration - 2) / 2) with that clip's 2 s of audio and is written as
OUT/<class>/<stem>_clip-<k:02d>.mp4 (the official `animation_gen.py` layout).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from asva.media.audio import SAMPLE_RATE
from asva.media.frames import to_uint8
from asva.utils import atomic_path

MANIFEST = "generate_eval.json"


def settings_of(args: argparse.Namespace) -> dict:
    """What the clips depend on; a folder is only ever filled with one set of settings."""
    keys = (
        "model",
        "eta",
        "text_scale",
        "steps",
        "scheduler",
        "seed",
        "clips_per_video",
        "split",
        "size",
        "dtype",
    )
    settings = {"dataset": str(args.dataset.resolve()), **{k: getattr(args, k) for k in keys}}
    fraction = getattr(args, "guidance_fraction", 1.0)
    if fraction != 1.0:  # recorded only when used, so older folders still resume
        settings["guidance_fraction"] = fraction
    if args.method != "avsyncd":  # folders made before --method existed hold AVSyncD clips
        from asva.baselines.options import aadiff_settings

        settings["method"] = args.method
        settings.update(aadiff_settings(args) if args.method == "aadiff" else {})
    return settings


def manifest_size(folder: Path) -> int | tuple[int, int] | None:
    """The frame size a generated set was made at (its generate_eval.json: the model's own unless
    --size was given), or None without a readable manifest."""
    from asva.utils import normalize_size

    try:
        return normalize_size(json.loads((Path(folder) / MANIFEST).read_text())["size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_manifest(out: Path, settings: dict) -> None:
    """Write OUT/generate_eval.json, or refuse if it records other settings."""
    path = out / MANIFEST
    if path.is_file():
        old = json.loads(path.read_text())
        keys = [*settings, *(k for k in old if k not in settings)]  # a key only in the old run differs too
        diff = [f"{k}: {old.get(k)!r} -> {settings.get(k)!r}" for k in keys if old.get(k) != settings.get(k)]
        if diff:
            raise ValueError(
                f"{out} holds clips generated with other settings ({'; '.join(diff)}); "
                f"use another -o folder or the same settings"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(settings, indent=2) + "\n")


def pick_prompt(pipe, cls: str, prompt: str) -> tuple[str, bool]:
    """(prompt, use the prompt table): the class prompt for a text encoder, else the table entry
    named by the prompt or by the class folder."""
    if getattr(pipe, "ignores_prompt", False) or pipe.text_encoder is not None:
        return prompt, False
    names = pipe.prompt_table.names if pipe.prompt_table is not None else []
    for name in (prompt, cls):
        if name in names:
            return name, True
    raise ValueError(
        f"the model's prompt table has neither {prompt!r} nor {cls!r}; it knows: {', '.join(names)}"
    )


def clip_audio(path: Path, start: float, seconds: float) -> torch.Tensor:
    """(channels, n) exactly `seconds` of audio from `start` (padded with silence if short)."""
    from asva.media import audio_window, read_audio

    wave = read_audio(path, sample_rate=SAMPLE_RATE, start=start, duration=seconds, mono=False)
    return audio_window(wave, sample_rate=SAMPLE_RATE, duration=seconds)


def generate_clip(pipe, item: dict, audio: torch.Tensor, args: argparse.Namespace) -> torch.Tensor:
    """(3, 12, h, w) uint8 frames animated from the item's first frame and `audio` (channels, n)."""
    image = to_uint8(item["video"][:, 0])  # (3, h, w)
    cls = item["path"].split("/")[0]
    prompt, use_table = pick_prompt(pipe, cls, item["prompt"])
    fraction = getattr(args, "guidance_fraction", 1.0)
    extra = {} if fraction == 1.0 else {"guidance_fraction": fraction}  # AVSyncD's option, not the baselines'
    out = pipe(
        image,
        audio[None],
        prompt,
        use_prompt_table=use_table,
        num_inference_steps=args.steps,
        audio_guidance_scale=args.eta,
        text_guidance_scale=args.text_scale,
        fps=6.0,
        generator=torch.Generator().manual_seed(args.seed),
        batched_guidance=not args.sequential_cfg,
        **extra,
    )
    return out.videos[0]


def video_and_clip(dataset, index: int) -> tuple[str, int]:
    clip_index, _ = dataset.clip_start(index)
    return dataset.entries[index // dataset.clips_per_video].path, clip_index


