"""Reading still images with PIL as uint8 RGB (3, h, w), whatever their mode or orientation."""
from __future__ import annotations

import os
import warnings

import numpy as np
import torch
from einops import rearrange
from PIL import Image, ImageOps, UnidentifiedImageError

from asva.media._container import check_file
from asva.media.transform import Size, fit_frames

MAX_PIXELS = 120_000_000  # decompression-bomb guard, checked from the header before decoding


def _to_rgb(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Convert any PIL mode to RGB; transparency is composited over `background`."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit samples (PNG/TIFF give I;16 or I): PIL's own conversion would clip at 255, not scale
        values = np.asarray(image, dtype=np.float64)
        if values.min() < 0 or values.max() > 65535:
            raise ValueError(f"integer image values span [{values.min()}, {values.max()}], expected 16-bit")
        image = Image.fromarray(np.rint(values * (255.0 / 65535.0)).astype(np.uint8))
    elif image.mode == "F":  # float images: [0, 1] when they fit, else taken as 0..255 and clipped
        values = np.asarray(image, dtype=np.float64)
        scale = 255.0 if values.max() <= 1.0 else 1.0
        image = Image.fromarray(np.clip(np.rint(values * scale), 0, 255).astype(np.uint8))
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    base = Image.new("RGBA", rgba.size, (*background, 255))
    return Image.alpha_composite(base, rgba).convert("RGB")


def _open_checked(path, max_pixels: int) -> Image.Image:
    """Open lazily (header only), refusing images over `max_pixels` before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            # PIL's own bomb warning (> 89 MP) is superseded by the max_pixels check below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as err:
        raise ValueError(f"{path}: image too large ({err}); the limit is {max_pixels} pixels") from err
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"{path}: not a readable image ({err})") from err
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise ValueError(f"{path}: image is {width}x{height} = {width * height} pixels, over the "
                         f"{max_pixels}-pixel limit (decompression-bomb guard)")
    return image


def read_image(
    path: str | os.PathLike,
    *,
    size: Size | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
    max_pixels: int = MAX_PIXELS,
) -> torch.Tensor:
    """Read an image as uint8 (3, h, w) RGB, or with `size` as float32 (3, h', w') in [0, 1].

    EXIF orientation is applied; CMYK, palette, grayscale and 16-bit images are converted
    (16-bit scaled by 255 / 65535); alpha is composited over `background`. With `size` (an int or
    (h, w)), the image goes through the official transform (`asva.media.transform.fit_frames`: crop to
    the output's aspect, antialiased bilinear resize on float values, never rounded back to uint8),
    which is the official `load_image` for RGB files without an EXIF rotation.
    Images over `max_pixels` (from the header) and unreadable or truncated files raise ValueError.
    """
    path = check_file(path)
    image = _open_checked(path, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
            rgb = _to_rgb(ImageOps.exif_transpose(image), background)
    except Image.DecompressionBombError as err:
        raise ValueError(f"{path}: image too large ({err})") from err
    except (OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"{path}: corrupt or truncated image ({err})") from err
    finally:
        image.close()
    pixels = rearrange(torch.from_numpy(np.array(rgb, dtype=np.uint8)), "h w c -> c h w")
    if size is None:
        return pixels.contiguous()
    return fit_frames(pixels[:, None], size)[:, 0]
