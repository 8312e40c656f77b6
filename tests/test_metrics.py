"""Metric arithmetic: Frechet distance, RelSync / AlignSync, IA / IT, FID preprocessing and loading."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from asva.metrics.clip_similarity import clip_scores, cosine_scores, frame_similarities, ia_it_metrics
from asva.metrics.frechet import feature_statistics, frechet_distance, frechet_distance_from_statistics
from asva.metrics.inception import (
    INCEPTION_RENAMES,
    FIDInceptionV3,
    clip_frames_for_fid,
    load_fid_inception,
    preprocess_fid_images,
)
from asva.metrics.sync_scores import align_probs, alignsync, mean_std, relsync, sync_metrics
from asva.models.checkpoint import apply_renames


# --------------------------------------------------------------------------- Frechet distance
def test_frechet_hand_cases():
    # 1-d: FD = (m1 - m2)^2 + (sqrt(v1) - sqrt(v2))^2 = 16 + (sqrt 2 - sqrt 8)^2 = 18
    assert frechet_distance(torch.tensor([[0.0], [2.0]]), torch.tensor([[3.0], [7.0]])) == pytest.approx(18.0)
    x = torch.randn(200, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    shift = torch.tensor([1.0, -2.0, 0.0, 0.5, 3.0], dtype=torch.float64)
    assert frechet_distance(x, x + shift) == pytest.approx(float(shift @ shift), abs=1e-8)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)
    x = x - x.mean(0)  # zero mean: FD(x, 2x) = tr S + tr 4S - 2 tr 2S = tr S
    assert frechet_distance(x, 2 * x) == pytest.approx(float(x.var(0).sum()), rel=1e-8)


def test_frechet_golden(golden):
    case = load_file(str(golden / "fid_inception" / "case.safetensors"))
    values = json.loads((golden / "fid_inception" / "values.json").read_text())
    x1, x2 = case["frechet.x1"], case["frechet.x2"]
    assert abs(frechet_distance(x1, x2) - values["frechet_distance"]) <= 1e-6
    assert abs(frechet_distance(x1.double(), x2.double()) - values["frechet_distance_float64_inputs"]) <= 1e-6
    mu, sigma = feature_statistics(x1)
    assert mu.dtype == np.float32 and sigma.dtype == np.float64  # official dtypes
    assert frechet_distance_from_statistics(mu, sigma, *feature_statistics(x2)) == frechet_distance(x1, x2)


def test_frechet_bad_input():
    with pytest.raises(ValueError, match="same feature size"):
        frechet_distance(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"x1 must be \(n, d\) features with n >= 2"):
        frechet_distance(torch.zeros(1, 3), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="non-finite"):
        frechet_distance(torch.tensor([[0.0], [math.nan]]), torch.zeros(4, 1))
    with pytest.raises(ValueError, match="statistics do not match"):
        frechet_distance_from_statistics(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


# --------------------------------------------------------------------------- RelSync / AlignSync
def test_sync_scores_hand_cases():
    torch.testing.assert_close(relsync(torch.tensor([0.3, 0.0]), torch.tensor([0.3, math.log(3)])),
                               torch.tensor([0.5, 0.75]))
    assert relsync(torch.tensor([0.0]), torch.tensor([1000.0])).item() == 1.0  # no overflow
    probs = align_probs(torch.tensor([0.2, 0.0]), torch.tensor([[0.2, 0.2], [math.log(3), 0.0]]))
    torch.testing.assert_close(probs, torch.tensor([0.5, (0.75 + 0.5) / 2]))
    score = alignsync(torch.zeros(2), torch.zeros(2), torch.tensor([0.2, 0.0]),
                      torch.tensor([[0.2, 0.2], [math.log(3), 0.0]]))
    torch.testing.assert_close(score, probs * 0.5)
    mean, std = mean_std(torch.tensor([0.25, 0.75]), scale=100)
    assert (mean, std) == pytest.approx((50.0, 100 * math.sqrt(0.125)))
    assert math.isnan(mean_std(torch.tensor([0.5]))[1])


def test_sync_scores_golden(golden):
    case = load_file(str(golden / "avsync_classifier" / "case.safetensors"))
    values = json.loads((golden / "avsync_classifier" / "values.json").read_text())
    gt_sim, gen_sims = case["alignsync.gt_first_frame_ia_sim"], case["alignsync.gen_frame_ia_sims"]

    def err(a, b):
        return (torch.as_tensor(a) - torch.as_tensor(b)).abs().max().item()

    # the worked example on the classifier's own logits: "pan" is ground truth
    phi = case["phi"]
    assert err(case["relsync.gt_phi"], phi[[0, 0, 3, 3]]) == 0
    assert err(case["relsync.gen_phi"], phi[[1, 2, 4, 5]]) == 0
    assert err(relsync(case["relsync.gt_phi"], case["relsync.gen_phi"]), case["relsync.relsync"]) <= 1e-6
    assert err(align_probs(gt_sim, gen_sims), case["alignsync.align_probs"]) <= 1e-6
    got = alignsync(case["relsync.gt_phi"], case["relsync.gen_phi"], gt_sim, gen_sims)
    assert err(got, case["alignsync.alignsync"]) <= 1e-6
    metrics = sync_metrics(case["relsync.gt_phi"], case["relsync.gen_phi"], gt_sim, gen_sims)
    assert err(list(metrics.values()), case["metrics"]) <= 1e-6
    assert err(list(metrics.values()), list(values["metrics"].values())) <= 1e-6
    # hand-picked logits, far from 0.5
    ex = values["example"]
    assert err(relsync(case["example.gt_phi"], case["example.gen_phi"]), ex["relsync"]) <= 1e-6
    got = alignsync(case["example.gt_phi"], case["example.gen_phi"], gt_sim, gen_sims)
    assert err(got, ex["alignsync"]) <= 1e-6
    metrics = sync_metrics(case["example.gt_phi"], case["example.gen_phi"], gt_sim, gen_sims)
    assert err(list(metrics.values()), ex["metrics"]) <= 1e-6
    relsync_only = sync_metrics(case["example.gt_phi"], case["example.gen_phi"])
    assert list(relsync_only) == ["RelSync_mean", "RelSync_std"]


def test_sync_scores_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        relsync(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="gt_phi must be a 1-d float tensor"):
        relsync(torch.zeros(3, 1), torch.zeros(3))
    with pytest.raises(ValueError, match=r"gen_frame_sims \(b, f - 1\)"):
        align_probs(torch.zeros(3), torch.zeros(2, 11))
    with pytest.raises(ValueError, match="needs both"):
        sync_metrics(torch.zeros(2), torch.zeros(2), gt_first_frame_sim=torch.zeros(2))


# --------------------------------------------------------------------------- IA / IT
def test_clip_similarity_golden(golden):
    case = load_file(str(golden / "imagebind" / "similarity" / "similarity.safetensors"))
    vision = case["vision_embedding"]
    ia = cosine_scores(vision[:, None], case["audio_unit"][None])
    it = cosine_scores(vision[:, None], case["text_unit"][None])
    assert (ia - case["ia_cos"]).abs().max() <= 5e-7 and (it - case["it_cos"]).abs().max() <= 7e-7
    assert (100 * ia - case["ia_x100"]).abs().max() <= 5e-5
    assert (100 * it - case["it_x100"]).abs().max() <= 7e-5


def test_clip_similarity_hand_cases():
    e = torch.eye(4)
    frames = torch.stack([e[[0, 1, 1]], e[[2, 2, 3]]])  # (2 clips, 3 frames, 4)
    cond = torch.stack([e[1], (e[2] + e[3]) / math.sqrt(2)])
    sims = frame_similarities(frames, cond)
    torch.testing.assert_close(sims, torch.tensor([[0.0, 1.0, 1.0], [0.7071068] * 3]))
    torch.testing.assert_close(clip_scores(sims), torch.tensor([1.0, 0.7071068]))  # frame 0 left out
    torch.testing.assert_close(clip_scores(sims, skip_first=False), torch.tensor([2 / 3, 0.7071068]))
    metrics = ia_it_metrics(ia_frame_sims=sims)
    assert list(metrics) == ["IA_mean", "IA_std"]
    assert metrics["IA_mean"] == pytest.approx(100 * (1 + 0.7071068) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="unit-norm"):
        frame_similarities(frames, 20 * cond)  # audio embedding not divided by its logit scale
    with pytest.raises(ValueError, match=r"frame_emb \(b, f, d\)"):
        frame_similarities(frames[0], cond)


# --------------------------------------------------------------------------- FID Inception
def test_fid_preprocessing():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2, 3, 40, 50), dtype=torch.uint8, generator=g)
    out = preprocess_fid_images(images)
    assert out.shape == (2, 3, 229, 229)
    assert preprocess_fid_images(images, size=299).shape == (2, 3, 299, 299)
    torch.testing.assert_close(out, preprocess_fid_images(images.float() / 255))
    flat = preprocess_fid_images(torch.full((1, 3, 10, 10), 255, dtype=torch.uint8), size=80)
    torch.testing.assert_close(flat, torch.ones(1, 3, 80, 80))  # white -> +1, no clamping needed
    with pytest.raises(ValueError, match="at least 75 px"):
        preprocess_fid_images(images, size=64)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        preprocess_fid_images(images.float())
    frames = clip_frames_for_fid(torch.arange(2 * 3 * 4).view(2, 1, 3, 2, 2).expand(2, 3, 3, 2, 2))
    assert frames.shape == (4, 3, 2, 2) and frames[:, 0, 0, 0].tolist() == [4, 8, 16, 20]


def test_inception_keys_and_renames(golden):
    keys = json.loads((golden / "fid_inception" / "keys.json").read_text())
    model = FIDInceptionV3().state_dict()
    renamed = apply_renames({k: torch.empty(s) for k, s in keys["keys"].items()}, INCEPTION_RENAMES)
    assert set(renamed) - set(model) == {"fc.weight", "fc.bias"}  # in the checkpoint, unused
    assert set(model) <= set(renamed) and len(model) == 564
    assert all(tuple(renamed[k].shape) == tuple(model[k].shape) for k in model)
    wrapper = apply_renames({k: torch.empty(0) for k in keys["wrapper_to_checkpoint"]}, INCEPTION_RENAMES)
    assert sorted(wrapper) == sorted(keys["wrapper_to_checkpoint"].values())
    assert sum(p.numel() for p in FIDInceptionV3().parameters()) == keys["param_counts"]["wrapper_parameters"]


def test_inception_bad_weights(tmp_path):
    with pytest.raises(ValueError, match=r"FID \(Inception weights .*\): weight file .*pt_inception.pth"):
        load_fid_inception(tmp_path / "pt_inception.pth")
    wrong = tmp_path / "sync.pt"
    torch.save({"head.fc.0.weight": torch.zeros(2, 2), "fc.weight": torch.zeros(1008, 2048)}, wrong)
    with pytest.raises(ValueError, match=r"564 missing \(first: Conv2d_1a_3x3.conv.weight") as err:
        load_fid_inception(wrong)
    assert err.value.unexpected == ["head.fc.0.weight"]  # fc itself is accepted
    assert len(err.value.missing) == 564 and "Mixed_7c.branch_pool.bn.running_var" in err.value.missing
