"""How much of a model's frame error is its autoencoder's: encode and decode the real test clips.

Usage:
    python benchmarks/autoencoder_roundtrip.py --dataset data/synth [--model asva-synth-tiny] [--limit 16]
        [--size N] [--components K ...]

Prints one line: the mean frame error (|decoded - real| over frames 2..12, a fraction of 255) and the
oracle correlation of the round-tripped real clips, to compare with the generated clips' in
`asva table1` (a round trip that kept the real clips' numbers means the
generated clips' flicker comes from the denoiser, not from decoding). With `--components K ...` (a
patch autoencoder) it prints the latents' std per component (model space) and one line per K: the
round trip keeping only the first K principal components.
"""
from __future__ import annotations

import argparse
import math

import torch


def round_trip(vae, video: torch.Tensor, keep: int | None = None) -> torch.Tensor:
    """(3, f, h, w) uint8 -> the same frames encoded and decoded by `vae` (keeping only the first
    `keep` latent channels when given), uint8."""
    frames = (video.float() / 127.5 - 1).permute(1, 0, 2, 3)  # (f, 3, h, w)
    with torch.no_grad():
        z = vae.encode(frames).latent_dist.mode()
        if keep is not None:
            z[:, keep:] = 0
        decoded = vae.decode(z).sample
    return ((decoded.permute(1, 0, 2, 3) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def main() -> None:
    from asva.evaluation.synthetic.table1 import clip_size, frame_error, load_clips, score
    from asva.pipelines.loading import load_model

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", default="asva-synth-tiny")
    p.add_argument("--limit", type=int, default=16, help="test videos (3 clips each)")
    p.add_argument("--size", type=int, help="frame side (default: the model's training size)")
    p.add_argument("--components", type=int, nargs="+", help="also keep only the first K components")
    args = p.parse_args()
    torch.set_num_threads(1)
    vae = load_model(args.model).pipe.vae
    clips = load_clips(args.dataset, size=clip_size(args.model, args.size), limit=args.limit)
    if args.components:
        frames = torch.cat([(c.video.float() / 127.5 - 1).permute(1, 0, 2, 3) for c in clips])
        with torch.no_grad():
            z = vae.encode(frames).latent_dist.mode() * vae.config.scaling_factor  # (n, k, h, w)
        stds = z.transpose(0, 1).flatten(1).std(dim=1)
        print("latent std per component: " + " ".join(f"{v:.2f}" for v in stds))
    for keep in [None, *(args.components or [])]:
        errors, corrs = [], []
        for clip in clips:
            video = round_trip(vae, clip.video, keep)
            errors.append(frame_error(video, clip.video))
            corrs.append(score(video, clip)["correlation"])
        corrs = [c for c in corrs if not math.isnan(c)]
        which = "" if keep is None else f" (first {keep} components)"
        print(f"{args.model} autoencoder round trip{which} of {len(clips)} real clips: frame error "
              f"{sum(errors) / len(errors):.4f}, oracle correlation {sum(corrs) / len(corrs):.3f}")


if __name__ == "__main__":
    main()
