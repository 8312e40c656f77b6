"""The page's examples: one synthetic image + sound per class of `asva synth`, ready to click.

Only the drum example ships with asva (`asva/assets/examples`, 134 KB). The other classes are
rendered into the demo's work folder when the server starts, with the same recipe the drum was
cut with — the first clip of the class's test split of `asva synth` with the options in RECIPE
(`--seed 0 --size 96 --videos-per-class 60 --two-object-fraction 0.5 --backgrounds mixed`) that has
a single object on a flat background, its first frame and first 4 s of sound — which takes about a
second on one CPU core and keeps the package small (shipping all eight would add ~1 MB of wav).
"""
from __future__ import annotations

import shutil
import wave
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

EXAMPLE_SECONDS = 4.0
# The `asva synth` options of the dataset the examples come from: the bundled model's benchmark
# (`asva synth --videos-per-class 60 --size 96 --seed 0 --two-object-fraction 0.5 --backgrounds mixed`);
# it picks drum_0010 of that dataset (single object, flat background), whose first frame and first
# 4 s of sound are the shipped drum.png / drum.wav.
RECIPE = {"seed": 0, "size": 96, "videos_per_class": 60, "test_fraction": 0.2, "two_object_fraction": 0.5,
          "backgrounds": "mixed"}


@dataclass(frozen=True)
class Example:
    name: str  # synth class
    prompt: str  # its class prompt ("drum", "dog barking", ...)
    image: Path
    audio: Path


def bundled_dir() -> Path:
    return Path(str(resources.files("asva") / "assets" / "examples"))


def example_clip(name: str, recipe: dict | None = None):
    """The first test-split clip of class `name` in the `asva synth` dataset of `recipe` (default
    RECIPE) with a single (sounding) object on a flat background (`asva.synth` Clip)."""
    from asva.synth.generate import split_indices
    from asva.synth.scene import make_clip

    r = RECIPE if recipe is None else recipe
    _, test = split_indices(r["seed"], name, r["videos_per_class"], r["test_fraction"])
    for index in test:
        clip = make_clip(name, index, r["seed"], size=r["size"], two_object_fraction=r["two_object_fraction"],
                         backgrounds=r["backgrounds"])
        if len(clip.meta["objects"]) == 1 and clip.meta["background"] == "flat":
            return clip
    raise ValueError(f"class {name!r} has no single-object clip on a flat background in the test split "
                     f"of {r}")


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """Mono float audio in [-1, 1] as 16-bit PCM."""
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())


def render_example(name: str, folder: Path) -> Example:
    """Write `<name>.png` and `<name>.wav` into `folder` (copied when asva ships them)."""
    from PIL import Image

    from asva.synth.classes import get_class

    image, audio = folder / f"{name}.png", folder / f"{name}.wav"
    shipped = bundled_dir()
    if (shipped / image.name).is_file() and (shipped / audio.name).is_file():
        shutil.copyfile(shipped / image.name, image)
        shutil.copyfile(shipped / audio.name, audio)
    else:
        clip = example_clip(name)
        rate = clip.meta["sample_rate"]
        Image.fromarray(clip.frames[0]).save(image)
        write_wav(audio, clip.audio[: int(EXAMPLE_SECONDS * rate)], rate)
    return Example(name, get_class(name).prompt, image, audio)


def render_examples(folder: Path) -> list[Example]:
    """One example per synth class, in the synth's class order."""
    from asva.synth.classes import CLASSES

    folder.mkdir(parents=True, exist_ok=True)
    return [render_example(name, folder) for name in CLASSES]
