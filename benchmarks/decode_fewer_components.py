"""Diagnosis: how much of a model's frame noise sits in its patch autoencoder's minor components.

Usage:
    python benchmarks/decode_fewer_components.py K [bundled_model_check.py options]

Runs `benchmarks/bundled_model_check.py` with the model's `PatchAutoencoder.decode` keeping only the
first K principal components of every latent (the others set to 0), so the figures it prints can be
compared with K = 32 (the bundled model's full code, i.e. no change). The denoiser is untouched.
"""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

from asva.models.autoencoder import PatchAutoencoder


def main() -> None:
    if len(sys.argv) < 2 or not sys.argv[1].isdigit():
        raise SystemExit(__doc__)
    keep = int(sys.argv[1])
    decode = PatchAutoencoder.decode

    def truncated(self, z, return_dict=True, generator=None):
        z = z.clone()
        z[:, keep:] = 0
        return decode(self, z, return_dict=return_dict, generator=generator)

    PatchAutoencoder.decode = truncated
    sys.argv = ["bundled_model_check.py", *sys.argv[2:]]
    runpy.run_path(str(Path(__file__).with_name("bundled_model_check.py")), run_name="__main__")


if __name__ == "__main__":
    main()
