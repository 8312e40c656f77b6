"""The bundled model's training levers: EMA of the weights, min-SNR weighting, zero-terminal-SNR."""
from __future__ import annotations

import json

import pytest
import torch
from diffusers import DDPMScheduler

from asva.pipelines.schedulers import make_scheduler
from asva.training.avsyncd.config import load_config
from asva.training.avsyncd.ema import WeightEMA
from asva.training.avsyncd.model import DiffusionLoss, noise_scheduler


def test_ema_tracks_the_weights_and_swaps_them_in_and_back():
    net = torch.nn.Linear(3, 2)
    ema = WeightEMA(net, decay=0.5)
    start = {n: p.detach().clone() for n, p in net.named_parameters()}
    with torch.no_grad():
        for param in net.parameters():
            param.add_(1.0)
    ema.update(net, step=100)  # decay min(0.5, 101/110) = 0.5: halfway to the new weights
    for name in start:
        torch.testing.assert_close(ema.shadow[name], start[name] + 0.5)
    with ema.applied(net):
        torch.testing.assert_close(net.weight, start["weight"] + 0.5)
    torch.testing.assert_close(net.weight, start["weight"] + 1.0)  # the trained weights come back
    assert ema.decay_at(0) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="ema_decay"):
        WeightEMA(net, decay=1.0)
    with pytest.raises(ValueError, match="ema_decay"):
        load_config("synth-tiny", ["train.ema_decay=1.5"])


class _Echo(torch.nn.Module):
    """A stand-in UNet predicting zeros, so the loss is the weighted mean square of the target."""

    config = type("C", (), {"audio_dim": None})()

    def forward(self, sample, t, text, audio, mask):
        return torch.zeros_like(sample)


def test_min_snr_weights_clip_the_easy_timesteps():
    sched = DDPMScheduler(prediction_type="v_prediction")
    loss = DiffusionLoss(_Echo(), None, sched, min_snr_gamma=5.0)
    t = torch.tensor([0, 500, 999])
    a = sched.alphas_cumprod[t]
    snr = a / (1 - a)
    expected = torch.minimum(snr, torch.tensor(5.0)) / (snr + 1)
    torch.testing.assert_close(loss.snr_weight(t), expected.float())
    assert loss.snr_weight(t)[0] < 0.01 and loss.snr_weight(t)[2] == pytest.approx(snr[2] / (snr[2] + 1))
    latents, noise = torch.randn(3, 2, 4, 2, 2), torch.randn(3, 2, 4, 2, 2)
    plain = DiffusionLoss(_Echo(), None, sched)
    weighted, unweighted = (m(latents, None, None, None, noise, t) for m in (loss, plain))
    assert not torch.isclose(weighted, unweighted)


def test_zero_terminal_snr_reaches_pure_noise_and_needs_a_trailing_sampler():
    cfg = load_config("synth-tiny", ["diffusion.rescale_betas_zero_snr=true"]).diffusion
    assert noise_scheduler(cfg).alphas_cumprod[-1] == 0
    assert noise_scheduler(load_config("synth-tiny").diffusion).alphas_cumprod[-1] > 0
    dpm = make_scheduler("dpm", {"rescale_betas_zero_snr": True, "prediction_type": "v_prediction"})
    assert dpm.config.rescale_betas_zero_snr
    with pytest.raises(ValueError, match="zero-terminal-SNR"):
        make_scheduler("pndm", {"rescale_betas_zero_snr": True})


# docs/training.md, "The bundled model": the recipe the synth-tiny-96 preset holds
SYNTH96_RECIPE = ["data.size=96", "train.ema_decay=0.999", "diffusion.min_snr_gamma=5",
                  "model.autoencoder_channels=16", "checkpoint.every=100", "checkpoint.keep=3",
                  "validation.every=0", "train.max_steps=10000", "train.lr_schedule=warmup_stable_decay",
                  "train.decay_steps=500",
                  "export.window_anchor=image"]  # the exported folder's default for long audio


def test_synth_tiny_96_preset_is_synth_tiny_plus_the_next_bundled_recipe():
    from asva.training.avsyncd.config import PRESETS_DIR

    assert json.loads((PRESETS_DIR / "synth-tiny-96.json").read_text())["extends"] == "synth-tiny"
    preset, base = load_config("synth-tiny-96").to_dict(), load_config("synth-tiny").to_dict()
    recipe = load_config("synth-tiny", SYNTH96_RECIPE).to_dict()
    assert "96 px" in preset.pop("description") and recipe.pop("description") == base.pop("description")
    assert preset == recipe
    changed = {f"{section}.{key}" for section, values in preset.items() for key in values
               if values[key] != base[section][key]}
    assert changed == {item.split("=")[0] for item in SYNTH96_RECIPE} - {"checkpoint.every"}  # 100 already


def test_box_weight_leaves_the_loss_scale_and_moves_it_into_the_boxes():
    from asva.training.avsyncd.trainer import box_weight

    mask = torch.zeros(2, 16, 16)
    mask[0, :8, :8] = 1.0  # clip 0: one object in the top-left quarter; clip 1: no object
    weight = box_weight(mask, (4, 4), extra=3.0)
    assert weight.shape == (2, 1, 1, 4, 4)
    assert weight[0, 0, 0, :2, :2].eq(4.0).all() and weight[0, 0, 0, 2:].eq(1.0).all()
    assert weight[1].eq(1.0).all()
    sched = DDPMScheduler()
    plain = DiffusionLoss(_Echo(), None, sched)
    latents, t = torch.zeros(2, 2, 3, 4, 4), torch.tensor([10, 10])
    noise = torch.ones(2, 2, 3, 4, 4)
    noise[:, :, :, :2, :2] = 3.0  # a larger error inside the box
    unweighted = plain(latents, None, None, None, noise, t)
    # uniform weights change nothing (they are scaled to mean 1 per clip) ...
    torch.testing.assert_close(plain(latents, None, None, None, noise, t, torch.full((2, 1, 1, 4, 4), 5.0)),
                               unweighted)
    # ... and box weights raise the share of the in-box error for clip 0 only: mean 1 -> 1.75 per clip
    boxed = plain(latents, None, None, None, noise, t, weight)
    inside, outside = 9.0, 1.0  # squared errors; clip 0 has 4 of 16 cells inside the box
    clip0 = (4 * 4.0 * inside + 12 * 1.0 * outside) / (16 * 1.75)
    clip1 = (4 * inside + 12 * outside) / 16
    assert float(boxed) == pytest.approx((clip0 + clip1) / 2)
    with pytest.raises(ValueError, match="box_loss_weight"):
        load_config("synth-tiny", ["train.box_loss_weight=-1"])


def test_object_mask_follows_the_sidecar_boxes_the_crop_and_the_flip(synth_dataset, tmp_path):
    from asva.training.avsyncd.data import object_boxes, object_mask, sidecar_path

    root = synth_dataset(two_object_fraction=1.0)
    entry = (root / "train.txt").read_text().split()[0]
    meta = json.loads(sidecar_path(root, entry).read_text())
    assert len(meta["objects"]) == 2 and meta["width"] == 32
    boxes = object_boxes(root, entry)
    mask = object_mask(*boxes, 32, flipped=False)
    assert mask.shape == (32, 32)
    expected = torch.zeros(32, 32)
    for x0, y0, x1, y1 in (o["box"] for o in meta["objects"]):
        expected[max(y0, 0):y1, max(x0, 0):x1] = 1.0
    torch.testing.assert_close(mask, expected)
    torch.testing.assert_close(object_mask(*boxes, 32, flipped=True), expected.flip(-1))
    half = object_mask(*boxes, 16, flipped=False)  # resized as the frames: area fractions
    torch.testing.assert_close(half, torch.nn.functional.avg_pool2d(expected[None], 2)[0])
    wide = object_mask(*boxes, (16, 32), flipped=False)  # the official aspect crop: rows 8..24
    torch.testing.assert_close(wide, expected[8:24])
    bare = tmp_path / "videos" / "drum"
    bare.mkdir(parents=True)
    with pytest.raises(ValueError, match="no sidecar"):
        object_boxes(tmp_path, "drum/x.mp4")
