"""asva.evaluation: FVD on a scripted stand-in I3D, matching and refusals, reports, `asva evaluate`."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch
from torch import nn

from asva.commands.evaluate import main as evaluate_main
from asva.evaluation import (
    Clip,
    EvalConfig,
    Extractors,
    MismatchError,
    generated_name,
    match_generated,
    run_evaluation,
)
from asva.media import write_video
from asva.metrics.fvd import fvd, i3d_features, load_i3d, preprocess_fvd_videos
from media_helpers import write_clip

SIZE = 64  # frame side the tests read clips at (the protocol's 256 works the same, slower)


class TinyI3D(nn.Module):
    """Stand-in with the I3D TorchScript call signature: (b, 3, f, h, w) in [-1, 1] -> (b, 4)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(3, 4, kernel_size=3, stride=(2, 8, 8))

    def forward(
        self, x: torch.Tensor, rescale: bool = False, resize: bool = False, return_features: bool = False
    ) -> torch.Tensor:
        return self.conv(x).mean(dim=(2, 3, 4))


class TinyInception(nn.Module):
    """Stand-in FID network: (n, 3, s, s) in [-1, 1] -> (n, 3) pooled features."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, kernel_size=5, stride=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean(dim=(2, 3))


def save_tiny_i3d(path):
    torch.manual_seed(0)
    torch.jit.save(torch.jit.script(TinyI3D().eval()), str(path))
    return path


def save_tiny_sync(path):
    from asva.models.sync import SyncClassifier, SyncClassifierConfig, save_sync_classifier

    torch.manual_seed(0)
    return save_sync_classifier(SyncClassifier(SyncClassifierConfig.from_preset("tiny")).eval(), path)


def random_clip(seed, frames=12, size=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (3, frames, size, size), dtype=torch.uint8, generator=g)


# ---------------------------------------------------------------- FVD


def test_fvd_on_scripted_stand_in(tmp_path):
    net = load_i3d(save_tiny_i3d(tmp_path / "i3d_torchscript.pt"))
    videos = torch.stack([random_clip(i, size=40) for i in range(4)])
    feats = i3d_features(net, videos, batch_size=3)
    assert feats.shape == (4, 4) and feats.dtype == torch.float32
    ref = TinyI3D()
    ref.load_state_dict(net.state_dict())
    torch.testing.assert_close(feats, ref(preprocess_fvd_videos(videos)).detach(), rtol=1e-5, atol=1e-6)
    assert fvd(feats, feats) == pytest.approx(0.0, abs=1e-6)
    assert fvd(feats, feats + 1.0) == pytest.approx(4.0, rel=1e-4)  # ||mu shift||^2 over 4 dims


def test_fvd_preprocessing_protocol():
    video = random_clip(1, size=40)[None]
    x = preprocess_fvd_videos(video)
    assert x.shape == (1, 3, 12, 224, 224)
    assert -1.5 < x.min() < -0.5 and 0.5 < x.max() < 1.5  # [-1, 1] up to bicubic overshoot
    with pytest.raises(ValueError, match="12 frames"):
        preprocess_fvd_videos(random_clip(1, frames=8)[None])


def test_load_i3d_errors(tmp_path):
    with pytest.raises(ValueError, match="i3d_torchscript.pt.*no file"):
        load_i3d(tmp_path / "nope.pt")
    bad = tmp_path / "i3d_torchscript.pt"
    bad.write_bytes(b"not torchscript")
    with pytest.raises(ValueError, match="not a TorchScript file"):
        load_i3d(bad)


# ---------------------------------------------------------------- matching


def write_random_clip(path, frames=12, fps=6.0, audio=True, seed=0):
    wave = torch.zeros(round(frames / fps * 16000)) if audio else None
    write_clip(path, random_clip(seed, frames), fps, audio=wave)


def test_matching_accepts_the_expected_layout(tmp_path):
    videos = ["dog/a.mp4", "cat/b.mp4"]
    for v in videos:
        for k in range(3):
            write_random_clip(tmp_path / generated_name(v, k))
    clips = match_generated(videos, tmp_path)
    assert [c.name for c in clips] == [
        "dog/a_clip-00.mp4",
        "dog/a_clip-01.mp4",
        "dog/a_clip-02.mp4",
        "cat/b_clip-00.mp4",
        "cat/b_clip-01.mp4",
        "cat/b_clip-02.mp4",
    ]
    assert [c.index for c in clips] == list(range(6)) and clips[4].clip_index == 1 and clips[4].cls == "cat"
    with pytest.raises(MismatchError) as info:  # one clip per video: clips 1 and 2 are extra
        match_generated(videos, tmp_path, clips_per_video=1)
    assert sorted(p.path for p in info.value.problems if p.kind == "extra") == [
        "cat/b_clip-01.mp4",
        "cat/b_clip-02.mp4",
        "dog/a_clip-01.mp4",
        "dog/a_clip-02.mp4",
    ]


def test_matching_refuses_with_every_problem(tmp_path):
    videos = ["dog/a.mp4", "cat/b.mp4"]
    write_random_clip(tmp_path / "dog/a_clip-00.mp4")
    write_random_clip(tmp_path / "dog/a_clip-01.mp4", frames=8)  # wrong length
    write_random_clip(tmp_path / "dog/a_clip-02.mp4", frames=48, fps=24.0)  # same 2 s at 24 fps: fine
    write_random_clip(tmp_path / "cat/b_clip-00.mp4", audio=False)
    (tmp_path / "cat/b_clip-01.mp4").write_bytes(b"garbage")
    write_random_clip(tmp_path / "cat/b_clip-7.mp4")  # extra (and b_clip-02 missing)
    (tmp_path / "cat/.b_clip-02.tmp.mp4").write_bytes(b"")  # an interrupted atomic write: ignored
    with pytest.raises(MismatchError) as info:
        match_generated(videos, tmp_path)
    kinds = {(p.kind, p.path) for p in info.value.problems}
    assert kinds == {
        ("frames", "dog/a_clip-01.mp4"),
        ("no-audio", "cat/b_clip-00.mp4"),
        ("unreadable", "cat/b_clip-01.mp4"),
        ("missing", "cat/b_clip-02.mp4"),
        ("extra", "cat/b_clip-7.mp4"),
    }
    message = str(info.value)
    assert "1 missing" in message and "cat/b_clip-02.mp4" in message and "expected 12" in message
    # without audio metrics a silent clip is fine
    with pytest.raises(MismatchError) as info:
        match_generated(videos, tmp_path, need_audio=False)
    assert "no-audio" not in {p.kind for p in info.value.problems}


def test_matching_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        match_generated(["dog/a.mp4"], tmp_path / "nope")


# ---------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def bench(tmp_path_factory, tiny_synth):
    """A 2-class `asva synth` benchmark (2 test videos) and a generated set that copies the test
    clips (frames and audio) in the layout `asva evaluate` expects."""
    from asva.data import AVSyncDataset

    root = tmp_path_factory.mktemp("bench")
    data = tiny_synth
    test = AVSyncDataset(data, "test", mode="eval", eval_starts="three", size=SIZE)
    gen = root / "generated"
    for i in range(len(test)):
        item = test[i]
        frames = ((item["video"] + 1) * 127.5).round().to(torch.uint8)
        write_video(gen / generated_name(item["path"], item["clip_index"]), frames, 6.0, audio=item["audio"])
    weights = root / "weights"
    weights.mkdir()
    save_tiny_i3d(weights / "i3d_torchscript.pt")
    save_tiny_sync(weights / "sync_classifier")
    return {"data": data, "generated": gen, "weights": weights, "num_clips": len(test)}


def run_cli(bench, out, *extra):
    return evaluate_main(
        [
            "--dataset",
            str(bench["data"]),
            "--generated",
            str(bench["generated"]),
            "-o",
            str(out),
            "--size",
            str(SIZE),
            "--no-progress",
            *extra,
        ]
    )


def test_evaluate_cli_on_copies(bench, tmp_path, capsys):
    out = tmp_path / "report"
    assert run_cli(bench, out, "--metrics", "fvd,relsync,oracle", "--weights", str(bench["weights"])) == 0
    report = json.loads((out / "metrics.json").read_text())
    m = report["metrics"]
    # copies of the test clips (re-encoded once): RelSync ~ 50, FVD ~ 0, oracle as on the test clips
    assert m["RelSync_mean"] == pytest.approx(50.0, abs=1.0)
    assert 0 <= m["FVD"] < 1e-3
    # The oracle reads both sides' frames as written (the official rule, which the other metrics use,
    # would skip frame 2 of the 6-fps copies and shift the event timing: correlation ~0.44 vs ~0.8).
    for name in ("hit_rate", "false_motion_rate", "correlation"):
        assert m[f"Oracle_{name}"] == pytest.approx(m[f"Oracle_{name}_gt"], abs=0.05), name
    assert m["Oracle_hit_rate_gt"] > 0.5 and m["Oracle_correlation_gt"] > 0.6
    assert report["protocol"]["fid_size"] == 229 and "229 px" in report["protocol"]["fid_protocol"]
    # --device auto and --batch-size auto: one clip per network call on a CPU
    assert report["inputs"]["batch_size"] == (1 if report["inputs"]["device"] == "cpu" else 8)
    assert report["info"]["num_clips"] == bench["num_clips"] == 6
    rows = list(csv.DictReader((out / "per_clip.csv").open()))
    assert len(rows) == 6 and rows[0]["clip"].endswith("_clip-00.mp4")
    assert {"RelSync", "phi_gt", "phi_gen", "oracle_hit_rate"} <= set(rows[0])
    table = (out / "metrics.md").read_text()
    assert "FID protocol" in table and "229 px" in table and "| RelSync |" in table and "| FVD |" in table
    assert "FID protocol" in capsys.readouterr().out
    # a second run reads every feature from the cache
    assert run_cli(bench, out, "--metrics", "fvd,relsync,oracle", "--weights", str(bench["weights"])) == 0
    again = json.loads((out / "metrics.json").read_text())
    assert again["info"]["cache_misses"] == 0 and again["info"]["cache_hits"] > 0
    assert again["metrics"] == pytest.approx(m, nan_ok=True)


def test_evaluate_library_with_stand_in_nets(bench):
    nets = stand_in_nets(bench)
    config = EvalConfig(
        bench["data"],
        bench["generated"],
        ("fid", "fvd", "ia", "it", "relsync", "alignsync"),
        size=SIZE,
        progress=False,
    )
    result = run_evaluation(config, nets)
    m = result.metrics
    assert set(m) == {
        "FID",
        "FVD",
        "IA_mean",
        "IA_std",
        "IT_mean",
        "IT_std",
        "RelSync_mean",
        "RelSync_std",
        "AlignSync_mean",
        "AlignSync_std",
    }
    assert 0 <= m["FID"] < 1e-2 and all(torch.isfinite(torch.tensor(v)) for v in m.values())
    assert -100 <= m["IA_mean"] <= 100 and -100 <= m["IT_mean"] <= 100
    # AlignSync = AlignProb x RelSync with AlignProb in (0, 1)
    for row in result.rows:
        assert 0 < row["AlignSync"] < row["RelSync"]
    config.workers = 2  # clips decoded in DataLoader workers: the same numbers
    assert run_evaluation(config, nets).metrics == m


def test_missing_weights_error_and_skip(bench, tmp_path, capsys):
    out = tmp_path / "report"
    # `asva` turns this ValueError into one line and exit code 2
    with pytest.raises(
        ValueError, match=r"metric FID needs the FID Inception weights .*pt_inception-2015-12-05"
    ):
        run_cli(bench, out, "--metrics", "fid,oracle", "--weights", str(bench["weights"]))
    assert not (out / "metrics.json").exists()
    assert (
        run_cli(bench, out, "--metrics", "fid,oracle", "--weights", str(bench["weights"]), "--skip-missing")
        == 0
    )
    report = json.loads((out / "metrics.json").read_text())
    assert "FID" not in report["metrics"] and "Oracle_hit_rate" in report["metrics"]
    assert "pt_inception" in report["skipped"]["FID"]
    assert "skipping FID" in capsys.readouterr().err
    assert "| FID | skipped |" in (out / "metrics.md").read_text()


def test_evaluate_refuses_a_mismatched_set_via_asva(bench, tmp_path, capsys):
    from asva.cli import main as asva_main

    gen = tmp_path / "generated"
    shutil.copytree(bench["generated"], gen)
    victim = sorted(gen.rglob("*_clip-01.mp4"))[0]
    victim.unlink()
    code = asva_main(
        [
            "evaluate",
            "--dataset",
            str(bench["data"]),
            "--generated",
            str(gen),
            "-o",
            str(tmp_path / "r"),
            "--metrics",
            "oracle",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "asva evaluate: error: generated set" in err
    assert f"missing: {victim.relative_to(gen).as_posix()}" in err


def test_synthetic_generated_set_defaults(bench, tmp_path, capsys):
    """--synthetic on a generated set: oracle + RelSync; without the shipped sync model, --skip-missing
    still gives the oracle."""
    from asva.models.registry import MODELS, candidate_folders, is_model_folder

    out = tmp_path / "synthetic"
    assert run_cli(bench, out, "--synthetic", "--skip-missing") == 0
    report = json.loads((out / "metrics.json").read_text())
    assert "Oracle_hit_rate" in report["metrics"] and report["protocol"]["synthetic"] is True
    assert ("RelSync_mean" in report["metrics"]) == is_model_folder(
        candidate_folders(MODELS["sync-synth-tiny"])[0], "sync")
    with pytest.raises(SystemExit):  # the synthetic Table 1 is `asva table1`
        run_cli(bench, out, "--model", "some-model")


def test_sync_weights_take_registered_names(tmp_path):
    """--sync-weights resolves a registered classifier name in every mode (not only --synthetic)."""
    from asva.commands.evaluate import sync_weights_path
    from asva.models.registry import MODELS, candidate_folders, is_model_folder

    assert sync_weights_path(None) is None and sync_weights_path(str(tmp_path)) == tmp_path
    with pytest.raises(ValueError, match="sync-vggss.*is not installed"):
        sync_weights_path("sync-vggss")
    bundled = candidate_folders(MODELS["sync-synth-tiny"])[0]
    if is_model_folder(bundled, "sync"):
        assert sync_weights_path("sync-synth-tiny") == bundled


# ---------------------------------------------------------------- batches and devices


def stand_in_nets(bench):
    from asva.models.imagebind import ImageBind
    from asva.models.sync import load_sync_classifier

    torch.manual_seed(0)
    return Extractors(
        fid=TinyInception().eval(),
        i3d=load_i3d(bench["weights"] / "i3d_torchscript.pt"),
        imagebind=ImageBind("tiny").eval(),
        sync=load_sync_classifier(bench["weights"] / "sync_classifier"),
    )


def test_batch_features_equal_one_clip_at_a_time(bench):
    """Each network called once on 3 clips gives, clip by clip, what it gives on each clip alone."""
    from asva.evaluation.features import KINDS, batch_features, compute_feature

    nets = stand_in_nets(bench)
    g = torch.Generator().manual_seed(0)
    clips = [Clip(video=random_clip(i, size=SIZE), mel=torch.randn(1, 128, 204, generator=g), start=0.0)
             for i in range(3)]
    for kind in KINDS[:-1]:  # the oracle needs sidecars and no network
        batched = batch_features(kind, clips, nets, fps=6.0)
        assert len(batched) == 3, kind
        for clip, value in zip(clips, batched, strict=True):
            torch.testing.assert_close(value, compute_feature(kind, clip, nets, fps=6.0), rtol=1e-4,
                                       atol=1e-5, msg=kind)
        assert not torch.allclose(batched[0], batched[1]), kind  # distinct clips, distinct features
    with pytest.raises(ValueError, match="differ in shape"):
        batch_features("fvd", [clips[0], Clip(video=random_clip(9, size=SIZE + 8), mel=None, start=0.0)],
                       nets, fps=6.0)


def test_batch_sizes_give_the_same_metrics(bench):
    """Batches of 1 (the per-clip path) and of 4 (6 clips: a full and a short batch) agree on every
    metric and every per-clip value."""
    nets = stand_in_nets(bench)
    metrics = ("fid", "fvd", "ia", "it", "relsync", "alignsync", "oracle")
    one, four = (run_evaluation(EvalConfig(bench["data"], bench["generated"], metrics, size=SIZE,
                                           progress=False, batch_size=b), nets) for b in (1, 4))
    assert set(one.metrics) == set(four.metrics) and "AlignSync_mean" in one.metrics
    assert four.metrics == pytest.approx(one.metrics, rel=1e-4, abs=1e-4, nan_ok=True)
    for a, b in zip(one.rows, four.rows, strict=True):
        assert a["clip"] == b["clip"]
        for key in ("IA", "IT", "phi_gen", "RelSync", "AlignSync", "oracle_correlation"):
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-4, nan_ok=True), (a["clip"], key)


def test_bad_batch_size_and_unavailable_device(bench, tmp_path, capsys, monkeypatch):
    from asva.cli import main as asva_main
    from asva.evaluation.run import pick_batch_size

    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError, match=f"batch size must be an integer >= 1.*got {bad}"):
            EvalConfig(bench["data"], bench["generated"], ("oracle",), batch_size=bad)
    args = ["evaluate", "--dataset", str(bench["data"]), "--generated", str(bench["generated"]),
            "-o", str(tmp_path / "r"), "--metrics", "relsync", "--weights", str(bench["weights"]),
            "--size", str(SIZE), "--no-progress"]
    for bad in ("0", "-1", "two", "1.5"):
        assert asva_main([*args, "--batch-size", bad]) == 2
        assert f"error: --batch-size '{bad}': expected auto or a whole number >= 1" in capsys.readouterr().err
    assert pick_batch_size("auto", torch.device("cpu")) == 1  # measured fastest on a CPU
    assert pick_batch_size("auto", torch.device("cuda")) == 8
    assert pick_batch_size("3", torch.device("cpu")) == 3
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert asva_main([*args, "--device", "cuda"]) == 2
    assert "error: --device cuda: not available on this machine" in capsys.readouterr().err
    assert not (tmp_path / "r" / "metrics.json").exists()
