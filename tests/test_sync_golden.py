"""Parity of the sync classifier with the official ASVA code (golden case `avsync_classifier`).

The synthetic official weights are written in the released layout (audio_encoder/, video_encoder/,
head/ with diffusion_pytorch_model.bin) and loaded through the converter.
"""
from __future__ import annotations

import pytest
import torch
from einops import rearrange
from safetensors.torch import load_file

from asva.models.sync import load_sync_classifier, preprocess_sync_video

PARTS = ("audio_encoder", "video_encoder", "head")


@pytest.fixture(scope="module")
def case(golden):
    return load_file(str(golden / "avsync_classifier" / "case.safetensors"))


@pytest.fixture(scope="module")
def net(golden, synth_weights, tmp_path_factory):
    keys = synth_weights.load_keys(golden / "avsync_classifier" / "keys.json")
    state = synth_weights.synth_state_dict(keys)
    root = tmp_path_factory.mktemp("sync") / "modules"
    for part in PARTS:
        (root / part).mkdir(parents=True)
        own = {k[len(part) + 1:]: v for k, v in state.items() if k.startswith(f"{part}.")}
        torch.save(own, root / part / "diffusion_pytorch_model.bin")
    return load_sync_classifier(root)


@pytest.fixture(scope="module")
def frames(case):
    return preprocess_sync_video(rearrange(case["videos_uint8"], "b f c h w -> b c f h w"))


def _err(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


@pytest.mark.slow
def test_preprocessing_matches(case, frames):
    assert frames.shape == (3, 3, 12, 224, 224)
    assert _err(frames[:1], case["pan_preprocessed"]) <= 5e-4
    # clips 1 and 2 are frame permutations of clip 0
    assert _err(frames[1], frames[0].flip(1)) == 0
    assert _err(frames[2], frames[0, :, :1].expand(-1, 12, -1, -1)) == 0


@pytest.mark.slow
def test_phi_matches(case, net, frames):
    with torch.no_grad():
        phi = net.score_pairs(case["mels"], frames, case["pair_audio_index"], case["pair_video_index"])
        direct = net(case["mels"][:1], frames[1:2])
    assert _err(phi, case["phi"]) <= 3e-7
    assert _err(direct, case["phi"][1:2]) <= 3e-7


@pytest.mark.slow
def test_embeddings_and_stage_means_match(case, net, frames):
    with torch.no_grad():
        audio = net.audio_encoder.stage_outputs(case["mels"])
        video = net.video_encoder.stage_outputs(frames)
    assert _err(audio[-1].mean(dim=(2, 3)), case["audio_embeddings"]) <= 1e-6
    assert _err(video[-1].mean(dim=(2, 3, 4)), case["video_embeddings"]) <= 1e-6
    for name, out in zip(("conv1", "block1", "block2", "block3", "block4"), audio, strict=True):
        assert _err(out.mean(dim=(2, 3)), case[f"audio_stage_mean.{name}"]) <= 3e-6, name
    for name, out in zip(("conv1", "conv2x", "conv3x", "conv4x", "conv5x"), video, strict=True):
        assert _err(out.mean(dim=(2, 3, 4)), case[f"video_stage_mean.{name}"]) <= 3e-6, name
