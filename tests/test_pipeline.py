"""AVSyncDPipeline mechanics on a tiny random model: first frame, guidance, windows, save/load."""
from __future__ import annotations

import pytest
import torch

from asva.pipelines.avsyncd import AVSyncDPipeline
from asva.pipelines.guidance import Conditions, GuidedDenoiser
from asva.pipelines.long_audio import frame_count, plan_windows, resample_indices
from asva.pipelines.prompts import PromptTable
from asva.pipelines.schedulers import make_scheduler, scheduler_names
from asva.pipelines.testing import random_pipeline

SR = 16000


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_pipeline(seed: int = 0, scheduler: str = "pndm", text: str = "table") -> AVSyncDPipeline:
    pipe = random_pipeline("tiny", scheduler=scheduler, text=text, seed=seed)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def inputs(seconds: float = 2.0, size: int = 32, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g)
    audio = torch.randn(round(seconds * SR), generator=g) * 0.1
    return image, audio


def run(pipe, image, audio, **kw):
    kw.setdefault("num_inference_steps", 3)
    return pipe(image, audio, "dog barking", generator=torch.Generator().manual_seed(0), **kw)


def test_first_frame_is_the_decoded_image_and_shapes():
    pipe = tiny_pipeline()
    image, audio = inputs()
    out = run(pipe, image, audio, output_type="float")
    assert out.videos.shape == (1, 3, 12, 32, 32) and out.fps == 6.0
    with torch.no_grad():
        expected = pipe.decode_latents(pipe.encode_image(image.float()[None] / 127.5 - 1)[:, :, None])
    torch.testing.assert_close(out.videos[:, :, 0], expected[:, :, 0])
    assert not torch.allclose(out.videos[:, :, 1], out.videos[:, :, 0])  # later frames were generated
    assert out.audio.shape == (1, 2 * SR)


def test_uint8_output_and_seed_reproducibility():
    pipe = tiny_pipeline()
    image, audio = inputs()
    a, b = run(pipe, image, audio), run(pipe, image, audio)
    assert a.videos.dtype == torch.uint8
    assert torch.equal(a.videos, b.videos)
    c = pipe(image, audio, "dog barking", num_inference_steps=3, generator=torch.Generator().manual_seed(1))
    assert not torch.equal(a.videos, c.videos)


def _count_calls(pipe):
    batches = []
    pipe.unet.register_forward_pre_hook(lambda mod, args, kwargs: batches.append(args[0].shape[0]),
                                        with_kwargs=True)
    return batches


def test_eta_one_skips_null_branch_and_equals_unguided():
    pipe = tiny_pipeline()
    image, audio = inputs()
    batches = _count_calls(pipe)
    guided = run(pipe, image, audio, audio_guidance_scale=1.0, output_type="latent")
    assert set(batches) == {1}
    # the unguided call: the plain conditional denoiser with no guidance wrapper at all
    plain = GuidedDenoiser.__call__
    try:
        GuidedDenoiser.__call__ = lambda self, x, t, c, guide=True: self.model(x, t, c.text, c.audio, c.mask)
        unguided = run(pipe, image, audio, output_type="latent")
    finally:
        GuidedDenoiser.__call__ = plain
    assert torch.equal(guided.videos, unguided.videos)


def test_batched_cfg_equals_sequential_cfg():
    pipe = tiny_pipeline()
    image, audio = inputs()
    batches = _count_calls(pipe)
    batched = run(pipe, image, audio, output_type="latent")
    assert set(batches) == {2}
    batches.clear()
    sequential = run(pipe, image, audio, output_type="latent", batched_guidance=False)
    assert set(batches) == {1}
    torch.testing.assert_close(batched.videos, sequential.videos, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(batched.videos, run(pipe, image, audio, output_type="latent",
                                                   audio_guidance_scale=1.0).videos)


def test_guidance_fraction_guides_only_the_first_steps():
    pipe = tiny_pipeline()
    image, audio = inputs()
    batches = _count_calls(pipe)
    half = run(pipe, image, audio, output_type="latent", num_inference_steps=5, guidance_fraction=0.5)
    assert batches == [2, 2, 2, 1, 1, 1]  # PNDM's 5 + 1 calls: guided pairs first, then single calls
    batches.clear()
    none = run(pipe, image, audio, output_type="latent", num_inference_steps=5, guidance_fraction=0.0)
    assert batches == [1] * 6
    unguided = run(pipe, image, audio, output_type="latent", num_inference_steps=5, audio_guidance_scale=1.0)
    assert torch.equal(none.videos, unguided.videos)
    full = run(pipe, image, audio, output_type="latent", num_inference_steps=5)
    assert not torch.equal(half.videos, full.videos) and not torch.equal(half.videos, none.videos)
    with pytest.raises(ValueError, match="guidance_fraction"):
        run(pipe, image, audio, guidance_fraction=1.5)


@pytest.mark.parametrize("audio_scale,text_scale", [(4.0, 1.0), (1.0, 3.0), (4.0, 3.0), (0.0, 1.0)])
def test_guidance_formula(audio_scale, text_scale):
    torch.manual_seed(0)
    weights = torch.randn(4)

    def model(x, t, text, audio, mask):
        return x * weights[0] + text.mean((1, 2, 3))[:, None, None, None, None] * weights[1] + \
            audio.mean((1, 2, 3))[:, None, None, None, None] * weights[2] + mask.float().mean() * weights[3]

    x = torch.randn(2, 4, 3, 2, 2)
    c = Conditions(text=torch.randn(2, 3, 5, 6), audio=torch.randn(2, 3, 7, 6),
                   null_audio=torch.randn(2, 3, 7, 6), mask=torch.rand(2, 3, 7) > 0.5,
                   null_text=torch.randn(2, 3, 5, 6))
    t = torch.tensor(10)
    e = {k: model(x, t, tx, au, c.mask) for k, (tx, au) in {
        "ta": (c.text, c.audio), "t": (c.text, c.null_audio), "n": (c.null_text, c.null_audio),
        "na": (c.null_text, c.audio)}.items()}
    a, s = audio_scale, text_scale
    if s == 1.0:
        want = e["t"] + a * (e["ta"] - e["t"])
    elif a == 1.0:
        want = e["na"] + s * (e["ta"] - e["na"])
    else:
        want = e["n"] + s * (e["t"] - e["n"]) + a * (e["ta"] - e["t"])
    for batched in (True, False):
        got = GuidedDenoiser(model, audio_scale=a, text_scale=s, batched=batched)(x, t, c)
        torch.testing.assert_close(got, want)


def test_text_guidance_with_table_null():
    pipe = tiny_pipeline()
    image, audio = inputs()
    out = run(pipe, image, audio, text_guidance_scale=2.0, output_type="latent")
    base = run(pipe, image, audio, output_type="latent")
    assert out.videos.shape == base.videos.shape and not torch.allclose(out.videos, base.videos)


def test_long_audio_is_windowed_and_chained():
    pipe = tiny_pipeline()
    image, audio = inputs(seconds=5.0)
    batches = _count_calls(pipe)
    out = run(pipe, image, audio, output_type="latent", audio_guidance_scale=1.0)
    assert out.videos.shape[2] == 30 and out.audio.shape[-1] == 5 * SR
    assert len(batches) == 3 * 4  # 3 windows x PNDM's 4 timesteps for 3 steps
    # window 2 starts from window 1's last generated frame: frames 0..11 equal a 2-s run's frames
    short = run(pipe, image, audio[: 2 * SR], output_type="latent", audio_guidance_scale=1.0)
    torch.testing.assert_close(out.videos[:, :, :12], short.videos)


def _record_first_frames(pipe) -> list[torch.Tensor]:
    """Frame 0 of every window the pipeline denoises, in order."""
    firsts, denoise = [], pipe.denoise_window

    def spy(first, *args, **kwargs):
        firsts.append(first.clone())
        return denoise(first, *args, **kwargs)

    pipe.denoise_window = spy
    return firsts


def test_window_anchor_image_restarts_every_window_from_the_image(tmp_path):
    pipe = tiny_pipeline()
    image, audio = inputs(seconds=4.0)
    firsts = _record_first_frames(pipe)
    chained = run(pipe, image, audio, output_type="latent", audio_guidance_scale=1.0)
    assert len(firsts) == 3 and not torch.equal(firsts[1], firsts[0])  # "previous", the default
    torch.testing.assert_close(firsts[1], chained.videos[:, :, 11].to(firsts[1]))
    firsts.clear()
    anchored = run(pipe, image, audio, output_type="latent", audio_guidance_scale=1.0, window_anchor="image")
    assert all(torch.equal(f, firsts[0]) for f in firsts[1:])
    torch.testing.assert_close(anchored.videos[:, :, :12], chained.videos[:, :, :12])  # window 1 alike
    assert not torch.allclose(anchored.videos[:, :, 12:], chained.videos[:, :, 12:])
    # the folder's default, kept by save/load, applies when the call does not say
    pipe.register_to_config(window_anchor="image")
    pipe.save_pretrained(tmp_path / "model")
    loaded = AVSyncDPipeline.from_pretrained(tmp_path / "model")
    loaded.set_progress_bar_config(disable=True)
    assert loaded.config.window_anchor == "image"
    again = run(loaded, image, audio, output_type="latent", audio_guidance_scale=1.0)
    torch.testing.assert_close(again.videos, anchored.videos)
    with pytest.raises(ValueError, match="window_anchor must be one of previous, image, got 'last'"):
        run(pipe, image, audio, window_anchor="last")


def test_output_fps_resamples_frames_and_trims_audio():
    pipe = tiny_pipeline()
    image, audio = inputs(seconds=2.5)
    six = run(pipe, image, audio)
    assert six.videos.shape[2] == 15 and six.audio.shape[-1] == 2.5 * SR
    twelve = run(pipe, image, audio, fps=12)
    assert twelve.videos.shape[2] == 30 and twelve.fps == 12.0
    assert torch.equal(twelve.videos[:, :, 0::2], six.videos)
    odd = run(pipe, image, audio[: 2 * SR + 123], fps=5)
    assert odd.videos.shape[2] == 10 and odd.audio.shape[-1] == 2 * SR


@pytest.mark.parametrize("kwargs,match", [
    ({"num_inference_steps": 0}, "num_inference_steps"),
    ({"audio_guidance_scale": -1.0}, "audio_scale"),
    ({"output_type": "png"}, "output_type"),
])
def test_bad_options_raise(kwargs, match):
    pipe = tiny_pipeline()
    image, audio = inputs()
    with pytest.raises(ValueError, match=match):
        run(pipe, image, audio, **kwargs)


def test_bad_inputs_raise():
    pipe = tiny_pipeline()
    image, audio = inputs()
    with pytest.raises(ValueError, match="multiples of 16"):
        run(pipe, image[:, :24, :24], audio)
    with pytest.raises(ValueError, match="at least 2 frames"):
        run(pipe, image, audio[: SR // 5])
    with pytest.raises(ValueError, match="shorter than one frame"):
        run(pipe, image, audio[: SR // 10])
    with pytest.raises(ValueError, match="unknown prompt"):
        pipe(image, audio, "cello", num_inference_steps=1)


def test_save_and_load_round_trip(tmp_path):
    pipe = tiny_pipeline()
    image, audio = inputs()
    before = run(pipe, image, audio, output_type="latent")
    pipe.save_pretrained(tmp_path / "model")
    assert list((tmp_path / "model" / "unet").glob("*.safetensors"))
    loaded = AVSyncDPipeline.from_pretrained(tmp_path / "model")
    loaded.set_progress_bar_config(disable=True)
    assert loaded.prompt_table.names == ["dog barking", "lions roaring"] and loaded.text_encoder is None
    after = run(loaded, image, audio, output_type="latent")
    torch.testing.assert_close(before.videos, after.videos)


def test_schedulers():
    assert scheduler_names() == ["ddim", "dpm", "pndm", "unipc"]
    assert make_scheduler("dpm").config.algorithm_type == "dpmsolver++"
    pndm = make_scheduler("pndm")
    assert pndm.config.beta_start == 0.00085 and pndm.config.beta_schedule == "scaled_linear"
    assert pndm.config.skip_prk_steps and pndm.config.num_train_timesteps == 1000
    saved = {"prediction_type": "v_prediction", "beta_end": 0.02, "timestep_spacing": "leading"}
    for name in scheduler_names():  # a model's training schedule carries over, the sampler's settings do not
        switched = make_scheduler(name, saved).config
        assert switched.prediction_type == "v_prediction" and switched.beta_end == 0.02
        assert switched.timestep_spacing == ("leading" if name == "pndm" else "trailing")
    with pytest.raises(ValueError, match="unknown scheduler 'euler'"):
        make_scheduler("euler")
    image, audio = inputs()
    for name in scheduler_names():
        pipe = tiny_pipeline(scheduler=name)
        assert run(pipe, image, audio, num_inference_steps=2).videos.shape == (1, 3, 12, 32, 32)


def test_window_plan():
    assert frame_count(5.0, 6) == 30 and frame_count(2.112, 6) == 12 and frame_count(0.1, 6) == 0
    assert plan_windows(12) == [0] and plan_windows(13) == [0, 11] and plan_windows(30) == [0, 11, 22]
    assert resample_indices(12, 6, 12, 24).tolist()[:6] == [0, 1, 1, 2, 2, 3]
    with pytest.raises(ValueError):
        frame_count(1.0, 0)


def test_prompt_table():
    encodings = {"a": torch.ones(1, 3, 2), "b": torch.zeros(3, 2)}
    table = PromptTable.from_encodings(encodings, null=torch.full((3, 2), 5.0))
    assert table.lookup(["b", "a"]).shape == (2, 3, 2) and table.lookup(["a"]).sum() == 6
    assert table.null(2).shape == (2, 3, 2)
    with pytest.raises(ValueError, match="knows: a, b"):
        table.lookup(["c"])


def test_clip_tokenizer_matches_openai_ids():
    from asva.pipelines.testing import clip_tokenizer

    tok = clip_tokenizer()
    assert tok("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert len(tok) == 49408 and tok.model_max_length == 77


def test_text_encoder_prompts_and_table_classes():
    pipe = tiny_pipeline(text="both")
    image, audio = inputs()
    by_text = run(pipe, image, audio, output_type="latent", text_guidance_scale=2.0)
    by_table = pipe(image, audio, "dog barking", use_prompt_table=True, num_inference_steps=3,
                    generator=torch.Generator().manual_seed(0), output_type="latent")
    assert not torch.allclose(by_text.videos, by_table.videos)
    free_text = pipe(image, audio, "a cello on a wooden table", num_inference_steps=3, output_type="latent",
                     generator=torch.Generator().manual_seed(0))  # any text works with a text encoder
    assert free_text.videos.shape == by_text.videos.shape


def test_load_model_reads_both_asva_convert_layouts(tmp_path, capsys):
    """What `asva convert` writes (components one by one + model_index.json) and what it wrote before
    (asva_model.json, imagebind/): both load into the same pipeline; the old one with a one-line note."""
    import json

    from asva.models.convert import save_unet
    from asva.models.imagebind.convert import save_imagebind
    from asva.pipelines.loading import load_model, write_model_index

    pipe = tiny_pipeline(text="clip")
    image, audio = inputs()
    expected = run(pipe, image, audio, output_type="latent").videos
    for layout, audio_dir in (("new", "audio_encoder"), ("old", "imagebind")):
        folder = tmp_path / layout
        save_unet(pipe.unet.model, folder / "unet")
        save_imagebind(pipe.audio_encoder.model, folder / audio_dir)
        for name in ("vae", "text_encoder", "tokenizer", "scheduler"):
            getattr(pipe, name).save_pretrained(folder / name)
        if layout == "new":
            write_model_index(folder, ["unet", "audio_encoder", "vae", "text_encoder", "tokenizer",
                                       "scheduler"])
        else:
            names = ("unet", "vae", "text_encoder", "tokenizer", "scheduler", "imagebind")
            manifest = {"format": "asva-model", "components": {n: n for n in names}}
            (folder / "asva_model.json").write_text(json.dumps(manifest))
        loaded = load_model(folder).pipe
        loaded.scheduler = pipe.scheduler
        loaded.set_progress_bar_config(disable=True)
        torch.testing.assert_close(run(loaded, image, audio, output_type="latent").videos, expected)
        notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
        assert len(notes) == (layout == "old")
    with pytest.raises(ValueError, match="not a model folder"):
        load_model(tmp_path / "new" / "unet")


def test_image_only_unet_ignores_audio_guidance(tmp_path):
    """The I2VD baseline (audio_dim=None): the audio only sets the length; eta has nothing to guide."""
    from asva.models.config import load_preset
    from asva.pipelines.components import AVSyncDUNet

    base = tiny_pipeline()
    torch.manual_seed(0)
    unet = AVSyncDUNet(load_preset("tiny", audio_dim=None).to_dict())
    pipe = AVSyncDPipeline(vae=base.vae, unet=unet, audio_encoder=None, scheduler=base.scheduler,
                           prompt_table=base.prompt_table)
    pipe.set_progress_bar_config(disable=True)
    assert not pipe.hears_audio and base.hears_audio
    image, audio = inputs(seconds=2.5)
    batches = _count_calls(pipe)
    guided = run(pipe, image, audio, output_type="latent")
    assert set(batches) == {1} and guided.videos.shape[2] == 15
    torch.testing.assert_close(guided.videos, run(pipe, image, audio, output_type="latent",
                                                  audio_guidance_scale=1.0).videos)
    assert run(pipe, image, audio, text_guidance_scale=2.0).videos.shape[2] == 15
    pipe.save_pretrained(tmp_path / "i2vd")
    loaded = AVSyncDPipeline.from_pretrained(tmp_path / "i2vd")
    assert loaded.audio_encoder is None and not loaded.hears_audio


def test_patch_autoencoder_and_v_prediction_round_trip(tmp_path):
    """What `asva train` exports for CPU models: a PatchAutoencoder vae and a v-prediction schedule."""
    from asva.models.autoencoder import PatchAutoencoder
    from asva.models.config import load_preset
    from asva.pipelines.components import AVSyncDUNet

    base = tiny_pipeline()
    torch.manual_seed(0)
    pipe = AVSyncDPipeline(vae=PatchAutoencoder(factor=8, latent_channels=16),
                           unet=AVSyncDUNet(load_preset("tiny", in_channels=16, out_channels=16,
                                                        audio_dim=32).to_dict()),
                           audio_encoder=base.audio_encoder, prompt_table=base.prompt_table,
                           scheduler=make_scheduler("ddim", {"prediction_type": "v_prediction"}))
    pipe.set_progress_bar_config(disable=True)
    image, audio = inputs()
    before = run(pipe, image, audio)
    pipe.save_pretrained(tmp_path / "model")
    loaded = AVSyncDPipeline.from_pretrained(tmp_path / "model")
    loaded.set_progress_bar_config(disable=True)
    assert loaded.scheduler.config.prediction_type == "v_prediction"
    assert torch.equal(run(loaded, image, audio).videos, before.videos)


def test_prompt_table_takes_the_class_folder_name():
    """`--class bouncing_ball` (the folder name `asva synth --list-classes` prints) is the prompt
    "bouncing ball"; an unknown name lists the known ones."""
    table = PromptTable.from_encodings({"bouncing ball": torch.ones(4, 2), "drum": torch.zeros(4, 2)},
                                       torch.zeros(4, 2))
    torch.testing.assert_close(table.lookup(["bouncing_ball"]), table.lookup(["bouncing ball"]))
    with pytest.raises(ValueError, match="this model knows: bouncing ball, drum"):
        table.lookup(["bouncing-ball"])
