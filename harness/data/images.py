"""Safe image decoding: every file becomes an RGB uint8 array or a clear :class:`ImageError`.

Handles the inputs real face sets contain: alpha (composited on white, since transparent
pixels carry arbitrary colour), grayscale, palette, 16-bit and float images (scaled, not
clipped), CMYK, EXIF rotation, truncated and corrupt files, and decompression bombs
(refused from the header, before any pixel is decoded).
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from harness.errors import ImageError

# Truncated files must fail, not decode to grey padding.
ImageFile.LOAD_TRUNCATED_IMAGES = False


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale a high-bit-depth or float array to 0..255 by its nominal range."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind == "f":
        hi = 1.0 if float(np.nanmax(arr)) <= 1.0 else 255.0
        return np.clip(np.nan_to_num(arr) / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
    maxv = int(arr.max()) if arr.size else 0
    # 16-bit files sometimes hold 10/12-bit sensor data; scale by the container's range.
    bits = 16 if maxv > 255 else 8
    if maxv > 65535:
        bits = 32
    return (arr.astype(np.float64) / (2**bits - 1) * 255.0 + 0.5).clip(0, 255).astype(np.uint8)


def load_rgb(path: str | Path, max_pixels: int = 40_000_000) -> np.ndarray:
    """Decode ``path`` into an ``(H, W, 3)`` uint8 RGB array.

    Parameters
    ----------
    path : path-like
        Image file.
    max_pixels : int
        Refuse images whose header declares more pixels than this.

    Raises
    ------
    ImageError
        With the file name, what is wrong and how to fix it.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError(path, "file not found", "check the image column of metadata.csv")
    if path.stat().st_size == 0:
        raise ImageError(path, "file is empty", "re-copy or re-download the file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
    except UnidentifiedImageError:
        raise ImageError(path, "not an image PIL can identify", "convert it to JPEG or PNG") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(path, f"refused as a decompression bomb ({exc})") from None
    except Image.DecompressionBombWarning:
        raise ImageError(path, "header declares an implausibly large image (decompression bomb)") from None
    except OSError as exc:
        raise ImageError(path, f"cannot open ({exc})") from None
    with img:
        w, h = img.size
        if w * h > max_pixels:
            raise ImageError(
                path,
                f"header declares {w}x{h} pixels, over the {max_pixels:,}-pixel limit (decompression bomb?)",
                "resize the image or raise dataset.max_pixels",
            )
        try:
            img.load()
            img = ImageOps.exif_transpose(img)
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(path, f"corrupt or truncated image data ({exc})", "re-copy or re-download the file") from None
        return _convert(img, path)


def _convert(img: Image.Image, path: Path) -> np.ndarray:
    mode = img.mode
    if mode == "RGB":
        return np.asarray(img, dtype=np.uint8).copy()
    if mode in ("RGBA", "LA", "PA", "P", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"), dtype=np.uint8).copy()
    if mode in ("L", "1"):
        return np.repeat(np.asarray(img.convert("L"), dtype=np.uint8)[..., None], 3, axis=2)
    if mode.startswith("I") or mode == "F":
        arr = np.asarray(img)
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        return _to_uint8(arr[..., :3])
    if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    try:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except (ValueError, OSError) as exc:
        raise ImageError(path, f"unsupported image mode {mode} ({exc})", "convert it to 8-bit RGB") from None
