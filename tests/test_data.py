"""AVSyncDataset on tiny datasets written here: sampling modes, item contents, collate, seeding."""
from __future__ import annotations

import json
import math

import pytest
import torch
from torch.utils.data import DataLoader

from asva.data import AVSyncDataset, collate, sampling
from asva.data.validate import scan_split
from asva.media import write_video

FPS, SR, SIZE = 12, 16000, 64
DARK = 16  # columns on the left of every frame that are black: they show a flip


def brightness(t: torch.Tensor) -> torch.Tensor:
    """Grey level of the bright part of the frame at time t: it encodes time (40 + 40 per second)."""
    return 40.0 + 40.0 * t


def amplitude(t: torch.Tensor) -> torch.Tensor:
    """Amplitude of the 440 Hz sine at time t: it also encodes time."""
    return 0.1 + 0.15 * t


def make_clip(path, seconds: float, *, audio: bool = True) -> None:
    n = round(seconds * FPS)
    t = torch.arange(n) / FPS
    frames = brightness(t).round().to(torch.uint8)[None, :, None, None].expand(3, n, SIZE, SIZE).clone()
    frames[:, :, :, :DARK] = 0
    wave = None
    if audio:
        ts = torch.arange(round(seconds * SR)) / SR
        wave = amplitude(ts) * torch.sin(2 * math.pi * 440 * ts)
    write_video(path, frames, FPS, audio=wave, sample_rate=SR)


def make_dataset(root, videos: dict[str, float], mapping: dict[str, str] | None = None, test=None) -> None:
    """Write `videos` {"<class>/<file>.mp4": seconds} and list them all in train.txt (and test.txt)."""
    for rel, seconds in videos.items():
        (root / "videos" / rel).parent.mkdir(parents=True, exist_ok=True)
        make_clip(root / "videos" / rel, seconds)
    classes = sorted({rel.split("/")[0] for rel in videos})
    mapping = mapping if mapping is not None else {c: c.replace("_", " ") for c in classes}
    (root / "class_mapping.json").write_text(json.dumps(mapping))
    (root / "train.txt").write_text("\n".join(videos) + "\n")
    (root / "test.txt").write_text("\n".join(test if test is not None else videos) + "\n")


VIDEOS = {"dog_barking/a.mp4": 3.0, "baby_crying/b.mp4": 4.0, "baby_crying/c.mp4": 2.5}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("avsync")
    make_dataset(root, VIDEOS)
    (root / "videos" / "dog_barking" / "a.json").write_text('{"offset": 0}')
    return root


def durations(root) -> dict[str, float]:
    _, entries, _ = scan_split(root, "train", 2.0)
    return {e.path: e.duration for e in entries}


def test_item_contents_shapes_and_ranges(root):
    ds = AVSyncDataset(root, "train", size=SIZE, seed=0)
    assert len(ds) == 3
    assert ds.classes == ["baby_crying", "dog_barking"]
    item = ds[0]
    assert item["video"].shape == (3, 12, SIZE, SIZE) and item["video"].dtype == torch.float32
    assert item["video"].min() >= -1.0 and item["video"].max() <= 1.0
    assert item["video"].min() < -0.9  # the black stripe reaches -1
    assert item["audio"].shape == (32000,) and item["audio"].dtype == torch.float32
    assert item["mel"].shape == (1, 128, 204) and item["mel"].dtype == torch.float32
    assert torch.isfinite(item["mel"]).all() and item["mel"].std() > 0.1
    assert (item["label"], item["prompt"], item["path"]) == (1, "dog barking", "dog_barking/a.mp4")
    assert item["sidecar"] == str(root / "videos" / "dog_barking" / "a.json")
    assert ds[1]["sidecar"] is None and ds[1]["label"] == 0 and ds[1]["prompt"] == "baby crying"
    assert 0.0 <= item["start"] <= durations(root)["dog_barking/a.mp4"] - 2.0
    assert item["clip_index"] == 0


def test_non_square_size_is_height_by_width(root):
    """TheGreatestHits is 128 x 256 (h x w): sizes are (h, w) pairs; a list (from JSON) works too."""
    for size in ((16, 32), [16, 32]):
        ds = AVSyncDataset(root, "test", size=size, mode="eval")
        assert ds.size == (16, 32) and ds[0]["video"].shape == (3, 12, 16, 32)
    assert AVSyncDataset(root, "test", size=(16, 16), mode="eval").size == 16
    for bad in (0, (16,), (16, -2), "16x32"):
        with pytest.raises(ValueError, match="size"):
            AVSyncDataset(root, "test", size=bad, mode="eval")


def test_size_options_parse_height_by_width():
    from asva.commands import animate, evaluate, generate_eval

    assert animate.build_parser().parse_args(["--size", "128x256"]).size == (128, 256)
    assert generate_eval.build_parser().parse_args(["--dataset", "d", "--model", "m", "-o", "o", "--size",
                                                    "64"]).size == 64
    assert evaluate.build_parser().parse_args(["--dataset", "d", "--generated", "g", "-o", "o", "--size",
                                               "128x256"]).size == (128, 256)
    with pytest.raises(SystemExit):
        animate.build_parser().parse_args(["--size", "128by256"])


def test_center_mode_takes_the_centred_clip_and_never_flips(root):
    ds = AVSyncDataset(root, "test", size=SIZE, mode="eval", flip_prob=1.0)
    dur = durations(root)
    assert len(ds) == 3
    for i, rel in enumerate(VIDEOS):
        assert ds.clip_start(i) == (0, pytest.approx((dur[rel] - 2.0) / 2.0))
    item = ds[1]
    assert item["start"] == pytest.approx(1.0, abs=0.05) and not item["flipped"]
    assert item["video"][:, :, :, : DARK - 2].max() < -0.9  # black stripe still on the left


def test_three_mode_has_three_clips_per_video_at_the_protocol_starts(root):
    ds = AVSyncDataset(root, "test", size=SIZE, mode="eval", eval_starts="three")
    dur = durations(root)
    assert len(ds) == 9
    for v, rel in enumerate(VIDEOS):
        slack = dur[rel] - 2.0
        for k in range(3):
            assert ds.clip_start(3 * v + k) == (k, pytest.approx(k * slack / 2.0))
    items = [ds[i] for i in (3, 4, 5)]  # video b, 4 s long
    assert [it["clip_index"] for it in items] == [0, 1, 2]
    assert [it["path"] for it in items] == ["baby_crying/b.mp4"] * 3
    assert [it["start"] for it in items] == pytest.approx([0.0, 1.0, 2.0], abs=0.05)


def test_video_and_audio_come_from_the_same_two_seconds(root):
    ds = AVSyncDataset(root, "test", size=SIZE, mode="eval", eval_starts="three")
    for i in (3, 4, 5):
        item = ds[i]
        t = item["start"] + torch.arange(12) / 6.0  # time of each output frame
        grey = (item["video"][:, :, :, DARK + 4 :].mean(dim=(0, 2, 3)) + 1) * 127.5
        # the official rule takes the first source frame at or after t (never an earlier one); pts in
        # whole microseconds can put that frame one source frame (1/12 s) after t
        assert (grey >= brightness(t) - 3.0).all() and (grey <= brightness(t + 1 / FPS) + 3.0).all()
        rms = item["audio"].square().mean().sqrt().item()
        expected = torch.sqrt((amplitude(item["start"] + torch.arange(32000) / SR) ** 2).mean() / 2)
        assert rms == pytest.approx(expected.item(), rel=0.05)


def test_train_flip_mirrors_the_frames(root):
    flipped = AVSyncDataset(root, "train", size=SIZE, flip_prob=1.0, seed=1)[1]
    plain = AVSyncDataset(root, "train", size=SIZE, flip_prob=0.0, seed=1)[1]
    assert flipped["flipped"] and not plain["flipped"]
    assert flipped["start"] == plain["start"]
    assert torch.equal(flipped["video"], plain["video"].flip(-1))
    assert flipped["video"][:, :, :, -(DARK - 2) :].max() < -0.9


def test_seeded_training_draws_are_reproducible_and_vary_by_epoch(root):
    a = AVSyncDataset(root, "train", size=SIZE, seed=7)
    b = AVSyncDataset(root, "train", size=SIZE, seed=7)
    first, again = a[1], b[1]
    assert first["start"] == again["start"] and first["flipped"] == again["flipped"]
    assert torch.equal(first["video"], again["video"]) and torch.equal(first["mel"], again["mel"])

    def draws(ds, epoch):
        ds.set_epoch(epoch)
        return [ds.clip_start(i, sampling.item_generator(ds.seed, epoch, i))[1] for i in range(len(ds))]

    assert draws(a, 0) == [a[i]["start"] for i in range(3)]
    assert draws(a, 3) == draws(b, 3)
    assert draws(a, 0) != draws(a, 1)
    assert draws(AVSyncDataset(root, "train", seed=8), 0) != draws(a, 0)


def test_unseeded_training_uses_torch_global_rng(root):
    ds = AVSyncDataset(root, "train", size=SIZE)
    torch.manual_seed(3)
    first = [ds.clip_start(i)[1] for i in range(3)]
    torch.manual_seed(3)
    assert [ds.clip_start(i)[1] for i in range(3)] == first
    assert len(set(ds.clip_start(1)[1] for _ in range(5))) == 5


def test_training_starts_and_flips_cover_their_ranges():
    g = torch.Generator().manual_seed(0)
    starts = [sampling.train_start(4.0, 2.0, g) for _ in range(2000)]
    assert 0.0 <= min(starts) < 0.05 and 1.95 < max(starts) <= 2.0
    assert sum(s < 1.0 for s in starts) == pytest.approx(1000, abs=100)
    flips = [sampling.coin(0.5, g) for _ in range(2000)]
    assert sum(flips) == pytest.approx(1000, abs=100)
    assert sampling.train_start(1.5, 2.0, g) == 0.0
    assert sampling.eval_starts(5.0, 2.0, 3) == [0.0, 1.5, 3.0]
    assert sampling.eval_starts(5.0, 2.0, 1) == [1.5]


def test_collate_batches_items_through_a_dataloader(root):
    ds = AVSyncDataset(root, "test", size=SIZE, mode="eval")
    batch = next(iter(DataLoader(ds, batch_size=2, collate_fn=collate)))
    assert batch["video"].shape == (2, 3, 12, SIZE, SIZE)
    assert batch["audio"].shape == (2, 32000) and batch["mel"].shape == (2, 1, 128, 204)
    assert batch["label"].tolist() == [1, 0] and batch["clip_index"].tolist() == [0, 0]
    assert batch["start"].dtype == torch.float64 and batch["flipped"].tolist() == [False, False]
    assert batch["prompt"] == ["dog barking", "baby crying"]
    assert batch["sidecar"][0].endswith("a.json") and batch["sidecar"][1] is None


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(mode="test"), "mode must be one of"),
        (dict(mode="eval", eval_starts="five"), "eval_starts must be one of"),
        (dict(eval_starts="three"), "applies to mode='eval' only"),
        (dict(num_frames=0), "num_frames"),
        (dict(fps=0.0), "fps"),
        (dict(size=None), "size"),
        (dict(flip_prob=1.5), "flip_prob"),
        (dict(frame_rule="nearest"), "frame_rule must be one of"),
    ],
)
def test_bad_options_raise(root, options, match):
    with pytest.raises(ValueError, match=match):
        AVSyncDataset(root, "train", **options)


def test_with_frame_rule_reads_the_same_clips_by_another_rule(root):
    official = AVSyncDataset(root, "test", mode="eval", size=32)
    exact = official.with_frame_rule("exact")
    assert official.with_frame_rule("official") is official and official.frame_rule == "official"
    assert exact.frame_rule == "exact" and len(exact) == len(official)
    assert exact[0]["start"] == official[0]["start"] and exact[0]["video"].shape == official[0]["video"].shape
    with pytest.raises(ValueError, match="frame_rule must be one of"):
        official.with_frame_rule("nearest")


def test_unknown_split_raises(root):
    with pytest.raises(ValueError, match="split must be one of"):
        AVSyncDataset(root, "val")


def test_seeded_draws_do_not_depend_on_dataloader_workers(root):
    ds = AVSyncDataset(root, "train", size=32, seed=11)
    ds.set_epoch(2)

    def starts(workers):
        loader = DataLoader(ds, batch_size=1, num_workers=workers, collate_fn=collate)
        return [(b["start"].item(), b["flipped"].item()) for b in loader]

    assert starts(2) == starts(0)


def test_mel_of_a_stereo_clip_is_its_left_channel_as_officially(root, monkeypatch):
    """ImageBind's fbank takes channel 0; the official loader passes stereo clips unmixed."""
    import asva.data.avsync as avsync
    from asva.media import normalize_mel, waveform_to_mel

    ts = torch.arange(2 * SR) / SR
    left, right = torch.sin(2 * math.pi * 440 * ts) * 0.3, torch.sin(2 * math.pi * 1500 * ts) * 0.1
    monkeypatch.setattr(avsync, "read_audio", lambda *a, **k: torch.stack([left, right]))
    item = AVSyncDataset(root, "test", size=SIZE, mode="eval")[0]
    assert torch.allclose(item["audio"], (left + right) / 2)
    stereo = torch.stack([left, right])
    assert torch.equal(item["mel"], normalize_mel(waveform_to_mel(stereo, sample_rate=SR)))
    # the official mean removal spans both channels, so this is close to, not equal to, left alone
    assert torch.allclose(item["mel"], normalize_mel(waveform_to_mel(left[None], sample_rate=SR)), atol=1e-3)
    assert not torch.allclose(item["mel"], normalize_mel(waveform_to_mel(item["audio"], sample_rate=SR)))
