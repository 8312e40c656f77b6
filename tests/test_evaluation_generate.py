"""asva generate-eval: the layout `asva evaluate` expects, resumable, refusing mixed settings."""

from __future__ import annotations

import json

import pytest

from asva.commands.generate_eval import main as generate_main
from asva.evaluation import match_generated
from asva.evaluation.generate import MANIFEST


@pytest.fixture(scope="module")
def setup(tiny_synth, tiny_model_dir):
    """A 2-video synth test split and a random tiny AVSyncD whose prompt table knows its classes."""
    return tiny_synth, tiny_model_dir(prompts=tiny_synth)


def run(setup, out, *extra):
    data, model = setup
    return generate_main(
        [
            "--dataset",
            str(data),
            "--model",
            str(model),
            "-o",
            str(out),
            "--size",
            "32",
            "--steps",
            "1",
            "--eta",
            "1",
            "--clips-per-video",
            "1",
            "--device",
            "cpu",
            "--no-progress",
            *extra,
        ]
    )


def test_generate_eval_is_resumable(setup, tmp_path, capsys):
    out = tmp_path / "generated"
    test_videos = (setup[0] / "test.txt").read_text().split()
    assert run(setup, out, "--limit", "1") == 0
    first = sorted(out.rglob("*.mp4"))
    assert len(first) == 1 and "generating 1" in capsys.readouterr().err
    stamp = first[0].stat().st_mtime_ns
    assert run(setup, out) == 0  # only the missing clip
    assert "1 of 2 clips" in capsys.readouterr().err and first[0].stat().st_mtime_ns == stamp
    clips = match_generated(test_videos, out, clips_per_video=1)  # the layout evaluate reads
    assert [c.name for c in clips] == [v.replace(".mp4", "_clip-00.mp4") for v in test_videos]
    assert not list(out.rglob(".*"))  # no temporaries left
    assert run(setup, out) == 0 and "generating 0" in capsys.readouterr().err
    settings = json.loads((out / MANIFEST).read_text())
    assert settings["steps"] == 1 and settings["eta"] == 1.0 and settings["clips_per_video"] == 1
    with pytest.raises(ValueError, match=r"other settings \(seed: 0 -> 3\)"):
        run(setup, out, "--seed", "3")


def test_two_processes_split_the_clips(setup, tmp_path, capfd):
    """--num-processes 2: two ranks (a gloo group) each make their own clip; a re-run makes none."""
    out = tmp_path / "generated"
    assert run(setup, out, "--num-processes", "2") == 0
    err = capfd.readouterr().err
    for rank in (0, 1):
        assert f"(process {rank} of 2): 0 of 1 clips" in err and err.count("generating 1") == 2
    assert "2 of 2 clips in" in err  # rank 0, after the barrier
    assert len(list(out.rglob("*.mp4"))) == 2 and not list(out.rglob(".*"))
    assert run(setup, out, "--num-processes", "2") == 0
    assert capfd.readouterr().err.count("generating 0") == 2


def test_synthetic_table_reports(setup, tmp_path):
    """`asva table1 -o OUTDIR` (old spelling `asva evaluate --synthetic --model M`, whose arguments it
    takes as they are): the training code's Table 1 rows as the three reports."""
    from asva.commands.table1 import main as table1_main

    data, model = setup
    out = tmp_path / "table"
    assert (
        table1_main(
            [
                "--synthetic",
                "--dataset",
                str(data),
                "--model",
                str(model),
                "-o",
                str(out),
                "--etas",
                "1",
                "--steps",
                "1",
                "--size",
                "32",
                "--limit",
                "1",
                "--batch-size",
                "3",
                "--no-progress",
            ]
        )
        == 0
    )
    report = json.loads((out / "metrics.json").read_text())
    assert report["protocol"]["fid_protocol"].startswith("FID not computed")
    assert {"Static/hit_rate", "AVSyncD (eta=1)/correlation"} <= set(report["metrics"])
    assert report["metrics"]["Static/false_motion_rate"] == 0.0  # a still video never moves
    rows = (out / "per_clip.csv").read_text().splitlines()
    assert rows[0] == "method,clip,hit_rate,false_motion_rate,correlation,frame_error,relsync"
    methods = [row.split(",")[0] for row in rows[1:]]  # 3 clips each: the real clips, Static, AVSyncD
    assert methods == ["Real clips (reference)"] * 3 + ["Static"] * 3 + ["AVSyncD (eta=1)"] * 3
    assert report["metrics"]["Real clips (reference)/relsync"] == 0.5
    assert report["protocol"]["sync_model"] == "sync-synth-tiny" and report["metrics"]["agreement/clips"] == 3
    assert "FID not computed" in (out / "metrics.md").read_text()


def test_non_square_generate_then_evaluate(setup, tmp_path):
    """128 x 256 (TheGreatestHits) in small: generate-eval writes h x w clips that evaluate reads back."""
    from asva.commands.evaluate import main as evaluate_main
    from asva.media import probe

    data, _ = setup
    out, report = tmp_path / "generated", tmp_path / "report"
    assert run(setup, out, "--size", "32x64") == 0  # the later --size wins
    clips = sorted(out.rglob("*.mp4"))
    assert len(clips) == 2 and all((probe(c).height, probe(c).width) == (32, 64) for c in clips)
    args = ["--dataset", str(data), "--generated", str(out), "-o", str(report), "--size", "32x64",
            "--metrics", "oracle", "--clips-per-video", "1", "--no-progress"]
    assert evaluate_main(args) == 0
    result = json.loads((report / "metrics.json").read_text())
    assert result["protocol"]["frame_size"] == [32, 64] and result["info"]["num_clips"] == 2
    m = result["metrics"]
    assert m["Oracle_hit_rate_gt"] > 0.5 and 0 <= m["Oracle_false_motion_rate"] <= 1
    assert -1 <= m["Oracle_correlation"] <= 1


def test_sizes_default_to_the_model_folder(tiny_synth, tiny_model_dir, tmp_path, monkeypatch):
    """Without --size, a model folder trained at 32 px (its training.json) gives 32-px clips in
    generate-eval, evaluate --synthetic (the size generate_eval.json records) and table1."""
    from asva.commands.evaluate import main as evaluate_main
    from asva.commands.table1 import main as table1_main
    from asva.evaluation.synthetic import table1
    from asva.media import probe

    model = tiny_model_dir(prompts=tiny_synth, size=32)
    out, report, table = tmp_path / "generated", tmp_path / "report", tmp_path / "table"
    assert generate_main(["--dataset", str(tiny_synth), "--model", str(model), "-o", str(out), "--steps", "1",
                          "--eta", "1", "--clips-per-video", "1", "--device", "cpu", "--no-progress"]) == 0
    assert {(probe(c).height, probe(c).width) for c in out.rglob("*.mp4")} == {(32, 32)}
    assert evaluate_main(["--synthetic", "--dataset", str(tiny_synth), "--generated", str(out), "-o",
                          str(report), "--metrics", "oracle", "--clips-per-video", "1", "--no-progress"]) == 0
    assert json.loads((report / "metrics.json").read_text())["protocol"]["frame_size"] == 32
    made, real_generate = [], table1.generate

    def spy(*args, **kw):
        videos = real_generate(*args, **kw)
        made.extend(videos)
        return videos

    monkeypatch.setattr(table1, "generate", spy)
    assert table1_main(["--dataset", str(tiny_synth), "--model", str(model), "--etas", "1", "--steps", "1",
                        "--limit", "1", "--sync-model", "none", "-o", str(table), "--no-progress"]) == 0
    assert len(made) == 3 and {tuple(v.shape) for v in made} == {(3, 12, 32, 32)}
    assert json.loads((table / "metrics.json").read_text())["protocol"]["frame_size"] == 32


def test_clip_size_is_the_given_or_the_model_side(tiny_synth, tiny_model_dir):
    from asva.evaluation.synthetic.table1 import clip_size

    assert clip_size(tiny_model_dir(prompts=tiny_synth, size=32)) == 32
    assert clip_size(tiny_model_dir(prompts=tiny_synth, size=32), 48) == 48
    assert clip_size(tiny_model_dir(prompts=tiny_synth)) == 256  # no training.json, not registered
    with pytest.raises(ValueError, match=r"trained at 32x64 \(h x w\).*give --size N"):
        clip_size(tiny_model_dir(prompts=tiny_synth, size=(32, 64)))
    with pytest.raises(ValueError, match="size must be a positive number of pixels, got 0"):
        clip_size("unused", 0)
