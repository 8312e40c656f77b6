"""`asva synth`: dataset layout, list files, sidecars, determinism, options."""
import json

import numpy as np
import pytest
import torch

from asva import cli
from asva.data.validate import scan_split
from asva.media import probe, read_audio, read_video
from asva.synth.classes import CLASSES
from asva.synth.generate import SynthConfig, clip_file, generate, split_indices

CLASSES3 = ("drum", "trumpet", "bell")


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """The same seed twice: 2 clips per class with 2 worker processes, 1 clip per class serially."""
    root = tmp_path_factory.mktemp("synth")
    a = SynthConfig(root / "a", 2, seed=7, size=64, classes=CLASSES3, two_object_fraction=0.5, workers=2)
    b = SynthConfig(root / "b", 1, seed=7, size=64, classes=CLASSES3, two_object_fraction=0.5, workers=1)
    return (a.out, generate(a, progress=False)), (b.out, generate(b, progress=False))


def test_layout_and_lists(datasets):
    (out, summary), _ = datasets
    assert summary.num_clips == 6 and summary.num_train == 3 and summary.num_test == 3
    train = (out / "train.txt").read_text().splitlines()
    test = (out / "test.txt").read_text().splitlines()
    assert sorted(train + test) == sorted(clip_file(c, i) for c in CLASSES3 for i in range(2))
    assert {line.split("/")[0] for line in test} == set(CLASSES3)  # >= 1 test clip per class
    assert json.loads((out / "class_mapping.json").read_text()) == {
        "drum": "drum", "trumpet": "playing trumpet", "bell": "bell ringing"}
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]  # no leftovers of atomic writes
    for split in ("train", "test"):  # the dataset loader's own checks accept it
        _, entries, bad = scan_split(out, split, min_duration=2.0)
        assert bad == [] and len(entries) == 3
    for rel in train + test:
        info = probe(out / "videos" / rel)
        meta = json.loads((out / "videos" / rel).with_suffix(".json").read_text())
        assert info.has_video and info.has_audio and info.sample_rate == 16000
        assert (info.width, info.height, info.fps) == (64, 64, 24)
        assert info.num_frames == meta["num_frames"] and 3.0 <= meta["duration"] <= 6.0
        assert meta["file"] == rel and meta["class"] == rel.split("/")[0]
        sounding = [o for o in meta["objects"] if o["sounding"]]
        assert len(sounding) == 1 and sounding[0]["box"] == meta["sounding_box"]
        assert all(0 <= v <= 64 for o in meta["objects"] for v in o["box"])
        assert len({o["class"] for o in meta["objects"]}) == len(meta["objects"])
        times = np.array(meta["event_times"])
        assert len(times) >= 2 and np.all(np.diff(times) >= 0.3) and times[-1] < meta["duration"]
        assert len(meta["event_durations"]) == len(times)


def test_deterministic_and_independent_of_count_and_workers(datasets):
    (a, _), (b, _) = datasets
    for name in CLASSES3:
        pa, pb = a / "videos" / clip_file(name, 0), b / "videos" / clip_file(name, 0)
        assert pa.with_suffix(".json").read_text() == pb.with_suffix(".json").read_text()
        assert torch.equal(read_video(pa, fps=24, size=None), read_video(pb, fps=24, size=None))
        assert torch.equal(read_audio(pa), read_audio(pb))
    other = a / "videos" / clip_file("drum", 1)
    assert other.with_suffix(".json").read_text() != (a / "videos" / clip_file("drum", 0)).with_suffix(
        ".json").read_text()


def _onset_times(wave: np.ndarray, count: int, sr: int = 16000, hop: int = 80, win: int = 480):
    """Times of the `count` strongest rises of 30 ms log energy, at least 0.1 s apart."""
    frames = np.lib.stride_tricks.sliding_window_view(wave, win)[::hop]
    energy = np.log(np.mean(frames**2, axis=1) + 1e-8)
    rise = np.maximum(np.diff(energy, prepend=energy[0]), 0)
    picks = []
    for i in np.argsort(rise)[::-1]:
        if all(abs(int(i) - j) * hop > 0.1 * sr for j in picks):
            picks.append(int(i))
        if len(picks) == count:
            break
    return np.sort((np.array(picks) * hop + win) / sr)  # a rise is seen once it fills the window


def test_sidecar_events_match_the_written_audio(datasets):
    (out, _), _ = datasets
    for name in CLASSES3:
        path = out / "videos" / clip_file(name, 1)
        meta = json.loads(path.with_suffix(".json").read_text())
        found = _onset_times(read_audio(path).numpy(), len(meta["event_times"]))
        assert np.abs(found - np.array(meta["event_times"])).max() < 0.02, name


def test_split_is_deterministic_with_a_test_clip_per_class():
    assert split_indices(0, "dog", 1) == ([0], [])
    train, test = split_indices(0, "dog", 10)
    assert len(test) == 2 and sorted(train + test) == list(range(10))
    assert split_indices(0, "dog", 10) == (train, test)
    assert len(split_indices(0, "dog", 2)[1]) == 1


@pytest.mark.parametrize("options, message", [
    ({"videos_per_class": 0}, "videos per class"),
    ({"size": 31}, "size"),
    ({"size": 66 - 1}, "size"),
    ({"size": 16}, "size"),
    ({"classes": ("drum", "kazoo")}, "kazoo"),
    ({"two_object_fraction": 1.5}, "two-object"),
    ({"workers": 0}, "workers"),
    ({"backgrounds": "stars"}, "backgrounds"),
])
def test_bad_options_raise(tmp_path, options, message):
    kwargs = {"out": tmp_path, "videos_per_class": 1, **options}
    with pytest.raises(ValueError, match=message):
        SynthConfig(**kwargs)


def test_cli(tmp_path, capsys):
    out = tmp_path / "ds"
    assert cli.main(["synth", "--out", str(out), "--videos-per-class", "1", "--size", "32",
                     "--classes", "gun", "--no-progress", "--workers", "1"]) == 0
    assert "wrote 1 clips of 1 classes" in capsys.readouterr().out
    assert (out / "videos" / "gun" / "gun_0000.mp4").is_file()
    assert (out / "train.txt").read_text() == "gun/gun_0000.mp4\n"
    assert cli.main(["synth", "--out", str(out), "--videos-per-class", "0"]) == 2
    assert "asva synth: error: videos per class must be at least 1" in capsys.readouterr().err
    assert cli.main(["synth", "--list-classes"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split("\t")[0] in CLASSES


def test_photo_backgrounds_keep_the_scene_still_but_the_sounding_object():
    from asva.synth.scene import make_clip

    flat = make_clip("drum", 3, 5, size=64, two_object_fraction=1.0)
    photo = make_clip("drum", 3, 5, size=64, two_object_fraction=1.0, backgrounds="photos")
    again = make_clip("drum", 3, 5, size=64, two_object_fraction=1.0, backgrounds="photos")
    assert np.array_equal(photo.frames, again.frames) and photo.meta["background"] == "photos"
    assert photo.meta["event_times"] == flat.meta["event_times"]
    assert photo.meta["objects"] == flat.meta["objects"]
    assert np.abs(photo.frames[0].astype(float) - flat.frames[0]).mean() > 10  # another backdrop
    x0, y0, x1, y1 = photo.meta["sounding_box"]
    outside = np.ones(photo.frames.shape[1:3], bool)
    outside[y0:y1, x0:x1] = False
    assert (photo.frames[:, outside] == photo.frames[:1, outside]).all()
    assert (photo.frames[:, ~outside] != photo.frames[:1, ~outside]).any()
    with pytest.raises(ValueError, match="backgrounds"):
        make_clip("drum", 3, 5, size=64, backgrounds="stars")
