"""The README's main job: the bundled model animates the bundled example in a fresh interpreter."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import asva
from asva.media import probe, read_image, read_video

ASSETS = Path(asva.__file__).parent / "assets"


def test_bundled_model_animates_the_bundled_example_from_a_fresh_process(tmp_path):
    # a fresh process: the model folder's classes must be importable from its model_index.json alone
    out = tmp_path / "drum.mp4"
    cmd = [sys.executable, "-m", "asva.cli", "animate", "--image", str(ASSETS / "examples" / "drum.png"),
           "--audio", str(ASSETS / "examples" / "drum.wav"), "--class", "drum", "--steps", "8",
           "-o", str(out), "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    info = probe(out)
    assert info.has_audio and info.fps == 6.0 and info.num_frames == 24  # the 4-s example at 6 fps
    first = read_video(out, fps=6.0, size=None)[:, 0].float()
    image = read_image(ASSETS / "examples" / "drum.png").float()
    assert first.shape == image.shape
    assert (first - image).abs().mean() < 12  # the clean first frame, through the autoencoder and H.264


def test_bad_option_for_the_main_job_exits_2(tmp_path):
    cmd = [sys.executable, "-m", "asva.cli", "animate", "--image", str(ASSETS / "examples" / "drum.png"),
           "--audio", str(ASSETS / "examples" / "drum.wav"), "--threads", "0", "-o", str(tmp_path / "x.mp4")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "--threads" in done.stderr
    assert not list(tmp_path.iterdir())


def test_info_lists_the_bundled_model_and_how_it_was_trained(capsys):
    from asva.commands import info

    assert info.main([]) == 0
    out = capsys.readouterr().out
    assert "bundled model asva-synth-tiny" in out
    assert "&& asva train --config synth-tiny-96 --data data/synth96" in out and "steps of batch" in out
    assert "bundled model asva-synth-tiny-i2vd" in out and "model.audio=false" in out  # the I2VD baseline
    assert info.main(["--model", "asva-synth-tiny"]) == 0
    out = capsys.readouterr().out
    assert "unet:" in out and "training:" in out and "audio_encoder" in out
    # what the model was trained on and how: its classes, every weight trained (no Stable Diffusion)
    assert "classes (--class, or --prompt without a text encoder): bell ringing, bouncing ball" in out
    assert "(all: model.trainable=all, from scratch)" in out and "Stable Diffusion" not in out
