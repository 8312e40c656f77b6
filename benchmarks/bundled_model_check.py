"""The bundled model's targets (issue 11) on a few test clips, and a contact sheet of what it makes.

Usage:
    python benchmarks/bundled_model_check.py --dataset DIR --model MODEL [--limit 16] [--size N]
        [--steps 20] [--eta 4] [--sheet OUT.png] [--example-only]

Prints one line per figure:
  frame error        mean |generated - real| over frames 2..12 (fraction of 255), all clips, eta 4
  photo frame error  the same over the clips whose sidecar says "background": "photos"
  oracle correlation motion/event correlation in the sounding box
  two-object ratio   geometric mean of (target + eps) / (other + eps) motion over the two-object clips
  drum corner drift  the README example (the demo recipe's drum clip at --size, first frame and 4 s of
                     audio) through `asva animate`: mean |corner(frame i) - corner(frame 0)| over the
                     four corner squares (a fifth of the side each), grey levels; and its wall time
`--limit` test videos (3 clips each) spread over test.txt; the model folder's own sampler. The sheet
shows the drum example's 24 frames (top row) and 4 test clips' 12 frames (one row each).
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def corner_drift(frames: np.ndarray) -> float:
    """frames (f, h, w, 3) uint8 -> mean over frames 1.. and the 4 corner squares of |frame - frame 0|."""
    f, h, w, _ = frames.shape
    s = max(1, min(h, w) // 5)
    x = frames.astype(np.float32)
    corners = [x[:, :s, :s], x[:, :s, -s:], x[:, -s:, :s], x[:, -s:, -s:]]
    return float(np.mean([np.abs(c[1:] - c[:1]).mean() for c in corners]))


def drum_example(model: str, size: int, steps: int | None, eta: float, work: Path):
    """Animate the README's drum example at `size` with `asva animate`; (frames, seconds).

    The example is the demo recipe's drum clip (`asva.demo.examples.example_clip`, the shipped
    drum.png / drum.wav when the recipe's size is `size`), its first frame and first 4 s of sound."""
    from PIL import Image

    from asva import cli
    from asva.demo.examples import RECIPE, example_clip, write_wav

    clip = example_clip("drum", {**RECIPE, "size": size})
    Image.fromarray(clip.frames[0]).save(work / "drum.png")
    write_wav(work / "drum.wav", clip.audio[: 4 * 16000], 16000)
    argv = ["animate", "--image", str(work / "drum.png"), "--audio", str(work / "drum.wav"), "--prompt",
            "drum", "-o", str(work / "drum.mp4"), "--frames", str(work / "frames"), "--model", model,
            "--eta", str(eta), "--quiet"] + (["--steps", str(steps)] if steps else [])
    began = time.perf_counter()
    if cli.main(argv) != 0:
        raise SystemExit("asva animate failed")
    seconds = time.perf_counter() - began
    files = sorted((work / "frames").glob("*.png"))
    frames = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in files])
    return frames, seconds


def two_object_ratio(videos, clips) -> float:
    from asva.evaluation.synthetic.applications import (
        EPS,
        frame_box,
        motion_energy,
        region_motion,
        silent_object,
        two_region_masks,
    )

    logs = []
    for video, clip in zip(videos, clips, strict=True):
        silent = silent_object(clip.meta)
        if silent is None:
            continue
        sounding = next(o for o in clip.meta["objects"] if o["sounding"])
        t_mask, o_mask = two_region_masks(frame_box(clip, sounding), frame_box(clip, silent), video.shape[-1])
        t, o = motion_energy(region_motion(video, t_mask)), motion_energy(region_motion(video, o_mask))
        logs.append(math.log((t + EPS) / (o + EPS)))
    return math.exp(sum(logs) / len(logs)) if logs else float("nan")


def mean(values) -> float:
    values = [v for v in values if not math.isnan(v)]
    return sum(values) / len(values) if values else float("nan")


def sheet(rows: list[np.ndarray], path: Path) -> None:
    """rows: (f, h, w, 3) uint8 each -> one PNG, frames in a row, rows stacked (padded to the widest)."""
    from PIL import Image

    strips = [np.concatenate(list(r), axis=1) for r in rows]
    width = max(s.shape[1] for s in strips)
    strips = [np.pad(s, ((0, 2), (0, width - s.shape[1]), (0, 0))) for s in strips]
    Image.fromarray(np.concatenate(strips, axis=0)).save(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", help="an `asva synth` benchmark (test split)")
    p.add_argument("--model", default="asva-synth-tiny")
    p.add_argument("--limit", type=int, default=16, help="test videos, 3 clips each (default 16)")
    p.add_argument("--size", type=int, help="frame side (default: the model's training size)")
    p.add_argument("--steps", type=int, default=20, help="sampling steps (default 20)")
    p.add_argument("--eta", type=float, default=4.0, help="audio guidance scale (default 4)")
    p.add_argument("--sheet", type=Path, help="write a contact sheet PNG here")
    p.add_argument("--example-only", action="store_true", help="only the drum example")
    args = p.parse_args()
    torch.set_num_threads(1)
    from asva.evaluation.synthetic.table1 import (
        clip_size,
        frame_error,
        generate,
        load_clips,
        load_pipe,
        score,
    )

    args.size = clip_size(args.model, args.size)

    with tempfile.TemporaryDirectory() as tmp:
        drum, seconds = drum_example(args.model, args.size, args.steps, args.eta, Path(tmp))
    print(f"drum corner drift {corner_drift(drum):.2f} grey levels ({len(drum)} frames, "
          f"asva animate {seconds:.1f} s wall at --steps {args.steps})")
    rows = [drum]
    if not args.example_only:
        clips = load_clips(args.dataset, size=args.size, limit=args.limit)
        pipe = load_pipe(args.model)
        began = time.perf_counter()
        videos = generate(pipe, clips, eta=args.eta, steps=args.steps, batch_size=8, seed=0, progress=False)
        errors = [frame_error(v, c.video) for v, c in zip(videos, clips, strict=True)]
        photo = [e for e, c in zip(errors, clips, strict=True) if c.meta.get("background") == "photos"]
        print(f"frame error {mean(errors):.4f} ({len(errors)} clips, {time.perf_counter() - began:.0f} s)")
        print(f"photo frame error {mean(photo):.4f} ({len(photo)} clips)")
        corr = mean([score(v, c)["correlation"] for v, c in zip(videos, clips, strict=True)])
        print(f"oracle correlation {corr:.3f}")
        print(f"two-object ratio {two_object_ratio(videos, clips):.2f}")
        picks = np.linspace(0, len(clips) - 1, 4).round().astype(int)
        rows += [videos[i].permute(1, 2, 3, 0).numpy() for i in picks]
    if args.sheet:
        sheet(rows, args.sheet)
        print(f"contact sheet {args.sheet}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
