"""What a synthetic clip contains (in memory, no files): motion only at events, distinct sounds."""
import numpy as np
import pytest

from asva.synth.classes import CLASSES, Response, activation, get_class
from asva.synth.scene import FPS, SAMPLE_RATE, make_clip


def test_same_seed_same_clip_and_different_index_differs():
    a, b = make_clip("dog", 3, 5, size=48), make_clip("dog", 3, 5, size=48)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio) and a.meta == b.meta
    c = make_clip("dog", 4, 5, size=48)
    assert a.meta["event_times"] != c.meta["event_times"]


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_shapes_and_motion_only_in_the_sounding_box_at_events(name):
    clip = make_clip(name, 0, 2, size=64, two_object_fraction=1.0)  # always a second, silent object
    meta = clip.meta
    f = meta["num_frames"]
    assert clip.frames.shape == (f, 64, 64, 3) and clip.frames.dtype == np.uint8
    assert clip.audio.shape == (f * SAMPLE_RATE // FPS,) and clip.audio.dtype == np.float32
    assert np.abs(clip.audio).max() <= 1.0
    assert len(meta["objects"]) == 2 and meta["objects"][1]["class"] != name
    x0, y0, x1, y1 = meta["sounding_box"]
    changed = np.any(clip.frames != clip.frames[:1], axis=(0, 3))  # (h, w): pixels that ever change
    assert changed.any() and not changed[:y0].any() and not changed[y1:].any()
    assert not changed[:, :x0].any() and not changed[:, x1:].any()
    first = int(np.ceil(meta["event_times"][0] * FPS))
    assert np.all(clip.frames[:first] == clip.frames[0])  # at rest until the first event
    assert np.any(clip.frames[first] != clip.frames[0])  # and visibly different at it


def test_activation_envelope():
    r = Response(hold=0.1, release=0.2)
    t = np.array([0.0, 0.49, 0.5, 0.55, 0.6, 0.8, 2.0])
    a = activation(t, [0.5], [0.1], r)
    assert a[0] == 0 and a[1] == 0 and a[2] == 1 and a[3] == 1
    assert a[4] == pytest.approx(1.0) and a[5] == pytest.approx(np.exp(-1.0), rel=1e-5) and a[6] < 1e-3
    sustained = activation(np.array([1.0, 1.25, 1.5]), [1.0], [0.5], Response(release=0.2, end_level=0.5))
    assert sustained.tolist() == pytest.approx([1.0, 0.75, 0.5])


def _band_profile(wave: np.ndarray) -> np.ndarray:
    """Normalised log energy in 16 log-spaced bands from 50 Hz to 8 kHz."""
    power = np.abs(np.fft.rfft(wave)) ** 2
    freqs = np.fft.rfftfreq(wave.size, 1 / SAMPLE_RATE)
    edges = np.geomspace(50, 8000, 17)
    band_of = np.searchsorted(edges, freqs, side="right") - 1  # -1 / 16: outside 50 Hz .. 8 kHz
    inside = (band_of >= 0) & (band_of < 16)
    bands = np.bincount(band_of[inside], weights=power[inside], minlength=16)
    logs = np.log(bands + 1e-9)
    return (logs - logs.mean()) / logs.std()


def test_each_class_sounds_distinct():
    """A clip of seed 1 is nearest (band spectrum) to the clip of its own class from seed 0."""
    names = sorted(CLASSES)
    ref = {n: _band_profile(make_clip(n, 0, 0, size=32).audio) for n in names}
    for n in names:
        probe_profile = _band_profile(make_clip(n, 0, 1, size=32).audio)
        nearest = min(names, key=lambda m: np.linalg.norm(ref[m] - probe_profile))
        assert nearest == n


def test_unknown_class():
    with pytest.raises(ValueError, match="unknown synth class 'kazoo'"):
        get_class("kazoo")
