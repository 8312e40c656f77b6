"""Every released or bundled weight by name: diffusion models and sync classifiers, where each
name's folder is expected and how the user obtains it. The one lookup behind `--model`,
`--sync-model` and `--sync-weights` in every command.

Nothing is downloaded. A name resolves to a local folder (a diffusion model: a saved
`AVSyncDPipeline` with `model_index.json`, or an older `asva convert` output with `asva_model.json`;
a sync classifier: `config.json` + `model.safetensors`), looked up

  1. inside the installed package (`asva/assets/models/<folder>`) for models shipped with asva,
  2. under each directory of `$ASVA_MODELS` (os.pathsep-separated), then
  3. under `$XDG_CACHE_HOME/asva/models` (default `~/.cache/asva/models`).

    >>> resolve_model("avsyncd-avsync15")   # a folder path, or a ValueError saying how to get it
    >>> resolve_sync_model("sync-synth-tiny")
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

MARKERS = ("model_index.json", "asva_model.json")  # what makes a folder a diffusion model folder
# a sync classifier folder: this package's format (`asva train-sync`, `asva convert --sync`) or the
# official release's `modules/` folder (audio_encoder/ video_encoder/ head/)
SYNC_MARKERS = ("model.safetensors", "head")

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


_OFFICIAL_SYNC = (
    "The paper's sync classifier is released with its code (github.com/lzhangbj/ASVA, README, "
    "'checkpoints/avsync/vggss_sync_contrast/ckpts/checkpoint-40000/modules'); pass that folder "
    "directly, or copy it to {target}"
)


@dataclass(frozen=True)
class ReleasedModel:
    name: str
    description: str
    folder: str  # folder name under a models directory (or under asva/assets/models if bundled)
    obtain: str  # how the user gets the weights; `{target}` is where the folder should go
    kind: str = "diffusion"  # "diffusion" (an AVSyncD pipeline) or "sync" (a sync classifier)
    bundled: bool = False
    classes: tuple[str, ...] = ()  # the class prompts it was trained on
    size: int = 256  # frame side it was trained at


MODELS: dict[str, ReleasedModel] = {m.name: m for m in (
    ReleasedModel(
        "asva-synth-tiny", "a tiny AVSyncD trained on asva's synthetic benchmark (CPU-friendly)",
        folder="synth-tiny", bundled=True, size=96,
        obtain="it ships inside the asva package (asva/assets/models); reinstall asva, or train one "
               "(`asva train` on `asva synth` data) and pass its folder to --model",
    ),
    ReleasedModel(
        "asva-synth-tiny-i2vd", "the I2VD baseline of asva-synth-tiny: the same recipe without audio "
        "(`asva train --config synth-tiny-96 model.audio=false`)",
        folder="asva-synth-tiny-i2vd", bundled=True, size=96,
        obtain="it ships inside the asva package (asva/assets/models); reinstall asva, or train one "
               "(docs/training.md) and pass its folder to --model",
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
    ReleasedModel(
        "sync-synth-tiny", "a tiny sync classifier trained on asva's synthetic benchmark",
        folder="sync-synth-tiny", kind="sync", bundled=True,
        obtain="it ships inside the asva package (asva/assets/models); reinstall asva, or train one with "
               "`asva train-sync` and pass its folder",
    ),
    ReleasedModel(
        "sync-vggss", "the paper's sync classifier (VGGSound-Sync, contrastive)",
        folder="sync-vggss", kind="sync", obtain=_OFFICIAL_SYNC,
    ),
)}

DEFAULT_MODEL = "asva-synth-tiny"
DEFAULT_SYNC_MODEL = "sync-synth-tiny"
KINDS = {"diffusion": "model", "sync": "sync classifier"}
# the model each method uses when no --model is given (aadiff needs the user's SD1.5 folder)
DEFAULT_MODELS = {"avsyncd": DEFAULT_MODEL, "i2vd": "asva-synth-tiny-i2vd", "static": DEFAULT_MODEL}


def list_models(kind: str = "diffusion") -> list[str]:
    """The registered names of one kind ("diffusion" or "sync")."""
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {sorted(KINDS)}")
    return sorted(name for name, model in MODELS.items() if model.kind == kind)


def model_roots() -> list[Path]:
    """The directories searched for non-bundled models, in order."""
    roots = [Path(p).expanduser() for p in os.environ.get("ASVA_MODELS", "").split(os.pathsep) if p]
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return [*roots, Path(cache).expanduser() / "asva" / "models"]


def is_model_folder(path: Path, kind: str = "diffusion") -> bool:
    markers = MARKERS if kind == "diffusion" else SYNC_MARKERS
    return path.is_dir() and any((path / marker).exists() for marker in markers)


def candidate_folders(model: ReleasedModel) -> list[Path]:
    if model.bundled:
        return [Path(str(resources.files("asva").joinpath("assets", "models", model.folder)))]
    return [root / model.folder for root in model_roots()]


def resolve_model(name_or_dir: str | os.PathLike, kind: str = "diffusion") -> Path:
    """The folder for a registry name or a folder path; a ValueError says what is missing and how
    to get it. `kind="sync"` resolves sync classifiers (a weights file is accepted as it is)."""
    text = os.fspath(name_or_dir)
    what, markers = KINDS[kind], MARKERS if kind == "diffusion" else SYNC_MARKERS
    if text in MODELS and MODELS[text].kind == kind:
        model = MODELS[text]
        places = candidate_folders(model)
        for folder in places:
            if is_model_folder(folder, kind):
                return folder
        where = ", ".join(str(p) for p in places)
        how = model.obtain.replace("{target}", str(places[0]))
        raise ValueError(f"{what} {text!r} is not installed (looked for {' or '.join(markers)} in: {where}). "
                         f"To get it: {how}")
    path = Path(text).expanduser()
    if kind == "sync" and path.is_file():
        return path
    if path.is_dir():
        if is_model_folder(path, kind):
            return path
        if is_model_folder(path / "model", kind):  # an `asva train` / `asva train-sync` run folder
            raise ValueError(f"{path} is a training run; its {what} is in {path / 'model'}: "
                             f"pass that folder")
        raise ValueError(f"{path} is not a {what} folder: expected {' or '.join(markers)} in it")
    if path.exists() or os.sep in text or text.startswith("."):
        raise ValueError(f"{what} folder {text} does not exist (or is not a folder)")
    raise ValueError(f"unknown {what} {text!r}: not a folder and not a known name; known {what}s: "
                     f"{', '.join(list_models(kind))}")


def resolve_sync_model(name_or_path: str | os.PathLike) -> Path:
    """A sync classifier's folder or file for a registry name (e.g. "sync-synth-tiny") or a path."""
    return resolve_model(name_or_path, kind="sync")
