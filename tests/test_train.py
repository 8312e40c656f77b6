"""asva train: config presets and overrides, the batch plan, one-step training, export, I2VD, NaN stop."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from asva.commands import train as cli
from asva.training.avsyncd.config import TrainConfig, list_presets, load_config
from asva.training.avsyncd.data import BatchPlan
from asva.training.checkpoint import list_checkpoints, read_training_info
from asva.training.overrides import apply_overrides, parse_override

TINY = ["data.size=32", "model.prompt_length=8", "train.batch_size=2", "train.threads=1",
        "train.warmup_steps=0", "log.progress=false", "log.every=1", "validation.every=0",
        "log.tensorboard=false"]


@pytest.fixture(scope="session")
def synth_data(synth_dataset):
    return synth_dataset(videos_per_class=3, size=32, classes=("drum", "bell"), test_fraction=0.34)


def test_presets_and_overrides():
    assert {"avsync15-sd15", "synth-tiny"} <= set(list_presets())
    paper = load_config("avsync15-sd15")
    t = paper.train
    assert (t.lr, t.weight_decay, t.grad_clip, t.batch_size, t.null_audio_prob) == (1e-4, 1e-2, 1.0, 64, 0.2)
    assert t.lr_schedule == "constant" and t.mixed_precision == "fp16" and t.gradient_checkpointing
    assert (paper.data.num_frames, paper.data.fps, paper.data.size) == (12, 6.0, 256)
    assert paper.model.trainable == "adapter" and not paper.model.train_audio_encoder
    d = paper.diffusion
    assert (d.beta_start, d.beta_end, d.beta_schedule, d.prediction_type) == (
        0.00085, 0.012, "scaled_linear", "epsilon")
    cfg = load_config("synth-tiny", ["train.lr=3e-4", "model.audio=false", "data.root=some/dir"])
    assert cfg.train.lr == 3e-4 and cfg.model.audio is False and cfg.data.root == "some/dir"
    assert parse_override("train.betas=[0.9, 0.99]") == ("train.betas", "[0.9, 0.99]", [0.9, 0.99])
    assert apply_overrides(TrainConfig, ["train.betas=[0.9, 0.99]"]) == {"train": {"betas": (0.9, 0.99)}}
    for bad in (["train.nope=1"], ["nosection.lr=1"], ["train.lr"], ["train.mixed_precision=fp8"],
                ["description=x"]):
        with pytest.raises(ValueError):
            load_config("synth-tiny", bad)
    with pytest.raises(ValueError, match="neither a preset"):
        load_config("no-such-preset")
    with pytest.raises(ValueError, match="export.window_anchor must be one of previous, image, got 'last'"):
        load_config("synth-tiny", ["export.window_anchor=last"])  # at load, not at the export after training
    # values are checked against the field's type: one line naming the key and the type, exit code 2
    with pytest.raises(ValueError, match="train.lr expects float, got 'abc'"):
        load_config("synth-tiny", ["train.lr=abc"])
    with pytest.raises(ValueError, match="train.max_steps expects int, got '1.5'"):
        load_config("synth-tiny", ["train.max_steps=1.5"])
    from asva import cli

    assert cli.main(["train", "--config", "synth-tiny", "--data", "x", "--output", "y", "train.lr=abc"]) == 2


def test_cached_clips_equal_the_dataset_items(synth_data):
    from asva.data import AVSyncDataset, sampling
    from asva.training.avsyncd.data import CachedClips

    ds = AVSyncDataset(synth_data, "train", size=16, flip_prob=0.5, seed=4)
    cache = CachedClips(ds)
    for index in range(len(ds)):
        want = ds.load(index, sampling.item_generator(4, 0, index))
        got = cache.item(index, sampling.item_generator(4, 0, index))
        assert got["start"] == want["start"] and got["flipped"] == want["flipped"]
        assert torch.equal(got["video"], want["video"])  # same frames picked, same official transform


def test_batch_plan_splits_global_batches_across_ranks():
    whole = BatchPlan(20, 4, seed=3)
    ranks = [BatchPlan(20, 4, seed=3, rank=r, world=2) for r in range(2)]
    for step in range(12):  # crosses epoch boundaries (5 steps per epoch)
        assert ranks[0].indices(step) + ranks[1].indices(step) == whole.indices(step)
    epoch0 = sum((whole.indices(s) for s in range(5)), [])
    assert sorted(epoch0) == list(range(20))  # each item once per epoch
    assert whole.indices(0) != whole.indices(5)  # a new permutation each epoch
    with pytest.raises(ValueError, match="divisible"):
        BatchPlan(20, 3, seed=0, world=2)


def test_one_step_trains_and_exports_a_loadable_model(synth_data, tmp_path):
    out = tmp_path / "run"
    code = cli.main(["--config", "synth-tiny", "--data", str(synth_data), "--output", str(out),
                     "train.max_steps=1", "checkpoint.every=1", *TINY])
    assert code == 0
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("step,loss") and rows[1].startswith("1,")
    assert [p.name for p in list_checkpoints(out)] == ["step-0000001"]
    info = read_training_info(out / "model")
    assert info["steps"] == 1 and "asva train --config synth-tiny" in info["command"]
    from asva.training.checkpoint import describe_training

    # `asva info` quotes the loss `asva train` printed ("last loss"), then the logged mean
    assert f"last loss {info['last_loss']:.4f}" in describe_training(out / "model")[0]
    from asva.pipelines.loading import load_model

    pipe = load_model(out / "model").pipe
    assert type(pipe.vae).__name__ == "PatchAutoencoder" and pipe.unet.unet_config.audio_dim == 32
    assert sorted(pipe.prompt_table.names) == ["bell ringing", "drum"]
    # the exported UNet holds the trained weights of the checkpoint
    trained = load_file(str(list_checkpoints(out)[0] / "trainable.safetensors"))
    weight = trained["unet.input_conv.spatial.weight"]
    torch.testing.assert_close(pipe.unet.model.input_conv.spatial.weight, weight)


def test_fine_tuning_a_model_folder_on_new_classes(synth_data, synth_dataset, tmp_path):
    """model.init_from=FOLDER with classes the folder's prompt table lacks (no text encoder): the known
    prompts keep their encodings, the new ones get fixed random ones, and the run trains."""
    from asva.pipelines.loading import load_model
    base = tmp_path / "base"
    assert cli.main(["--config", "synth-tiny", "--data", str(synth_data), "--output", str(base),
                     "train.max_steps=1", *TINY]) == 0
    data = synth_dataset(classes=("drum", "frog"))
    out = tmp_path / "tuned"
    assert cli.main(["--config", "synth-tiny", "--data", str(data), "--output", str(out), "train.max_steps=1",
                     f"model.init_from={base / 'model'}", *TINY]) == 0
    tuned, before = load_model(out / "model").pipe, load_model(base / "model").pipe
    assert set(tuned.prompt_table.names) == {"bell ringing", "drum", "frog croaking"}
    torch.testing.assert_close(tuned.prompt_table.lookup(["drum"]), before.prompt_table.lookup(["drum"]))


def test_i2vd_baseline_trains_without_audio(synth_data, tmp_path):
    out = tmp_path / "i2vd"
    assert cli.main(["--config", "synth-tiny", "--data", str(synth_data), "--output", str(out),
                     "train.max_steps=1", "model.audio=false", *TINY]) == 0
    config = json.loads((out / "model" / "unet" / "config.json").read_text())
    assert config["audio_dim"] is None
    names = load_file(str(list_checkpoints(out)[-1] / "trainable.safetensors")).keys()
    assert names and not any("audio" in n for n in names)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(synth_data, tmp_path, monkeypatch, capsys):
    from asva.training.avsyncd import model as train_model

    calls = {"n": 0}
    forward = train_model.DiffusionLoss.forward

    def poisoned(self, *args):
        calls["n"] += 1
        loss = forward(self, *args)
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(train_model.DiffusionLoss, "forward", poisoned)
    out = tmp_path / "nan"
    code = cli.main(["--config", "synth-tiny", "--data", str(synth_data), "--output", str(out),
                     "train.max_steps=5", "checkpoint.every=2", *TINY])
    assert code == 1
    err = capsys.readouterr().err
    assert "non-finite loss nan at step 3" in err and "step-0000002" in err
    assert [p.name for p in list_checkpoints(out)] == ["step-0000002"]
    assert not (out / "model").exists()


def test_patch_autoencoder_lossless_fit_and_round_trip(tmp_path):
    from asva.models.autoencoder import PatchAutoencoder

    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 32, 32, generator=g) * 2 - 1
    full = PatchAutoencoder(factor=8)  # all 192 components: the identity code
    z = full.encode(x).latent_dist.sample()
    assert z.shape == (3, 192, 4, 4) and full.config.block_out_channels == [3, 12, 48, 192]
    torch.testing.assert_close(full.decode(z).sample, x)
    smooth = torch.nn.functional.interpolate(x, scale_factor=0.25).repeat_interleave(4, -1)
    smooth = smooth.repeat_interleave(4, -2)
    ae = PatchAutoencoder(factor=8, latent_channels=16)
    fit = ae.fit(smooth)  # 4x4-constant images: 12 numbers per 8x8 block, so 16 components are exact
    assert fit["psnr"] > 60 and fit["scaling_factor"] == ae.config.scaling_factor
    scaled = ae.encode(smooth).latent_dist.mode() * ae.config.scaling_factor  # what the pipeline does
    assert float(scaled.std()) == pytest.approx(1.0, rel=0.05)
    ae.save_pretrained(tmp_path / "vae")
    back = PatchAutoencoder.from_pretrained(tmp_path / "vae")
    torch.testing.assert_close(back(smooth), ae(smooth))
    assert back.config.scaling_factor == ae.config.scaling_factor
    with pytest.raises(ValueError, match="multiples of 8"):
        ae.encode(torch.zeros(1, 3, 30, 32))
    with pytest.raises(ValueError, match="latent_channels must be in 1..192"):
        PatchAutoencoder(factor=8, latent_channels=500)
    with pytest.raises(ValueError, match="power of two"):
        PatchAutoencoder(factor=6)


def test_synthetic_table_runs_static_i2vd_and_avsyncd(synth_data, tmp_path):
    from asva.commands.table1 import main
    from asva.evaluation.synthetic.table1 import format_table, merge

    runs = {}
    for name, extra in (("avsyncd", []), ("i2vd", ["model.audio=false"])):
        runs[name] = tmp_path / name
        assert cli.main(["--config", "synth-tiny", "--data", str(synth_data), "--output", str(runs[name]),
                         "train.max_steps=1", *TINY, *extra]) == 0
    shards = []
    for k in range(2):
        shards.append(tmp_path / f"shard{k}.json")
        assert main(["--dataset", str(synth_data), "--model", str(runs["avsyncd"] / "model"), "--baseline",
                     str(runs["i2vd"] / "model"), "--etas", "1", "4", "--steps", "1", "--size", "32",
                     "--shard", f"{k}/2", "--json", str(shards[-1]), "--no-progress"]) == 0
    results = merge(shards)
    assert [r.name for r in results] == ["Real clips (reference)", "Static", "I2VD", "AVSyncD (eta=1)",
                                         "AVSyncD (eta=4)"]
    clips = 3 * len((synth_data / "test.txt").read_text().split())
    assert all(len(r.scores["correlation"]) == clips for r in results)
    static = results[1].summary()
    assert static["hit_rate"][0] == 0 and static["correlation"][0] == 0  # a still video never moves
    assert "| I2VD |" in format_table(results)


def test_non_square_model_trains_and_animates(synth_data, tmp_path):
    """(h, w) sizes end to end: a 32 x 64 model trains one step, exports, and animates at its size."""
    import numpy as np
    from PIL import Image

    from asva.cli import main as asva_main
    from asva.media import probe, write_video

    wide = load_config("thegreatesthits-sd15")
    assert tuple(wide.data.size) == (128, 256) and wide.train.vae_latents == "sample"
    out = tmp_path / "wide"
    assert cli.main(["--config", "synth-tiny", "--data", str(synth_data), "--output", str(out),
                     "train.max_steps=1", *TINY, "data.size=[32, 64]"]) == 0
    assert json.loads((out / "model" / "training.json").read_text())["config"]["data"]["size"] == [32, 64]
    Image.fromarray(np.full((60, 90, 3), 100, np.uint8)).save(tmp_path / "i.png")
    silent = torch.zeros(3, 6, 16, 16, dtype=torch.uint8)
    write_video(tmp_path / "a.mp4", silent, 6.0, audio=torch.zeros(16000))
    args = ["animate", "--model", str(out / "model"), "--image", str(tmp_path / "i.png"), "--audio",
            str(tmp_path / "a.mp4"), "--class", "drum", "--steps", "1", "--device", "cpu", "--quiet"]
    assert asva_main([*args, "-o", str(tmp_path / "trained_size.mp4")]) == 0  # the model's own (h, w)
    assert asva_main([*args, "--size", "64x128", "-o", str(tmp_path / "given.mp4")]) == 0
    info, given = probe(tmp_path / "trained_size.mp4"), probe(tmp_path / "given.mp4")
    assert (info.height, info.width) == (32, 64) and (given.height, given.width) == (64, 128)


def test_box_loss_weight_trains_on_the_sidecar_boxes(synth_data, tmp_path):
    losses = {}
    for extra in ("0", "4"):
        out = tmp_path / f"box{extra}"
        assert cli.main(["--config", "synth-tiny", "--data", str(synth_data), "--output", str(out),
                         "train.max_steps=1", f"train.box_loss_weight={extra}", *TINY]) == 0
        losses[extra] = float((out / "metrics.csv").read_text().splitlines()[1].split(",")[1])
        assert json.loads((out / "config.json").read_text())["train"]["box_loss_weight"] == float(extra)
    assert losses["0"] != losses["4"]  # same batch and noise, the in-box error weighted up


def test_box_loss_weight_without_sidecars_is_refused_before_training(synth_data, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(synth_data, data)
    for sidecar in (data / "videos").rglob("*.json"):
        sidecar.unlink()
    from asva import cli as asva_cli

    out = tmp_path / "run"
    assert asva_cli.main(["train", "--config", "synth-tiny", "--data", str(data), "--output", str(out),
                          "train.max_steps=1", "train.box_loss_weight=4", *TINY]) == 2
    assert "has no sidecar" in capsys.readouterr().err
    assert not (out / "checkpoints").exists()


def test_warmup_stable_decay_resumes_a_constant_run_into_its_decay(synth_data, tmp_path):
    """A constant-rate run's checkpoint, resumed with lr_schedule=warmup_stable_decay and a larger
    max_steps, keeps the rate until the last decay_steps and then falls linearly to 0."""
    from asva.training.avsyncd.trainer import warmup_stable_decay

    factor = warmup_stable_decay(warmup_steps=2, decay_steps=4, max_steps=10)
    assert [factor(s) for s in range(11)] == [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    out = tmp_path / "wsd"
    common = ["--config", "synth-tiny", "--data", str(synth_data), "--output", str(out)]
    assert cli.main([*common, "train.max_steps=2", "checkpoint.every=2", *TINY]) == 0
    wsd = ["train.lr_schedule=warmup_stable_decay"]
    resumed = ["--resume", "latest", "train.max_steps=4", *wsd, "train.decay_steps=2"]
    assert cli.main([*common, *resumed, *TINY]) == 0
    rows = [line.split(",") for line in (out / "metrics.csv").read_text().splitlines()]
    lr = rows[0].index("lr")
    assert [float(r[lr]) for r in rows[1:]] == pytest.approx([1e-3, 1e-3, 5e-4, 0.0])  # rate after each step
    for bad, match in ((wsd, "decay_steps must be in"),
                       ([*wsd, "train.decay_steps=20", "train.max_steps=10"], "decay_steps must be in"),
                       (["train.decay_steps=5"], "used only by lr_schedule warmup_stable_decay"),
                       (["train.lr_schedule=linear"], "train.lr_schedule must be one of")):
        with pytest.raises(ValueError, match=match):
            load_config("synth-tiny", bad)


def test_resuming_on_other_clips_continues_the_run_on_them(synth_data, synth_dataset, tmp_path):
    """The two-object stage of the bundled recipe: a checkpoint resumed with another --data keeps its
    step and weights and draws the following batches from the new clips (docs/training.md)."""
    two = synth_dataset(videos_per_class=3, size=32, classes=("drum", "bell"), test_fraction=0.34,
                        two_object_fraction=1.0, seed=1)
    first = tmp_path / "first"
    assert cli.main(["--config", "synth-tiny", "--data", str(synth_data), "--output", str(first),
                     "train.max_steps=2", "checkpoint.every=2", *TINY]) == 0
    start = str(list_checkpoints(first)[-1])
    losses = {}
    # "two" continues in place, as the documented second stage does (--output RUN --resume latest)
    runs = (("same", synth_data, tmp_path / "same", start), ("two", two, first, "latest"))
    for name, data, out, resume in runs:
        assert cli.main(["--config", "synth-tiny", "--data", str(data), "--output", str(out),
                         "--resume", resume, "train.max_steps=3", *TINY]) == 0
        rows = [line.split(",") for line in (out / "metrics.csv").read_text().splitlines()]
        assert [r[0] for r in rows[1:]] == (["3"] if name == "same" else ["1", "2", "3"])
        losses[name] = float(rows[-1][1])
        info = read_training_info(out / "model")
        assert info["resumed_from_step"] == 2 and info["data"] == str(data)
    assert losses["same"] != losses["two"]  # the third batch came from the other clips
