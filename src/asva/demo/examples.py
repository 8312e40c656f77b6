"""The page's examples: one synthetic image + sound per class of `asva synth`, ready to click.

Only the drum example ships with asva (`asva/assets/examples`, 134 KB). The other classes are
rendered into the demo's work folder when the server starts, with the same recipe the drum was
cut with — the first single-object clip of the class's test split of `asva synth --seed 0
--size 64 --videos-per-class 40`, its first frame and first 4 s of sound — which takes about a
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
RECIPE = {"seed": 0, "size": 64, "videos_per_class": 40}


@dataclass(frozen=True)
class Example:
    name: str  # synth class
    prompt: str  # its class prompt ("drum", "dog barking", ...)
    image: Path
    audio: Path


def bundled_dir() -> Path:
    return Path(str(resources.files("asva") / "assets" / "examples"))


def example_clip(name: str):
    """The first test-split clip of class `name` with a single (sounding) object (`asva.synth` Clip)."""
    from asva.synth.generate import split_indices
    from asva.synth.scene import make_clip

    _, test = split_indices(RECIPE["seed"], name, RECIPE["videos_per_class"])
    for index in test:
        clip = make_clip(name, index, RECIPE["seed"], size=RECIPE["size"])
        if len(clip.meta["objects"]) == 1:
            break
    return clip


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
