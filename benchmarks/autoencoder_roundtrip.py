"""How much of a model's frame error is its autoencoder's: encode and decode the real test clips.

Usage:
    python benchmarks/autoencoder_roundtrip.py --dataset data/synth [--model asva-synth-tiny] [--limit 16]

Prints one line: the mean frame error (|decoded - real| over frames 2..12, a fraction of 255) and the
oracle correlation of the round-tripped real clips, to compare with the generated clips' in
`asva table1` (a round trip that kept the real clips' numbers means the
generated clips' flicker comes from the denoiser, not from decoding).
"""
from __future__ import annotations

import argparse
import math

import torch


def round_trip(vae, video: torch.Tensor) -> torch.Tensor:
    """(3, f, h, w) uint8 -> the same frames encoded and decoded by `vae`, uint8."""
    frames = (video.float() / 127.5 - 1).permute(1, 0, 2, 3)  # (f, 3, h, w)
    with torch.no_grad():
        decoded = vae.decode(vae.encode(frames).latent_dist.mode()).sample
    return ((decoded.permute(1, 0, 2, 3) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def main() -> None:
    from asva.evaluation.synthetic.table1 import frame_error, load_clips, score
    from asva.pipelines.loading import load_model

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", default="asva-synth-tiny")
    p.add_argument("--limit", type=int, default=16, help="test videos (3 clips each)")
    p.add_argument("--size", type=int, default=64)
    args = p.parse_args()
    torch.set_num_threads(1)
    vae = load_model(args.model).pipe.vae
    clips = load_clips(args.dataset, size=args.size, limit=args.limit)
    errors, corrs = [], []
    for clip in clips:
        video = round_trip(vae, clip.video)
        errors.append(frame_error(video, clip.video))
        corrs.append(score(video, clip)["correlation"])
    corrs = [c for c in corrs if not math.isnan(c)]
    print(f"{args.model} autoencoder round trip of {len(clips)} real clips: frame error "
          f"{sum(errors) / len(errors):.4f}, oracle correlation {sum(corrs) / len(corrs):.3f}")


if __name__ == "__main__":
    main()
