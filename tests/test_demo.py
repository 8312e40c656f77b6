"""asva.demo without a server: limits, input checks, examples, the engine, the command's options."""
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
    assert load_image(tmp_path / "ok.png", 64, Limits(), roots).shape == (3, 64, 64)
    with pytest.raises(ValueError, match=r"ok.png: image is 300x200 = 60000 pixels, over the 50000-pixel"):
        load_image(tmp_path / "ok.png", 64, Limits(max_image_pixels=50_000), roots)
    with pytest.raises(ValueError, match="over the 0.01 MB upload limit"):
        load_image(tmp_path / "ok.png", 64, Limits(max_upload_mb=0.01), roots)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500))
    with pytest.raises(ValueError, match="bad.png: not a readable image") as err:
        load_image(tmp_path / "bad.png", 64, Limits(), roots)
    assert str(tmp_path) not in str(err.value)  # the page never sees server paths
    with pytest.raises(ValueError, match="no image"):
        load_image(None, 64, Limits(), roots)


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
    assert Image.open(bell.image).size == (64, 64)
    assert load_audio(bell.audio, Limits(), [tmp_path]).shape == (1, 64000)
    assert np.asarray(Image.open(bell.image)).std() > 5  # a picture, not a blank


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from asva.demo.engine import load_pipeline

    pipe, size = load_pipeline("asva-synth-tiny", "cpu", "float32")
    out = tmp_path_factory.mktemp("outputs")
    return Engine(pipe, size, "asva-synth-tiny", Limits(), out, [bundled_dir()], keep_seconds=60)


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
