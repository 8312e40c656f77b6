"""The methods from the commands: `asva compare` grids, `asva animate --method/--t2i/--audio-gain`,
`asva generate-eval --method`."""
from __future__ import annotations

import json
import wave

import av
import numpy as np
import pytest
import torch
from PIL import Image

from asva import cli
from asva.media import probe

SR = 16000
pytestmark = pytest.mark.usefixtures("one_thread")


def write_wav(path, seconds, pulse_every=0.5):
    t = np.arange(round(seconds * SR)) / SR
    data = 0.4 * np.sin(2 * np.pi * 440 * t) * ((t % pulse_every) < 0.1)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SR)
        handle.writeframes((data * 32767).astype("<i2").tobytes())
    return path


def audio_seconds(path):
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return float(stream.duration * stream.time_base)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from asva.baselines.testing import save_random_sd15
    from asva.pipelines.testing import random_pipeline

    root = tmp_path_factory.mktemp("compare")
    random_pipeline("tiny", prompts=("drum", "dog barking")).save_pretrained(root / "avsyncd")
    save_random_sd15(root / "sd15")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(root / "image.png")
    write_wav(root / "two.wav", 2.0)
    write_wav(root / "short.wav", 1.5, pulse_every=0.3)
    return root


def test_compare_writes_a_labelled_grid_with_the_first_sound(files, tmp_path, capsys):
    out = tmp_path / "grid.mp4"
    args = ["compare", "--image", str(files / "image.png"), "--audio", str(files / "two.wav"),
            "--audio-list", str(files / "short.wav"), "--methods", "static,avsyncd,aadiff", "--eta", "1,3",
            "--prompt", "drum", "--model", f"avsyncd={files / 'avsyncd'}",
            "--model", f"aadiff={files / 'sd15'}",
            "--size", "32", "--tile", "48", "--steps", "1", "--sheet-frames", "4", "--device", "cpu",
            "-o", str(out), "--quiet"]
    assert cli.main(args) == 0
    info = probe(out)
    # 2 rows (two.wav, short.wav) x 4 columns (Static, AVSyncD eta 1 and 3, AADiff) of 48-px tiles
    assert (info.height, info.width) == (2 * 48, 4 * 48)
    assert info.num_frames == 12 and abs(audio_seconds(out) - 2.0) < 0.05  # two.wav drives the clip
    sheet = np.asarray(Image.open(out.with_suffix(".png")))
    assert sheet.shape[0] == 8 * 48 and sheet.shape[1] >= 4 * 48  # a row per tile, 4 frames each
    # labels are drawn into the frames: each tile's top strip is black with white text
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    for col in range(4):
        strip = frame[1:12, col * 48 + 1:col * 48 + 47].astype(int)
        assert (strip < 60).mean() > 0.5 and (strip > 180).any()
    assert cli.main([*args[:-3], "--methods", "static,bogus", "-o", str(out)]) == 2
    assert "unknown methods ['bogus']" in capsys.readouterr().err


def test_animate_runs_every_method_and_the_applications(files, tmp_path, capsys):
    base = ["animate", "--audio", str(files / "two.wav"), "--device", "cpu", "--steps", "1", "--quiet"]
    image = ["--image", str(files / "image.png")]
    assert cli.main([*base, *image, "--method", "static", "--size", "32", "-o", str(tmp_path / "s.mp4")]) == 0
    assert probe(tmp_path / "s.mp4").num_frames == 12
    assert cli.main([*base, *image, "--method", "aadiff", "--model", str(files / "sd15"), "--size", "32",
                     "--prompt", "a drum", "--aadiff-start", "sdedit", "--aadiff-blend", "none",
                     "-o", str(tmp_path / "a.mp4")]) == 0
    assert probe(tmp_path / "a.mp4").num_frames == 12
    assert cli.main([*base, *image, "--method", "aadiff", "--model", str(files / "sd15"), "--size", "32",
                     "--prompt", "a drum", "--aadiff-control", "reweight",
                     "-o", str(tmp_path / "r.mp4")]) == 0
    assert probe(tmp_path / "r.mp4").num_frames == 12
    # no --image: the SD1.5 folder makes it from the prompt; it is saved beside the video
    out = tmp_path / "gen.mp4"
    assert cli.main([*base, "--t2i", str(files / "sd15"), "--prompt", "drum",
                     "--model", str(files / "avsyncd"),
                     "--size", "32", "--audio-gain", "6", "-o", str(out)]) == 0
    assert probe(out).num_frames == 12 and Image.open(out.with_suffix(".png")).size == (32, 32)
    capsys.readouterr()
    # --method i2vd: the bundled I2VD baseline by default; a model with audio layers is refused
    assert cli.main([*base, *image, "--method", "i2vd", "-o", str(tmp_path / "i.mp4")]) == 0
    assert probe(tmp_path / "i.mp4").num_frames == 12
    capsys.readouterr()
    assert cli.main([*base, *image, "--method", "i2vd", "--model", str(files / "avsyncd"),
                     "-o", str(tmp_path / "j.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "model.audio=false" in err
    assert cli.main([*base, *image, "--method", "aadiff", "-o", str(tmp_path / "x.mp4")]) == 2
    assert "needs --model SD15_DIR" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: not a number nor none
        cli.main([*base, *image, "--method", "aadiff", "--aadiff-blend", "high",
                  "-o", str(tmp_path / "x.mp4")])
    assert "expected a number in [0, 1) or none" in capsys.readouterr().err
    assert cli.main([*base, *image, "--method", "aadiff", "--model", str(files / "sd15"),
                     "--aadiff-blend", "1.5", "-o", str(tmp_path / "x.mp4")]) == 2
    assert "blend_threshold must be in [0, 1)" in capsys.readouterr().err


def test_gain_scales_the_waveform():
    from asva.media.audio import apply_gain

    wave_in = torch.ones(2, 10)
    torch.testing.assert_close(apply_gain(wave_in, 20 * np.log10(4)), 4 * wave_in)
    with pytest.raises(ValueError, match="finite"):
        apply_gain(wave_in, float("inf"))


def test_generate_eval_with_a_baseline(tiny_synth, files, tmp_path):
    out = tmp_path / "static"
    args = ["generate-eval", "--dataset", str(tiny_synth), "--method", "static", "-o", str(out),
            "--size", "32", "--clips-per-video", "1", "--device", "cpu", "--no-progress"]
    assert cli.main(args) == 0
    clips = sorted(out.rglob("*.mp4"))
    assert len(clips) == 2 and all(probe(c).num_frames == 12 for c in clips)
    assert json.loads((out / "generate_eval.json").read_text())["method"] == "static"
    assert cli.main([*args[:4], "avsyncd", *args[5:]]) == 2  # the folder holds Static clips
    out = tmp_path / "aadiff"  # AADiff on an SD1.5 folder, the class prompt as its text
    assert cli.main([*args[:4], "aadiff", "--model", str(files / "sd15"), "--steps", "1", "-o", str(out),
                     *args[7:]]) == 0
    manifest = json.loads((out / "generate_eval.json").read_text())
    assert manifest["method"] == "aadiff" and manifest["aadiff_start"] == "inversion"
    assert manifest["aadiff_control"] == "p2p" and manifest["aadiff_blend"] == 0.3
    assert [probe(c).num_frames for c in sorted(out.rglob("*.mp4"))] == [12, 12]


def test_plans_and_grid_layout():
    from pathlib import Path

    from asva.baselines.compare import plan_columns, plan_rows
    from asva.media.grid import contact_sheet, grid_video

    cols = plan_columns(["static", "avsyncd", "i2vd"], [1, 4, 8])
    assert [c.label for c in cols] == ["Static", "AVSyncD, eta=1", "AVSyncD, eta=4", "AVSyncD, eta=8", "I2VD"]
    assert [c.eta for c in cols] == [1.0, 1.0, 4.0, 8.0, 1.0]
    rows = plan_rows([Path("a.wav")], [1, 2, 4])  # Fig. 5a: one row per gain
    assert [r.label for r in rows] == ["gain x1", "gain x2", "gain x4"] and rows[2].gain == 4
    assert [r.label for r in plan_rows([Path("a.wav"), Path("b.wav")], [1])] == ["a", "b"]
    with pytest.raises(ValueError, match="amplitude factors"):
        plan_rows([Path("a.wav")], [0])
    short, long = torch.zeros(3, 5, 16, 16, dtype=torch.uint8), torch.ones(3, 7, 16, 16, dtype=torch.uint8)
    grid = grid_video([[short, long], [long, short]])
    assert grid.shape == (3, 7, 32, 32) and grid[:, 6, :16, :16].eq(0).all()  # the short clip holds
    sheet = contact_sheet([("x", long), ("y", short)], num_frames=4)
    assert sheet.shape[0] == 3 and sheet.shape[1] == 32 and (sheet.shape[2] - 4 * 16) >= 16
