"""Malformed AVSync15-format datasets: one ValueError listing every bad entry, or skip_bad."""
from __future__ import annotations

import json

import pytest
import torch

from asva.data import AVSyncDataset, validate
from asva.media import write_video
from test_data import make_clip, make_dataset

GOOD = {"cat_meowing/good1.mp4": 2.5, "cat_meowing/good2.mp4": 2.5}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    make_dataset(root, GOOD)
    return root


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """Two good videos and one of each kind of bad entry, all listed in train.txt."""
    root = tmp_path_factory.mktemp("broken")
    make_dataset(root, {**GOOD, "cat_meowing/short.mp4": 1.5, "dog_barking/unmapped.mp4": 2.5},
                 mapping={"cat_meowing": "cat meowing"})
    videos = root / "videos" / "cat_meowing"
    (videos / "garbage.mp4").write_bytes(b"this is not an mp4 file" * 50)
    frames = torch.zeros(3, 30, 32, 32, dtype=torch.uint8)
    write_video(videos / "silent.mp4", frames, 12)  # no audio stream
    lines = [*GOOD, "cat_meowing/short.mp4", "dog_barking/unmapped.mp4", "cat_meowing/absent.mp4",
             "cat_meowing/garbage.mp4", "cat_meowing/silent.mp4", "no_class_folder.mp4",
             "cat_meowing/deeper/x.mp4", "cat_meowing/notes.txt", "", "../outside/x.mp4"]
    (root / "train.txt").write_text("\n".join(lines) + "\n")
    return root


BAD_REASONS = {
    3: ("cat_meowing/short.mp4", "too short"),
    4: ("dog_barking/unmapped.mp4", "not in class_mapping.json"),
    5: ("cat_meowing/absent.mp4", "does not exist"),
    6: ("cat_meowing/garbage.mp4", "unreadable video"),
    7: ("cat_meowing/silent.mp4", "no audio stream"),
    8: ("no_class_folder.mp4", "malformed line"),
    9: ("cat_meowing/deeper/x.mp4", "malformed line"),
    10: ("cat_meowing/notes.txt", "not a video file name"),
    12: ("../outside/x.mp4", "malformed line"),
}


def test_one_error_lists_every_bad_entry(broken):
    with pytest.raises(ValueError) as info:
        AVSyncDataset(broken, "train")
    message = str(info.value)
    assert "9 bad entries" in message and "skip_bad=True" in message
    for line, (entry, reason) in BAD_REASONS.items():
        row = next(r for r in message.splitlines() if f"line {line}: " in r)
        assert repr(entry) in row and reason in row, row
    assert "good1" not in message and "good2" not in message


def test_skip_bad_keeps_the_good_entries_and_reports_the_rest(broken):
    with pytest.warns(UserWarning, match="skipped 9 bad entries of 11"):
        ds = AVSyncDataset(broken, "train", skip_bad=True, size=32, mode="eval")
    assert len(ds) == 2 and len(ds.skipped) == 9
    assert {b.line: (b.entry, b.reason.split(" ")[0]) for b in ds.skipped}.keys() == BAD_REASONS.keys()
    assert [ds[i]["path"] for i in range(2)] == list(GOOD)


@pytest.mark.parametrize(
    "entry, reason",
    [(entry, reason) for entry, reason in BAD_REASONS.values()],
)
def test_each_bad_case_alone(broken, tmp_path, entry, reason):
    """Every kind of bad entry fails on its own, and is skipped on its own."""
    root = tmp_path / "ds"
    (root).mkdir()
    (root / "videos").symlink_to(broken / "videos")
    (root / "class_mapping.json").write_text((broken / "class_mapping.json").read_text())
    (root / "test.txt").write_text(f"cat_meowing/good1.mp4\n{entry}\n")
    with pytest.raises(ValueError, match="1 bad entries") as info:
        AVSyncDataset(root, "test", mode="eval")
    assert reason in str(info.value)
    with pytest.warns(UserWarning, match="skipped 1 bad entries of 2"):
        ds = AVSyncDataset(root, "test", mode="eval", skip_bad=True)
    assert len(ds) == 1 and ds.skipped[0].line == 2 and reason in ds.skipped[0].reason


def test_long_lists_of_bad_entries_are_capped(clean, tmp_path):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "videos").symlink_to(clean / "videos")
    (root / "class_mapping.json").write_text((clean / "class_mapping.json").read_text())
    (root / "train.txt").write_text("".join(f"cat_meowing/missing{i}.mp4\n" for i in range(25)))
    with pytest.raises(ValueError) as info:
        AVSyncDataset(root)
    message = str(info.value)
    assert "25 bad entries" in message and "... and 5 more" in message
    assert "missing19.mp4" in message and "missing20.mp4" not in message


def test_all_entries_bad_fails_even_with_skip_bad(clean, tmp_path):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "videos").symlink_to(clean / "videos")
    (root / "class_mapping.json").write_text((clean / "class_mapping.json").read_text())
    (root / "train.txt").write_text("cat_meowing/missing.mp4\n")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no usable videos"):
        AVSyncDataset(root, skip_bad=True)
    (root / "train.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="no usable videos"):
        AVSyncDataset(root)


@pytest.mark.parametrize("skip_bad", [False, True])
def test_missing_list_file_fails_even_with_skip_bad(clean, skip_bad):
    with pytest.raises(ValueError, match=r"split list .*test\.txt.* not found"):
        (clean / "test.txt").rename(clean / "test.txt.bak")
        try:
            AVSyncDataset(clean, "test", mode="eval", skip_bad=skip_bad)
        finally:
            (clean / "test.txt.bak").rename(clean / "test.txt")


@pytest.mark.parametrize(
    "content, match",
    [(None, "class mapping .* not found"), ("{not json", "not valid JSON"), ("[]", "non-empty JSON object"),
     ('{"cat_meowing": 3}', "non-empty prompt string")],
)
def test_bad_class_mapping_fails(clean, tmp_path, content, match):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "videos").symlink_to(clean / "videos")
    (root / "train.txt").write_text((clean / "train.txt").read_text())
    if content is not None:
        (root / "class_mapping.json").write_text(content)
    with pytest.raises(ValueError, match=match):
        AVSyncDataset(root, skip_bad=True)


def test_missing_videos_folder_fails(tmp_path):
    (tmp_path / "class_mapping.json").write_text(json.dumps({"a": "a"}))
    (tmp_path / "train.txt").write_text("a/x.mp4\n")
    with pytest.raises(ValueError, match="has no 'videos' folder"):
        AVSyncDataset(tmp_path)


def test_labels_follow_sorted_class_folders_across_splits(tmp_path):
    make_dataset(tmp_path, {"zebra/z.mp4": 2.2, "ant/a.mp4": 2.2}, test=["zebra/z.mp4"])
    train = AVSyncDataset(tmp_path, "train", size=32)
    test = AVSyncDataset(tmp_path, "test", size=32, mode="eval")
    assert train.classes == test.classes == ["ant", "zebra"]
    assert test[0]["label"] == 1 and train[1]["label"] == 0


def test_probes_are_cached_until_the_file_changes(tmp_path, monkeypatch):
    make_dataset(tmp_path, {"cls/a.mp4": 2.2})
    calls = []
    real = validate.probe
    monkeypatch.setattr(validate, "probe", lambda p: calls.append(p) or real(p))
    validate._PROBE_CACHE.clear()
    AVSyncDataset(tmp_path)
    AVSyncDataset(tmp_path, "test", mode="eval")
    assert len(calls) == 1
    make_clip(tmp_path / "videos" / "cls" / "a.mp4", 2.4)  # rewritten: new size / mtime
    AVSyncDataset(tmp_path)
    assert len(calls) == 2
