"""Per-clip features for the evaluation, computed once and cached on disk.

Feature kinds (one tensor per clip and side, "gt" or "gen"):

| kind | tensor | network |
|---|---|---|
| `fid` | (f - 1, d) FID Inception features of frames 2..f (frame 1 is the conditioning image) | Inception |
| `fvd` | (d,) I3D features of the f frames | I3D |
| `vision` | (f, d) unit ImageBind vision embeddings of every frame | ImageBind |
| `vision0` | (d,) the same for frame 1 only (AlignSync's ground-truth reference) | ImageBind |
| `audio` | (d,) unit ImageBind audio embedding of the clip's audio | ImageBind |
| `phi` | () the sync classifier's raw logit for (audio, frames) | sync classifier |
| `oracle` | (5,) hit rate, false-motion rate, correlation, events, peaks | none (synth sidecars) |

A cache entry is `CACHE/<kind>/<side>-<hash>.pt`, the hash covering the source file (path, size,
mtime), the clip's start, the decoding protocol, the weights (path, size, mtime) and the FID
resolution, so changing any of them recomputes. A clip is decoded only when one of its features is
not cached. Networks without an identity (injected ones, in tests) are never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from einops import rearrange

from asva.data import sampling
from asva.data.validate import cached_probe
from asva.media import audio_window, normalize_mel, read_audio, read_video, waveform_to_mel
from asva.media.audio import SAMPLE_RATE
from asva.media.frames import to_uint8, unit_to_uint8
from asva.metrics.fvd import i3d_features
from asva.metrics.inception import ASVA_FID_SIZE, clip_frames_for_fid, fid_features
from asva.metrics.oracle import oracle_score, scale_box
from asva.utils import atomic_path

KINDS = ("fid", "fvd", "vision", "vision0", "audio", "phi", "oracle")
# feature kind -> the network (weights) it comes from; the oracle needs none
NETWORK_OF = {
    "fid": "fid",
    "fvd": "i3d",
    "vision": "imagebind",
    "vision0": "imagebind",
    "audio": "imagebind",
    "phi": "sync",
}
ORACLE_FIELDS = ("hit_rate", "false_motion_rate", "correlation", "num_events", "num_peaks")
ORACLE_VERSION = "oracle-2"  # oracle-2: frames read as written (`frame_rule_of`)


def frame_rule_of(kind: str) -> str:
    """How a feature kind's frames are picked (`asva.media.video.FRAME_RULES`): the official rule for
    every official metric, the frames as written for asva's own oracle."""
    return "exact" if kind == "oracle" else "official"


@dataclass
class Clip:
    """A decoded 2-s clip: uint8 frames (3, f, h, w), normalised mel (1, 128, 204) or None, and the
    synth sidecar (with events shifted to the clip's start) when the dataset has one."""

    video: torch.Tensor
    mel: torch.Tensor | None
    start: float
    sidecar: dict | None = None


@dataclass
class Extractors:
    """The feature networks (None when no requested metric needs them) and, per network, a string
    identifying its weights for the cache (`identity["fid"]`, ...; absent: not cached)."""

    fid: torch.nn.Module | None = None
    i3d: Callable | None = None
    imagebind: torch.nn.Module | None = None
    sync: torch.nn.Module | None = None
    fid_size: int = ASVA_FID_SIZE
    identity: dict[str, str] = field(default_factory=dict)
    device: str | torch.device = "cpu"

    def network_of(self, kind: str) -> str | None:
        return NETWORK_OF.get(kind)


def file_identity(path: str | os.PathLike) -> str:
    """path, size and mtime of a file, or of every file in a folder (weights folders)."""
    path = Path(path).resolve()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return ";".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)


class FeatureCache:
    """Tensors on disk under `root` (None: no cache), keyed by a dict of everything they depend on."""

    def __init__(self, root: str | os.PathLike | None):
        self.root = None if root is None else Path(root)
        self.hits = self.misses = 0

    def path(self, kind: str, side: str, key: dict) -> Path | None:
        if self.root is None:
            return None
        digest = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]
        return self.root / kind / f"{side}-{digest}.pt"

    def load(self, path: Path | None) -> torch.Tensor | None:
        if path is None or not path.is_file():
            return None
        try:
            value = torch.load(path, map_location="cpu", weights_only=True)
        except (RuntimeError, OSError, EOFError):  # a damaged entry is recomputed
            return None
        self.hits += 1
        return value

    def store(self, path: Path | None, value: torch.Tensor) -> None:
        self.misses += 1
        if path is not None:
            with atomic_path(path) as tmp:
                torch.save(value.detach().cpu().clone(), tmp)  # clone: a row of a batch saves alone


def _fill_frames(video: torch.Tensor, num_frames: int, what: str) -> torch.Tensor:
    """Keep `num_frames` frames; a short read repeats its last frame (as the official loader)."""
    if video.shape[1] == 0:
        raise ValueError(f"no frames decoded from {what}")
    video = video[:, :num_frames]
    missing = num_frames - video.shape[1]
    return torch.cat([video, video[:, -1:].expand(-1, missing, -1, -1)], dim=1) if missing else video


def load_generated_clip(
    path: str | os.PathLike,
    *,
    num_frames: int = 12,
    fps: float = 6.0,
    size: int | None = 256,
    need_audio: bool = True,
    rule: str = "official",
) -> Clip:
    """A generated file as the official evaluation reads it: its centred 2 s (the whole clip for a 2-s
    file), frames at `fps` centre-cropped and resized to `size`, and the audio re-decoded from the file
    (mel of channel 0, like the ground truth). `rule="exact"`: the frames as written (`read_video`)."""
    seconds = num_frames / fps
    _, usable = cached_probe(path)
    start = sampling.center_start(usable, seconds)
    frames = read_video(path, fps=fps, size=size, start=start, duration=seconds, rule=rule)
    video = _fill_frames(frames if size is None else unit_to_uint8(frames), num_frames, str(path))
    mel = None
    if need_audio:
        wave = read_audio(path, sample_rate=SAMPLE_RATE, start=start, duration=seconds, mono=False)
        wave = audio_window(wave, sample_rate=SAMPLE_RATE, duration=seconds)
        mel = normalize_mel(waveform_to_mel(wave, sample_rate=SAMPLE_RATE))
    return Clip(video=video, mel=mel, start=start)


def test_clip_from_item(item: dict) -> Clip:
    """An `AVSyncDataset` item (mode="eval") -> `Clip` with uint8 frames."""
    video = to_uint8(item["video"])
    sidecar = None
    if item.get("sidecar"):
        sidecar = json.loads(Path(item["sidecar"]).read_text())
    return Clip(video=video, mel=item["mel"], start=float(item["start"]), sidecar=sidecar)


def oracle_vector(video: torch.Tensor, sidecar: dict, start: float, fps: float) -> torch.Tensor:
    """The oracle score of a square clip whose frame 0 shows time `start` of the sidecar's video."""
    box = scale_box(sidecar["sounding_box"], sidecar["width"], sidecar["height"], tuple(video.shape[-2:]))
    times = [t - start for t in sidecar["event_times"]]
    score = oracle_score(video, fps, times, box, sidecar.get("event_durations"))
    return torch.tensor([float(getattr(score, name)) for name in ORACLE_FIELDS], dtype=torch.float64)


def _stack(tensors: list[torch.Tensor], what: str) -> torch.Tensor:
    """One batch from per-clip tensors of equal shape (a ValueError naming the shapes otherwise)."""
    shapes = sorted({tuple(t.shape) for t in tensors})
    if len(shapes) != 1:
        raise ValueError(f"cannot batch clips whose {what} differ in shape: {shapes}")
    return torch.stack(tensors)


@torch.no_grad()
def batch_features(kind: str, clips: list[Clip], nets: Extractors, *, fps: float) -> list[torch.Tensor]:
    """One feature of several decoded clips (see the module table), each network called once on the
    whole batch; a one-clip batch is the per-clip path. Results come back on the CPU, in order."""
    if kind == "oracle":
        return [oracle_vector(c.video, c.sidecar, c.start, fps) for c in clips]
    if kind not in KINDS:
        raise ValueError(f"unknown feature kind {kind!r}; expected one of {KINDS}")
    n, device = len(clips), nets.device
    videos = _stack([c.video for c in clips], "frames")  # (b, 3, f, h, w) uint8
    if kind == "fid":
        frames = clip_frames_for_fid(videos)  # ((b f'), c, h, w): frames 2..f of each clip
        feats = fid_features(nets.fid, frames, size=nets.fid_size, batch_size=frames.shape[0])
        return list(rearrange(feats, "(b f) d -> b f d", b=n))
    if kind == "fvd":
        return list(i3d_features(nets.i3d, videos, batch_size=n, num_frames=videos.shape[2], device=device))
    if kind in ("vision", "vision0"):
        from asva.models.imagebind import preprocess_image

        frames = rearrange(videos[:, :, :1] if kind == "vision0" else videos, "b c f h w -> (b f) c h w")
        emb = nets.imagebind.encode_image(preprocess_image(frames, mode="squash").to(device)).float().cpu()
        emb = rearrange(emb, "(b f) d -> b f d", b=n)
        return list(emb[:, 0] if kind == "vision0" else emb)
    mels = _stack([c.mel for c in clips], "mels")  # (b, 1, n_mels, t)
    if kind == "audio":
        return list(nets.imagebind.encode_audio(mels.to(device)).float().cpu())
    from asva.models.sync import score_clips

    return list(score_clips(nets.sync, mels, videos).float().cpu())  # kind == "phi"


def compute_feature(kind: str, clip: Clip, nets: Extractors, *, fps: float) -> torch.Tensor:
    """One feature of one decoded clip: `batch_features` on a batch of one."""
    return batch_features(kind, [clip], nets, fps=fps)[0]


def feature_paths(kinds, side: str, source: dict, nets: Extractors, cache: FeatureCache) -> dict:
    """{kind: cache path, or None where the feature is not cacheable} for one clip."""
    paths = {}
    for kind in kinds:
        weights = ORACLE_VERSION if kind == "oracle" else nets.identity.get(nets.network_of(kind))
        key = {**source, "kind": kind, "weights": weights}
        if kind == "fid":
            key["fid_size"] = nets.fid_size
        paths[kind] = cache.path(kind, side, key) if weights is not None else None
    return paths


def all_cached(kinds, side: str, source: dict, nets: Extractors, cache: FeatureCache) -> bool:
    """Whether every feature of the clip is on disk (then it need not be decoded)."""
    paths = feature_paths(kinds, side, source, nets, cache).values()
    return all(path is not None and path.is_file() for path in paths)


def clip_features(
    kinds,
    side: str,
    source: dict,
    load: Callable[[], Clip],
    nets: Extractors,
    cache: FeatureCache,
    *,
    fps: float,
) -> dict[str, torch.Tensor]:
    """The features `kinds` of one clip: from the cache where possible, else decoded once by `load()`.

    `source` identifies the clip (file, start, decoding protocol) for the cache key.
    """
    return clips_features(kinds, side, [source], [load], nets, cache, fps=fps)[0]


def clips_features(
    kinds,
    side: str,
    sources: list[dict],
    loads: list[Callable[[], Clip]],
    nets: Extractors,
    cache: FeatureCache,
    *,
    fps: float,
) -> list[dict[str, torch.Tensor]]:
    """`clip_features` for a batch of clips of one side: each feature not in the cache is computed
    for all the clips that lack it in one `batch_features` call; a clip is decoded (once) only when
    one of its features is missing."""
    paths = [feature_paths(kinds, side, source, nets, cache) for source in sources]
    out: list[dict[str, torch.Tensor]] = [{} for _ in sources]
    for feats, clip_paths in zip(out, paths, strict=True):
        for kind in kinds:
            value = cache.load(clip_paths[kind])
            if value is not None:
                feats[kind] = value
    decoded: dict[int, Clip] = {}
    for kind in kinds:
        todo = [i for i, feats in enumerate(out) if kind not in feats]
        if not todo:
            continue
        for i in todo:
            if i not in decoded:
                decoded[i] = loads[i]()
        values = batch_features(kind, [decoded[i] for i in todo], nets, fps=fps)
        for i, value in zip(todo, values, strict=True):
            out[i][kind] = value
            cache.store(paths[i][kind], value)
    return out
