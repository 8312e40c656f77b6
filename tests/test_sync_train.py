"""Sync classifier training and evaluation: loss, shifted clips, the train-sync loop, resume, eval-sync."""
import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from asva import cli
from asva.data.shifted import ShiftedClipConfig, ShiftedClipDataset, clip_starts, nearest_frames
from asva.evaluation.sync_classifier import shift_predictions, sync_accuracy
from asva.models.sync import SyncClassifier, SyncClassifierConfig, load_sync_classifier
from asva.training.sync.loss import contrastive_sync_loss, pair_logits

TRAIN_ARGS = ["--preset", "sync-tiny", "--batch-size", "2", "--num-clips", "3", "--shift", "0.2",
              "--warmup-steps", "1", "--lr", "1e-3", "--log-every", "1", "--no-progress", "--seed", "3"]


@pytest.fixture(scope="module")
def synth_root(synth_dataset):
    """Two classes x 3 clips of 32 px (3-6 s each): 4 train and 2 test videos."""
    return synth_dataset(videos_per_class=3, seed=5, size=32, classes=("drum", "dog"), test_fraction=0.34)


# ---------------------------------------------------------------- loss


def _manual_ce(logits: torch.Tensor, tau: float) -> tuple[float, float]:
    """Row and column cross-entropy written out with loops."""
    b, k, _ = logits.shape
    rows = cols = 0.0
    for i in range(b):
        for p in range(k):
            row, col = logits[i, p] / tau, logits[i, :, p] / tau
            rows += -(row[p] - torch.logsumexp(row, 0)).item()
            cols += -(col[p] - torch.logsumexp(col, 0)).item()
    return rows / (b * k), cols / (b * k)


def test_loss_perfect_diagonal_is_low_and_accurate():
    out = contrastive_sync_loss(torch.eye(5).repeat(2, 1, 1) * 5.0, tau=0.1)
    assert out.loss.item() < 1e-10 and out.acc_av.item() == 1.0 and out.acc_va.item() == 1.0


def test_loss_uniform_is_log_k_and_wrong_diagonal_is_high():
    assert contrastive_sync_loss(torch.zeros(3, 7, 7)).loss.item() == pytest.approx(math.log(7), abs=1e-6)
    anti = torch.eye(4).flip(1)[None] * 2.0  # every audio prefers another video
    out = contrastive_sync_loss(anti, tau=0.1)
    assert out.loss.item() > 19.0 and out.acc_av.item() == 0.0 and out.acc_va.item() == 0.0


def test_loss_matches_hand_computed_rows_and_columns():
    logits = torch.randn(2, 4, 4, generator=torch.Generator().manual_seed(0))
    logits[0, 1, 1] = 3.0  # rows and columns differ
    out = contrastive_sync_loss(logits, tau=0.5)
    rows, cols = _manual_ce(logits, 0.5)
    assert out.loss_av.item() == pytest.approx(rows, abs=1e-5)
    assert out.loss_va.item() == pytest.approx(cols, abs=1e-5)
    assert out.loss.item() == pytest.approx((rows + cols) / 2, abs=1e-5)


def test_loss_rejects_bad_input():
    with pytest.raises(ValueError, match="K, K"):
        contrastive_sync_loss(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="tau"):
        contrastive_sync_loss(torch.zeros(1, 3, 3), tau=0.0)


def test_pair_logits_scores_every_audio_against_every_video():
    model = SyncClassifier(SyncClassifierConfig.from_preset("tiny")).eval()
    g = torch.Generator().manual_seed(1)
    mels = torch.randn(2, 3, 1, 128, 204, generator=g)
    videos = torch.randn(2, 3, 3, 12, 32, 32, generator=g)
    with torch.no_grad():
        logits = pair_logits(model, mels, videos)
        direct = model(mels[1, 2:3], videos[1, 0:1])
    assert logits.shape == (2, 3, 3)
    assert logits[1, 2, 0].item() == pytest.approx(direct.item(), abs=1e-5)
    assert not torch.allclose(logits[1, 2, 0], logits[1, 0, 2])


# ---------------------------------------------------------------- shifted clips


def test_clip_starts_random_and_centred():
    cfg = ShiftedClipConfig(num_clips=5, shift=0.2, frame_size=32)
    starts = clip_starts(4.0, cfg, torch.Generator().manual_seed(0))
    assert np.allclose(np.diff(starts), 0.2) and starts[0] >= 0 and starts[-1] + 2.0 <= 4.0 + 1e-9
    centred = clip_starts(4.0, ShiftedClipConfig(num_clips=5, shift=0.2, sampling="center"))
    assert centred[0] == pytest.approx((4.0 - 2.8) / 2)
    with pytest.raises(ValueError, match="cannot hold"):
        clip_starts(2.5, cfg)


def test_nearest_frames_picks_source_frames_by_time():
    index = nearest_frames(np.array([0.0, 0.04]), 3, 6.0, 24.0, 100)
    assert index.tolist() == [[0, 4, 8], [1, 5, 9]]
    assert nearest_frames(np.array([10.0]), 2, 6.0, 24.0, 100).tolist() == [[99, 99]]


def test_dataset_items_and_seeded_samples(synth_root):
    cfg = ShiftedClipConfig(num_clips=3, shift=0.2, frame_size=32)
    ds = ShiftedClipDataset(synth_root, "train", cfg, seed=7, cache=True)
    item = ds.sample(5)
    assert item["mel"].shape == (3, 1, 128, 204) and item["video"].shape == (3, 3, 12, 32, 32)
    assert torch.equal(item["video"], ds.sample(5)["video"])  # a function of (seed, n)
    assert not torch.equal(item["starts"], ds.sample(6)["starts"]) or item["index"] != ds.sample(6)["index"]
    durations = sorted(e.duration for e in ds.entries)
    assert durations[0] < durations[-1]
    span_clips = int((durations[-1] - 2.0) / 0.05) + 1  # only the longest video holds them
    with pytest.warns(UserWarning, match="left out"):
        short = ShiftedClipDataset(synth_root, "train", ShiftedClipConfig(num_clips=span_clips, shift=0.05))
    assert len(short) + len(short.skipped) == len(ds) and len(short.skipped) >= 1
    with pytest.raises(ValueError, match="no video"), pytest.warns(UserWarning, match="left out 4 of 4"):
        ShiftedClipDataset(synth_root, "train", ShiftedClipConfig(num_clips=200, shift=0.05))


# ---------------------------------------------------------------- train-sync


def test_train_sync_few_steps(synth_root, tmp_path):
    out = tmp_path / "run"
    assert cli.main(["train-sync", "--data", str(synth_root), "--output", str(out), "--steps", "3",
                     "--checkpoint-every", "2", *TRAIN_ARGS]) == 0
    rows = (out / "log.csv").read_text().strip().splitlines()
    assert rows[0].startswith("step,loss") and len(rows) == 4
    assert [int(r.split(",")[0]) for r in rows[1:]] == [1, 2, 3]
    kept = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert kept == ["checkpoint-0000002", "checkpoint-0000003"]
    summary = json.loads((out / "training.json").read_text())
    assert summary["steps"] == 3 and summary["train_videos"] == 4 and "train-sync" in summary["command"]
    model = load_sync_classifier(out / "model")
    assert model.config.frame_size == 32
    torch.manual_seed(3)
    initial = SyncClassifier(SyncClassifierConfig.from_preset("tiny"))
    changed = [k for k, v in model.state_dict().items()
               if v.is_floating_point() and not torch.equal(v, initial.state_dict()[k])]
    assert changed, "training did not change any weight"


def test_resume_gives_the_same_weights(synth_root, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    common = ["--data", str(synth_root), "--checkpoint-every", "2", *TRAIN_ARGS]
    assert cli.main(["train-sync", "--output", str(a), "--steps", "4", *common]) == 0
    assert cli.main(["train-sync", "--output", str(b), "--steps", "2", *common]) == 0
    assert cli.main(["train-sync", "--output", str(b), "--steps", "4", "--resume", "latest", *common]) == 0
    wa, wb = load_file(a / "model" / "model.safetensors"), load_file(b / "model" / "model.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=1e-6, msg=k)
    assert json.loads((b / "training.json").read_text())["resumed_from_step"] == 2
    log_a = (a / "log.csv").read_text().splitlines()
    log_b = (b / "log.csv").read_text().splitlines()
    assert [r.split(",")[:2] for r in log_a] == [r.split(",")[:2] for r in log_b]


@pytest.mark.parametrize("argv", [
    ["--steps", "0"],
    ["--preset", "sync-huge"],
    ["--set", "no_such_field=3"],
    ["--set", "frame_size=big"],
    ["--num-clips", "1"],
    ["--resume", "/no/such/checkpoint"],
])
def test_train_sync_bad_options_exit_2(argv, synth_root, tmp_path, capsys):
    base = ["train-sync", "--data", str(synth_root), "--output", str(tmp_path / "o"), "--num-clips", "3"]
    assert cli.main([*base, *argv]) == 2
    err = capsys.readouterr().err
    assert "asva train-sync: error:" in err and "no video" not in err


def test_train_sync_missing_data_option_exits_2(tmp_path):
    with pytest.raises(SystemExit) as err:
        cli.main(["train-sync", "--output", str(tmp_path)])
    assert err.value.code == 2


# ---------------------------------------------------------------- eval-sync


class StartOracle:
    """A perfect scorer: mels and frames carry their clip's start time as their value."""

    def score_pairs(self, mels, frames, audio_index, video_index):
        a = mels.flatten(1).mean(1)[audio_index]
        v = frames.flatten(1).mean(1)[video_index]
        return -(a - v) ** 2


class FirstClip:
    """A useless scorer: always prefers clip 0."""

    def score_pairs(self, mels, frames, audio_index, video_index):
        return -(audio_index + video_index).float()


def _items(n_videos=4, k=31, shift=0.04):
    for i in range(n_videos):
        starts = 1.0 + i + shift * torch.arange(k)
        yield {"path": f"v{i}.mp4", "mel": starts.view(k, 1, 1, 1).expand(k, 1, 4, 6).clone(),
               "video": starts.view(k, 1, 1, 1, 1).expand(k, 3, 2, 2, 2).clone()}


def test_accuracy_of_a_perfect_oracle_is_one():
    result = sync_accuracy(StartOracle(), _items())
    assert result["a2v_acc"] == 1.0 and result["v2a_acc"] == 1.0 and result["num_videos"] == 4
    assert all(r["a2v_pred"] == 0 and r["v2a_pred"] == 0 for r in result["per_video"])


def test_accuracy_counts_misses_outside_the_tolerance():
    assert sync_accuracy(FirstClip(), _items())["a2v_acc"] == 0.0  # 15 clips off, tolerance 5
    assert sync_accuracy(FirstClip(), _items(), tolerance=15)["v2a_acc"] == 1.0
    item = next(_items(1, k=5))
    assert shift_predictions(StartOracle(), item["mel"], item["video"]) == (2, 2)


def _tiny_model_dir(tmp_path):
    from asva.models.sync import save_sync_classifier

    torch.manual_seed(0)
    return save_sync_classifier(SyncClassifier(SyncClassifierConfig.from_preset("tiny")), tmp_path / "tiny")


def test_eval_sync_on_a_dataset_writes_json(synth_root, tmp_path, capsys):
    model_dir = _tiny_model_dir(tmp_path)
    out = tmp_path / "acc.json"
    assert cli.main(["eval-sync", "--data", str(synth_root), "--split", "train", "--model", str(model_dir),
                     "--num-clips", "11", "--output", str(out), "--no-progress"]) == 0
    assert "A2V accuracy" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["num_videos"] == 4 and 0.0 <= result["a2v_acc"] <= 1.0 and result["num_clips"] == 11


def test_eval_sync_p_sync_of_a_pair(synth_root, tmp_path, capsys):
    model_dir = _tiny_model_dir(tmp_path)
    video = next((synth_root / "videos" / "drum").glob("*.mp4"))
    assert cli.main(["eval-sync", "--video", str(video), "--model", str(model_dir)]) == 0
    line = capsys.readouterr().out
    p = float(line.split("P_sync")[1].split()[0])
    assert 0.0 < p < 1.0


@pytest.mark.parametrize("argv", [
    [],
    ["--audio", "x.wav"],
    ["--video", "v.mp4", "--start", "-1"],
    ["--data", "d", "--num-clips", "0"],
    ["--model", "no-such-sync-model", "--video", "v.mp4"],
])
def test_eval_sync_bad_options_exit_2(argv, capsys):
    assert cli.main(["eval-sync", *argv]) == 2
    assert "asva eval-sync: error:" in capsys.readouterr().err


# ---------------------------------------------------------------- RelSync vs oracle


def test_standins_and_relsync_oracle_agreement(synth_root, tmp_path, capsys):
    gen = tmp_path / "gen"
    assert cli.main(["eval-sync", "--make-standins", str(gen), "--data", str(synth_root), "--split", "train",
                     "--limit", "2"]) == 0
    clips = sorted(gen.rglob("*.mp4"))
    assert len(clips) == 2 * 5 and all(c.with_suffix(".json").is_file() for c in clips)
    model_dir = _tiny_model_dir(tmp_path)
    out = tmp_path / "agree.json"
    assert cli.main(["eval-sync", "--relsync-oracle", str(gen), "--data", str(synth_root), "--model",
                     str(model_dir), "--output", str(out), "--no-progress"]) == 0
    assert "Spearman(RelSync, oracle correlation)" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["num_clips"] == 10 and -1.0 <= result["spearman"] <= 1.0
    by = result["by_variant"]
    assert by["gt"]["oracle_mean"] > by["static"]["oracle_mean"] + 0.2  # the oracle sees the stand-ins right
    assert by["gt"]["relsync_mean"] == pytest.approx(0.5, abs=0.05)  # the gt re-encoded: phi_gen ~ phi_gt


def test_relsync_reads_a_6fps_clip_as_written(synth_root, tmp_path, one_thread):
    """A 6-fps file read with the official frame rule loses its frame 2 (stamped 0.333333 s < 1/3),
    i.e. the clip is shifted by 1/6 s; the shipped classifier, trained on 0.2-s shifts, would see the
    re-encoded ground truth as out of sync (RelSync 0.16 on synth96 stand-ins). RelSync must read the
    frames the oracle reads: the ones written."""
    from asva.evaluation.synthetic.agreement import make_standins, score_generated_clip
    from asva.models.sync import load_sync_model

    clips = make_standins(synth_root, tmp_path / "gen", split="train", limit=4)
    model = load_sync_model()
    for clip in [c for c in clips if c.stem.endswith("__gt")]:
        row = score_generated_clip(model, clip, synth_root)
        assert row["phi_gen"] == pytest.approx(row["phi_gt"], abs=0.3), row  # same frames, re-encoded


def test_spearman_skips_undefined_values():
    from asva.evaluation.synthetic.agreement import spearman

    rho, n = spearman([0.1, 0.2, 0.3, 0.4], [1.0, float("nan"), 3.0, 4.0])
    assert rho == pytest.approx(1.0) and n == 3
    assert math.isnan(spearman([0.1, 0.2], [1.0, 2.0])[0])


def test_bundled_sync_synth_tiny_loads_and_is_small():
    from asva.models.registry import resolve_sync_model

    folder = resolve_sync_model("sync-synth-tiny")
    assert (folder / "model.safetensors").stat().st_size < 15 * 2**20
    assert json.loads((folder / "training.json").read_text())["evaluation"]["num_videos"] > 0
    model = load_sync_classifier(folder)
    assert model.config.num_frames == 12 and model.config.mel_frames == 204


def test_bundled_sync_synth_tiny_detects_synchrony_on_unseen_clips(synth_dataset, one_thread):
    """The shipped classifier is a metric, not a placeholder: on freshly generated clips (a seed it
    never saw) it finds the synchronised offset among 31 far above chance (about 0.35)."""
    from asva.evaluation.sync_classifier import evaluate_dataset
    from asva.models.sync import load_sync_model

    data = synth_dataset(videos_per_class=2, size=64, seed=20261126, test_fraction=0.5,
                         classes=("drum", "hammer", "dog", "gun", "bouncing_ball", "bell"))
    result = evaluate_dataset(load_sync_model(), data, "test", progress=False)
    assert result["num_videos"] >= 3
    assert result["a2v_acc"] >= 0.6 and result["v2a_acc"] >= 0.6, result
