"""Parity of the FID Inception network with the official ASVA evaluation (golden case `fid_inception`)."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from asva.metrics.inception import fid_features, load_fid_inception, preprocess_fid_images


@pytest.mark.slow
def test_fid_inception_matches(golden, synth_weights, tmp_path):
    case = load_file(str(golden / "fid_inception" / "case.safetensors"))
    weights = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    keys = synth_weights.load_keys(golden / "fid_inception" / "keys.json")
    torch.save(synth_weights.synth_state_dict(keys), weights)
    net = load_fid_inception(weights)

    def err(a, b):
        return (a - b).abs().max().item()

    x = preprocess_fid_images(case["images_uint8"])
    assert err(x, case["preprocessed"]) <= 2e-4
    with torch.no_grad():
        blocks = net.block_outputs(x)
    assert err(blocks[0][:1], case["block0_features_image0"]) <= 4e-5
    for i in range(3):
        assert err(blocks[i].mean(dim=(2, 3)), case[f"block{i}_spatial_mean"]) <= 6e-7, i
    assert err(blocks[3], case["features"]) <= 6e-7
    assert err(fid_features(net, case["images_uint8"], batch_size=1), case["features"]) <= 6e-7
