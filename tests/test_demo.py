"""asva.demo without a server: limits, input checks, examples, the method table, the engine (animate and
compare), the command's options."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

from asva import cli
from asva.demo.config import DemoConfig, Limits
from asva.demo.engine import Engine, Request
from asva.demo.examples import bundled_dir, render_example
from asva.demo.inputs import check_location, load_audio, load_image
from asva.demo.methods import available_models, load_methods

pytestmark = pytest.mark.usefixtures("one_thread")


def test_limits_and_config_refuse_nonsense():
    with pytest.raises(ValueError, match="max_upload_mb"):
        Limits(max_upload_mb=0)
    with pytest.raises(ValueError, match="concurrency"):
        DemoConfig(concurrency=0)
    assert DemoConfig().is_loopback and DemoConfig(host="::1").is_loopback
    assert not DemoConfig(host="0.0.0.0").is_loopback and not DemoConfig(host="example.org").is_loopback


def test_inputs_outside_the_upload_folders_are_not_read(tmp_path):
    inside = tmp_path / "uploads" / "a.png"
    inside.parent.mkdir()
    inside.touch()
    assert check_location(inside, [tmp_path / "uploads"]) == inside.resolve()
    for path in (tmp_path / "b.png", tmp_path / "uploads" / ".." / "b.png", "/etc/passwd"):
        with pytest.raises(ValueError, match="not an uploaded file"):
            check_location(path, [tmp_path / "uploads"])


def test_image_limits_pixels_size_and_corrupt_files(tmp_path):
    roots = [tmp_path]
    noise = np.random.default_rng(0).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "ok.png")  # ~180 KB
    pixels = load_image(tmp_path / "ok.png", Limits(), roots)
    assert pixels.dtype == torch.uint8 and (pixels.permute(1, 2, 0).numpy() == noise).all()  # as read
    with pytest.raises(ValueError, match=r"ok.png: image is 300x200 = 60000 pixels, over the 50000-pixel"):
        load_image(tmp_path / "ok.png", Limits(max_image_pixels=50_000), roots)
    with pytest.raises(ValueError, match="over the 0.01 MB upload limit"):
        load_image(tmp_path / "ok.png", Limits(max_upload_mb=0.01), roots)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500))
    with pytest.raises(ValueError, match="bad.png: not a readable image") as err:
        load_image(tmp_path / "bad.png", Limits(), roots)
    assert str(tmp_path) not in str(err.value)  # the page never sees server paths
    with pytest.raises(ValueError, match="no image"):
        load_image(None, Limits(), roots)


def test_audio_limits_duration_and_corrupt_files(tmp_path):
    roots = [bundled_dir(), tmp_path]
    audio = load_audio(bundled_dir() / "drum.wav", Limits(), roots)
    assert audio.shape == (1, 64000)
    with pytest.raises(ValueError, match="drum.wav: the sound lasts 4.0 s, over the 3-s limit"):
        load_audio(bundled_dir() / "drum.wav", Limits(max_audio_seconds=3), roots)
    (tmp_path / "noise.wav").write_bytes(b"RIFF" + bytes(300))
    with pytest.raises(ValueError, match="noise.wav"):
        load_audio(tmp_path / "noise.wav", Limits(), roots)


def test_examples_render_one_class_with_the_drums_recipe(tmp_path):
    drum = render_example("drum", tmp_path)  # shipped: copied as is
    assert drum.prompt == "drum" and drum.audio.read_bytes() == (bundled_dir() / "drum.wav").read_bytes()
    bell = render_example("bell", tmp_path)  # rendered
    assert bell.prompt == "bell ringing"
    assert Image.open(bell.image).size == (96, 96)  # the bundled model's benchmark recipe
    assert load_audio(bell.audio, Limits(), [tmp_path]).shape == (1, 64000)
    assert np.asarray(Image.open(bell.image)).std() > 5  # a picture, not a blank


def test_example_recipe_of_the_96_px_model_picks_a_flat_single_drum():
    """The recipe issue 11's model ships with (RECIPE's comment): drum_0010 of `asva synth --size 96
    --videos-per-class 60 --two-object-fraction 0.5 --backgrounds mixed`, one object, flat background."""
    from asva.demo.examples import RECIPE, example_clip

    synth96 = {**RECIPE, "size": 96, "videos_per_class": 60, "two_object_fraction": 0.5,
               "backgrounds": "mixed"}
    drum = example_clip("drum", synth96)
    assert drum.meta["index"] == 10 and drum.frames.shape[1:] == (96, 96, 3)
    assert len(drum.meta["objects"]) == 1 and drum.meta["background"] == "flat"
    assert example_clip("drum").meta["index"] == 10  # drum_0010 of data/synth96, the shipped example
    photos = {**RECIPE, "size": 32, "videos_per_class": 5, "backgrounds": "photos"}
    with pytest.raises(ValueError, match="no single-object clip on a flat background"):
        example_clip("drum", photos)


def test_method_table_offers_what_is_available(tmp_path, monkeypatch):
    monkeypatch.setenv("ASVA_MODELS", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # the bundled I2VD baseline; no AADiff without the user's SD1.5 folder
    assert available_models("m") == {"AVSyncD": "m", "Static": "m", "I2VD": "asva-synth-tiny-i2vd"}
    assert list(available_models("m", i2vd="i", aadiff="sd")) == ["AVSyncD", "Static", "I2VD", "AADiff"]
    (tmp_path / "asva-synth-tiny-i2vd").mkdir()
    (tmp_path / "asva-synth-tiny-i2vd" / "model_index.json").write_text("{}")  # the registry's, installed
    assert available_models("m")["I2VD"] == "asva-synth-tiny-i2vd"


@pytest.fixture(scope="module")
def methods():
    return load_methods(available_models("asva-synth-tiny"), "cpu", "float32")  # AVSyncD and Static


@pytest.fixture(scope="module")
def engine(methods, tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    models = {label: "asva-synth-tiny" for label in methods}
    return Engine(methods, models, Limits(), out, [bundled_dir()], keep_seconds=60)


def test_engine_animates_and_says_how_to_repeat_it(engine):
    from asva.media import probe

    request = Request(str(bundled_dir() / "drum.png"), str(bundled_dir() / "drum.wav"), "drum", steps=2,
                      sampler="ddim", seed=3)
    result = engine.generate(request)
    info = probe(result.video)
    assert info.has_audio and info.duration == pytest.approx(4.0) and result.gif.is_file()
    assert result.params["sampler"] == "ddim" and result.params["frames"] == 24
    assert result.command == ("asva animate --image drum.png --audio drum.wav --class drum -o out.mp4"
                              " --gif out.gif"
                              " --model asva-synth-tiny --eta 4 --steps 2 --seed 3 --fps 6 --scheduler ddim")
    assert engine.pipe.scheduler.__class__.__name__ != "DDIMScheduler"  # the shared pipeline is untouched


def test_static_gets_the_image_by_the_official_transform_and_says_what_was_cropped(engine, tmp_path):
    from asva.media import probe, read_video

    assert engine.methods["Static"][0] is not engine.pipe and engine.methods["Static"][1] == engine.size
    s, c = engine.size, engine.size // 4  # a wide image: c columns on each side outside the centre crop
    dark = np.zeros((s, s + 2 * c, 3), dtype=np.uint8)
    dark[:, c + s // 2 - 8:c + s // 2 + 8] = 200  # a bright bar in the centre crop's middle
    Image.fromarray(dark).save(tmp_path / "wide.png")
    local = Engine(engine.methods, engine.models, Limits(), tmp_path / "out", [tmp_path, bundled_dir()])
    result = local.generate(Request(str(tmp_path / "wide.png"), str(bundled_dir() / "drum.wav"), "drum",
                                    method="Static"))
    assert f"centre-cropped to {s}x{s} ({c} columns on the left and {c} on the right cut)" in result.note
    assert result.params["cropped"] == result.note and result.params["sampler"] is None
    frames = read_video(result.video, size=None)  # (3, f, h, w) uint8: black stays black (not grey)
    assert probe(result.video).num_frames == 24 and frames[:, :, :, :s // 4].float().mean() < 8
    assert frames[:, :, :, s // 2 - 6:s // 2 + 6].float().mean() > 170
    assert result.command == ("asva animate --image wide.png --audio drum.wav --prompt drum -o out.mp4"
                              " --gif out.gif --method static --model asva-synth-tiny --steps 25 --seed 0"
                              " --fps 6")


def test_compare_renders_the_grid_and_sheet_of_asva_compare(engine):
    from asva.media import probe

    drum = Request(str(bundled_dir() / "drum.png"), str(bundled_dir() / "drum.wav"), "drum", steps=1)
    result = engine.compare(drum, ["AVSyncD", "Static"], [1, 4], tile=32, sheet_frames=4)
    info = probe(result.video)  # 1 row (the sound) x 3 columns: Static, AVSyncD eta=1, AVSyncD eta=4
    assert (info.height, info.width, info.num_frames) == (32, 3 * 32, 24) and info.has_audio
    assert info.duration == pytest.approx(4.0) and result.note is None
    sheet = Image.open(result.sheet)
    assert sheet.height == 3 * 32 and sheet.width >= 4 * 32  # a row of 4 frames per column
    with pytest.raises(ValueError, match="pick the methods to compare among AVSyncD, Static"):
        engine.compare(drum, ["AADiff"], [4])
    with pytest.raises(ValueError, match="eta values must be >= 0"):
        engine.compare(drum, ["AVSyncD"], [-1])


def test_engine_refuses_bad_requests(engine):
    drum = (str(bundled_dir() / "drum.png"), str(bundled_dir() / "drum.wav"))
    for change, message in (({"prompt": "piano"}, "unknown class 'piano'"), ({"steps": 0}, "steps"),
                            ({"steps": 101}, "steps"), ({"method": "X"}, "unknown method"),
                            ({"eta": -1}, "eta"), ({"fps": 0}, "fps"), ({"seed": -1}, "seed"),
                            ({"seed": None}, "seed must be a number"), ({"steps": 2.5}, "steps")):
        with pytest.raises(ValueError, match=message):
            engine.generate(Request(*drum, **{"prompt": "drum", **change}))


def test_sweep_deletes_only_old_outputs(engine):
    old, new = engine.outputs / "old", engine.outputs / "new"
    old.mkdir()
    new.mkdir()
    assert engine.sweep(now=time.time() + 30) == []
    assert set(engine.sweep(now=time.time() + 120)) >= {old, new}
    assert not old.exists()


def test_command_refuses_share_and_warns_off_loopback(capsys, monkeypatch):
    assert cli.main(["demo", "--share"]) == 2
    assert "--share is not supported" in capsys.readouterr().err
    import asva.demo.app

    monkeypatch.setattr(asva.demo.app, "serve", lambda config: print("served", config.host, config.port))
    assert cli.main(["demo", "--host", "0.0.0.0", "--port", "7000"]) == 0
    captured = capsys.readouterr()
    assert "served 0.0.0.0 7000" in captured.out and "warning: listening on 0.0.0.0" in captured.err
    assert cli.main(["demo"]) == 0
    assert "warning" not in capsys.readouterr().err
    torch.set_num_threads(1)
