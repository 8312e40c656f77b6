"""The oracle synchrony score on synthetic clips: ground truth high, static and shifted low."""
import json
import math

import numpy as np
import pytest
import torch

from asva.metrics.oracle import (
    event_frames,
    event_indicator,
    find_peaks,
    load_sidecar,
    motion_signal,
    oracle_score,
    scale_box,
    score_clip,
)
from asva.synth.classes import CLASSES
from asva.synth.generate import clip_file
from asva.synth.scene import make_clip


@pytest.fixture(scope="module")
def clips():
    """Two in-memory clips per class, 64 px, half of them with a second (silent) object."""
    out = []
    for name in sorted(CLASSES):
        for index in range(2):
            clip = make_clip(name, index, 11, size=64, two_object_fraction=0.5)
            out.append((torch.from_numpy(clip.frames).permute(3, 0, 1, 2), clip.meta))  # (c, f, h, w)
    return out


def _score(video, fps, meta, shift=0.0):
    times = [t + shift for t in meta["event_times"]]
    return oracle_score(video, fps, times, meta["sounding_box"], meta["event_durations"])


def test_ground_truth_scores_high_at_24_fps(clips):
    scores = []
    for video, meta in clips:
        s = _score(video, 24, meta)
        assert s.hit_rate == 1.0 and s.false_motion_rate == 0.0, meta["class"]
        assert s.correlation > 0.78, (meta["class"], s)
        scores.append(s.correlation)
    assert np.mean(scores) > 0.85


def test_ground_truth_scores_high_at_6_fps(clips):
    """12 frames at 6 fps is what the model sees: every 4th frame of the 24 fps clip."""
    scores = [_score(video[:, ::4], 6, meta) for video, meta in clips]
    assert np.mean([s.hit_rate for s in scores]) > 0.85
    assert np.mean([s.correlation for s in scores]) > 0.75
    assert min(s.correlation for s in scores) > 0.6
    assert max(s.false_motion_rate for s in scores) == 0.0


def test_static_clip_scores_zero(clips):
    for video, meta in clips[:4]:
        static = video[:, :1].expand_as(video)
        for v, fps in ((static, 24), (static[:, ::4], 6)):
            s = _score(v, fps, meta)
            assert s.hit_rate == 0.0 and s.correlation == 0.0 and s.num_peaks == 0


def test_events_shifted_by_half_a_second_score_low(clips):
    for fps, step in ((24, 1), (6, 4)):
        true = [_score(v[:, ::step], fps, m) for v, m in clips]
        shifted = [_score(v[:, ::step], fps, m, shift=0.5) for v, m in clips]
        assert np.mean([s.correlation for s in shifted]) < 0.3
        assert np.mean([s.correlation for s in true]) - np.mean([s.correlation for s in shifted]) > 0.5
        if fps == 24:
            assert np.nanmean([s.hit_rate for s in shifted]) < 0.5


def test_model_space_float_video_scores_like_uint8(clips):
    video, meta = clips[0]
    as_float = video.float() / 127.5 - 1.0  # [-1, 1]
    a, b = _score(video, 24, meta), _score(as_float, 24, meta)
    assert a.hit_rate == b.hit_rate and a.correlation == pytest.approx(b.correlation, abs=1e-5)


def test_score_written_clip_at_6_fps_and_in_a_window(synth_dataset):
    out = synth_dataset(videos_per_class=1, seed=4, size=64, classes=("hammer",), test_fraction=0.2)
    path = out / "videos" / clip_file("hammer", 0)
    full = score_clip(path, fps=6)
    assert full.hit_rate > 0.8 and full.correlation > 0.7
    resized = score_clip(path, fps=6, size=32)  # box rescaled to the smaller frames
    assert resized.correlation > 0.7
    meta = load_sidecar(path)
    start = max(0.0, meta["event_times"][0] - 0.5)
    window = score_clip(path, fps=6, start=start, duration=2.0)
    assert window.num_events >= 1 and window.hit_rate > 0.5
    assert load_sidecar(path.with_suffix(".json")) == meta


def test_peaks_indicator_and_frames():
    m = torch.tensor([0.0, 0.0, 1.0, 0.2, 0.1, 0.5, 0.5, 0.0, 0.05, 0.0])
    assert find_peaks(m) == [2, 5]  # 0.05 is below 0.3 of the range; a plateau peaks at its start
    assert find_peaks(torch.zeros(6)) == []
    assert event_frames([0.0, 0.5, 0.51], 24, 24.0) == [0, 12, 13]
    ind = event_indicator([0.5], 24, 24.0)
    assert ind[12] == 1.0 and ind[11] == ind[13] == 0.25 and ind.sum() == 1.5


def test_motion_signal_counts_only_the_box():
    video = torch.zeros(3, 4, 16, 16, dtype=torch.uint8)
    video[:, 2, 0:4, 0:4] = 255  # a flash outside the box
    video[:, 3, 8:16, 8:16] = 255  # the box lights up fully
    m = motion_signal(video, (8, 8, 16, 16))
    assert m.tolist() == [0.0, 0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="does not overlap"):
        motion_signal(video, (20, 20, 30, 30))
    with pytest.raises(ValueError, match="expected a video"):
        motion_signal(video[0], (0, 0, 4, 4))


def test_no_visible_events_gives_nan_hit_rate():
    video = torch.zeros(3, 6, 8, 8)
    s = oracle_score(video, 6.0, [5.0], (0, 0, 8, 8))
    assert math.isnan(s.hit_rate) and s.num_events == 0 and s.false_motion_rate == 0.0


def test_scale_box_and_bad_input(tmp_path):
    assert scale_box((15, 0, 25, 20), 40, 20, 10) == (2.5, 0.0, 7.5, 10.0)  # crop 10 px each side, halve
    assert scale_box((1, 2, 3, 4), 8, 8, None) == (1.0, 2.0, 3.0, 4.0)
    with pytest.raises(ValueError, match="fps"):
        oracle_score(torch.zeros(3, 2, 4, 4), 0, [0.1], (0, 0, 4, 4))
    with pytest.raises(ValueError, match="durations"):
        oracle_score(torch.zeros(3, 2, 4, 4), 6, [0.1], (0, 0, 4, 4), [0.1, 0.2])
    with pytest.raises(ValueError, match="no sidecar"):
        load_sidecar(tmp_path / "missing.mp4")
    (tmp_path / "bad.json").write_text(json.dumps({"event_times": []}))
    with pytest.raises(ValueError, match="sounding_box"):
        load_sidecar(tmp_path / "bad.json")
