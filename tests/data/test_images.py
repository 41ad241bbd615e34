"""Every awkward file decodes to RGB uint8 or raises ImageError naming the file; nothing crashes."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from harness.data.images import load_rgb
from harness.errors import ImageError

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 255, (40, 30, 3), dtype=np.uint8)


def save(tmp_path, name, img, **kw):
    p = tmp_path / name
    img.save(p, **kw)
    return p


def test_rgb_jpeg_roundtrip(tmp_path):
    out = load_rgb(save(tmp_path, "a.png", Image.fromarray(RGB)))
    assert out.dtype == np.uint8 and out.shape == (40, 30, 3)
    assert np.array_equal(out, RGB)


def test_png_with_alpha_is_composited_on_white(tmp_path):
    rgba = np.dstack([RGB, np.full((40, 30), 255, np.uint8)])
    rgba[:10, :, 3] = 0  # fully transparent band: its RGB is arbitrary and must not leak through
    out = load_rgb(save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA")))
    assert out.shape == (40, 30, 3)
    assert (out[:10] == 255).all()
    assert np.array_equal(out[10:], RGB[10:])


def test_grayscale_becomes_three_equal_channels(tmp_path):
    g = RGB[..., 0]
    out = load_rgb(save(tmp_path, "g.png", Image.fromarray(g, "L")))
    assert out.shape == (40, 30, 3) and np.array_equal(out[..., 0], g) and np.array_equal(out[..., 2], g)


def test_16bit_is_scaled_not_clipped(tmp_path):
    g16 = (RGB[..., 0].astype(np.uint16) * 257)  # full 16-bit range
    out = load_rgb(save(tmp_path, "g16.png", Image.fromarray(g16)))
    assert out.dtype == np.uint8
    assert np.abs(out[..., 0].astype(int) - RGB[..., 0]).max() <= 1


def test_cmyk_jpeg(tmp_path):
    p = save(tmp_path, "c.jpg", Image.fromarray(RGB).convert("CMYK"), quality=95)
    out = load_rgb(p)
    assert out.shape == (40, 30, 3)
    assert np.abs(out.astype(int) - RGB).mean() < 30


def test_palette_image(tmp_path):
    out = load_rgb(save(tmp_path, "p.png", Image.fromarray(RGB).convert("P")))
    assert out.shape == (40, 30, 3)


def _jpeg_bytes():
    buf = io.BytesIO()
    Image.fromarray(RGB).save(buf, "JPEG")
    return buf.getvalue()


def test_truncated_jpeg_is_an_error_naming_the_file(tmp_path):
    p = tmp_path / "trunc.jpg"
    p.write_bytes(_jpeg_bytes()[:200])
    with pytest.raises(ImageError, match="trunc.jpg"):
        load_rgb(p)


def test_corrupt_jpeg(tmp_path):
    data = bytearray(_jpeg_bytes())
    data[20:400] = bytes(380)  # wipe the tables
    p = tmp_path / "corrupt.jpg"
    p.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="corrupt.jpg"):
        load_rgb(p)


def test_non_image_and_empty_and_missing(tmp_path):
    (tmp_path / "notes.jpg").write_text("this is not an image")
    with pytest.raises(ImageError, match="not an image"):
        load_rgb(tmp_path / "notes.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_rgb(tmp_path / "empty.jpg")
    with pytest.raises(ImageError, match="not found"):
        load_rgb(tmp_path / "missing.jpg")


def _png_header_only(w, h):
    """A PNG whose header declares w x h pixels (a decompression bomb's calling card)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_from_the_header(tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_only(20000, 20000))
    with pytest.raises(ImageError, match="bomb"):
        load_rgb(p)


def test_pixel_limit_is_configurable(tmp_path):
    p = save(tmp_path, "a.png", Image.fromarray(RGB))
    with pytest.raises(ImageError, match="1,000-pixel limit"):
        load_rgb(p, max_pixels=1000)


def test_exif_rotation_is_applied(tmp_path):
    img = Image.fromarray(RGB)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    p = tmp_path / "r.jpg"
    img.save(p, exif=exif, quality=100)
    assert load_rgb(p).shape == (30, 40, 3)
