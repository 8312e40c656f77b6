"""Parity with the official AVSyncD UNet: golden cases `asva_unet_tiny`, `asva_unet_full`, `audio_token_mask`.

Each case's synthetic weights are rebuilt from its `keys.json` (official names), converted through
`OFFICIAL_RENAMES`, loaded strictly, run on the stored inputs and compared within CASE.md's bounds.
"""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from asva.models.adapter import adapter_parameter_names
from asva.models.audio_tokens import audio_token_mask, segment_time_columns
from asva.models.config import config_from_diffusers
from asva.models.convert import build_unet, convert_official
from asva.models.unet3d import VideoUNet

# official submodule (CASE.md) -> ours; its output is captured by a forward hook
HOOKS = {
    "time_embedding": "time_mlp",
    "conv_in": "input_conv",
    "down_blocks.0.resnets.0": "down.0.res.0",
    "down_blocks.0.attentions.0": "down.0.transformers.0",
    "down_blocks.0": "down.0",
    "down_blocks.1": "down.1",
    "down_blocks.3": "down.3",
    "mid_block": "mid",
    "up_blocks.0": "up.0",
    "up_blocks.1": "up.1",
    "conv_norm_out": "out_norm",
}
TINY_BOUNDS = {  # CASE.md: max-abs bounds
    "noise_pred": 3e-5, "time_embedding": 2e-6, "conv_in": 2e-5, "down_blocks.0.resnets.0": 2e-5,
    "down_blocks.0.attentions.0": 4e-5, "down_blocks.0": 5e-5, "down_blocks.1": 1e-4, "mid_block": 1e-4,
    "up_blocks.0": 3e-4, "up_blocks.1": 4e-4, "conv_norm_out": 5e-5,
}
FULL_BOUNDS = {"noise_pred": 1e-4, "time_embedding": 6e-6, "down_blocks.3": 1e-3, "mid_block": 1e-3}


def _case(golden, name):
    folder = golden / name
    config = json.loads((folder / "config.json").read_text())
    keys = json.loads((folder / "keys.json").read_text())
    return config, keys, load_file(str(folder / "case.safetensors"))


def _run_with_hooks(model: VideoUNet, case: dict, names) -> dict[str, torch.Tensor]:
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for official in names:
        def hook(module, args, out, official=official):
            captured[official] = out[0] if isinstance(out, tuple) else out

        handles.append(model.get_submodule(HOOKS[official]).register_forward_hook(hook))
    with torch.no_grad():
        captured["noise_pred"] = model(
            case["sample"], case["timestep"], case["text_encodings"], case["audio_encodings"],
            case["audio_attention_mask"],
        )
    for handle in handles:
        handle.remove()
    return captured


def _errors(outputs, case) -> dict[str, float]:
    ref = {k.removeprefix("intermediate."): v for k, v in case.items()}
    return {name: (out - ref[name]).abs().max().item() for name, out in outputs.items()}


def test_tiny_parity(golden, synth_weights):
    config, keys, case = _case(golden, "asva_unet_tiny")
    state = convert_official(synth_weights.synth_state_dict(keys["keys"]))
    model = build_unet(config_from_diffusers(config["unet_config"]), state, source="asva_unet_tiny").eval()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        outputs = _run_with_hooks(model, case, [k for k in TINY_BOUNDS if k != "noise_pred"])
    finally:
        torch.set_num_threads(before)
    errors = _errors(outputs, case)
    print("asva_unet_tiny max-abs errors:", {k: f"{v:.2e}" for k, v in errors.items()})
    assert errors.keys() == TINY_BOUNDS.keys()
    for name, bound in TINY_BOUNDS.items():
        assert errors[name] <= bound, f"{name}: max-abs error {errors[name]:.3g} > {bound}"
    ref = case["noise_pred"]
    assert torch.linalg.norm(outputs["noise_pred"] - ref) / torch.linalg.norm(ref) <= 1e-5


@pytest.mark.parametrize("case_name", ["asva_unet_tiny", "asva_unet_full"])
def test_trainable_set_equals_the_official_one(golden, case_name):
    config, keys, _ = _case(golden, case_name)
    with torch.device("meta"):
        model = VideoUNet(config_from_diffusers(config["unet_config"]))
    names = {k: torch.empty(0) for k in keys["keys"]}
    converted = convert_official(names)
    assert set(converted) == set(model.state_dict())  # the table covers every official key, 1:1
    official_trainable = set(convert_official({k: names[k] for k in keys["trainable_keys"]}))
    assert set(adapter_parameter_names(model)) == official_trainable
    counts = keys["param_counts"]
    assert sum(p.numel() for p in model.parameters()) == counts["total"]
    assert sum(p.numel() for p in model.trainable_parameters()) == counts["trainable"]


@pytest.mark.parametrize("n", [4, 8, 12, 16])
def test_audio_token_masks(golden, n):
    case = load_file(str(golden / "audio_token_mask" / "case.safetensors"))
    expected = case["mask" if n == 12 else f"mask_nseg{n}"]
    assert torch.equal(audio_token_mask(n), expected)
    assert torch.equal(segment_time_columns(n), case[f"time_columns_{n}"])
    segments = json.loads((golden / "audio_token_mask" / "segments.json").read_text())["segments"][str(n)]
    assert int(audio_token_mask(n)[0].sum()) == segments["tokens_per_segment"]


def test_audio_token_mask_rejects_bad_counts():
    for n in (0, 20):
        with pytest.raises(ValueError, match="num_frames"):
            audio_token_mask(n)


@pytest.mark.slow
def test_full_parity(golden, synth_weights):
    """SD1.5-size model (1,169,357,496 parameters): ~5 GB of weights, built once on the meta device."""
    config, keys, case = _case(golden, "asva_unet_full")
    state = convert_official(synth_weights.synth_state_dict(keys["keys"]))
    model = build_unet(config_from_diffusers(config["unet_config"]), state, source="asva_unet_full").eval()
    del state
    outputs = _run_with_hooks(model, case, ["time_embedding", "down_blocks.3", "mid_block"])
    errors = _errors(outputs, case)
    print("asva_unet_full max-abs errors:", {k: f"{v:.2e}" for k, v in errors.items()})
    for name, bound in FULL_BOUNDS.items():
        assert errors[name] <= bound, f"{name}: max-abs error {errors[name]:.3g} > {bound}"
    ref = case["noise_pred"]
    assert torch.linalg.norm(outputs["noise_pred"] - ref) / torch.linalg.norm(ref) <= 3e-5
