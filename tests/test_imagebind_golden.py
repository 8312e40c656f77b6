"""Parity with the official ImageBind-huge on the golden cases (synthetic weights, float32).

Each branch is built alone on the meta device from the official-named synthetic weights of that
branch only, run once on the stored input with hooks at the official module boundaries, and freed;
the session cache keeps only the outputs. Tolerances are the atol column of each case's CASE.md.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

from asva.models.imagebind import ImageBind, build_imagebind, preprocess_image, resize_shorter_center_crop
from asva.models.imagebind.text import causal_mask

CASES = {"audio": "audio_encoder", "vision": "vision_encoder", "text": "text_encoder"}
ATOL = {
    "audio": {"preprocessor_tokens": 5e-5, "trunk_tokens": 9e-5, "head": 3e-5, "embedding": 2e-6,
              "embedding_unit": 9e-7, "logit_scale": 2e-6, "loader_embedding": 2e-6},
    "vision": {"preprocessor_tokens": 2e-4, "trunk_tokens": 2e-4, "head": 3e-5, "embedding": 8e-7},
    "text": {"preprocessor_tokens": 2e-7, "trunk_tokens": 2e-4, "head": 3e-5, "embedding": 3e-7,
             "embedding_unit": 8e-7, "logit_scale": 4e-7, "embedding_synth_mask": 2e-7},
    "similarity": {"ia_cos": 5e-7, "it_cos": 7e-7, "ia_x100": 5e-5, "it_x100": 7e-5},
}


def _case(golden, name: str) -> dict[str, torch.Tensor]:
    return load_file(golden / f"imagebind/{name}/{name}.safetensors")


def _synth_branch(golden, synth_weights, modality: str) -> dict[str, torch.Tensor]:
    """The official-named synthetic weights of one branch (the golden text mask stays causal)."""
    keys = synth_weights.load_keys(golden / "imagebind/keys.json")
    state = {k: synth_weights.synth_tensor(k, s) for k, s in keys.items() if k.split(".")[1] == modality}
    if modality == "text":
        state["modality_preprocessors.text.mask"] = causal_mask(77)
    return state


def _embed(model: ImageBind, modality: str, x: torch.Tensor) -> torch.Tensor:
    if modality == "vision":
        return model.encode_image(x)
    return getattr(model, f"encode_{modality}")(x, scaled=True)


def _run_with_boundaries(model: ImageBind, modality: str, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """One public `encode_*` call; hooks record the trunk's input and output and the head's output."""
    branch, seen = model.branch(modality), {}

    def trunk_hook(module, args, output):
        seen["preprocessor_tokens"], seen["trunk_tokens"] = args[0], output

    hooks = [
        branch.transformer.register_forward_hook(trunk_hook),
        branch.head.register_forward_hook(lambda module, args, output: seen.__setitem__("head", output)),
    ]
    try:
        seen["embedding"] = _embed(model, modality, x)
    finally:
        for hook in hooks:
            hook.remove()
    scale = model.logit_scale(modality)
    seen["logit_scale"], seen["embedding_unit"] = scale.reshape(1), seen["embedding"] / scale
    return seen


def _compute(golden, synth_weights, modality: str) -> dict[str, torch.Tensor]:
    case = _case(golden, CASES[modality])
    model = build_imagebind(_synth_branch(golden, synth_weights, modality), "huge", [modality])
    with torch.no_grad():
        out = _run_with_boundaries(model, modality, case["token_ids" if modality == "text" else "input"])
        if modality == "audio":
            out["loader_embedding"] = model.encode_audio(case["loader_input"], scaled=True)
            out["audio_tokens_0"] = model.audio_tokens(case["input"][:1])
        if modality == "text":  # the variant with the mask buffer synthesized like every other entry
            model.text.attn_mask = synth_weights.synth_tensor("modality_preprocessors.text.mask", (77, 77))
            out["embedding_synth_mask"] = model.encode_text(case["token_ids"], scaled=True)
    return out


@pytest.fixture(scope="session")
def huge_outputs(golden, synth_weights):
    """modality -> our outputs on that case's stored input; each branch is built and run once."""
    cache: dict[str, dict[str, torch.Tensor]] = {}

    def get(modality: str) -> dict[str, torch.Tensor]:
        if modality not in cache:
            cache[modality] = _compute(golden, synth_weights, modality)
        return cache[modality]

    return get


def _check(ours: dict, expected: dict, atol: dict) -> dict[str, float]:
    errors = {name: float((ours[name] - expected[name]).abs().max()) for name in atol}
    print({name: f"{err:.2e}" for name, err in errors.items()})
    failed = {name: err for name, err in errors.items() if not err <= atol[name]}
    assert not failed, f"max |ours - golden| over atol: {failed} (atol {atol})"
    return errors


@pytest.mark.slow
@pytest.mark.parametrize("modality", ["audio", "vision", "text"])
def test_branch_parity(golden, huge_outputs, modality):
    _check(huge_outputs(modality), _case(golden, CASES[modality]), ATOL[modality])


@pytest.mark.slow
def test_audio_tokens_are_the_layer_normed_trunk(golden, huge_outputs):
    """ASVA's audio condition: the golden trunk tokens through a unit LayerNorm(eps 1e-6)."""
    trunk = _case(golden, "audio_encoder")["trunk_tokens"][:1]
    expected = F.layer_norm(trunk, (768,), eps=1e-6)
    ours = huge_outputs("audio")["audio_tokens_0"]
    assert ours.shape == (1, 229, 768)
    print(f"audio_tokens {float((ours - expected).abs().max()):.2e}")
    torch.testing.assert_close(ours, expected, rtol=0, atol=2e-5)  # measured 2.0e-6


@pytest.mark.slow
def test_similarity(golden, huge_outputs):
    """ASVA's IA / IT: plain cosines of the unit image embedding with the de-scaled audio / text ones."""
    vision = huge_outputs("vision")["embedding"]
    audio, text = huge_outputs("audio")["embedding_unit"], huge_outputs("text")["embedding_unit"]
    ia, it = vision @ audio.T, vision @ text.T
    ours = {"ia_cos": ia, "it_cos": it, "ia_x100": 100 * ia, "it_x100": 100 * it}
    _check(ours, _case(golden, "similarity"), ATOL["similarity"])


def test_image_preprocessing(golden):
    """Official resize-shorter-side + centre crop (exact with PIL), and ASVA's squash (atol 3e-4)."""
    case = _case(golden, "vision_encoder")
    image = Image.open(golden / "media/lion_and_gun.png").convert("RGB")
    crop = torch.from_numpy(np.asarray(resize_shorter_center_crop(image), dtype=np.float32))
    assert torch.equal(crop, case["resized_cropped_rgb_0_255"])
    assert torch.equal(preprocess_image(image, "official"), case["input"][:1])
    squash = preprocess_image(image, "squash")
    assert float((squash - case["input"][1:]).abs().max()) <= 3e-4
    pixels = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)  # (3, 499, 541) uint8
    assert torch.equal(preprocess_image(pixels, "official"), case["input"][:1])
    with pytest.raises(ValueError, match="mode"):
        preprocess_image(image, "crop")
    with pytest.raises(ValueError, match="uint8"):
        preprocess_image(pixels.float() / 255, "official")

