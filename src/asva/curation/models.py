"""The networks the model stages use, behind small interfaces, and how a worker loads them.

- `Embedder.embed_images(frames uint8 (3, f, h, w)) -> (f, d)` unit vectors: the semantic-change stage.
  `ImageBindEmbedder` (vision branch, the user's weights) is the paper's choice; `AutoencoderEmbedder`
  is a documented stand-in for the synthetic proof: the bundled model's linear patch autoencoder,
  its latent average-pooled to a 2 x 2 grid. It measures appearance change, not semantics.
- IA / IT need ImageBind's audio, vision and text branches (`ImageBindEmbedder` also has
  `embed_audio` and `embed_text`).
- P_sync needs a sync classifier (`--sync-model`; the bundled `sync-synth-tiny` knows only synthetic clips).
A stage whose network is not supplied is an error naming the flag, unless the stage is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

EMBEDDERS = ("imagebind", "synth-ae")


class ImageBindEmbedder:
    """ImageBind image / audio / text embeddings (unit vectors) for the semantic, IA and IT scores."""

    name = "imagebind"

    def __init__(self, model) -> None:
        self.model = model.eval().requires_grad_(False)

    @torch.no_grad()
    def embed_images(self, frames: torch.Tensor) -> torch.Tensor:
        from asva.models.imagebind import preprocess_image

        images = frames.permute(1, 0, 2, 3)  # (3, f, h, w) -> (f, 3, h, w)
        return self.model.encode_image(preprocess_image(images, mode="squash"))

    @torch.no_grad()
    def embed_audio(self, mels: torch.Tensor) -> torch.Tensor:
        """(b, 1, 128, 204) normalised mels -> (b, d)."""
        return self.model.encode_audio(mels)

    @torch.no_grad()
    def embed_text(self, prompts: list[str]) -> torch.Tensor:
        from asva.models.imagebind import tokenize

        return self.model.encode_text(tokenize(prompts))


class AutoencoderEmbedder:
    """Stand-in image embedder: a PatchAutoencoder's latent (c, h/8, w/8) pooled to 2 x 2, unit-normed."""

    name = "synth-ae"

    def __init__(self, autoencoder, size: int = 64) -> None:
        self.autoencoder, self.size = autoencoder.eval().requires_grad_(False), size

    @torch.no_grad()
    def embed_images(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.permute(1, 0, 2, 3).float() / 127.5 - 1.0  # (f, 3, h, w) in [-1, 1]
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        z = self.autoencoder.encode(x).latent_dist.mode()  # (f, c, size/8, size/8)
        return F.normalize(F.adaptive_avg_pool2d(z, 2).flatten(1), dim=-1)


@dataclass(frozen=True)
class ModelSpec:
    """What a worker loads (picklable, so each pool process or Ray actor loads its own copy once)."""

    embedder: str | None = None  # "imagebind" or "synth-ae"; None: the semantic stage is skipped
    imagebind: str | None = None  # imagebind_huge.pth or a converted folder
    sync_model: str | None = None  # a sync classifier folder / file or a bundled name
    device: str = "cpu"


@dataclass
class Models:
    embedder: object | None = None
    imagebind: ImageBindEmbedder | None = None
    sync: torch.nn.Module | None = None


def check_spec(spec: ModelSpec, skip: tuple[str, ...]) -> None:
    """A ValueError naming the flag for each model stage that runs without its weights."""
    if "semantic" not in skip and spec.embedder is None:
        raise ValueError(
            "the semantic stage needs an image embedder: --embedder imagebind (with "
            "--imagebind) or --embedder synth-ae, or --skip semantic"
        )
    if spec.embedder is not None and spec.embedder not in EMBEDDERS:
        raise ValueError(f"--embedder must be one of {EMBEDDERS}, got {spec.embedder!r}")
    if "alignment" not in skip and spec.imagebind is None:
        raise ValueError(
            "the alignment stage (IA / IT) needs ImageBind weights: --imagebind "
            "imagebind_huge.pth (or a converted folder), or --skip alignment"
        )
    if "semantic" not in skip and spec.embedder == "imagebind" and spec.imagebind is None:
        raise ValueError("--embedder imagebind needs --imagebind imagebind_huge.pth (or a converted folder)")
    if "sync" not in skip and spec.sync_model is None:
        raise ValueError(
            "the sync stage needs a sync classifier: --sync-model FOLDER (or the bundled "
            "sync-synth-tiny for synthetic clips), or --skip sync"
        )


def load_models(spec: ModelSpec, skip: tuple[str, ...]) -> Models:
    check_spec(spec, skip)
    models = Models()
    needs_imagebind = "alignment" not in skip or ("semantic" not in skip and spec.embedder == "imagebind")
    if needs_imagebind:
        from asva.models.imagebind import load_imagebind

        models.imagebind = ImageBindEmbedder(load_imagebind(spec.imagebind, device=spec.device))
    if "semantic" not in skip:
        models.embedder = (
            models.imagebind if spec.embedder == "imagebind" else _synth_autoencoder(spec.device)
        )
    if "sync" not in skip:
        from asva.models.sync import load_sync_model

        models.sync = load_sync_model(spec.sync_model).to(spec.device).eval().requires_grad_(False)
    return models


def _synth_autoencoder(device: str) -> AutoencoderEmbedder:
    from asva.models.autoencoder import PatchAutoencoder
    from asva.models.registry import resolve_model

    folder = resolve_model("asva-synth-tiny") / "vae"
    return AutoencoderEmbedder(PatchAutoencoder.from_pretrained(folder).to(device))
