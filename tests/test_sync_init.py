"""`asva train-sync --init-from`: the AVID-CMA audio and video trunks, imported through a strict key table."""
from __future__ import annotations

import json
import pickle

import pytest
import torch

from asva import cli
from asva.models.checkpoint import StateDictMismatch
from asva.models.sync import SyncClassifier, SyncClassifierConfig
from asva.models.sync.convert import load_avid_cma_trunks

pytestmark = pytest.mark.usefixtures("one_thread")


def avid_cma_checkpoint(golden, path, drop=None):
    """A synthetic AVID-CMA checkpoint in the layout the official avsync/models/{audio,video}.py read:
    {"model": {"module.audio_model.<key>": ..., "module.video_model.<key>": ..., other entries}, ...},
    the keys and shapes being the official classifier's (golden case avsync_classifier/keys.json)."""
    keys = json.loads((golden / "avsync_classifier" / "keys.json").read_text())["keys"]
    g = torch.Generator().manual_seed(0)
    model = {"module.memory_bank": torch.zeros(4, 8)}  # AVID-CMA's other entries are not imported
    for key, shape in keys.items():
        part, _, rest = key.partition(".")
        if part in ("audio_encoder", "video_encoder") and key != drop:
            prefix = "module.audio_model." if part == "audio_encoder" else "module.video_model."
            value = torch.randn(shape, generator=g) if shape else torch.tensor(7)
            model[prefix + rest] = value
    torch.save({"epoch": 3, "model": model, "optimizer": {"state": {}, "param_groups": []}}, path)
    return model


def test_init_from_avid_cma_loads_both_trunks(golden, tmp_path):
    state = avid_cma_checkpoint(golden, tmp_path / "avid.pth.tar")
    model = SyncClassifier(SyncClassifierConfig.from_preset("official"))
    head = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("head.")}
    load_avid_cma_trunks(model, tmp_path / "avid.pth.tar")
    assert torch.equal(model.audio_encoder.stem.conv.weight, state["module.audio_model.conv1.0.weight"])
    assert torch.equal(model.audio_encoder.blocks[3].norm2.running_var,
                       state["module.audio_model.block4.bn2.running_var"])
    assert torch.equal(model.video_encoder.stages[1][0].temporal1.weight,
                       state["module.video_model.conv3x.0.tmp_conv1.weight"])
    assert torch.equal(model.video_encoder.stages[3][0].shortcut.weight,
                       state["module.video_model.conv5x.0.res_conv.weight"])
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in head.items())  # the head stays as built


def test_init_from_is_strict_and_refuses_code(golden, tmp_path, capsys):
    avid_cma_checkpoint(golden, tmp_path / "short.pth.tar", drop="video_encoder.conv4x.1.out_bn.running_mean")
    model = SyncClassifier(SyncClassifierConfig.from_preset("official"))
    with pytest.raises(StateDictMismatch, match="video_encoder.stages.2.1.out_norm.running_mean"):
        load_avid_cma_trunks(model, tmp_path / "short.pth.tar")
    with (tmp_path / "code.pth.tar").open("wb") as handle:
        pickle.dump({"model": {"module.audio_model.x": torch.nn.ReLU()}}, handle)
    with pytest.raises(ValueError, match="cannot read"):
        load_avid_cma_trunks(model, tmp_path / "code.pth.tar")
    # the tiny preset is not AVID-CMA's architecture: a clear error, exit code 2, before any step
    avid_cma_checkpoint(golden, tmp_path / "avid.pth.tar")
    code = cli.main(["train-sync", "--data", str(tmp_path), "--output", str(tmp_path / "o"),
                     "--init-from", str(tmp_path / "avid.pth.tar"), "--preset", "tiny", "--steps", "1"])
    assert code == 2 and "AVID-CMA checkpoint" in capsys.readouterr().err
