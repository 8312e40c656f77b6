"""asva.baselines: Static, I2VD and AADiff share the AVSyncD pipeline's call and output; AADiff's motion
follows the audio's loudness."""
from __future__ import annotations

import math

import pytest
import torch

from asva.baselines.envelope import amplitude_envelope, smooth
from asva.baselines.loading import load_method

SR = 16000
pytestmark = pytest.mark.usefixtures("one_thread")


def tone(seconds: float, pulses=(), width: float = 0.2) -> torch.Tensor:
    """A 440-Hz tone on only during [p, p + width) for each p in `pulses` (silence without pulses)."""
    t = torch.arange(round(seconds * SR)) / SR
    on = torch.zeros_like(t, dtype=torch.bool)
    for p in pulses:
        on |= (t >= p) & (t < p + width)
    return 0.5 * torch.sin(2 * math.pi * 440 * t) * on


@pytest.fixture(scope="module")
def sd_dir(tmp_path_factory):
    from asva.baselines.testing import save_random_sd15

    return save_random_sd15(tmp_path_factory.mktemp("sd") / "sd15")


@pytest.fixture(scope="module")
def aadiff(sd_dir):
    pipe, size = load_method("aadiff", sd_dir, size=64, quiet=True)
    return pipe


@pytest.fixture(scope="module")
def i2vd_dir(tmp_path_factory):
    """A tiny random audio-free AVSyncD (what `asva train ... model.audio=false` exports)."""
    from asva.models.config import load_preset
    from asva.pipelines.avsyncd import AVSyncDPipeline
    from asva.pipelines.components import AVSyncDUNet
    from asva.pipelines.testing import random_pipeline

    base = random_pipeline("tiny", prompts=("drum", "dog barking"))
    torch.manual_seed(0)
    unet = AVSyncDUNet(load_preset("tiny", audio_dim=None).to_dict())
    folder = tmp_path_factory.mktemp("i2vd") / "model"
    AVSyncDPipeline(vae=base.vae, unet=unet, audio_encoder=None, scheduler=base.scheduler,
                    prompt_table=base.prompt_table).save_pretrained(folder)
    base.save_pretrained(folder.parent / "avsyncd")
    return folder


def image(size: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)


def frame_changes(video: torch.Tensor) -> torch.Tensor:
    """(1, 3, f, h, w) uint8 -> (f - 1,) mean |frame n+1 - frame n|."""
    v = video[0].float()
    return (v[:, 1:] - v[:, :-1]).abs().mean(dim=(0, 2, 3))


def test_envelope_follows_pulses_and_silence_is_zero():
    level = amplitude_envelope(tone(2.0, pulses=(1.0,))[None], SR, 12, 6.0)
    assert level.shape == (1, 12) and level.max() == 1
    assert level[0, 6:8].min() > 0.5 and level[0, :5].max() == 0 and level[0, 9:].max() == 0
    assert amplitude_envelope(tone(2.0)[None], SR, 12, 6.0).abs().max() == 0
    smoothed = smooth(torch.tensor([[0.0, 3.0, 0.0, 0.0]]), 3)
    torch.testing.assert_close(smoothed, torch.tensor([[1.0, 1.0, 1.0, 0.0]]))
    with pytest.raises(ValueError, match="odd"):
        smooth(level, 2)


def test_static_repeats_the_image_for_the_audio():
    pipe, size = load_method("static", size=48)
    img = image(48)
    out = pipe(img, tone(2.5), "ignored", fps=4.0, num_inference_steps=7)
    assert out.videos.shape == (1, 3, 10, 48, 48) and out.fps == 4.0 and size == 48
    assert out.audio.shape[-1] == round(10 / 4.0 * SR)
    assert torch.equal(out.videos[0, :, 0], img) and torch.equal(out.videos[0, :, -1], img)


def test_i2vd_is_an_audio_free_avsyncd(i2vd_dir):
    pipe, _ = load_method("i2vd", i2vd_dir, scheduler="ddim")
    out = pipe(image(32), tone(2.5, pulses=(1.0,)), "drum", num_inference_steps=2)
    assert out.videos.shape == (1, 3, 15, 32, 32) and out.audio.shape[-1] == round(2.5 * SR)
    first = pipe.decode_latents(pipe.encode_image(image(32)[None].float() / 127.5 - 1)[:, :, None])
    expected = ((first[0, :, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    assert (out.videos[0, :, 0].int() - expected.int()).abs().max() <= 1
    with pytest.raises(ValueError, match="trained without audio"):
        load_method("i2vd", i2vd_dir.parent / "avsyncd")


def test_aadiff_output_shape_duration_and_first_frame(aadiff):
    img = image()
    out = aadiff(img, tone(2.5, pulses=(1.0,)), "a dog barking", num_inference_steps=3, fps=12.0)
    assert out.videos.shape == (1, 3, 30, 64, 64) and out.videos.dtype == torch.uint8
    assert out.audio.shape[-1] == round(2.5 * SR) and out.fps == 12.0
    z = aadiff.encode_image(img[None].float() / 127.5 - 1)
    expected = ((aadiff.decode_latents(z)[0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    assert (out.videos[0, :, 0].int() - expected.int()).abs().max() <= 1
    with pytest.raises(ValueError, match="multiples of 16"):
        aadiff(image(40), tone(1.0), "a dog")
    with pytest.raises(ValueError, match="prompt table"):
        aadiff(img, tone(1.0), "dog", use_prompt_table=True)


@pytest.mark.parametrize(("start", "control"), [("inversion", "p2p"), ("sdedit", "p2p"),
                                                ("inversion", "reweight")])
def test_aadiff_frames_change_with_the_loudness(sd_dir, start, control):
    """Silence: every generated frame is the same; a pulse: frames change where the loudness changes."""
    from asva.baselines.config import AADiffConfig

    pipe, _ = load_method("aadiff", sd_dir, quiet=True,
                          aadiff=AADiffConfig(start=start, attention_scale=4.0, control=control))
    run = dict(num_inference_steps=4, generator=torch.Generator().manual_seed(0))
    silent = frame_changes(pipe(image(), tone(2.0), "a dog barking", **run).videos)
    assert silent[1:].max() <= 1.0  # frames 1..11 identical up to rounding (frame 0 is the image)
    pulsed = frame_changes(pipe(image(), tone(2.0, pulses=(1.0,)), "a dog barking", **run).videos)
    level = amplitude_envelope(tone(2.0, pulses=(1.0,))[None], SR, 12, 6.0)[0]
    step = (level[1:] - level[:-1]).abs()[1:]  # loudness change between generated frames n and n + 1
    assert step.max() > 0.3 and (step < 1e-6).sum() >= 5
    assert pulsed[1:][step > 0.3].min() > 0.3  # frames change at the pulse's onset and end ...
    assert pulsed[1:][step < 1e-6].max() < 0.05  # ... and stay put where the loudness does


def test_aadiff_words_must_be_in_the_prompt(sd_dir):
    from asva.baselines.config import AADiffConfig

    pipe, _ = load_method("aadiff", sd_dir, quiet=True, aadiff=AADiffConfig(words=("cat",)))
    with pytest.raises(ValueError, match="'cat' is not in the prompt"):
        pipe(image(), tone(1.0), "a dog barking", num_inference_steps=1)
    pipe.aadiff.words = ("dog",)
    assert pipe.token_mask("a dog barking", pipe.tokenizer("a dog barking", padding="max_length",
                                                           return_tensors="pt").input_ids[0]).sum() == 1
    with pytest.raises(ValueError, match="needs --model SD15_DIR"):
        load_method("aadiff")


def test_aadiff_change_grows_with_the_loudness(aadiff):
    """A rising tone: each frame's distance from the silent clip's frame grows with its loudness."""
    t = torch.arange(2 * SR) / SR
    ramp = 0.5 * torch.sin(2 * math.pi * 440 * t) * t / 2  # amplitude 0 -> 0.5 over 2 s
    run = dict(num_inference_steps=4, generator=torch.Generator().manual_seed(0))
    rising = aadiff(image(), ramp, "a dog barking", **run).videos[0, :, 1:].float()
    silent = aadiff(image(), tone(2.0), "a dog barking", **run).videos[0, :, 1:].float()
    distance = (rising - silent).abs().mean(dim=(0, 2, 3))  # (11,)
    level = amplitude_envelope(ramp[None], SR, 12, 6.0)[0, 1:]
    assert torch.corrcoef(torch.stack([distance, level]))[0, 1] > 0.9
    assert (distance[1:] - distance[:-1]).min() > -0.5  # no frame moves back towards the image


def softmax_probs(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0)).softmax(-1)


def test_p2p_control_injects_reweights_and_blends():
    """Prompt-to-Prompt's edit, on made-up attention: the frames take the base's cross-attention with the
    token's column scaled for the first cross steps, then their own; the base's self-attention in small
    layers for the first self steps; local blending keeps each frame to its token's region."""
    from asva.baselines.p2p import P2PControl

    tokens = torch.tensor([False, True, False, False, False])
    control = P2PControl(torch.tensor([1.0, 2.0]), tokens, cross_steps=1, self_steps=1, latent_hw=(16, 16),
                         blend_threshold=0.5)
    probs = softmax_probs(3, 2, 4, 5)  # (1 base + 2 frames, heads, 2 x 2 queries, tokens)
    edited = control.cross(probs)
    torch.testing.assert_close(edited[1], probs[0])  # weight 1: the base's map
    torch.testing.assert_close(edited[2, ..., 1], 2 * probs[0, ..., 1])  # no renormalisation
    torch.testing.assert_close(edited[2, ..., [0, 2, 3, 4]], probs[0, ..., [0, 2, 3, 4]])
    small, large = softmax_probs(3, 2, 16, 16), softmax_probs(3, 2, 64, 64)
    assert torch.equal(control.self_attention(small)[2], small[0])  # 16 <= (16 / 4) ** 2 queries
    assert torch.equal(control.self_attention(large), large)
    z = torch.randn(3, 4, 16, 16, generator=torch.Generator().manual_seed(1))
    hot = torch.zeros(3, 16)
    hot[2, 0] = 1  # frame 2 attends to its token in the 4 x 4 map's top-left cell only
    control.maps = {16: hot, 64: torch.ones(3, 64)}  # 4 x 4 is the resolution nearest 16 / 4
    out = control.after_step(z)
    assert control.step == 1 and torch.equal(out[0], z[0])
    assert torch.equal(out[1], z[0])  # a frame with no region (nor has the base) is the base
    region = torch.zeros(16, 16, dtype=torch.bool)
    region[:8, :8] = True  # the cell max-pooled 3 x 3 (2 x 2 cells), resized to 16 x 16
    torch.testing.assert_close(out[2][:, region], z[2][:, region])
    torch.testing.assert_close(out[2][:, ~region], z[0][:, ~region])
    assert torch.equal(control.cross(probs), probs) and torch.equal(control.self_attention(small), small)


def test_aadiff_local_blending_limits_the_change_to_a_region(sd_dir):
    """Through the tiny SD (128 px: 16 x 16 latents): a weight-1 frame is the base sample for every
    control; a louder frame changes every latent position without local blending, and only the
    positions where the tokens' attention is highest with a high blending threshold."""
    from asva.baselines.config import AADiffConfig

    changed = {}
    configs = {"none": AADiffConfig(blend_threshold=None), "0.99": AADiffConfig(blend_threshold=0.99),
               "reweight": AADiffConfig(control="reweight")}
    for name, config in configs.items():
        pipe, _ = load_method("aadiff", sd_dir, quiet=True, aadiff=config)
        z0 = pipe.encode_image(image(128)[None].float() / 127.5 - 1)
        text, tokens = pipe.encode_prompt(["a dog barking"])
        pipe.scheduler.set_timesteps(4)
        steps = pipe.scheduler.timesteps[1:]
        with pipe.frame_control() as processors, pipe.progress_bar(total=len(steps)) as bar:
            start = pipe.start_latents(z0, text, steps, None)
            out = pipe.denoise(start[0], text[0], torch.tensor([1.0, 1.0, 3.0]), tokens[0], steps,
                               processors, 1.0, bar)
        assert torch.equal(out[0], out[1])
        changed[name] = ((out[2] - out[0]).abs().amax(0) > 1e-6).float().mean().item()
    assert changed["none"] == 1 and changed["reweight"] == 1
    assert 0 < changed["0.99"] < 0.5
