"""Table 1 in miniature with RelSync: the sync-classifier column, the RelSync/oracle agreement, labels,
reference rows and merging of old-format shard files."""

from __future__ import annotations

import json
import math

import pytest
import torch

from asva.commands.table1 import main
from asva.evaluation.synthetic.table1 import (
    REAL,
    STATIC,
    agreement,
    evaluate_synthetic,
    format_table,
    merge,
)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_synth, tiny_model_dir, one_thread):
    """The 2-video synth test split, a random tiny AVSyncD and a random tiny sync classifier on disk."""
    from asva.models.sync import SyncClassifier, SyncClassifierConfig, save_sync_classifier

    root = tmp_path_factory.mktemp("table1")
    model = tiny_model_dir(prompts=tiny_synth)
    torch.manual_seed(0)
    classifier = SyncClassifier(SyncClassifierConfig.from_preset("tiny"))
    with torch.no_grad():  # a random head's logit barely depends on its input: sharpen it
        for name, p in classifier.head.named_parameters():
            if name.endswith("weight"):
                p.mul_(20)
    sync = save_sync_classifier(classifier, root / "sync")
    return tiny_synth, model, sync


def table(setup, **kw):
    data, model, sync = setup
    options = {"etas": (1.0, 4.0), "steps": 1, "size": 32, "batch_size": 6, "progress": False,
               "sync_model": sync, **kw}
    return evaluate_synthetic(data, model, **options)


@pytest.fixture(scope="module")
def results(setup):
    return table(setup)


def test_relsync_column_and_agreement(results):
    assert [r.name for r in results] == [REAL, STATIC, "AVSyncD (eta=1)", "AVSyncD (eta=4)"]
    clips = 6  # 2 test videos x 3 clips
    assert all(len(r.scores["relsync"]) == clips for r in results)
    assert results[0].scores["relsync"] == [0.5] * clips  # the real clips against themselves
    others = [v for r in results[1:] for v in r.scores["relsync"]]
    assert all(0 < v < 1 for v in others) and max(abs(v - 0.5) for v in others) > 0.005
    mean, half, n = results[2].summary()["relsync"]
    assert n == clips and 0 < mean < 1 and math.isfinite(half)
    found = agreement(results)
    assert found["methods"] == ["AVSyncD (eta=1)", "AVSyncD (eta=4)"]  # no Real, no Static
    assert math.isfinite(found["spearman"]) and -1 <= found["spearman"] <= 1
    assert 3 <= found["num_clips"] <= 2 * clips
    text = format_table(results)
    assert "RelSync (up)" in text.splitlines()[0] and "| 0.500 +- 0.000 |" in text.splitlines()[2]


def test_seconds_per_clip_column(results):
    """Every generated row carries its wall seconds of generation per clip; the real clips have none."""
    real, static, *models = results
    assert real.generation_seconds is None and real.seconds_per_clip is None
    assert static.seconds_per_clip is not None and static.seconds_per_clip >= 0
    for row in models:
        assert 0 < row.generation_seconds <= row.seconds
        assert row.seconds_per_clip == pytest.approx(row.generation_seconds / 6)
    lines = format_table(results).splitlines()
    assert lines[0].endswith("| RelSync (up) | s / clip | seconds |")
    assert lines[2].split("|")[-3] == "  "  # the real clips: blank
    assert float(lines[4].split("|")[-3]) == pytest.approx(models[0].seconds_per_clip, abs=1e-3)


def test_label_no_reference_and_no_sync_model(setup):
    rows = table(setup, etas=(4.0,), limit=1, label="first-frame off", reference=False, sync_model="none")
    assert [r.name for r in rows] == ["first-frame off (eta=4)"]
    assert "relsync" not in rows[0].scores and "relsync" not in rows[0].summary()
    assert agreement(rows) is None and "RelSync" not in format_table(rows)
    with pytest.raises(ValueError, match="label"):
        table(setup, label=" ")


def test_cli_json_and_merge_of_old_files(setup, results, tmp_path, capsys):
    data, model, sync = setup
    out = tmp_path / "new.json"
    assert main(["--dataset", str(data), "--model", str(model), "--etas", "1", "--steps", "1", "--size", "32",
                 "--limit", "1", "--sync-model", str(sync), "--label", "variant", "--json", str(out),
                 "--no-progress"]) == 0
    assert "RelSync vs oracle correlation: Spearman rho =" in capsys.readouterr().out
    new = json.loads(out.read_text())
    assert [m["method"] for m in new["methods"]] == [REAL, STATIC, "variant (eta=1)"]
    assert new["agreement"]["num_clips"] == 3 and new["agreement"]["methods"] == ["variant (eta=1)"]
    # a shard written before RelSync: a bare list of methods without relsync or generated
    old = tmp_path / "old.json"
    old.write_text(json.dumps([{"method": r.name, "scores": {k: r.scores[k] for k in
                                ("hit_rate", "false_motion_rate", "correlation")}, "seconds": 1.0}
                               for r in results]))
    alone = merge([old])
    assert all("relsync" not in r.scores for r in alone) and "RelSync" not in format_table(alone)
    assert [r.generated for r in alone] == [False, False, True, True]
    both = merge([old, out])
    names = [r.name for r in both]
    assert names == [REAL, STATIC, "AVSyncD (eta=1)", "AVSyncD (eta=4)", "variant (eta=1)"]
    real = both[0]
    assert len(real.scores["relsync"]) == len(real.scores["correlation"]) == 9  # 6 old (nan) + 3 new
    assert real.summary()["relsync"] == (0.5, 0.0, 3)
    assert agreement(both)["methods"] == ["variant (eta=1)"]  # the old rows have no RelSync left
    timed = {r.name: r.seconds_per_clip for r in both}
    assert timed[REAL] is None and timed["AVSyncD (eta=1)"] is None  # not in the old file: blank
    assert timed["variant (eta=1)"] == pytest.approx(new["methods"][2]["generation_seconds"] / 3)
    twice = merge([out, out])  # two shards with the field: the seconds and the clips add up
    assert twice[2].generation_seconds == pytest.approx(2 * new["methods"][2]["generation_seconds"])
    assert twice[2].seconds_per_clip == pytest.approx(timed["variant (eta=1)"])
    assert main(["--merge", str(old), str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| variant (eta=1) | 3 |" in printed
    assert "| AVSyncD (eta=1) |" in printed and printed.split("| AVSyncD (eta=1) |")[1].split("\n")[0] \
        .split("|")[-3] == "  "


def test_cli_refuses_missing_sync_model(setup):
    data, model, _ = setup
    with pytest.raises(ValueError, match="no-such-classifier"):
        main(["--dataset", str(data), "--model", str(model), "--sync-model", "no-such-classifier",
              "--etas", "1", "--steps", "1", "--size", "32", "--limit", "1", "--no-progress"])


def test_table1_reports_relsync(setup, tmp_path, capsys):
    """`asva table1 -o OUTDIR` (and its old spelling `asva evaluate --synthetic --model M`): the reports
    carry RelSync and the agreement; `--sync-model none` drops them; `asva evaluate` itself refuses
    the Table 1 options."""
    from asva import cli
    from asva.commands.evaluate import main as evaluate_main

    data, model, sync = setup
    base = ["--dataset", str(data), "--model", str(model), "--etas", "1", "--steps", "1",
            "--size", "32", "--limit", "1", "--no-progress"]
    out = tmp_path / "with"
    options = ["--sync-model", str(sync), "--label", "v2", "--no-reference"]
    assert cli.main(["evaluate", "--synthetic", *base, "-o", str(out), *options]) == 0
    assert "running `asva table1`" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert 0 < metrics["v2 (eta=1)/relsync"] < 1 and metrics["v2 (eta=1)/relsync_clips"] == 3
    assert metrics["v2 (eta=1)/seconds_per_clip"] > 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["metrics"]["agreement/clips"] == 3 and "agreement/spearman" in report["metrics"]
    assert report["protocol"]["sync_model"] == str(sync) and not report["protocol"]["reference_rows"]
    rows = (out / "per_clip.csv").read_text().splitlines()
    assert rows[0] == "method,clip,hit_rate,false_motion_rate,correlation,frame_error,relsync"
    assert [r.split(",")[0] for r in rows[1:]] == ["v2 (eta=1)"] * 3
    assert "Spearman rho" in (out / "metrics.md").read_text()
    out = tmp_path / "without"
    assert main([*base, "-o", str(out), "--sync-model", "none"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert not any("relsync" in k or k.startswith("agreement/") for k in report["metrics"])
    assert "relsync" not in (out / "per_clip.csv").read_text().splitlines()[0]
    with pytest.raises(SystemExit):
        evaluate_main(["--synthetic", "--dataset", str(data), "--generated", str(tmp_path), "-o", str(out),
                       "--label", "v2"])


def test_relsync_is_exp_phi_gen_over_both(setup, results):
    """Static's RelSync of one clip, recomputed by hand from the classifier's logits."""
    from asva.evaluation.synthetic.table1 import load_clips, static_videos
    from asva.media import normalize_mel, waveform_to_mel
    from asva.models.sync import load_sync_classifier, score_clips

    data, _, sync = setup
    clip = load_clips(data, size=32)[4]
    model = load_sync_classifier(sync)
    mel = normalize_mel(waveform_to_mel(clip.audio, sample_rate=16000))[None]
    phi_gt = score_clips(model, mel, clip.video[None]).item()
    phi_gen = score_clips(model, mel, static_videos([clip])[0][None]).item()
    expected = math.exp(phi_gen) / (math.exp(phi_gt) + math.exp(phi_gen))
    assert results[1].scores["relsync"][4] == pytest.approx(expected, rel=1e-4)


def test_frame_error_column(results):
    """Fidelity to the real clip: 0 for the real clips, the first frame's drift for Static, and
    |generated - real| / 255 over frames 2..12 computed by hand for a generated clip."""
    from asva.evaluation.synthetic.table1 import frame_error

    real, static = results[0], results[1]
    assert real.scores["frame_error"] == [0.0] * 6
    assert all(0 <= v <= 1 for v in static.scores["frame_error"])
    assert max(static.scores["frame_error"]) > 0  # the real clips move, a held frame does not
    video = torch.zeros(3, 12, 8, 8, dtype=torch.uint8)
    other = video.clone()
    other[:, 0] = 255  # frame 1 is the conditioning image: not counted
    other[:, 5, :4] = 51  # half of one of the 11 counted frames is off by 0.2
    assert frame_error(video, other) == pytest.approx(0.2 / 2 / 11)
    with pytest.raises(ValueError, match="differ in shape"):
        frame_error(video, other[:, :6])
    assert "frame error (down)" in format_table(results).splitlines()[0]
