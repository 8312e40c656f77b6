"""The tiny video UNet: shapes, input checks, adapter, checkpointing, presets, equivalence with SD."""
from __future__ import annotations

import json

import pytest
import torch
from einops import rearrange

from asva.commands.info import main as info_main
from asva.models.adapter import adapter_parameter_names, parameter_counts
from asva.models.audio_tokens import audio_token_mask
from asva.models.config import UNetConfig, config_from_diffusers, list_presets, load_preset
from asva.models.unet3d import VideoUNet

F, H = 4, 8


pytestmark = pytest.mark.usefixtures("one_thread")


def _inputs(cfg: UNetConfig, b: int = 2, f: int = F, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(b, cfg.in_channels, f, H, H, generator=g)
    text = torch.randn(b, 7, cfg.text_dim, generator=g)
    audio = None if cfg.audio_dim is None else torch.randn(b, 229, cfg.audio_dim, generator=g)
    return sample, torch.tensor([10, 900][:b]), text, audio


def _randomise_adapter(model: VideoUNet, seed: int = 1) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.adapter_modules():
            for p in module.parameters():
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


@pytest.fixture(scope="module")
def tiny() -> VideoUNet:
    torch.manual_seed(0)
    model = VideoUNet(load_preset("tiny")).eval()
    _randomise_adapter(model)
    return model


def test_forward_shape_and_per_frame_conditions(tiny):
    sample, t, text, audio = _inputs(tiny.config)
    mask = audio_token_mask(F)
    with torch.no_grad():
        out = tiny(sample, t, text, audio, mask)
        per_frame = tiny(
            sample,
            t,
            text[:, None].expand(-1, F, -1, -1),
            audio[:, None].expand(-1, F, -1, -1),
            mask[None].expand(2, -1, -1),
        )
    assert out.shape == sample.shape
    torch.testing.assert_close(out, per_frame, rtol=0, atol=1e-5)


def test_audio_mask_matters(tiny):
    sample, t, text, audio = _inputs(tiny.config)
    with torch.no_grad():
        masked = tiny(sample, t, text, audio, audio_token_mask(F))
        unmasked = tiny(sample, t, text, audio, None)
    assert (masked - unmasked).abs().max() > 1e-3


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda s, t, x, a, m: (s[:, :3], t, x, a, m), "sample must be"),
        (lambda s, t, x, a, m: (s, t, x[..., :5], a, m), "text_states must be"),
        (lambda s, t, x, a, m: (s, t, x, a[..., :5], m), "audio_states must be"),
        (lambda s, t, x, a, m: (s, t, x, None, m), "audio_states .* are required"),
        (lambda s, t, x, a, m: (s, t, x, a, m.float()), "audio_mask must be bool"),
        (lambda s, t, x, a, m: (s, t, x, a, m[:, :100]), "audio_mask must be bool"),
        (lambda s, t, x, a, m: (s, torch.tensor([1, 2, 3]), x, a, m), "timestep must be"),
    ],
)
def test_bad_inputs_raise(tiny, change, match):
    sample, t, text, audio = _inputs(tiny.config)
    with pytest.raises(ValueError, match=match):
        tiny(*change(sample, t, text, audio, audio_token_mask(F)))


def test_no_audio_variant():
    model = VideoUNet(load_preset("tiny", audio_dim=None)).eval()
    assert not any(".audio." in k for k in model.state_dict())
    sample, t, text, _ = _inputs(model.config)
    with torch.no_grad():
        assert model(sample, t, text).shape == sample.shape
    with pytest.raises(ValueError, match="no audio attention"):
        model(sample, t, text, torch.zeros(2, 229, 24))


def test_adapter_is_chosen_by_module(tiny):
    names = set(adapter_parameter_names(tiny))
    trainable = {id(p) for p in tiny.trainable_parameters()}
    assert {n for n, p in tiny.named_parameters() if id(p) in trainable} == names
    model = VideoUNet(load_preset("tiny"))
    params = model.freeze_base()
    assert {id(p) for p in params} == {id(p) for p in model.parameters() if p.requires_grad}
    assert {n for n, p in model.named_parameters() if p.requires_grad} == names
    counts = parameter_counts(model)
    assert (counts["total"], counts["trainable"]) == (1_065_848, 270_324)


def test_adapter_save_load_roundtrip(tiny, tmp_path):
    path = tiny.save_adapter(tmp_path / "adapter.safetensors")
    other = VideoUNet(load_preset("tiny"))
    adapter = set(adapter_parameter_names(tiny))
    other.load_state_dict({k: v for k, v in tiny.state_dict().items() if k not in adapter}, strict=False)
    other.eval().load_adapter(path)
    mine, ref = other.state_dict(), tiny.state_dict()
    assert all(torch.equal(mine[k], ref[k]) for k in ref)
    sample, t, text, audio = _inputs(tiny.config)
    with torch.no_grad():
        expected = tiny(sample, t, text, audio)
        torch.testing.assert_close(other(sample, t, text, audio), expected, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="does not match the model"):
        VideoUNet(load_preset("tiny", audio_dim=None)).load_adapter(path)  # unexpected audio weights
    with pytest.raises(ValueError, match="does not match the model"):
        VideoUNet(load_preset("tiny", audio_dim=16)).load_adapter(path)  # mis-shaped audio weights
    (tmp_path / "bad.safetensors").write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="bad.safetensors"):
        tiny.load_adapter(tmp_path / "bad.safetensors")


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = VideoUNet(load_preset("tiny"))
    _randomise_adapter(model)
    model.freeze_base()
    sample, t, text, audio = _inputs(model.config, b=1)
    grads = []
    for enabled in (False, True):
        model.set_gradient_checkpointing(enabled)
        model.zero_grad()
        model(sample, t, text, audio, audio_token_mask(F)).square().mean().backward()
        grads.append([p.grad.clone() for p in model.trainable_parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_odd_latent_sizes_run(tiny):
    sample, t, text, audio = _inputs(tiny.config, b=1)
    sample = torch.randn(1, 4, 3, 7, 9)
    with torch.no_grad():
        assert tiny(sample, t, text, audio, audio_token_mask(3)).shape == sample.shape


# ---------------------------------------------------------------- presets and configs
def test_presets_match_the_golden_configs(golden):
    assert {"sd15", "tiny"} <= set(list_presets())
    assert not any(name.startswith("sync-") for name in list_presets())
    for preset, case in (("sd15", "asva_unet_full"), ("tiny", "asva_unet_tiny")):
        official = json.loads((golden / case / "config.json").read_text())
        expected = load_preset(preset)
        assert config_from_diffusers(official["unet_config"]) == expected
        assert config_from_diffusers(official["unet2d_config_used"], audio_dim=expected.audio_dim) == expected


def test_preset_overrides_and_errors():
    assert load_preset("tiny", num_heads=4).num_heads == 4
    with pytest.raises(ValueError, match="unknown UNet preset"):
        load_preset("nope")
    with pytest.raises(ValueError, match="unknown UNet config keys"):
        load_preset("tiny", heads=4)
    with pytest.raises(ValueError, match="divisible"):
        load_preset("tiny", num_heads=3)
    with pytest.raises(ValueError, match="one flag per level"):
        load_preset("tiny", attention=[True])
    with pytest.raises(ValueError, match="unsupported UNet options"):
        config_from_diffusers({"use_linear_projection": True, "down_block_types": [], "up_block_types": []})
    with pytest.raises(ValueError, match="lacks"):
        config_from_diffusers({"_class_name": "AutoencoderKL", "block_out_channels": [64]})


def test_sd_config_with_per_level_flags(golden):
    cfg = json.loads((golden / "asva_unet_tiny" / "config.json").read_text())["unet2d_config_used"]
    cfg = {**cfg, "only_cross_attention": [False, False], "transformer_layers_per_block": [1, 1]}
    assert config_from_diffusers(cfg, audio_dim=24) == load_preset("tiny")
    with pytest.raises(ValueError, match="per-level sizes"):
        config_from_diffusers({**cfg, "attention_head_dim": [2, 4]})


def test_info_prints_the_official_counts(capsys):
    assert info_main(["--preset", "sd15"]) == 0
    out = capsys.readouterr().out
    for number in ("1,169,357,496", "309,836,532", "859,520,964", "191,444,212", "74,404,800", "43,987,520"):
        assert number in out


# ---------------------------------------------------------------- equivalence with SD's 2-D UNet
@pytest.fixture(scope="module")
def sd_and_video(golden):
    diffusers = pytest.importorskip("diffusers")
    cfg2d = json.loads((golden / "asva_unet_tiny" / "config.json").read_text())["unet2d_config_used"]
    cfg2d = {k: v for k, v in cfg2d.items() if not k.startswith("_")}
    torch.manual_seed(0)
    sd = diffusers.UNet2DConditionModel(**cfg2d).eval()
    with torch.no_grad():  # diffusers zero-inits nothing we rely on; make every weight non-trivial
        for p in sd.parameters():
            p.add_(0.05 * torch.randn_like(p))
    from asva.models.convert import build_unet, convert_official

    video = build_unet(
        config_from_diffusers(cfg2d, audio_dim=24), convert_official(dict(sd.state_dict())),
        source="test", fresh_adapter=True,
    ).eval()
    return sd, video


def test_fresh_model_equals_sd_on_identical_frames(sd_and_video):
    sd, video = sd_and_video
    g = torch.Generator().manual_seed(3)
    frame = torch.randn(2, 4, 8, 8, generator=g)
    text = torch.randn(2, 77, 40, generator=g)
    t = torch.tensor([999, 3])
    with torch.no_grad():
        expected = sd(frame, t, encoder_hidden_states=text).sample
        frames = frame[:, :, None].expand(-1, -1, 5, -1, -1)
        out = video(frames, t, text, torch.randn(2, 229, 24, generator=g))
    for i in range(5):
        torch.testing.assert_close(out[:, :, i], expected, rtol=0, atol=2e-5)


def test_fresh_model_equals_sd_on_one_frame(sd_and_video):
    # With distinct frames the resnets' GroupNorm statistics span all frames (the official model's
    # arithmetic), so no frame equals SD's output then; a single frame does.
    sd, video = sd_and_video
    g = torch.Generator().manual_seed(4)
    frame = torch.randn(1, 4, 8, 8, generator=g)
    text = torch.randn(1, 77, 40, generator=g)
    with torch.no_grad():
        expected = sd(frame, 500, encoder_hidden_states=text).sample
        out = video(frame[:, :, None], 500, text, torch.randn(1, 229, 24, generator=g), audio_token_mask(1))
    torch.testing.assert_close(out[:, :, 0], expected, rtol=0, atol=2e-5)


def test_distinct_frames_differ_from_sd_only_by_the_cross_frame_groupnorm(sd_and_video, monkeypatch):
    # Frame 0 attends to itself, so with per-frame GroupNorm statistics it is exactly SD's output;
    # the official model's resnets normalise over all frames, which is what makes it differ.
    sd, video = sd_and_video
    g = torch.Generator().manual_seed(5)
    frames = torch.randn(1, 4, 5, 8, 8, generator=g)
    text = torch.randn(1, 77, 40, generator=g)
    audio = torch.randn(1, 229, 24, generator=g)
    with torch.no_grad():
        expected = sd(frames[:, :, 0], 500, encoder_hidden_states=text).sample
        assert (video(frames, 500, text, audio)[:, :, 0] - expected).abs().max() > 1e-2
        group_norm = torch.nn.GroupNorm.forward

        def per_frame(self, x):
            if x.ndim != 5:
                return group_norm(self, x)
            out = group_norm(self, rearrange(x, "b c f h w -> (b f) c h w"))
            return rearrange(out, "(b f) c h w -> b c f h w", f=x.shape[2])

        monkeypatch.setattr(torch.nn.GroupNorm, "forward", per_frame)
        torch.testing.assert_close(video(frames, 500, text, audio)[:, :, 0], expected, rtol=0, atol=2e-5)


def test_first_frame_lookups_switch_off_per_layer_kind():
    """Table 2a's variants: the flags reach every FrameMix / first-frame attention and change the output;
    with both off and no temporal attention, frame 0 no longer influences the other frames."""
    from asva.models.attention import FirstFrameAttention
    from asva.models.layers import FrameMix

    torch.manual_seed(0)
    full = VideoUNet(load_preset("tiny")).eval()
    _randomise_adapter(full)
    sample, t, text, audio = _inputs(full.config)
    variants = {}
    for conv, attn in ((True, True), (True, False), (False, False)):
        model = VideoUNet(load_preset("tiny", first_frame_conv=conv, first_frame_attention=attn)).eval()
        model.load_state_dict(full.state_dict())  # the flags change no weight shape
        assert {m.use_first_frame for m in model.modules() if isinstance(m, FrameMix)} == {conv}
        assert {m.use_first_frame for m in model.modules() if isinstance(m, FirstFrameAttention)} == {attn}
        with torch.no_grad():
            variants[conv, attn] = model(sample, t, text, audio)
    assert (variants[True, True] - variants[True, False]).abs().max() > 1e-4
    assert (variants[True, False] - variants[False, False]).abs().max() > 1e-4

    # layer by layer: switched off, no layer reads frame 0 for the other frames
    mix = FrameMix(8)
    torch.nn.init.normal_(mix.proj.weight)
    mix.use_first_frame = False
    attn = FirstFrameAttention(8, 2)
    attn.use_first_frame = False
    video = torch.randn(1, 8, 4, 3, 3)
    changed = video.clone()
    changed[:, :, 0] = torch.randn(1, 8, 3, 3)  # not a shift: LayerNorm would remove it
    with torch.no_grad():
        torch.testing.assert_close(mix(video)[:, :, 2:], mix(changed)[:, :, 2:], rtol=0, atol=0)
        tokens = rearrange(video, "b c f h w -> (b f) (h w) c")
        tokens_changed = rearrange(changed, "b c f h w -> (b f) (h w) c")
        torch.testing.assert_close(attn(tokens, 4)[1:], attn(tokens_changed, 4)[1:], rtol=0, atol=0)
        mix.use_first_frame = attn.use_first_frame = True
        assert (mix(video)[:, :, 2:] - mix(changed)[:, :, 2:]).abs().max() > 1e-3
        assert (attn(tokens, 4)[1:] - attn(tokens_changed, 4)[1:]).abs().max() > 1e-3
