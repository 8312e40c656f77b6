"""asva curate: the stages, defect injection in miniature, kill-and-resume, unreadable videos, the
dataset it writes, IA / IT plumbing with a tiny random ImageBind, and the CLI's errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

pytest.importorskip("scenedetect")

from asva.cli import main as asva  # noqa: E402
from asva.curation.config import CurateConfig, load_config  # noqa: E402
from asva.curation.decode import VideoData  # noqa: E402
from asva.curation.manifest import read_manifest  # noqa: E402
from asva.curation.models import ImageBindEmbedder  # noqa: E402
from asva.curation.sources import read_sources  # noqa: E402
from asva.curation.stages import alignment_stage, audio_stage, merge_spans, pixel_stage, split_scenes  # noqa: E402
from asva.synth.defects import defect_report, write_defect_set  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
MODELS = [
    "--embedder",
    "synth-ae",
    "--sync-model",
    "sync-synth-tiny",
    "--skip",
    "alignment",
    "--preset",
    "synthetic",
    "--min-per-class",
    "1",
    "--test-per-class",
    "1",
    "--no-progress",
]


@pytest.fixture(scope="module")
def defects(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("defects")
    write_defect_set(
        out,
        per_defect=2,
        seed=3,
        defects=("clean", "static", "cut", "silent", "shifted"),
        classes=("dog", "drum"),
    )
    return out


@pytest.fixture(scope="module")
def curated(defects, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("curated") / "run"
    assert asva(["curate", str(defects), "--out", str(out), "--workers", "1", *MODELS]) == 0
    return out


def test_clips_and_merging():
    assert split_scenes([(0.0, 4.0), (4.0, 6.5)], 3.0, 0.5) == [
        (0, (0.0, 3.0)),
        (0, (0.5, 3.5)),
        (0, (1.0, 4.0)),
    ]
    assert split_scenes([(0.0, 2.9)], 3.0, 0.5) == []
    assert merge_spans([(0.5, 3.5), (0.0, 3.0), (5.0, 8.0)]) == [(0.0, 3.5), (5.0, 8.0)]


def _video(frames: torch.Tensor, audio: torch.Tensor) -> VideoData:
    return VideoData(frames, frames, 6.0, audio, frames.shape[1] / 6.0)


def test_pixel_and_audio_stages_reject_static_and_silent():
    config = CurateConfig()
    moving = torch.randint(
        0, 255, (3, 18, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    still = moving[:, :1].expand(-1, 18, -1, -1)
    assert pixel_stage(_video(still, torch.zeros(48000)), [(0.0, 3.0)], config)[0][1].startswith("static")
    assert pixel_stage(_video(moving, torch.zeros(48000)), [(0.0, 3.0)], config)[0][1].startswith("camera")
    loud = torch.sin(torch.arange(48000) * 0.1)
    assert audio_stage(_video(still, loud), [(0.0, 3.0)], config)[0][1] is None
    assert audio_stage(_video(still, loud * 1e-3), [(0.0, 3.0)], config)[0][1].startswith("silent")


def test_config_errors_and_presets():
    with pytest.raises(ValueError, match="pixel_low"):
        CurateConfig(pixel_low=0.5, pixel_high=0.1)
    with pytest.raises(ValueError, match="unknown key"):
        load_config(None, ["no_such=1"])
    with pytest.raises(ValueError, match="p_sync_min expects"):
        load_config(None, ["p_sync_min=high"])
    assert load_config(None, ["sync_shifts=-1,1"]).sync_shifts == (-1.0, 1.0)
    assert load_config("synthetic", ["p_sync_min=0.4"]).p_sync_min == 0.4


def test_sources_from_csv_and_vggsound(tmp_path):
    (tmp_path / "a.csv").write_text("path,label\nclips/x.mp4,dog barking\n/abs/y.mp4,cat\n")
    items = read_sources(tmp_path / "a.csv")
    assert [(i.key, i.label) for i in items] == [("/abs/y.mp4", "cat"), ("clips/x.mp4", "dog barking")]
    (tmp_path / "vgg.csv").write_text("abc,30,dog barking,train\n")
    with pytest.raises(ValueError, match="--video-dir"):
        read_sources(tmp_path / "vgg.csv")
    item = read_sources(tmp_path / "vgg.csv", tmp_path)[0]
    assert item.path == str(tmp_path / "abc_000030.mp4") and item.label == "dog barking"


def test_defect_injection_in_miniature(curated, defects):
    report = defect_report(
        read_manifest(curated / "manifest.jsonl"), json.loads((defects / "defects.json").read_text())
    )
    for defect in ("static", "cut", "silent", "shifted"):
        assert report[defect]["recall"] >= 0.9, (defect, report[defect])
    assert report["clean"]["kept_share"] >= 0.9, report["clean"]
    assert report["static"]["rejected_by"] == {"pixel": report["static"]["rejected"]}
    assert report["silent"]["rejected_by"] == {"audio": report["silent"]["rejected"]}


def test_dataset_is_avsync15_format(curated):
    from asva.data.avsync import AVSyncDataset

    train = AVSyncDataset(curated, "train", size=32)
    test = AVSyncDataset(curated, "test", size=32, mode="eval")
    assert len(train) and len(test)
    assert set(train.classes) <= set(json.loads((curated / "class_mapping.json").read_text()))
    assert train[0]["video"].shape == (3, 12, 32, 32)
    summary = (curated / "summary.md").read_text()
    assert "| pixel |" in summary and "alignment (skipped)" in summary


def test_unreadable_videos_are_recorded_and_skipped(defects, tmp_path):
    src = tmp_path / "in"
    (src / "dog").mkdir(parents=True)
    good = next((defects / "videos").rglob("*clean.mp4"))
    (src / "dog" / "good.mp4").write_bytes(good.read_bytes())
    (src / "dog" / "truncated.mp4").write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    (src / "dog" / "empty.mp4").write_bytes(b"")
    out = tmp_path / "out"
    assert asva(["curate", str(src), "--out", str(out), "--workers", "1", *MODELS]) == 0
    rows = {r["video"]: r for r in read_manifest(out / "manifest.jsonl")}
    assert rows["dog/empty.mp4"]["stage"] == "read" and rows["dog/truncated.mp4"]["stage"] == "read"
    assert rows["dog/good.mp4"]["clip"] is not None


def _outputs(out: Path) -> dict[str, bytes]:
    names = ["manifest.jsonl", "train.txt", "test.txt", "class_mapping.json", "summary.md"]
    files = {n: (out / n).read_bytes() for n in names}
    files.update({str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "videos").rglob("*.mp4"))})
    return files


def test_sigkill_then_same_command_matches_an_uninterrupted_run(defects, curated, tmp_path):
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "asva.cli",
        "curate",
        str(defects),
        "--out",
        str(out),
        "--workers",
        "1",
        *MODELS,
    ]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest, deadline = out / "manifest.jsonl", time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if manifest.is_file() and len(manifest.read_text().splitlines()) >= 8:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "train.txt").exists()
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert _outputs(out) == _outputs(curated)


def test_model_stage_without_weights_is_an_error_naming_the_flag(defects, tmp_path, capsys):
    assert (
        asva(["curate", str(defects), "--out", str(tmp_path / "o"), "--skip", "alignment", "semantic"]) == 2
    )
    assert "--sync-model" in capsys.readouterr().err
    assert asva(["curate", str(defects), "--out", str(tmp_path / "o"), "--skip", "sync", "semantic"]) == 2
    assert "--imagebind" in capsys.readouterr().err


def test_alignment_stage_with_a_tiny_random_imagebind(tmp_path):
    from asva.curation.models import ModelSpec, load_models
    from asva.models.imagebind import ImageBind, save_imagebind

    torch.manual_seed(0)
    save_imagebind(ImageBind("tiny"), tmp_path / "ib")
    models = load_models(ModelSpec(embedder="imagebind", imagebind=str(tmp_path / "ib")), ("sync",))
    assert isinstance(models.embedder, ImageBindEmbedder) and models.embedder is models.imagebind
    frames = torch.randint(
        0, 255, (3, 18, 40, 48), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)
    )
    video = _video(frames, torch.randn(48000, generator=torch.Generator().manual_seed(2)) * 0.3)
    ((scores, reason),) = alignment_stage(
        video, [(0.0, 3.0)], CurateConfig(ia_min=-1, it_min=-1), models, "a dog"
    )
    assert -1 <= scores["ia"] <= 1 and -1 <= scores["it"] <= 1 and reason is None
    ((_, reason),) = alignment_stage(video, [(0.0, 3.0)], CurateConfig(ia_min=1.01), models, "a dog")
    assert reason.startswith("image-audio mismatch")


def test_review_decisions_change_the_dataset(curated, tmp_path):
    from asva.curation.review import apply_decisions, write_review

    rows = read_manifest(curated / "manifest.jsonl")
    page = write_review(rows, tmp_path / "review.html", thumbnails=False)
    assert page.read_text().count('class="clip"') == len(rows)
    kept = [[r["video"], r["clip"]] for r in rows if r["status"] == "kept"]
    (tmp_path / "d.json").write_text(json.dumps({"keep": kept[1:], "reject": kept[:1]}))
    out = tmp_path / "final"
    assert (
        asva(
            [
                "curate",
                "finalize",
                str(curated / "manifest.jsonl"),
                "--decisions",
                str(tmp_path / "d.json"),
                "--out",
                str(out),
                "--min-per-class",
                "1",
                "--test-per-class",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    final = read_manifest(out / "manifest.jsonl")
    assert sum(r["stage"] == "review" for r in final) == 1
    with pytest.raises(ValueError, match="not in the manifest"):
        apply_decisions(rows, {"keep": [["nope", 0]]})


def test_ray_local_gives_the_local_rows(defects, curated, tmp_path):
    pytest.importorskip("ray.data")
    videos = sorted(str(p.relative_to(defects / "videos")) for p in (defects / "videos").rglob("*.mp4"))[:3]
    listing = defects / "videos" / "three.csv"
    listing.write_text("".join(f"{v},{v.split('/')[0]}\n" for v in videos))
    out = tmp_path / "ray"
    assert (
        asva(["curate", str(listing), "--out", str(out), "--ray", "--workers", "2", "--no-dataset", *MODELS])
        == 0
    )
    local = {
        (r["video"], r["clip"]): r for r in read_manifest(curated / "manifest.jsonl") if r["video"] in videos
    }
    remote = {(r["video"], r["clip"]): r for r in read_manifest(out / "manifest.jsonl")}
    assert remote.keys() == local.keys()
    for key, row in remote.items():
        assert {**row, "prompt": None} == {**local[key], "prompt": None}


def test_asva_train_takes_the_curated_dataset(curated, tmp_path):
    from test_train import TINY

    out = tmp_path / "run"
    args = ["train", "--config", "synth-tiny", "--data", str(curated), "--output", str(out)]
    assert asva([*args, "train.max_steps=1", "checkpoint.every=1", *TINY]) == 0
    assert (out / "model").is_dir()
