"""Golden case `data_transform`: the official image transform, `load_image` and frame selection.

Every entry that `case.json` lists is checked (the test names none): image stacks rebuilt from the
case's PNG sources, `load_image` on PNG and JPEG, and the frame indices of 7 sources x 6 starts.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from einops import rearrange
from PIL import Image
from safetensors.torch import load_file

from asva.media.image import read_image
from asva.media.transform import crop_box, fit_frames
from asva.media.video import pts_to_us, select_frames

TOL = 1e-6  # max abs difference on every float output (CASE.md, proposed bounds)


@pytest.fixture(scope="module")
def case(golden):
    folder = Path(golden) / "data_transform"
    return folder, json.loads((folder / "case.json").read_text()), load_file(folder / "case.safetensors")


def _mirror(n: int, start: int, size: int) -> np.ndarray:
    i = (np.arange(n) + start) % (2 * size)
    return np.where(i < size, i, 2 * size - 1 - i)


def _stack(folder: Path, meta: dict, entry: dict) -> np.ndarray:
    frames = []
    for fr in entry["frames"]:
        src = np.array(Image.open(folder / meta["sources"][fr["src"]]["file"]).convert("RGB"))
        rows, cols = _mirror(entry["h"], fr["y0"], src.shape[0]), _mirror(entry["w"], fr["x0"], src.shape[1])
        frames.append(src[rows][:, cols])
    stack = np.stack(frames)
    assert hashlib.sha256(stack.tobytes()).hexdigest() == entry["input_sha256"]
    return stack


def _size(value):
    return tuple(value) if isinstance(value, list) else value


def _check(got: torch.Tensor, want: torch.Tensor, what: str) -> None:
    assert got.dtype == torch.float32 and got.shape == want.shape, what
    diff = (got - want).abs().max().item()
    assert diff <= TOL, f"{what}: max abs difference {diff:.3g} > {TOL}"


def test_image_stacks(case):
    folder, meta, tensors = case
    assert meta["image_stacks"], "the case lists no image stacks"
    for entry in meta["image_stacks"]:
        stack = _stack(folder, meta, entry)
        size = _size(entry["size"])
        assert list(crop_box(entry["h"], entry["w"], size)) == entry["aspect_crop_top_height_left_width"]
        frames = rearrange(torch.from_numpy(stack), "f h w c -> c f h w")
        out = rearrange(fit_frames(frames, size), "c f h w -> f c h w")
        if entry["normalize"]:
            out = (out - 0.5) / 0.5
        _check(out, tensors[entry["output_key"]], entry["name"])


def test_load_image(case):
    folder, meta, tensors = case
    assert meta["load_image"], "the case lists no load_image entries"
    for entry in meta["load_image"]:
        path = folder / entry["file"]
        size = _size(entry["image_size"])
        decoded = read_image(path)  # uint8 (3, h, w)
        want = tensors[entry["output_key"]]
        hwc = rearrange(decoded, "c h w -> h w c").contiguous().numpy()
        digest = hashlib.sha256(hwc.tobytes()).hexdigest()
        if digest != entry["decoded_sha256"]:  # another JPEG decoder: test the resize on the stored decode
            assert "decoded_key" in entry, f"{entry['name']}: decoded bytes differ and no reference decode"
            decoded = rearrange(tensors[entry["decoded_key"]], "h w c -> c h w")
        h, w = decoded.shape[-2:]
        assert list(crop_box(h, w, size)) == entry["aspect_crop_top_height_left_width"]
        _check(fit_frames(decoded[:, None], size)[:, 0], want, f"load_image {entry['name']}")
        if digest == entry["decoded_sha256"]:
            _check(read_image(path, size=size), want, f"read_image {entry['name']} with size")


def test_frame_selection(case):
    _, meta, tensors = case
    video = meta["video"]
    fps, count, seconds = video["video_fps"], video["video_num_frame"], video["clip_duration"]
    assert video["sources"], "the case lists no video sources"
    for src in video["sources"]:
        pts_us = tensors[src["pts_us_key"]]
        # the same microsecond timestamps, computed from the container's ticks and time base
        ticks = torch.arange(src["n_frames"]) * src["frame_duration_ticks"]
        assert [pts_to_us(int(t), 1, src["timescale"]) for t in ticks] == pts_us.tolist()
        pts = [int(u) * 1e-6 for u in pts_us]
        assert pts == tensors[src["pts_key"]].tolist()
        for row, start in enumerate(tensors[src["starts_key"]].tolist()):
            got = select_frames(pts, start, fps=fps, duration=seconds, count=count, pad=True)
            want = tensors[src["indices_key"]][row].tolist()
            assert got == want, f"{src['name']} start {start}: {got} != {want}"
