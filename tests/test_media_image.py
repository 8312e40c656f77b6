"""Images: every PIL mode becomes uint8 RGB (3, h, w); EXIF orientation; resize; bombs and bad files."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from asva.media import read_image


def rgb_at(image: torch.Tensor, y: int = 0, x: int = 0) -> list[int]:
    return image[:, y, x].tolist()


@pytest.mark.parametrize(
    "name,make,expected",
    [
        ("cmyk.tif", lambda: Image.new("CMYK", (6, 4), (0, 255, 255, 0)), [255, 0, 0]),
        ("gray.png", lambda: Image.new("L", (6, 4), 77), [77, 77, 77]),
        ("rgb.png", lambda: Image.new("RGB", (6, 4), (1, 2, 3)), [1, 2, 3]),
        ("palette.png", lambda: Image.new("RGB", (6, 4), (10, 200, 30)).quantize(4), [10, 200, 30]),
        ("deep.png", lambda: Image.fromarray(np.full((4, 6), 32896, np.uint16)), [128, 128, 128]),
        ("white16.png", lambda: Image.fromarray(np.full((4, 6), 65535, np.uint16)), [255, 255, 255]),
    ],
)
def test_modes_become_rgb(tmp_path, name, make, expected):
    path = tmp_path / name
    make().save(path)
    image = read_image(path)
    assert image.dtype == torch.uint8 and image.shape == (3, 4, 6)
    assert rgb_at(image) == expected and rgb_at(image, 3, 5) == expected


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 24, dtype=np.uint16).reshape(4, 6)
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    with Image.open(tmp_path / "ramp.png") as im:
        assert im.mode.startswith("I")
    got = read_image(tmp_path / "ramp.png")[0].numpy()
    assert np.array_equal(got, np.rint(ramp / 257.0).astype(np.uint8))


@pytest.mark.parametrize("mode,pixel", [("RGBA", (255, 0, 0, 128)), ("LA", (0, 128))])
def test_alpha_is_composited_on_the_background(tmp_path, mode, pixel):
    path = tmp_path / f"{mode}.png"
    Image.new(mode, (5, 3), pixel).save(path)
    on_white = rgb_at(read_image(path))
    on_black = rgb_at(read_image(path, background=(0, 0, 0)))
    if mode == "RGBA":
        assert on_white == [255, 127, 127] and on_black == [128, 0, 0]
    else:
        assert on_white == [127, 127, 127] and on_black == [0, 0, 0]


def test_palette_transparency_uses_background(tmp_path):
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 255, 0] + [9, 9, 9] * 255)
    image.info["transparency"] = 0
    image.save(tmp_path / "p.png", transparency=0)
    assert rgb_at(read_image(tmp_path / "p.png", background=(1, 2, 3))) == [1, 2, 3]


def test_exif_orientation_is_honoured(tmp_path):
    stored = Image.new("RGB", (16, 8), (255, 0, 0))
    stored.paste((0, 0, 255), (8, 0, 16, 8))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    stored.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    image = read_image(tmp_path / "rotated.jpg")
    assert image.shape == (3, 16, 8)  # portrait after the transpose
    top, bottom = image[:, :6].float().mean((1, 2)), image[:, 10:].float().mean((1, 2))
    assert top[0] > 200 and top[2] < 50  # red on top
    assert bottom[2] > 200 and bottom[0] < 50  # blue below


def test_large_image_resized_when_size_given(tmp_path):
    ramp = np.broadcast_to(np.arange(3000, dtype=np.uint32) % 256, (2000, 3000)).astype(np.uint8)
    Image.fromarray(ramp).save(tmp_path / "big.png", compress_level=1)
    image = read_image(tmp_path / "big.png", size=256)
    assert image.shape == (3, 256, 256)
    assert read_image(tmp_path / "big.png").shape == (3, 2000, 3000)


def png_header_only(path, width: int, height: int) -> None:
    """A PNG whose IHDR claims width x height: enough for the header check, no real pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) +
                     chunk(b"IEND", b""))


@pytest.mark.parametrize("width,height", [(11000, 11000), (20000, 20000)])  # over our limit; over PIL's
def test_decompression_bomb_is_refused_from_the_header(tmp_path, width, height):
    path = tmp_path / "bomb.png"
    png_header_only(path, width, height)
    with pytest.raises(ValueError, match="bomb.png: image (is|too large)"):
        read_image(path)


def test_max_pixels_is_configurable(tmp_path):
    Image.new("RGB", (100, 100)).save(tmp_path / "a.png")
    with pytest.raises(ValueError, match="over the 5000-pixel limit"):
        read_image(tmp_path / "a.png", max_pixels=5000)


def test_bad_image_files(tmp_path, golden):
    with pytest.raises(ValueError, match="gone.png: no such file"):
        read_image(tmp_path / "gone.png")
    with pytest.raises(ValueError, match="is a directory"):
        read_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.png: file is empty"):
        read_image(tmp_path / "empty.png")
    (tmp_path / "text.png").write_text("definitely not a picture\n")
    with pytest.raises(ValueError, match="text.png: not a readable image"):
        read_image(tmp_path / "text.png")
    data = (golden / "media" / "lion_and_gun.png").read_bytes()
    (tmp_path / "half.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="half.png: corrupt or truncated"):
        read_image(tmp_path / "half.png")
    assert read_image(golden / "media" / "lion_and_gun.png").shape == (3, 499, 541)


def test_fit_image_gives_the_pipeline_range_and_the_crop_note():
    from asva.media import fit_image

    pixels = torch.zeros((3, 40, 60), dtype=torch.uint8)
    pixels[:, :, 30:] = 255  # black left half, white right half
    image, note = fit_image(pixels, 20)
    assert image.dtype == torch.float32 and image.shape == (3, 20, 20)
    assert image.min() == -1 and image.max() == 1  # [-1, 1], what the pipelines read floats as
    assert "centre-cropped to 40x40 (10 columns on the left and 10 on the right cut)" in note
    assert fit_image(pixels[:, :, :40], 40)[1] is None
    with pytest.raises(ValueError, match="uint8"):
        fit_image(pixels.float(), 20)
