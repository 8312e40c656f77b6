"""asva.evaluation.synthetic.applications: region motion, clip selection and pairing, the CLI end to end."""
from __future__ import annotations

import json
import math
import shutil

import pytest
import torch

from asva.commands.applications import main as applications_main
from asva.evaluation.synthetic import applications as app
from asva.evaluation.synthetic.table1 import Clip, generate, load_clips
from asva.metrics.oracle import motion_signal

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def apps_data(synth_dataset):
    """4 classes, one test video each at 32 px: bell, gun, trumpet alone; drum with a silent gun."""
    return synth_dataset(classes=("bell", "drum", "gun", "trumpet"), two_object_fraction=0.5)


@pytest.fixture(scope="module")
def apps_model(tiny_model_dir, apps_data):
    return tiny_model_dir(prompts=apps_data, size=32)  # its training.json says 32 px


def moving_in(box, size=32, frames=12, period=1):
    """uint8 (3, f, size, size): black, with `box` flipping between 0 and 255 every `period` frames."""
    video = torch.zeros(3, frames, size, size, dtype=torch.uint8)
    x0, y0, x1, y1 = box
    for k in range(frames):
        if (k // period) % 2:
            video[:, k, y0:y1, x0:x1] = 255
    return video


def test_region_motion_sees_motion_only_where_it_is():
    a, b = (0, 0, 10, 10), (20, 20, 30, 30)
    video = moving_in(a)
    ma, mb = app.two_region_masks(a, b, 32)
    assert app.motion_energy(app.region_motion(video, ma)) == pytest.approx(1.0)  # full flip each frame
    assert app.motion_energy(app.region_motion(video, mb)) == 0.0
    # the same signal as the oracle's on a plain box, and frame 0 carries no motion
    m = app.region_motion(video, app.box_mask(a, 32))
    assert m[0] == 0 and torch.allclose(m, motion_signal(video, a))
    # half of box B moving: half the energy
    half = moving_in((20, 20, 25, 30))
    assert app.motion_energy(app.region_motion(half, mb)) == pytest.approx(0.5)


def test_the_overlap_of_the_boxes_counts_for_neither():
    a, b = (0, 0, 20, 20), (10, 10, 30, 30)
    ma, mb = app.two_region_masks(a, b, 32)
    assert not (ma & mb).any() and int(ma.sum()) == 400 - 100
    video = moving_in((10, 10, 20, 20))  # motion only in the overlap
    assert app.motion_energy(app.region_motion(video, ma)) == 0.0
    assert app.motion_energy(app.region_motion(video, mb)) == 0.0
    with pytest.raises(ValueError, match="no pixels outside their overlap"):
        app.two_region_masks(a, a, 32)
    with pytest.raises(ValueError, match="mask shape"):
        app.region_motion(video, torch.ones(8, 8, dtype=torch.bool))


def test_active_fraction_separates_spikes_from_sustained_motion():
    still = torch.zeros(3, 12, 32, 32, dtype=torch.uint8)
    spike = still.clone()
    spike[:, 5, :4, :4] = 255  # on at frame 5 only: differences at 5 and 6
    sustained = moving_in((0, 0, 4, 4))
    mask = app.box_mask((0, 0, 4, 4), 32)
    assert app.active_fraction(app.region_motion(still, mask)) == 0.0
    assert app.active_fraction(app.region_motion(spike, mask)) == pytest.approx(2 / 11)
    assert app.active_fraction(app.region_motion(sustained, mask)) == 1.0


def fake_clip(video) -> Clip:
    meta = {"file": "drum/x.mp4", "class": "drum", "width": 32, "height": 32, "event_times": [0.5],
            "event_durations": [0.1], "sounding_box": [0, 0, 10, 10],
            "objects": [{"class": "drum", "box": [0, 0, 10, 10], "sounding": True},
                        {"class": "gun", "box": [20, 20, 30, 30], "sounding": False}]}
    return Clip(video[:, 0], torch.zeros(32000), "drum", meta, 0.0, 32, video)


def test_target_record_ratio_follows_the_moving_object():
    video = torch.zeros(3, 12, 32, 32, dtype=torch.uint8)
    video[:, 3:, 20:30, 20:30] = 255  # only the silent gun moves, once, at the event (0.5 s: frame 3)
    clip = fake_clip(video)
    own = app.target_record(video, clip, 0, clip, swapped=False)
    assert own["target_class"] == "drum" and own["target_motion"] == 0.0
    assert own["other_motion"] == pytest.approx(1 / 11)
    assert own["log_ratio"] == pytest.approx(math.log(app.EPS / (1 / 11 + app.EPS)))
    assert own["target_moves_more"] == 0
    swap = app.target_record(video, clip, 0, clip, swapped=True)
    assert swap["target_class"] == "gun" and swap["log_ratio"] > 0 and swap["target_moves_more"] == 1
    assert swap["correlation"] == own["other_correlation"] > 0.9  # the gun's box, against the same events
    assert own["correlation"] == 0  # the drum's box never moves


def test_selection_and_pairing_are_deterministic(apps_data):
    videos = app.group_videos(load_clips(apps_data, size=32))
    assert list(videos) == ["bell/bell_0000.mp4", "drum/drum_0001.mp4", "gun/gun_0001.mp4",
                            "trumpet/trumpet_0001.mp4"]
    pairs = app.two_object_clips(videos)
    assert [(c.meta["file"], k) for c, k in pairs] == [("drum/drum_0001.mp4", k) for k in range(3)]
    assert app.silent_object(pairs[0][0].meta)["class"] == "gun"
    for k in range(3):
        d = app.driver(videos, "gun", k)
        assert d.meta["file"] == "gun/gun_0001.mp4" and d is videos["gun/gun_0001.mp4"][k]
    assert [app.next_class(videos, c) for c in ("bell", "drum", "gun", "trumpet")] == [
        "drum", "gun", "trumpet", "bell"]
    singles = app.single_object_clips(videos, 2)
    assert [(c.meta["file"], k) for c, k in singles] == [
        (f, k) for f in ("bell/bell_0000.mp4", "trumpet/trumpet_0001.mp4") for k in range(3)]
    again = app.single_object_clips(app.group_videos(load_clips(apps_data, size=32)), 2)
    assert [(c.meta["file"], c.start) for c, _ in again] == [(c.meta["file"], c.start) for c, _ in singles]
    with pytest.raises(ValueError, match="no video of class 'dog'"):
        app.driver(videos, "dog", 0)


def test_cli_runs_end_to_end_and_writes_json(apps_data, apps_model, tmp_path, capsys, monkeypatch):
    calls = {}

    def spy(pipe, clips, **kw):
        calls[kw["desc"]] = clips
        return generate(pipe, clips, **kw)

    monkeypatch.setattr(app, "generate", spy)
    out = tmp_path / "apps.json"
    assert applications_main(["--dataset", str(apps_data), "--model", str(apps_model), "--steps", "1",
                              "--limit", "2", "--batch-size", "6", "--json", str(out),
                              "--no-progress"]) == 0  # no --size: the model folder's 32 px
    printed = capsys.readouterr().out
    assert "| AVSyncD, silent object's class audio | 3 |" in printed
    assert "| AVSyncD, next class's audio | 6 |" in printed and "| trumpet |" in printed
    data = json.loads(out.read_text())
    assert data["settings"]["limit"] == 2 and data["eps"] == app.EPS and data["settings"]["size"] == 32
    assert {tuple(c.image.shape) for clips in calls.values() for c in clips} == {(3, 32, 32)}
    real, own, swap = data["target"]
    assert [len(r["clips"]) for r in data["target"]] == [3, 3, 3]
    assert real["summary"]["log_ratio"][0] > 0  # in the real clips the sounding drum moves more
    assert real["summary"]["correlation"][0] > real["summary"]["other_correlation"][0]
    assert {c["target_class"] for c in swap["clips"]} == {"gun"}
    assert {c["driver"] for c in swap["clips"]} == {"gun/gun_0001.mp4"}
    real_b, own_b, cross_b = data["cross"]
    assert [len(r["clips"]) for r in data["cross"]] == [6, 6, 6]
    assert [c["driving_class"] for c in cross_b["clips"]] == ["drum"] * 3 + ["bell"] * 3
    # the real clips follow their own events, not the other class's
    assert real_b["summary"]["corr_driving"][0] > real_b["summary"]["corr_other"][0]
    # what drove the generations: the swap takes the gun's audio and prompt, the cross run only the audio
    videos = app.group_videos(load_clips(apps_data, size=32))
    gun, drum = videos["gun/gun_0001.mp4"], videos["drum/drum_0001.mp4"]
    assert sorted(calls) == ["A own", "A swap", "B cross", "B own"]
    for k, clip in enumerate(calls["A swap"]):
        assert torch.equal(clip.audio, gun[k].audio) and clip.prompt == gun[k].prompt
        assert torch.equal(clip.image, drum[k].image) and torch.equal(calls["A own"][k].audio, drum[k].audio)
    for k, clip in enumerate(calls["B cross"][:3]):  # bell images, drum audio, bell prompt
        assert torch.equal(clip.audio, drum[k].audio)
        assert clip.prompt == calls["B own"][k].prompt == "bell ringing"


def test_bad_input_names_the_problem(apps_data, tiny_synth, tmp_path):
    with pytest.raises(ValueError, match="none of the 2 videos has two objects"):
        app.evaluate_applications(tiny_synth, "unused-model", size=32)
    bare = tmp_path / "bare"
    shutil.copytree(apps_data, bare)
    for sidecar in (bare / "videos").rglob("*.json"):
        sidecar.unlink()
    with pytest.raises(ValueError, match="has no sidecar"):
        app.evaluate_applications(bare, "unused-model", size=32)
    with pytest.raises(ValueError, match="--limit must be a positive integer, got 0"):
        applications_main(["--dataset", str(apps_data), "--limit", "0"])
    with pytest.raises(ValueError, match="is not a folder"):
        applications_main(["--dataset", str(tmp_path / "missing")])
