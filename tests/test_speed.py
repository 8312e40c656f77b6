"""The speed options: dtype choice, sampling presets, process sharding, and the UNet's fast paths
(each checked against the straightforward computation it replaces)."""
from __future__ import annotations

import argparse

import pytest
import torch
from einops import repeat

from asva.evaluation.sharding import ProcessInfo, my_share, process_info, relaunch_argv
from asva.models.attention import CrossAttention
from asva.models.audio_tokens import audio_token_mask
from asva.models.config import load_preset
from asva.models.layers import FrameMix, InflatedConv
from asva.models.transformer import FeedForwardLayer
from asva.models.unet3d import VideoUNet, attended_tokens
from asva.pipelines import speed


def test_native_bf16_from_cpu_flags():
    assert speed.cpu_has_native_bf16("flags\t: fpu avx512f avx512_bf16 sse\n")
    assert speed.cpu_has_native_bf16("flags\t: fpu amx_bf16 amx_tile\n")
    assert not speed.cpu_has_native_bf16("flags\t: fpu avx2 avx512f\n")
    assert not speed.cpu_has_native_bf16("")


def test_pick_dtype(monkeypatch):
    cpu = torch.device("cpu")
    assert speed.pick_dtype("float16", cpu) is torch.float16
    monkeypatch.setattr(speed, "cpu_has_native_bf16", lambda: False)
    assert speed.pick_dtype("auto", cpu) is torch.float32
    monkeypatch.setattr(speed, "cpu_has_native_bf16", lambda: True)
    expected = torch.bfloat16 if speed.sys.platform.startswith("linux") else torch.float32
    assert speed.pick_dtype("auto", cpu) is expected
    with pytest.raises(ValueError, match="float64"):
        speed.pick_dtype("float64", cpu)


def test_preset_fills_only_options_not_given():
    defaults = {"scheduler": None, "steps": 50, "guidance_fraction": 1.0}
    args = argparse.Namespace(preset="fast", scheduler=None, steps=50, guidance_fraction=1.0)
    speed.apply_preset(args, defaults)
    fast = speed.SAMPLING_PRESETS["fast"]
    assert (args.scheduler, args.steps, args.guidance_fraction) == (fast.scheduler, fast.steps,
                                                                     fast.guidance_fraction)
    args = argparse.Namespace(preset="paper", scheduler="ddim", steps=50, guidance_fraction=1.0)
    speed.apply_preset(args, defaults)
    assert (args.scheduler, args.steps) == ("ddim", 50)  # the explicit sampler wins


def test_shards_cover_every_item_once():
    shares = [my_share(11, ProcessInfo(rank, 3)) for rank in range(3)]
    assert sorted(i for s in shares for i in s) == list(range(11))
    assert process_info({"RANK": "1", "WORLD_SIZE": "2"}) == ProcessInfo(1, 2, 1)
    assert process_info({}) == ProcessInfo(0, 1, 0)
    with pytest.raises(ValueError, match="RANK"):
        process_info({"RANK": "2", "WORLD_SIZE": "2"})
    argv = relaunch_argv(["generate-eval", "--num-processes", "2", "--num-processes=2", "-o", "x"],
                         "asva.cli")
    assert argv[1:] == ["-m", "asva.cli", "generate-eval", "-o", "x"]


def test_frame_mix_equals_the_concatenated_projection():
    torch.manual_seed(0)
    mix = FrameMix(6)
    torch.nn.init.normal_(mix.proj.weight)
    torch.nn.init.normal_(mix.proj.bias)
    x = torch.randn(2, 6, 5, 3, 4)
    tokens = x.permute(0, 2, 3, 4, 1)  # (b, f, h, w, c)
    for use_first in (True, False):
        mix.use_first_frame = use_first
        first = tokens[:, :1].expand_as(tokens) if use_first else torch.zeros_like(tokens)
        prev = torch.cat([tokens[:, :1], tokens[:, :-1]], dim=1)
        expected = (tokens + mix.proj(torch.cat([first, prev, tokens], dim=-1))).permute(0, 4, 1, 2, 3)
        with torch.no_grad():
            torch.testing.assert_close(mix(x), expected, rtol=1e-5, atol=1e-5)
            channels_last = x.contiguous(memory_format=torch.channels_last_3d)
            torch.testing.assert_close(mix(channels_last), expected, rtol=1e-5, atol=1e-5)


def test_attending_only_the_unmasked_tokens_changes_nothing():
    torch.manual_seed(0)
    attn = CrossAttention(16, 2, 8)
    x, tokens = torch.randn(2 * 12, 10, 16), torch.randn(2, 229, 8)
    mask = repeat(audio_token_mask(12), "f m -> (b f) m", b=2)
    kept, none = attended_tokens(tokens, mask, 2)
    assert none is None and kept.shape == (24, 25, 8)
    per_frame = repeat(tokens, "b m d -> (b f) m d", f=12)
    with torch.no_grad():
        torch.testing.assert_close(attn(x, kept), attn(x, per_frame, mask), rtol=1e-5, atol=1e-6)
    ragged = mask.clone()
    ragged[0, 0] = False
    assert attended_tokens(tokens, ragged, 2)[1] is ragged  # unequal counts: the mask is kept


def test_shared_and_per_frame_conditions_agree():
    torch.manual_seed(0)
    model = VideoUNet(load_preset("tiny")).eval()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.05)
    c = model.config
    x, text = torch.randn(2, 4, 12, 8, 8), torch.randn(2, 5, c.text_dim)
    audio = torch.randn(2, 229, c.audio_dim)
    mask = audio_token_mask(12)
    with torch.no_grad():
        shared = model(x, 10, text, audio, mask)
        per_frame = model(x, 10, repeat(text, "b n d -> b f n d", f=12),
                          repeat(audio, "b m d -> b f m d", f=12), mask)
    assert shared.is_contiguous()
    torch.testing.assert_close(shared, per_frame, rtol=1e-4, atol=1e-5)


def test_frame_mix_gradients_match_the_concatenated_projection():
    torch.manual_seed(0)
    mix = FrameMix(4)
    torch.nn.init.normal_(mix.proj.weight)
    x = torch.randn(2, 4, 3, 2, 2, requires_grad=True)
    mix(x).square().sum().backward()
    grads = x.grad.clone(), mix.proj.weight.grad.clone()
    x.grad, mix.proj.weight.grad = None, None
    tokens = x.permute(0, 2, 3, 4, 1)
    prev = torch.cat([tokens[:, :1], tokens[:, :-1]], dim=1)
    both = torch.cat([tokens[:, :1].expand_as(tokens), prev, tokens], dim=-1)
    (tokens + mix.proj(both)).square().sum().backward()
    torch.testing.assert_close(grads, (x.grad, mix.proj.weight.grad), rtol=1e-5, atol=1e-5)


def test_chunked_feed_forward_equals_the_whole_one(monkeypatch):
    torch.manual_seed(0)
    layer = FeedForwardLayer(8)
    x = torch.randn(3, 50, 8, requires_grad=True)
    whole = x + layer.net(layer.norm(x))
    monkeypatch.setattr(FeedForwardLayer, "chunk_elements", 64 * 7)  # chunks of 7 tokens
    chunked = layer(x)
    torch.testing.assert_close(chunked, whole, rtol=1e-6, atol=1e-6)
    grad = torch.autograd.grad(chunked.sum(), x)[0]
    torch.testing.assert_close(grad, torch.autograd.grad(whole.sum(), x)[0], rtol=1e-6, atol=1e-6)


def test_conv_kernels_are_held_channels_last_and_saved_contiguous():
    conv = InflatedConv(4, 6, 3, padding=1)
    assert conv.spatial.weight.is_contiguous(memory_format=torch.channels_last)
    state = conv.state_dict()
    assert state["spatial.weight"].is_contiguous()
    with torch.device("meta"):
        loaded = InflatedConv(4, 6, 3, padding=1)
    loaded.load_state_dict(state, assign=True)  # taken over as given, then put back channels-last
    assert loaded.spatial.weight.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(loaded.spatial.weight, conv.spatial.weight, rtol=0, atol=0)
