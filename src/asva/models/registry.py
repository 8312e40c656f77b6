"""Released model weights by name: where a name's folder is expected and how the user obtains it.

Nothing is downloaded. A name resolves to a local model folder (a saved `AVSyncDPipeline`, with
`model_index.json`, or an `asva convert` output, with `asva_model.json`), looked up

  1. inside the installed package (`asva/assets/models/<folder>`) for models shipped with asva,
  2. under each directory of `$ASVA_MODELS` (os.pathsep-separated), then
  3. under `$XDG_CACHE_HOME/asva/models` (default `~/.cache/asva/models`).

    >>> resolve_model("avsyncd-avsync15")   # a folder path, or a ValueError saying how to get it
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

MARKERS = ("model_index.json", "asva_model.json")  # what makes a folder a model folder

AVSYNC15_CLASSES = (
    "baby babbling crying", "dog barking", "hammering", "striking bowling", "cap gun shooting",
    "chicken crowing", "frog croaking", "lions roaring", "machine gun shooting", "playing cello",
    "playing trombone", "playing trumpet", "playing violin fiddle", "sharpen knife", "toilet flushing",
)
LANDSCAPES_CLASSES = (
    "explosion", "fire crackling", "raining", "splashing water", "squishing water", "thunder",
    "underwater bubbling", "waterfall burbling", "wind noise",
)

_OFFICIAL = (
    "The AVSyncD UNet is released with the paper's code (github.com/lzhangbj/ASVA, README, "
    "'checkpoints/audio-cond_animation/{run}/ckpts/checkpoint-{step}/modules/unet'); it needs a local "
    "Stable Diffusion v1.5 diffusers folder and ImageBind's imagebind_huge.pth (github.com/"
    "facebookresearch/ImageBind). Convert them once with "
    "`asva convert --avsyncd UNET_DIR --sd15 SD15_DIR --imagebind imagebind_huge.pth --out {target}`"
)


@dataclass(frozen=True)
class ReleasedModel:
    name: str
    description: str
    folder: str  # folder name under a models directory (or under asva/assets/models if bundled)
    obtain: str  # how the user gets the weights; `{target}` is where the folder should go
    bundled: bool = False
    classes: tuple[str, ...] = ()  # the class prompts it was trained on
    size: int = 256  # frame side it was trained at


MODELS: dict[str, ReleasedModel] = {m.name: m for m in (
    ReleasedModel(
        "asva-synth-tiny", "a tiny AVSyncD trained on asva's synthetic benchmark (CPU-friendly)",
        folder="synth-tiny", bundled=True, size=64,
        obtain="it ships inside the asva package once trained (`asva train` on `asva synth` data); "
               "reinstall asva, or train one and pass its folder to --model",
    ),
    ReleasedModel(
        "asva-synth-tiny-i2vd", "the I2VD baseline of asva-synth-tiny: the same recipe without audio "
        "(`asva train --config synth-tiny model.audio=false`)",
        folder="asva-synth-tiny-i2vd", size=64,  # not bundled yet: issue 11 trains and ships it
        obtain="train it with `asva synth --out DATA --videos-per-class 40 --size 64 --seed 0` and "
               "`asva train --config synth-tiny --data DATA --output RUN model.audio=false`, then copy "
               "RUN/model to {target} (or pass RUN/model to --model)",
    ),
    ReleasedModel(
        "avsyncd-avsync15", "AVSyncD trained on AVSync15 (the paper's main model)",
        folder="avsyncd-avsync15", classes=AVSYNC15_CLASSES,
        obtain=_OFFICIAL.replace("{run}", "avsync15_audio-cond_cfg").replace("{step}", "37000"),
    ),
    ReleasedModel(
        "avsyncd-landscapes", "AVSyncD trained on Landscapes (nature sounds)",
        folder="avsyncd-landscapes", classes=LANDSCAPES_CLASSES,
        obtain=_OFFICIAL.replace("{run}", "landscapes_audio-cond_cfg").replace("{step}", "24000"),
    ),
)}

DEFAULT_MODEL = "asva-synth-tiny"
# the model each method uses when no --model is given (aadiff needs the user's SD1.5 folder)
DEFAULT_MODELS = {"avsyncd": DEFAULT_MODEL, "i2vd": "asva-synth-tiny-i2vd", "static": DEFAULT_MODEL}


def list_models() -> list[str]:
    return sorted(MODELS)


def model_roots() -> list[Path]:
    """The directories searched for non-bundled models, in order."""
    roots = [Path(p).expanduser() for p in os.environ.get("ASVA_MODELS", "").split(os.pathsep) if p]
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return [*roots, Path(cache).expanduser() / "asva" / "models"]


def is_model_folder(path: Path) -> bool:
    return path.is_dir() and any((path / marker).is_file() for marker in MARKERS)


def candidate_folders(model: ReleasedModel) -> list[Path]:
    if model.bundled:
        return [Path(str(resources.files("asva").joinpath("assets", "models", model.folder)))]
    return [root / model.folder for root in model_roots()]


def resolve_model(name_or_dir: str | os.PathLike) -> Path:
    """The model folder for a registry name or a folder path; a ValueError says what is missing."""
    text = os.fspath(name_or_dir)
    if text in MODELS:
        model = MODELS[text]
        places = candidate_folders(model)
        for folder in places:
            if is_model_folder(folder):
                return folder
        where = ", ".join(str(p) for p in places)
        how = model.obtain.replace("{target}", str(places[0]))
        raise ValueError(f"model {text!r} is not installed (looked for {' or '.join(MARKERS)} in: {where}). "
                         f"To get it: {how}")
    path = Path(text).expanduser()
    if path.is_dir():
        if not is_model_folder(path):
            raise ValueError(f"{path} is not a model folder: expected {' or '.join(MARKERS)} in it")
        return path
    if path.exists() or os.sep in text or text.startswith("."):
        raise ValueError(f"model folder {text} does not exist (or is not a folder)")
    raise ValueError(f"unknown model {text!r}: not a folder and not a known name; known models: "
                     f"{', '.join(list_models())}")
