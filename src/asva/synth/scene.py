"""One synthetic clip: sample its events and layout from a seed, render its frames and audio.

Everything random comes from a `numpy.random.SeedSequence` built from (dataset seed, class name,
clip index), split into independent streams for the events, the layout, the looks and the
audio, so a clip never depends on how many other clips are generated.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from asva.media.audio import SAMPLE_RATE
from asva.synth import draw
from asva.synth.classes import CLASSES, SoundingClass, activation, get_class
from asva.synth.sound import place

FPS = 24
MIN_GAP = 0.3  # seconds between onsets (and after the end of a note)
SIDECAR_VERSION = 1


@dataclass
class SynthObject:
    name: str  # class name
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels (square)
    style: dict
    sounding: bool


@dataclass
class Clip:
    """A rendered clip: frames (f, h, w, 3) uint8, audio (n,) float32 at 16 kHz, and its sidecar."""

    frames: np.ndarray
    audio: np.ndarray
    meta: dict


def clip_seed_sequence(seed: int, name: str, index: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed), zlib.crc32(name.encode()), int(index)])


def sample_events(rng: np.random.Generator, duration: float, cls: SoundingClass):
    """Onsets (s), lengths (s, see `Response`) and gains: random gaps of at least MIN_GAP after
    the previous onset, and at least 0.25 s after the previous note ends; two events or more."""
    while True:
        t = rng.uniform(0.2, 0.8)
        times, lengths = [], []
        while t < duration - 0.35:
            length = cls.event_length(rng)
            times.append(round(float(t), 4))
            lengths.append(round(length, 4))
            step = max(MIN_GAP, length + 0.25) if cls.response.note else MIN_GAP
            t += step + rng.exponential(0.45)
        if len(times) >= 2:
            gains = rng.uniform(0.55, 1.0, len(times))
            return times, lengths, gains


def sample_boxes(rng: np.random.Generator, size: int, count: int) -> list[tuple[int, int, int, int]]:
    """`count` (1 or 2) non-overlapping square boxes inside the frame."""
    if count == 1:
        s = int(rng.uniform(0.45, 0.75) * size)
        x0, y0 = (int(v) for v in rng.integers(0, size - s + 1, 2))
        return [(x0, y0, x0 + s, y0 + s)]
    for _ in range(200):
        boxes = []
        for _ in range(2):
            s = int(rng.uniform(0.34, 0.48) * size)
            x0, y0 = (int(v) for v in rng.integers(0, size - s + 1, 2))
            boxes.append((x0, y0, x0 + s, y0 + s))
        (a0, b0, a1, b1), (c0, d0, c1, d1) = boxes
        if a1 + 2 <= c0 or c1 + 2 <= a0 or b1 + 2 <= d0 or d1 + 2 <= b0:
            return boxes
    s = size // 2 - 2  # side by side, the unlikely fallback
    y0 = int(rng.integers(0, size - s + 1))
    return [(0, y0, s, y0 + s), (size - s, y0, size, y0 + s)]


def render_audio(rng, cls: SoundingClass, times, lengths, gains, num_samples: int) -> np.ndarray:
    track = np.zeros(num_samples, np.float32)
    for t, length, gain in zip(times, lengths, gains, strict=True):
        place(track, cls.sound(rng, SAMPLE_RATE, length), int(round(t * SAMPLE_RATE)), float(gain))
    track *= 0.85 / max(float(np.abs(track).max()), 1e-6)
    track += rng.normal(0, 0.002, num_samples).astype(np.float32)  # a faint noise floor
    return np.clip(track, -1, 1).astype(np.float32)


def _to_u8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def _draw_object(canvas: np.ndarray, obj: SynthObject, a: float) -> np.ndarray:
    x0, y0, x1, y1 = obj.box
    patch = draw.Patch(canvas[y0:y1, x0:x1])
    CLASSES[obj.name].draw(patch, a, obj.style)
    return patch.img


def render_frames(bg: np.ndarray, objects: list[SynthObject], act: np.ndarray) -> np.ndarray:
    """Frames (f, h, w, 3) uint8: every object at rest, the sounding one redrawn at `act[k]`."""
    base = bg.copy()
    for obj in objects:
        x0, y0, x1, y1 = obj.box
        base[y0:y1, x0:x1] = _draw_object(bg, obj, 0.0)
    frames = np.repeat(_to_u8(base)[None], len(act), axis=0)
    (obj,) = [o for o in objects if o.sounding]
    x0, y0, x1, y1 = obj.box
    cache: dict[float, np.ndarray] = {}
    for k, a in enumerate(np.round(act, 3)):
        if a > 0:
            if a not in cache:
                cache[a] = _to_u8(_draw_object(bg, obj, float(a)))
            frames[k, y0:y1, x0:x1] = cache[a]
    return frames


def make_clip(name: str, index: int, seed: int, *, size: int = 128, two_object_fraction: float = 0.2) -> Clip:
    """Render clip `index` of class `name` for dataset seed `seed` at `size` x `size` pixels."""
    cls = get_class(name)
    ss = clip_seed_sequence(seed, name, index)
    rng_events, rng_layout, rng_look, rng_audio = (np.random.default_rng(c) for c in ss.spawn(4))
    num_frames = 3 * int(rng_events.integers(24, 49))  # 3-6 s; a multiple of 3 frames = whole samples
    duration = num_frames / FPS
    times, lengths, gains = sample_events(rng_events, duration, cls)

    two = rng_layout.random() < two_object_fraction
    names = [name]
    if two:
        others = sorted(set(CLASSES) - {name})
        names.append(others[int(rng_layout.integers(len(others)))])
    boxes = sample_boxes(rng_layout, size, len(names))
    objects = [SynthObject(n, b, CLASSES[n].style(rng_look), n == name)
               for n, b in zip(names, boxes, strict=True)]
    bg = draw.background(rng_look, size)

    act = activation(np.arange(num_frames) / FPS, times, lengths, cls.response)
    frames = render_frames(bg, objects, act)
    audio = render_audio(rng_audio, cls, times, lengths, gains, num_frames * SAMPLE_RATE // FPS)
    meta = {
        "version": SIDECAR_VERSION,
        "class": name,
        "prompt": cls.prompt,
        "index": int(index),
        "seed": int(seed),
        "clip_seed": int(ss.generate_state(1)[0]),
        "duration": duration,
        "fps": FPS,
        "num_frames": num_frames,
        "sample_rate": SAMPLE_RATE,
        "width": size,
        "height": size,
        "event_times": times,
        "event_durations": lengths,
        "release": cls.response.release,
        "sounding_box": list(boxes[0]),
        "objects": [{"class": o.name, "box": list(o.box), "sounding": o.sounding} for o in objects],
    }
    return Clip(frames, audio, meta)
