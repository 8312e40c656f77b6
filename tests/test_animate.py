"""`asva animate` end to end on a tiny random model saved with save_pretrained; the model registry."""
from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from asva import cli
from asva.media import probe, read_audio
from asva.media.video import read_all_frames
from asva.models import registry
from media_helpers import tone, write_pcm_wav

SR = 16000


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir):
    return tiny_model_dir(prompts=("dog barking", "lions roaring"))


def write_wav(path, seconds, rate=SR, channels=1):
    return write_pcm_wav(path, tone(seconds, rate, channels), rate)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(folder / "image.png")
    write_wav(folder / "two.wav", 2.0)
    write_wav(folder / "five.wav", 5.0, rate=44100, channels=2)
    (folder / "notes.wav").write_text("this is not audio\n")
    return folder


def audio_seconds(path):
    """The audio stream's duration from the mp4 header (decoding adds the AAC encoder's padding)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return float(stream.duration * stream.time_base)


def animate(model_dir, *args):
    return cli.main(["animate", "--model", str(model_dir), "--steps", "2", "--size", "32", "--quiet",
                     "--device", "cpu", *map(str, args)])


def test_animate_writes_mp4_gif_and_frames(model_dir, media, tmp_path):
    out, gif, frames = tmp_path / "out.mp4", tmp_path / "out.gif", tmp_path / "frames"
    code = animate(model_dir, "--image", media / "image.png", "--audio", media / "two.wav",
                   "--prompt", "dog barking", "-o", out, "--gif", gif, "--frames", frames)
    assert code == 0
    info = probe(out)
    assert info.has_video and info.has_audio and info.fps == 6.0
    assert (info.width, info.height) == (32, 32)
    assert read_all_frames(out)[0].shape[1] == 12
    assert audio_seconds(out) == 2.0 and abs(read_audio(out).shape[0] / SR - 2.0) < 0.1
    assert gif.is_file() and len(list(frames.glob("*.png"))) == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "out.gif", "out.mp4"]  # no temporaries


def test_sheet_is_the_frames_in_a_row(model_dir, media, tmp_path):
    """--sheet: every frame in one row by default, --sheet-frames N evenly spaced ones."""
    frames, sheet, four = tmp_path / "frames", tmp_path / "sheet.png", tmp_path / "four.png"
    for extra in ([], ["--sheet-frames", "4"]):
        code = animate(model_dir, "--image", media / "image.png", "--audio", media / "two.wav", "--prompt",
                       "dog barking", "--frames", frames, "--sheet", four if extra else sheet, *extra)
        assert code == 0
    pngs = [np.asarray(Image.open(p)) for p in sorted(frames.glob("*.png"))]  # (32, 32, 3) each
    assert len(pngs) == 12
    np.testing.assert_array_equal(np.asarray(Image.open(sheet)), np.concatenate(pngs, axis=1))  # (32, 384, 3)
    picks = [pngs[i] for i in (0, 4, 7, 11)]  # linspace(0, 11, 4) rounded
    np.testing.assert_array_equal(np.asarray(Image.open(four)), np.concatenate(picks, axis=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["four.png", "frames", "sheet.png"]


def test_sheet_of_a_long_video_holds_24_evenly_spaced_frames(tmp_path):
    import torch

    from asva.commands.animate import Job, write_outputs

    video = torch.arange(30, dtype=torch.uint8).view(1, 30, 1, 1).expand(3, 30, 8, 8).contiguous()
    job = Job(image=None, audio=tmp_path / "a.wav", prompt=None, out=None, sheet=tmp_path / "s.png")
    write_outputs(job, video, 6.0, torch.zeros(16000))
    row = np.asarray(Image.open(tmp_path / "s.png"))[0, ::8, 0]  # one value per frame
    assert row.tolist() == np.linspace(0, 29, 24).round().astype(int).tolist()


def test_batch_takes_no_sheet(model_dir, tmp_path, capsys):
    (tmp_path / "list.csv").write_text("image,audio,prompt,out\n")
    assert animate(model_dir, "--batch", tmp_path / "list.csv", "--sheet", tmp_path / "s.png") == 2
    assert "drop --sheet" in capsys.readouterr().err


def test_five_second_audio_gives_five_second_video_and_fps(model_dir, media, tmp_path):
    out = tmp_path / "long.mp4"
    assert animate(model_dir, "--image", media / "image.png", "--audio", media / "five.wav",
                   "--class", "lions roaring", "--fps", "8", "--eta", "1", "-o", out) == 0
    info = probe(out)
    assert info.fps == 8.0 and info.num_frames == 40
    assert audio_seconds(out) == 5.0


@pytest.mark.parametrize("extra,message", [
    (["--eta", "-1"], "--eta must be >= 0"),
    (["--steps", "0"], "--steps must be >= 1"),
    (["--fps", "0"], "--fps must be > 0"),
    (["--image", "missing.png"], "does not exist"),
    (["--audio", "notes.wav"], "notes.wav"),
    (["--class", "cello"], "unknown prompt/class 'cello'"),
    (["--size", "24"], "multiples of 16"),
    (["--device", "cuda:7"], "--device"),
    (["--sheet", "sheet.jpg"], "--sheet must name a .png file"),
    (["--sheet", "sheet.png", "--sheet-frames", "0"], "--sheet-frames needs --sheet and must be >= 1"),
    (["--sheet-frames", "4"], "--sheet-frames needs --sheet"),
    (["--method", "static", "--window-anchor", "image"],
     "--window-anchor applies to --method avsyncd or i2vd"),
])
def test_bad_options_and_inputs_exit_2_without_output(model_dir, media, tmp_path, capsys, extra, message):
    out = tmp_path / "out.mp4"
    args = {"--image": media / "image.png", "--audio": media / "two.wav"}
    for key in ("--image", "--audio"):
        if key in extra:
            args[key] = media / extra[extra.index(key) + 1]
            extra = [e for i, e in enumerate(extra) if i not in (extra.index(key), extra.index(key) + 1)]
    flat = [str(x) for kv in args.items() for x in kv]
    code = animate(model_dir, *flat, *extra, "-o", out, "--gif", tmp_path / "out.gif")
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and err.startswith("asva animate: error:")
    assert list(tmp_path.iterdir()) == []


def test_unknown_scheduler_is_an_argparse_error(model_dir, media, tmp_path):
    with pytest.raises(SystemExit) as exc:
        animate(model_dir, "--image", media / "image.png", "--audio", media / "two.wav",
                "--scheduler", "euler", "-o", tmp_path / "out.mp4")
    assert exc.value.code == 2 and list(tmp_path.iterdir()) == []


def test_batch_skips_a_bad_row_and_summarises(model_dir, media, tmp_path, capsys):
    (tmp_path / "list.csv").write_text(
        "image,audio,prompt,out\n"
        f"{media / 'image.png'},{media / 'two.wav'},dog barking,a.mp4\n"
        f"{media / 'image.png'},{media / 'notes.wav'},dog barking,b.mp4\n"
        f"{media / 'image.png'},{media / 'two.wav'},lions roaring,c.mp4\n")
    code = animate(model_dir, "--batch", tmp_path / "list.csv", "--eta", "1")
    err = capsys.readouterr().err
    assert code == 1
    assert "row 2" in err and "2 of 3 animated; failed rows: 2" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "c.mp4", "list.csv"]
    assert probe(tmp_path / "c.mp4").num_frames == 12


def test_batch_csv_needs_its_columns(model_dir, tmp_path, capsys):
    (tmp_path / "list.csv").write_text("picture,sound\nx,y\n")
    assert animate(model_dir, "--batch", tmp_path / "list.csv") == 2
    assert "image,audio,prompt,out" in capsys.readouterr().err


def test_registry_resolution(model_dir, tmp_path, monkeypatch):
    known = "known models: asva-synth-tiny, asva-synth-tiny-i2vd, avsyncd-avsync15"
    with pytest.raises(ValueError, match=known):
        registry.resolve_model("no-such-model")
    monkeypatch.setenv("ASVA_MODELS", str(tmp_path))
    with pytest.raises(ValueError, match="is not installed.*asva convert"):
        registry.resolve_model("avsyncd-avsync15")
    (tmp_path / "avsyncd-avsync15").symlink_to(model_dir, target_is_directory=True)
    assert registry.resolve_model("avsyncd-avsync15") == tmp_path / "avsyncd-avsync15"
    assert registry.resolve_model(str(model_dir)) == model_dir
    with pytest.raises(ValueError, match="not a model folder"):
        registry.resolve_model(str(tmp_path))
    with pytest.raises(ValueError, match="does not exist"):
        registry.resolve_model(str(tmp_path / "nothing"))


def test_default_model_is_the_bundled_one(monkeypatch, tmp_path):
    assert registry.DEFAULT_MODEL in registry.MODELS and registry.MODELS[registry.DEFAULT_MODEL].bundled
    folder = registry.candidate_folders(registry.MODELS[registry.DEFAULT_MODEL])[0]
    assert folder.parts[-3:] == ("assets", "models", "synth-tiny")
    if not registry.is_model_folder(folder):
        with pytest.raises(ValueError, match="'asva-synth-tiny' is not installed"):
            registry.resolve_model(registry.DEFAULT_MODEL)


def test_size_and_scheduler_default_to_the_model_folder(model_dir, media, tmp_path):
    """An `asva train` export carries training.json (its frame size) and its own default sampler."""
    import json
    import shutil

    from asva.pipelines.loading import load_model, model_settings

    folder = tmp_path / "trained"
    shutil.copytree(model_dir, folder)
    (folder / "training.json").write_text(json.dumps({"config": {"data": {"size": 48}}}))
    pipe, size, _ = load_model(str(folder))
    assert size == 48 and type(pipe.scheduler).__name__ == "PNDMScheduler"
    pipe, size, _ = load_model(str(folder), "cpu", "float32", scheduler="dpm", size=32)
    assert size == 32 and pipe.scheduler.config.algorithm_type == "dpmsolver++"
    # what generate-eval records before loading: the same defaults, read without the weights
    assert model_settings(str(folder))[1:] == ("pndm", 48)
    assert model_settings(str(folder), "ddim", 40)[1:] == ("ddim", 40)


def test_a_crop_is_reported_in_one_line(model_dir, media, tmp_path, capsys):
    out = tmp_path / "c.mp4"
    code = cli.main(["animate", "--model", str(model_dir), "--steps", "1", "--size", "32", "--device", "cpu",
                     "--image", str(media / "image.png"), "--audio", str(media / "two.wav"),
                     "--prompt", "dog barking", "-o", str(out)])
    assert code == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "centre-cropped" in line]
    assert lines == ["image.png: input is 40x48 (h x w) but the output is 32x32: centre-cropped to 40x40 "
                     "(4 columns on the left and 4 on the right cut) before resizing"]


def test_registry_names_sync_classifiers_and_run_folders(model_dir, tmp_path):
    """One registry: sync classifiers resolve by name; a training run folder points at its model/."""
    bundled = registry.candidate_folders(registry.MODELS["sync-synth-tiny"])[0]
    if registry.is_model_folder(bundled, "sync"):
        assert registry.resolve_sync_model("sync-synth-tiny") == bundled
    with pytest.raises(ValueError, match="sync-vggss.*is not installed.*vggss_sync_contrast"):
        registry.resolve_sync_model("sync-vggss")
    with pytest.raises(ValueError, match="known sync classifiers: sync-synth-tiny, sync-vggss"):
        registry.resolve_sync_model("no-such-classifier")
    assert "sync-synth-tiny" not in registry.list_models() and "asva-synth-tiny" in registry.list_models()
    import shutil

    shutil.copytree(model_dir, tmp_path / "run" / "model")
    with pytest.raises(ValueError, match="is a training run; its model is in .*run/model"):
        registry.resolve_model(str(tmp_path / "run"))
