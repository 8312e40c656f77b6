"""The tiny ImageBind on CPU, the converter's key coverage, loading and bad checkpoints."""
from __future__ import annotations

import pickle

import pytest
import torch
import torch.nn.functional as F

from asva.models.imagebind import (
    ImageBind,
    ImageBindConfig,
    build_imagebind,
    convert_state_dict,
    list_presets,
    load_imagebind,
    tokenize,
)
from asva.models.imagebind.convert import (
    convert_imagebind_checkpoint,
    load_imagebind_folder,
    official_names,
    save_imagebind,
)
from asva.models.imagebind.text import causal_mask


@pytest.fixture(scope="module")
def tiny() -> ImageBind:
    torch.manual_seed(0)
    return ImageBind("tiny").eval().requires_grad_(False)


@pytest.fixture(scope="module")
def official_keys(golden, synth_weights) -> dict[str, list[int]]:
    return synth_weights.load_keys(golden / "imagebind/keys.json")


def _mel(b: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randn(b, 1, 128, 204, generator=torch.Generator().manual_seed(seed))


def test_presets():
    assert {"huge", "tiny"} <= set(list_presets())
    huge = ImageBindConfig.from_preset("huge")
    assert huge == ImageBindConfig()
    assert (huge.audio.num_tokens, huge.vision.num_tokens, huge.audio.patch_grid) == (229, 257, (12, 19))
    tiny = ImageBindConfig.from_preset("tiny", embed_dim=8, audio={"width": 24})
    assert (tiny.embed_dim, tiny.audio.width, tiny.audio.depth, tiny.audio.num_tokens) == (8, 24, 2, 229)
    with pytest.raises(ValueError, match="unknown ImageBind preset"):
        ImageBindConfig.from_preset("giant")
    with pytest.raises(ValueError, match="divisible"):
        ImageBindConfig.from_preset("tiny", text={"heads": 5})


def test_tiny_embeddings(tiny):
    mel, ids = _mel(), tokenize(["a dog barking", "lions roaring"])
    pixels = torch.randn(2, 3, 224, 224)
    for emb in (tiny.encode_audio(mel), tiny.encode_image(pixels), tiny.encode_text(ids)):
        assert emb.shape == (2, 16)
        torch.testing.assert_close(emb.norm(dim=-1), torch.ones(2))
    assert float(tiny.logit_scale("audio")) == pytest.approx(20.0)
    assert float(tiny.logit_scale("text")) == pytest.approx(1 / 0.07)
    scaled = tiny.encode_audio(mel, scaled=True)
    torch.testing.assert_close(scaled, tiny.encode_audio(mel) * 20.0)


def test_several_clips_average_after_scaling(tiny):
    clips = torch.stack([_mel(3, seed=2), _mel(3, seed=3)])  # (b=2, s=3, 1, 128, 204)
    per_clip = tiny.encode_audio(clips.flatten(0, 1), scaled=True).unflatten(0, (2, 3))
    torch.testing.assert_close(tiny.encode_audio(clips, scaled=True), per_clip.mean(dim=1))
    torch.testing.assert_close(tiny.encode_audio(clips), per_clip.mean(dim=1) / 20.0)
    assert float(tiny.encode_audio(clips).norm(dim=-1).max()) < 1.0  # not unit-norm


def test_audio_tokens_are_the_normalised_trunk(tiny):
    mel = _mel()
    tokens = tiny.audio_tokens(mel)
    assert tokens.shape == (2, 229, 32)
    trunk = tiny.audio.trunk_tokens(mel)
    torch.testing.assert_close(tokens, F.layer_norm(trunk, (32,), eps=1e-6))
    with torch.no_grad():  # the head's LayerNorm is not involved: ASVA normalises with a fresh one
        tiny.audio.head.norm.weight.fill_(2.0)
        torch.testing.assert_close(tiny.audio_tokens(mel), tokens, rtol=0, atol=0)
        tiny.audio.head.norm.weight.fill_(1.0)
    null = tiny.null_audio_tokens(3)
    assert null.shape == (3, 229, 32)
    torch.testing.assert_close(null[2], null[0])
    torch.testing.assert_close(null[:1], tiny.audio_tokens(torch.zeros(1, 1, 128, 204)))


def test_bias_kv_adds_one_key(tiny, monkeypatch):
    """The audio blocks attend over n + 1 keys (the learned bias_k / bias_v position), the vision
    blocks over n; and the extra key matters."""
    import asva.models.imagebind.transformer as transformer

    seen, real = [], transformer.F.scaled_dot_product_attention

    def spy(q, k, v, **kwargs):  # (b, h, n, d): count queries and keys
        seen.append((q.shape[2], k.shape[2], v.shape[2]))
        return real(q, k, v, **kwargs)

    monkeypatch.setattr(transformer.F, "scaled_dot_product_attention", spy)
    attn = tiny.audio.transformer.blocks[0].attn
    x = torch.randn(1, 229, 32)
    with torch.no_grad():
        before = attn(x)
        attn.bias_k.add_(1.0)
        after = attn(x)
        attn.bias_k.sub_(1.0)
        tiny.vision.transformer.blocks[0].attn(torch.randn(1, 5, 32))
    assert seen == [(229, 230, 230), (229, 230, 230), (5, 5, 5)]
    assert not torch.allclose(before, after)
    assert tiny.vision.transformer.blocks[0].attn.bias_k is None


def test_text_is_causal_and_pools_the_end_token(tiny):
    ids = tokenize(["a dog barking"])  # end token at 4
    emb = tiny.encode_text(ids)
    later = ids.clone()
    later[0, 10] = 500  # after the end token: masked out and not pooled
    torch.testing.assert_close(tiny.encode_text(later), emb)
    earlier = ids.clone()
    earlier[0, 2] = 500
    assert not torch.allclose(tiny.encode_text(earlier), emb)
    torch.testing.assert_close(tiny.text.attn_mask, causal_mask(77))


def test_bad_inputs(tiny):
    with pytest.raises(ValueError, match=r"audio mel must have shape \(b, 1, 128, 204\)"):
        tiny.encode_audio(torch.zeros(1, 128, 204))
    with pytest.raises(ValueError, match="image pixels"):
        tiny.encode_image(torch.zeros(1, 3, 256, 256))
    with pytest.raises(ValueError, match=r"\[0, 49408\)"):
        tiny.encode_text(torch.full((1, 77), 49408))
    with pytest.raises(ValueError, match="int64"):
        tiny.encode_text(torch.zeros(1, 77))
    with pytest.raises(ValueError, match="no 'text' branch"):
        ImageBind("tiny", modalities=["audio"]).encode_text(tokenize("x"))
    with pytest.raises(ValueError, match="subset"):
        ImageBind("tiny", modalities=["depth"])


def test_every_official_key_lands_or_is_set_aside(official_keys):
    """All 1311 entries of imagebind_huge: 864 land on the model, depth/thermal/IMU are set aside."""
    state = {k: torch.empty(shape, device="meta") for k, shape in official_keys.items()}
    model = build_imagebind(state, "huge", source="keys.json")
    report = model.load_report
    assert report.loaded == 864 == len(model.state_dict())
    assert {m: len(k) for m, k in report.set_aside.items()} == {"depth": 177, "thermal": 177, "imu": 93}
    buffers = dict(model.named_buffers())
    assert set(buffers) == {"audio.log_logit_scale", "text.attn_mask"}
    assert model.text.log_logit_scale.shape == ()
    ours, aside = convert_state_dict(state, ["audio"])
    with torch.device("meta"):
        audio_only = ImageBind("huge", ["audio"])
    assert set(ours) == set(audio_only.state_dict()) and set(aside) == {"vision", "text", *report.set_aside}


def _tiny_official(model: ImageBind, official_keys) -> dict[str, torch.Tensor]:
    """The tiny model's weights under the official names (the official keys that exist in it)."""
    ours = model.state_dict()
    names = official_names(official_keys)  # {our name: official name}
    state = {official: ours[name].clone() for name, official in names.items() if name in ours}
    assert len(state) == len(ours)
    state["modality_trunks.depth.blocks.0.attn.bias_k"] = torch.zeros(1, 1, 8)  # set aside on load
    state["modality_postprocessors.imu.1.log_logit_scale"] = torch.tensor(0.5)
    return state


def test_load_tiny_checkpoint_file(tiny, official_keys, tmp_path):
    path = tmp_path / "imagebind_tiny.pth"
    torch.save(_tiny_official(tiny, official_keys), path)
    loaded = load_imagebind(path, "tiny")
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    assert set(loaded.load_report.set_aside) == {"depth", "imu"}
    mel, ids = _mel(), tokenize(["lions roaring"])
    torch.testing.assert_close(loaded.audio_tokens(mel), tiny.audio_tokens(mel), rtol=0, atol=0)
    torch.testing.assert_close(loaded.encode_text(ids), tiny.encode_text(ids), rtol=0, atol=0)
    audio_only = load_imagebind(path, "tiny", modalities=["audio"])
    assert audio_only.vision is None and "text" in audio_only.load_report.set_aside


def test_bad_checkpoints(tiny, official_keys, tmp_path):
    wrong = tmp_path / "sync_classifier.pth"
    torch.save({"audio_encoder.conv1.0.weight": torch.zeros(4, 1, 3, 3)}, wrong)
    with pytest.raises(ValueError, match=r"sync_classifier\.pth.*unexpected \(first: audio_encoder\.conv1"):
        load_imagebind(wrong, "tiny")

    good = tmp_path / "good.pth"
    torch.save(_tiny_official(tiny, official_keys), good)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"cannot read ImageBind checkpoint .*truncated\.pth"):
        load_imagebind(truncated, "tiny")

    not_tensors = tmp_path / "not_tensors.pth"
    torch.save({"modality_preprocessors.audio.cls_token": [1.0, 2.0], "epoch": 3}, not_tensors)
    with pytest.raises(ValueError, match=r"not_tensors\.pth has entries that are not tensors: .*cls_token"):
        load_imagebind(not_tensors, "tiny")

    foreign = tmp_path / "foreign.pth"
    foreign.write_bytes(pickle.dumps({"weights": ImageBindConfig()}, protocol=2))
    with pytest.raises(ValueError, match=r"cannot read ImageBind checkpoint .*foreign\.pth"):
        load_imagebind(foreign, "tiny")

    with pytest.raises(ValueError, match=r"mis-shaped \(first: .*patch_embed\.weight \(32, 1, 16, 16\)"):
        load_imagebind(good, "huge", modalities=["audio"])
    with pytest.raises(ValueError, match="does not exist"):
        load_imagebind(tmp_path / "absent.pth", "tiny")


def test_converted_folder_round_trip(tiny, official_keys, tmp_path):
    src = tmp_path / "imagebind_tiny.pth"
    torch.save(_tiny_official(tiny, official_keys), src)
    with pytest.raises(ValueError, match="missing .* mis-shaped"):  # a tiny file read with the huge preset
        convert_imagebind_checkpoint(src, tmp_path / "huge")
    folder = save_imagebind(load_imagebind(src, "tiny"), tmp_path / "converted")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_imagebind(folder)  # a folder carries its config
    mel, ids = _mel(), tokenize(["dog barking"])
    torch.testing.assert_close(loaded.audio_tokens(mel), tiny.audio_tokens(mel), rtol=0, atol=0)
    torch.testing.assert_close(loaded.encode_text(ids), tiny.encode_text(ids), rtol=0, atol=0)
    audio = load_imagebind_folder(folder, ["audio"], dtype=torch.float16)
    assert audio.modalities == ("audio",) and audio.text is None
    assert audio.audio.cls_token.dtype == torch.float16
    with pytest.raises(ValueError, match="config.json sets the config"):
        load_imagebind(folder, "tiny")
    with pytest.raises(ValueError, match="holds the branches \\['audio'\\]"):
        load_imagebind_folder(save_imagebind(audio, tmp_path / "audio_only"), ["text"])
    with pytest.raises(ValueError, match="not a converted ImageBind folder"):
        load_imagebind_folder(tmp_path)
