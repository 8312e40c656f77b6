"""Sync classifier: tiny model, presets, preprocessing, key conversion and bad checkpoints."""
from __future__ import annotations

import json
import pickle

import pytest
import torch

from asva.models.checkpoint import apply_renames
from asva.models.sync import (
    SYNC_RENAMES,
    SyncClassifier,
    SyncClassifierConfig,
    convert_sync_checkpoint,
    list_presets,
    load_sync_classifier,
    preprocess_sync_video,
    save_sync_classifier,
    score_clips,
)


@pytest.fixture
def tiny() -> SyncClassifier:
    torch.manual_seed(0)
    return SyncClassifier(SyncClassifierConfig.from_preset("tiny")).eval()


def _inputs(batch: int = 2, size: int = 32):
    g = torch.Generator().manual_seed(1)
    mel = torch.randn(batch, 1, 128, 204, generator=g)
    video = torch.randint(0, 256, (batch, 3, 12, size, size), generator=g, dtype=torch.uint8)
    return mel, video


def test_presets_and_config_validation():
    assert {"official", "tiny"} <= set(list_presets())
    assert SyncClassifierConfig.from_preset("official") == SyncClassifierConfig()
    assert SyncClassifierConfig.from_preset("tiny", frame_size=64).frame_size == 64
    with pytest.raises(ValueError, match="unknown sync classifier preset 'nope'"):
        SyncClassifierConfig.from_preset("nope")
    with pytest.raises(ValueError, match="audio_strides"):
        SyncClassifierConfig(audio_channels=(8, 16), audio_strides=(2,))
    with pytest.raises(ValueError, match="unknown sync classifier config keys"):
        SyncClassifierConfig.from_dict({"channels": 3})


def test_official_param_counts():
    model = SyncClassifier()
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(model) == 20_761_217
    assert (count(model.audio_encoder), count(model.video_encoder), count(model.head)) == (
        4_725_696, 15_379_136, 656_385)


def test_tiny_forward_shapes_and_gradients(tiny):
    mel, video = _inputs()
    phi = score_clips(tiny, mel, video)
    assert phi.shape == (2,) and torch.isfinite(phi).all()
    stages = tiny.video_encoder.stage_outputs(preprocess_sync_video(video, 32))
    assert [s.shape[2] for s in stages] == [12, 12, 6, 3, 2]  # time 12 -> 6 -> 3 -> 2
    tiny.train()
    loss = tiny(mel, preprocess_sync_video(video, 32)).sum()
    loss.backward()
    assert all(p.grad is not None for p in tiny.parameters())


def test_time_binned_correlation_variant():
    """The shipped synthetic classifier keeps time: 12 bins in both embeddings, no temporal stride,
    and phi is a bin-by-bin audio-video correlation, so moving the audio in time changes phi."""
    torch.manual_seed(0)
    model = SyncClassifier(SyncClassifierConfig.from_preset("synth")).eval()
    c = model.config
    assert (c.temporal_bins, c.head, c.temporal_strides) == (12, "correlation", (1, 1, 1, 1))
    mel, video = _inputs()
    frames = preprocess_sync_video(video, c.frame_size)
    stages = model.video_encoder.stage_outputs(frames)
    assert [s.shape[2] for s in stages] == [12] * 5  # no temporal stride anywhere
    assert model.audio_encoder(mel).shape == (2, c.audio_channels[-1] * 12)
    assert model.video_encoder(frames).shape == (2, c.video_channels[-1] * 12)
    with torch.no_grad():
        phi = model(mel, frames)
        early, late = torch.full_like(mel, -1.0), torch.full_like(mel, -1.0)
        early[..., 20:30], late[..., 150:160] = 3.0, 3.0  # one burst of sound, early or late
        profiles = [model.audio_encoder(m).view(2, -1, 12).sum(dim=1) for m in (early, late)]  # (b, bins)
        # the head is a sum over bins: bins hand-checked against the formula
        a = model.audio_encoder(mel).view(2, -1, 12).transpose(1, 2)
        v = model.video_encoder(frames).view(2, -1, 12).transpose(1, 2)
        head = model.head
        expected = (head.audio_proj(a) * head.video_proj(v)).sum(dim=(1, 2)) * head.scale
    torch.testing.assert_close(phi, expected)
    # the embedding says when the sound is: its strongest bin follows the burst
    assert (profiles[0].argmax(dim=1) < 6).all() and (profiles[1].argmax(dim=1) >= 6).all()
    with pytest.raises(ValueError, match="head must be one of"):
        SyncClassifierConfig(head="bilinear")
    with pytest.raises(ValueError, match="video_temporal_strides"):
        SyncClassifierConfig(video_temporal_strides=(1, 1))
    with pytest.raises(ValueError, match="temporal_bins"):
        SyncClassifierConfig(temporal_bins=0)


def test_official_pooling_is_unchanged_by_the_new_options(tiny):
    """temporal_bins=1 and video_temporal_strides=None are the official mean pooling and strides."""
    same = SyncClassifier(SyncClassifierConfig.from_preset("tiny", temporal_bins=1,
                                                           video_temporal_strides=(1, 2, 2, 2))).eval()
    same.load_state_dict(tiny.state_dict())
    mel, video = _inputs()
    with torch.no_grad():
        phi, official = score_clips(same, mel, video), score_clips(tiny, mel, video)
    torch.testing.assert_close(phi, official, rtol=0, atol=0)


def test_sync_cli_overrides_parse_tuples_none_and_strings():
    from functools import partial

    from asva.models.sync import SyncClassifierConfig
    from asva.training.overrides import apply_overrides

    parse_overrides = partial(apply_overrides, SyncClassifierConfig)

    assert parse_overrides(["video_temporal_strides=1,1,2,2", "head=correlation", "temporal_bins=6"]) == {
        "video_temporal_strides": (1, 1, 2, 2), "head": "correlation", "temporal_bins": 6}
    assert parse_overrides(["video_temporal_strides=none"]) == {"video_temporal_strides": None}
    with pytest.raises(ValueError, match="temporal_bins expects int"):
        parse_overrides(["temporal_bins=many"])


def test_score_pairs_matches_forward(tiny):
    mel, video = _inputs()
    frames = preprocess_sync_video(video, 32)
    with torch.no_grad():
        pairs = tiny.score_pairs(mel, frames, torch.tensor([0, 1, 1]), torch.tensor([1, 0, 1]))
        direct = tiny(mel[[0, 1, 1]], frames[[1, 0, 1]])
    torch.testing.assert_close(pairs, direct, atol=1e-6, rtol=0)


def test_bad_model_inputs(tiny):
    mel, video = _inputs()
    frames = preprocess_sync_video(video, 32)
    with pytest.raises(ValueError, match="must match"):
        tiny(mel[:1], frames)
    with pytest.raises(ValueError, match=r"\(b, 1, n_mels, t\)"):
        tiny(mel[:, 0], frames)
    with pytest.raises(ValueError, match=r"\(b, 3, f, h, w\)"):
        tiny(mel, frames[:, :2])
    with pytest.raises(ValueError, match=r"mel must be \(b, 1, 128, 204\)"):
        tiny(mel[..., :198], frames)  # the fbank's 198 frames, not padded to 204
    with pytest.raises(ValueError, match="video must have 12 frames"):
        tiny(mel, frames[:, :, :8])


def test_preprocess_sync_video():
    # a frame whose value equals the CLIP mean normalises to ~0; the output is squashed to size
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073])
    video = mean.view(3, 1, 1, 1).expand(3, 12, 40, 60).clone()
    out = preprocess_sync_video(video, 24)
    assert out.shape == (1, 3, 12, 24, 24)
    assert out.abs().max() < 1e-5
    as_uint8 = preprocess_sync_video(torch.full((3, 2, 8, 8), 255, dtype=torch.uint8), 8)
    torch.testing.assert_close(as_uint8[0, :, 0, 0, 0], (1 - mean) / torch.tensor(
        [0.26862954, 0.26130258, 0.27577711]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        preprocess_sync_video(video * 2 - 1)
    with pytest.raises(ValueError, match="video must be"):
        preprocess_sync_video(torch.zeros(3, 8, 8))


def test_rename_table_maps_official_keys(golden):
    keys = json.loads((golden / "avsync_classifier" / "keys.json").read_text())["keys"]
    renamed = apply_renames({k: torch.empty(shape) for k, shape in keys.items()}, SYNC_RENAMES)
    expected = SyncClassifier().state_dict()
    assert len(renamed) == len(keys) == 261
    assert set(renamed) == set(expected)
    assert all(tuple(renamed[k].shape) == tuple(expected[k].shape) for k in renamed)


def test_native_round_trip(tiny, tmp_path):
    out = save_sync_classifier(tiny, tmp_path / "sync")
    loaded = load_sync_classifier(out)
    assert loaded.config == tiny.config and not loaded.training
    assert not any(p.requires_grad for p in loaded.parameters())
    mel, video = _inputs()
    torch.testing.assert_close(score_clips(loaded, mel, video), score_clips(tiny, mel, video))
    assert set(convert_sync_checkpoint(out)) == set(tiny.state_dict())


def test_mis_shaped_checkpoint_lists_every_key(tiny, tmp_path):
    save_sync_classifier(tiny, tmp_path / "sync")
    other = SyncClassifierConfig.from_preset("tiny", head_hidden=(12, 8))
    with pytest.raises(ValueError, match="3 mis-shaped") as err:
        load_sync_classifier(tmp_path / "sync", other)
    assert sorted(err.value.mis_shaped) == [
        "head.hidden.0.bias (16,) (model (12,))",
        "head.hidden.0.weight (16, 32) (model (12, 32))",
        "head.hidden.1.weight (8, 16) (model (8, 12))",
    ]
    assert not err.value.missing and not err.value.unexpected


def test_wrong_model_checkpoint(tmp_path):
    path = tmp_path / "inception.pt"
    torch.save({"Conv2d_1a_3x3.conv.weight": torch.zeros(2, 3, 3, 3), "fc.bias": torch.zeros(4)}, path)
    config = SyncClassifierConfig.from_preset("tiny")
    with pytest.raises(ValueError, match=r"sync classifier \(RelSync / AlignSync\) weights .*\.pt") as err:
        load_sync_classifier(path, config)
    assert err.value.unexpected == ["Conv2d_1a_3x3.conv.weight", "fc.bias"]
    assert err.value.missing == list(SyncClassifier(config).state_dict())  # every key, in model order


def test_truncated_checkpoints(tiny, tmp_path):
    full = tmp_path / "full.pt"
    torch.save(tiny.state_dict(), full)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(ValueError, match="cannot read .*cut.pt"):
        convert_sync_checkpoint(cut)
    save_sync_classifier(tiny, tmp_path / "native")
    blob = (tmp_path / "native" / "model.safetensors").read_bytes()
    (tmp_path / "native" / "model.safetensors").write_bytes(blob[: len(blob) // 3])
    with pytest.raises(ValueError, match="cannot read .*model.safetensors"):
        load_sync_classifier(tmp_path / "native")


class _NotATensor:
    pass


def test_non_tensor_pickles(tmp_path):
    plain = tmp_path / "plain.pt"
    torch.save({"audio_encoder.conv1.0.weight": "a string", "step": 3}, plain)
    with pytest.raises(ValueError, match="2 entries that are not named tensors"):
        convert_sync_checkpoint(plain)
    foreign = tmp_path / "foreign.bin"
    foreign.write_bytes(pickle.dumps({"x": _NotATensor()}, protocol=2))
    with pytest.raises(ValueError, match="cannot read .*foreign.bin"):
        convert_sync_checkpoint(foreign)
    listing = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], listing)
    with pytest.raises(ValueError, match="holds list, expected a non-empty dict of tensors"):
        convert_sync_checkpoint(listing)


def test_missing_files_name_file_and_metric(tmp_path):
    with pytest.raises(ValueError, match=r"sync classifier \(RelSync / AlignSync\): weight file .*nope.bin"):
        load_sync_classifier(tmp_path / "nope.bin")
    folder = tmp_path / "modules"
    for part in ("audio_encoder", "video_encoder"):
        (folder / part).mkdir(parents=True)
    with pytest.raises(ValueError, match=r"lacks the folders \['head'\]"):
        convert_sync_checkpoint(folder)
    (folder / "head").mkdir()
    with pytest.raises(ValueError, match=r"sync classifier .*audio_encoder holds no weights"):
        convert_sync_checkpoint(folder)
