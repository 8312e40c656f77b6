"""Converting official AVSyncD / SD1.5 UNet weights, strict loading, bad inputs and `asva convert`."""
from __future__ import annotations

import argparse
import json

import pytest
import torch
from safetensors.torch import save_file

from asva.cli import main as cli_main
from asva.models.adapter import adapter_parameter_names
from asva.models.checkpoint import StateDictMismatch, apply_renames, read_state_dict
from asva.models.config import load_preset
from asva.models.convert import check_sd15_matches, load_avsyncd, load_sd15, load_unet, save_unet

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny_case(golden, synth_weights):
    config = json.loads((golden / "asva_unet_tiny" / "config.json").read_text())
    keys = json.loads((golden / "asva_unet_tiny" / "keys.json").read_text())
    state = synth_weights.synth_state_dict(keys["keys"])
    sd_state = {k: v for k, v in state.items() if k not in set(keys["trainable_keys"])}
    return config, state, sd_state


@pytest.fixture
def avsyncd_dir(tmp_path, tiny_case):
    """An official-style AVSyncD release: `unet/config.json` + `unet/diffusion_pytorch_model.safetensors`."""
    config, state, _ = tiny_case
    unet = tmp_path / "avsyncd" / "unet"
    unet.mkdir(parents=True)
    (unet / "config.json").write_text(json.dumps(config["unet_config"]))
    save_file(state, str(unet / "diffusion_pytorch_model.safetensors"))
    return unet.parent


def _write_sd(folder, cfg2d, sd_state, *, extras=True):
    (folder / "unet").mkdir(parents=True)
    (folder / "unet" / "config.json").write_text(json.dumps(cfg2d))
    save_file(sd_state, str(folder / "unet" / "diffusion_pytorch_model.safetensors"))
    if extras:
        for name in ("vae", "text_encoder", "tokenizer", "scheduler"):
            (folder / name).mkdir()
            (folder / name / "config.json").write_text("{}")
        save_file({"w": torch.zeros(2)}, str(folder / "vae" / "diffusion_pytorch_model.safetensors"))
        torch.save({"w": torch.zeros(2)}, folder / "vae" / "diffusion_pytorch_model.bin")
    return folder


@pytest.fixture
def sd_dir(tmp_path, tiny_case):
    """A Stable Diffusion folder whose UNet is the tiny case's 2-D part."""
    config, _, sd_state = tiny_case
    return _write_sd(tmp_path / "sd", config["unet2d_config_used"], sd_state)


def _run(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = model.config
    with torch.no_grad():
        return model(torch.randn(1, 4, 3, 8, 8, generator=g), 7, torch.randn(1, 5, c.text_dim, generator=g),
                     torch.randn(1, 229, c.audio_dim, generator=g))


def _assert_same(model, ref):
    """Same weights bit for bit; outputs equal up to float rounding (kernels depend on memory alignment)."""
    mine, theirs = model.state_dict(), ref.state_dict()
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)
    torch.testing.assert_close(_run(model), _run(ref), rtol=0, atol=1e-5)


def test_official_folder_file_and_native_folder_agree(avsyncd_dir, tmp_path):
    from_folder = load_avsyncd(avsyncd_dir).eval()  # the release's parent folder
    assert from_folder.config == load_preset("tiny")
    from_file = load_avsyncd(avsyncd_dir / "unet" / "diffusion_pytorch_model.safetensors",
                             config=load_preset("tiny")).eval()
    native = load_unet(save_unet(from_folder, tmp_path / "native")).eval()
    for other in (from_file, native):
        _assert_same(other, from_folder)


def test_sd15_gets_a_fresh_adapter(sd_dir, tiny_case):
    _, _, sd_state = tiny_case
    model = load_sd15(sd_dir, audio_dim=24)
    state = model.state_dict()
    adapter = set(adapter_parameter_names(model))
    zeros = [k for k in adapter if ("temporal_mix" in k or ".attn.out." in k)]
    assert zeros and all(not state[k].any() for k in zeros)
    assert state["down.0.transformers.0.blocks.0.audio.attn.q.weight"].std() > 0  # default init, not meta
    assert torch.equal(state["input_conv.spatial.weight"], sd_state["conv_in.weight"])
    assert len(state) - len(adapter) == len(sd_state)


# ---------------------------------------------------------------- bad input
def test_wrong_models_checkpoint(tmp_path):
    path = tmp_path / "imagebind.safetensors"
    save_file({"modality_trunks.audio.blocks.0.attn.in_proj_weight": torch.zeros(3, 3)}, str(path))
    with pytest.raises(StateDictMismatch, match="imagebind.safetensors") as err:
        load_avsyncd(path, config=load_preset("tiny"))
    assert "modality_trunks.audio.blocks.0.attn.in_proj_weight" in str(err.value)
    assert len(err.value.missing) == 330 and "input_conv.spatial.weight" in str(err.value)


def test_sd_checkpoint_given_as_avsyncd(sd_dir):
    with pytest.raises(StateDictMismatch, match="missing") as err:
        load_avsyncd(sd_dir / "unet")
    assert all("temporal" in k or "audio" in k for k in err.value.missing)
    assert "input_conv.temporal_mix.proj.weight" in str(err.value)


def test_mis_shaped_key_is_named(tmp_path, tiny_case):
    _, state, _ = tiny_case
    path = tmp_path / "bad.safetensors"
    save_file({**state, "conv_in.conv_temp.weight": torch.zeros(32, 95)}, str(path))
    match = r"mis-shaped .*input_conv\.temporal_mix\.proj\.weight \(32, 95\)"
    with pytest.raises(StateDictMismatch, match=match):
        load_avsyncd(path, config=load_preset("tiny"))


def test_truncated_files(tmp_path, tiny_case):
    _, state, _ = tiny_case
    small = {k: state[k] for k in list(state)[:4]}
    save_file(small, str(tmp_path / "a.safetensors"))
    torch.save(small, tmp_path / "a.bin")
    for name in ("a.safetensors", "a.bin"):
        data = (tmp_path / name).read_bytes()
        (tmp_path / f"cut_{name}").write_bytes(data[: len(data) // 2])
        with pytest.raises(ValueError, match=f"cannot read .*cut_{name}"):
            read_state_dict(tmp_path / f"cut_{name}")


def test_pickles_that_are_not_plain_tensors(tmp_path):
    torch.save({"w": torch.zeros(2), "args": argparse.Namespace(lr=1)}, tmp_path / "object.bin")
    with pytest.raises(ValueError, match="cannot read .*object.bin"):
        read_state_dict(tmp_path / "object.bin")
    torch.save([torch.zeros(2)], tmp_path / "list.bin")
    with pytest.raises(ValueError, match="list.bin holds list"):
        read_state_dict(tmp_path / "list.bin")
    torch.save({"w": torch.zeros(2), "step": 3}, tmp_path / "mixed.bin")
    with pytest.raises(ValueError, match="mixed.bin has 1 entries that are not named tensors"):
        read_state_dict(tmp_path / "mixed.bin")
    with pytest.raises(ValueError, match="does not exist"):
        read_state_dict(tmp_path / "absent.bin")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no weights"):
        read_state_dict(tmp_path / "empty")


def test_mismatched_sd_folder(tmp_path, avsyncd_dir, tiny_case):
    config, _, sd_state = tiny_case
    model = load_avsyncd(avsyncd_dir)
    wider = {**config["unet2d_config_used"], "cross_attention_dim": 48}
    with pytest.raises(ValueError, match=r"does not match the AVSyncD UNet.*text_dim.*\(48, 40\)"):
        check_sd15_matches(_write_sd(tmp_path / "sd48", wider, sd_state, extras=False), model)
    bad_state = {**sd_state, "conv_out.weight": torch.zeros(4, 32, 1, 1)}
    bad = _write_sd(tmp_path / "sdbad", config["unet2d_config_used"], bad_state, extras=False)
    with pytest.raises(StateDictMismatch, match=r"sdbad.*out_conv\.spatial\.weight \(4, 32, 1, 1\)"):
        check_sd15_matches(bad, model)
    three_d = _write_sd(tmp_path / "sd3d", config["unet_config"], sd_state, extras=False)
    with pytest.raises(ValueError, match="expected SD's UNet2DConditionModel"):
        check_sd15_matches(three_d, model)


def test_renames_never_merge_keys():
    with pytest.raises(ValueError, match="both map to"):
        apply_renames({"a.x": torch.zeros(1), "b.x": torch.zeros(1)}, [(r"^[ab]\.", "c.")])


# ---------------------------------------------------------------- asva convert / asva info
def test_convert_cli_writes_a_self_contained_folder(tmp_path, avsyncd_dir, sd_dir, capsys):
    from asva.models.sync import SyncClassifier, SyncClassifierConfig, save_sync_classifier

    sync = SyncClassifier(SyncClassifierConfig.from_preset("tiny"))
    sync_src = save_sync_classifier(sync, tmp_path / "sync")
    out = tmp_path / "model"
    argv = ["convert", "--avsyncd", str(avsyncd_dir), "--sd15", str(sd_dir), "--sync", str(sync_src)]
    assert cli_main([*argv, "--out", str(out)]) == 0
    index = json.loads((out / "model_index.json").read_text())  # a save_pretrained pipeline folder
    assert {k for k, v in index.items() if isinstance(v, list) and v[0]} == {
        "unet", "vae", "text_encoder", "tokenizer", "scheduler"}
    assert index["scheduler"] == ["diffusers", "PNDMScheduler"] and (out / "sync" / "config.json").is_file()
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["unet_adapter"] == "avsyncd"
    assert set(provenance["sources"]) == {"sd15", "sync", "avsyncd"}
    vae_files = sorted(p.name for p in (out / "vae").iterdir())
    assert vae_files == ["config.json", "diffusion_pytorch_model.safetensors"]  # the .bin twin skipped
    _assert_same(load_unet(out).eval(), load_avsyncd(avsyncd_dir).eval())
    assert cli_main(["info", "--model", str(out)]) == 0
    assert "1,065,848" in capsys.readouterr().out
    # an existing --out is kept unless --overwrite
    assert cli_main([*argv, "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_convert_cli_errors_name_the_file(tmp_path, sd_dir, capsys):
    bogus = tmp_path / "bogus.safetensors"
    bogus.write_bytes(b"not a weight file")
    out = tmp_path / "model"
    assert cli_main(["convert", "--avsyncd", str(bogus), "--sd15", str(sd_dir), "--out", str(out)]) == 2
    assert "bogus.safetensors" in capsys.readouterr().err
    assert not out.exists()  # nothing half-written
    assert cli_main(["convert", "--sd15", str(sd_dir), "--imagebind", str(bogus), "--out", str(out)]) == 2
    assert "asva convert: error:" in capsys.readouterr().err


def test_convert_cli_without_avsyncd_inflates_sd(tmp_path, sd_dir):
    out = tmp_path / "fresh"
    assert cli_main(["convert", "--sd15", str(sd_dir), "--out", str(out), "--dtype", "bfloat16"]) == 0
    model = load_unet(out)
    assert model.dtype == torch.bfloat16 and model.config.audio_dim == 768
    assert json.loads((out / "provenance.json").read_text())["unet_adapter"] == "fresh (untrained)"


def test_convert_cli_imports_the_official_class_encodings(tmp_path, avsyncd_dir, sd_dir, capsys):
    from asva.pipelines.prompts import PromptTable

    g = torch.Generator().manual_seed(0)
    enc = {"dog barking": torch.randn(1, 77, 768, generator=g),
           "lions roaring": torch.randn(77, 768, generator=g)}
    torch.save(enc, tmp_path / "class_clip_text_encodings_stable-diffusion-v1-5.pt")
    torch.save(torch.randn(1, 77, 768, generator=g), tmp_path / "null.pt")
    (tmp_path / "class_mapping.json").write_text(json.dumps({"dog": "dog barking", "lion": "lions roaring"}))
    out = tmp_path / "model"
    argv = ["convert", "--avsyncd", str(avsyncd_dir), "--sd15", str(sd_dir), "--out", str(out),
            "--class-encodings", str(tmp_path / "class_clip_text_encodings_stable-diffusion-v1-5.pt"),
            "--null-text-encoding", str(tmp_path / "null.pt"),
            "--class-mapping", str(tmp_path / "class_mapping.json")]
    assert cli_main(argv) == 0
    index = json.loads((out / "model_index.json").read_text())
    assert index["prompt_table"] == ["asva.pipelines.prompts", "PromptTable"]
    assert "class_encodings" in json.loads((out / "provenance.json").read_text())["sources"]
    table = PromptTable.from_pretrained(out / "prompt_table")
    assert table.names == ["dog", "lion"] and torch.equal(table.lookup(["lion"])[0], enc["lions roaring"])
    assert json.loads((out / "class_mapping.json").read_text())["dog"] == "dog barking"
    # the pair is required together, and is checked before anything is written
    lone = ["--class-encodings", str(tmp_path / "null.pt"), "--out", str(tmp_path / "m2")]
    assert cli_main([*argv[:5], *lone]) == 2
    assert "go together" in capsys.readouterr().err and not (tmp_path / "m2").exists()
