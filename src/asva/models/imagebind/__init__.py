"""ImageBind's audio, vision and text branches: AVSyncD's audio tokens and the IA / IT metrics.

    from asva.models.imagebind import load_imagebind, preprocess_image, tokenize
    model = load_imagebind("checkpoints/imagebind_huge.pth")  # strict, eval, no grad (or a converted folder)
    tokens = model.audio_tokens(mel)                  # (b, 229, 768): AVSyncD's audio condition
    a = model.encode_audio(mel)                       # (b, 1024) unit vectors
    v = model.encode_image(preprocess_image(frames_uint8, mode="squash"))
    t = model.encode_text(tokenize(["lions roaring"]))
    ia, it = (v * a).sum(-1), (v * t).sum(-1)         # ASVA's IA / IT cosines

See docs/imagebind.md.
"""
from .config import AudioConfig, ImageBindConfig, TextConfig, TrunkConfig, VisionConfig, list_presets
from .convert import (
    IMAGEBIND_RENAMES,
    LoadReport,
    build_imagebind,
    convert_imagebind_checkpoint,
    convert_state_dict,
    load_imagebind,
    load_imagebind_folder,
    official_names,
    read_checkpoint,
    save_imagebind,
)
from .image import preprocess_image, resize_shorter_center_crop
from .model import MODALITIES, ImageBind
from .tokenizer import CLIPTokenizer, get_tokenizer, tokenize

__all__ = [
    "IMAGEBIND_RENAMES",
    "MODALITIES",
    "AudioConfig",
    "CLIPTokenizer",
    "ImageBind",
    "ImageBindConfig",
    "LoadReport",
    "TextConfig",
    "TrunkConfig",
    "VisionConfig",
    "build_imagebind",
    "convert_imagebind_checkpoint",
    "convert_state_dict",
    "get_tokenizer",
    "list_presets",
    "load_imagebind",
    "load_imagebind_folder",
    "official_names",
    "preprocess_image",
    "read_checkpoint",
    "resize_shorter_center_crop",
    "save_imagebind",
    "tokenize",
]
