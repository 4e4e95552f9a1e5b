"""Any image a person gives -> the uint8 [H, W, C] array a model takes (the converters of predict and the demo).

Paths, encoded bytes, PIL images and arrays in any mode (RGBA and palette composited on white, 16-bit
scaled to 8 bits, floats in [0, 1] scaled up, EXIF orientation applied), converted to the model's channels
and resized to its input.

Files are untrusted input: the size an image's header claims is checked before any pixel is decoded
(`MAX_IMAGE_PIXELS`), and every way a file can fail to decode is one ValueError naming the file.
"""

from __future__ import annotations

import io
import os
import pathlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt
    from PIL import Image

    from .._typing import ImageInput, ShapeLike, StrPath

# The largest image decoded: 50 megapixels (e.g. 8660 x 5773), ~150 MB as RGB, ~200 MB as RGBA while converting.
# Larger than any camera photo people usually share (12-48 MP) and far below what a decompression bomb claims.
# PIL's own guard (Image.MAX_IMAGE_PIXELS, ~89 MP warning, ~179 MP error) is looser and only warns in between.
MAX_IMAGE_PIXELS = 50_000_000
FORMATS_HINT = "expected a PNG, JPEG, BMP, GIF, TIFF or WebP file"


def _to_uint8(arr: npt.ArrayLike) -> np.ndarray:
    """Any numeric image array -> uint8 0-255 (16-bit scaled down, floats in [0, 1] scaled up)."""
    arr = np.asarray(arr)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.integer):
        top = 65535 if arr.max(initial=0) > 255 else 255
        return np.clip(np.round(arr.astype(np.float64) * 255 / top), 0, 255).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        a = np.nan_to_num(arr.astype(np.float64))
        if a.max(initial=0) <= 1.0:
            a = a * 255
        return np.clip(np.round(a), 0, 255).astype(np.uint8)
    raise ValueError(f"cannot use an image array of dtype {arr.dtype}; expected an integer or float array")


def _too_large(name: str, size: tuple[int, ...], max_pixels: int) -> ValueError:
    w, h = size
    return ValueError(f"image {name} claims to be {w}x{h} = {w * h:,} pixels, more than the limit of "
                      f"{max_pixels:,} (keras_resnet.deploy.images.MAX_IMAGE_PIXELS); not decoded")


def _decode(image: StrPath | bytes, max_pixels: int) -> Image.Image:
    """A path or encoded bytes -> a decoded PIL image, EXIF orientation applied; one ValueError otherwise."""
    from PIL import Image, UnidentifiedImageError

    src: io.BytesIO | pathlib.Path
    if isinstance(image, bytes):
        name, src = "<bytes>", io.BytesIO(image)
        if not image:
            raise ValueError(f"image {name} is empty (0 bytes); {FORMATS_HINT}")
    else:
        src = pathlib.Path(image)
        name = str(src)
        if src.is_dir():
            raise ValueError(f"{name} is a directory, not an image file")
        if not src.is_file():
            raise FileNotFoundError(f"image not found: {name}")
        if src.stat().st_size == 0:
            raise ValueError(f"image {name} is empty (0 bytes); {FORMATS_HINT}")
    try:
        img = Image.open(src)                      # parses the header only
    except Image.DecompressionBombError as e:      # PIL's own guard (far above ours): say what it claims
        size = _header_size(src)
        raise (_too_large(name, size, max_pixels) if size else ValueError(f"image {name}: {e}")) from None
    except UnidentifiedImageError:
        raise ValueError(f"cannot decode image {name}: not a recognised image format; {FORMATS_HINT}") from None
    except Exception as e:  # noqa: BLE001  PIL's parsers raise many types (SyntaxError, struct.error, ...)
        raise ValueError(f"cannot decode image {name}: {_reason(e)}; {FORMATS_HINT}") from None
    try:
        w, h = img.size
        if w * h > max_pixels:                     # before a single pixel is decoded
            raise _too_large(name, (w, h), max_pixels)
        if w < 1 or h < 1:
            raise ValueError(f"image {name} claims {w}x{h} pixels: nothing to decode")
        try:
            img.load()
            return _normalize(_upright(img))
        except Exception as e:  # noqa: BLE001  truncated data, broken streams, modes PIL cannot convert
            raise ValueError(f"cannot decode image {name} ({img.format} {w}x{h}, mode {img.mode}): {_reason(e)}; "
                             f"{FORMATS_HINT}") from None
    finally:
        img.close()


def _header_size(src: io.BytesIO | pathlib.Path) -> tuple[int, ...] | None:
    """(width, height) an image header claims, read without PIL's decompression-bomb check; None if unknown.

    Only used to word the error when PIL itself refused the file as a bomb (its message gives pixels only).
    """
    from PIL import Image

    Image.init()
    if isinstance(src, io.BytesIO):
        src.seek(0)
        data = src.read(1 << 20)
    else:
        with open(src, "rb") as f:
            data = f.read(1 << 20)
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        if accept and not accept(data[:16]):
            continue
        try:
            return tuple(factory(io.BytesIO(data), "").size)   # "": no file name (what PIL makes of None)
        except Exception:  # noqa: BLE001  not this format
            continue
    return None


def _reason(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (a phone photo's rotation); an unreadable EXIF block is ignored."""
    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001  a broken EXIF block does not make the pixels unusable
        return img.copy()


def _normalize(img: Image.Image) -> Image.Image:
    """A decoded PIL image -> mode L, LA, RGB or RGBA, 8 bits per channel."""
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):   # 16-bit / 32-bit grey: scale to 8 bits
        return Image.fromarray(_to_uint8(np.asarray(img)), "L")
    if img.mode in ("P", "PA"):
        img = img.convert("RGBA")
    if img.mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.mode else "RGB")
    return img


def _pil_from(image: ImageInput, max_pixels: int | None = None) -> Image.Image:
    """A path, bytes, PIL image or array -> a PIL image in mode L, LA, RGB or RGBA (8 bits per channel)."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return _normalize(_upright(image))
    if isinstance(image, (str, os.PathLike, bytes)):
        return _decode(image, MAX_IMAGE_PIXELS if max_pixels is None else max_pixels)
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (2, 3, 4)) or 0 in arr.shape:
        raise ValueError(f"cannot use an image array of shape {arr.shape}; expected H×W or H×W×C with C in 1, 2, 3, 4")
    arr = _to_uint8(arr)
    mode = {2: "L"}.get(arr.ndim) or {2: "LA", 3: "RGB", 4: "RGBA"}[arr.shape[-1]]
    return Image.fromarray(arr, mode)


def load_image(image: ImageInput, input_shape: ShapeLike | None = None, max_pixels: int | None = None) -> np.ndarray:
    """Read and convert one image for a model: returns uint8 [H, W, C].

    `image`: a file path, encoded bytes, a PIL image or an array (uint8, 16-bit, or float in [0, 1]).
    Any mode is accepted (RGBA and palette are composited on white, 16-bit is scaled to 8 bits, the EXIF
    orientation is applied, an animation gives its first frame).
    `input_shape`: the model's (H, W, C); C=1 gives grayscale, C=3 colour; H, W (when not None)
    resize with bilinear filtering. `max_pixels` (default MAX_IMAGE_PIXELS): a file whose header claims
    more pixels is refused before decoding. Raises FileNotFoundError (no such file) or ValueError naming the
    file and what is wrong with it (not an image, truncated, too large, ...).
    """
    from PIL import Image

    img = _pil_from(image, max_pixels)
    if img.mode in ("LA", "RGBA"):                      # transparency: composite on white
        background = Image.new(img.mode, img.size, (255,) * len(img.mode))
        img = Image.alpha_composite(background.convert("RGBA"), img.convert("RGBA"))
    channels = (input_shape or (None, None, 3))[-1] or 3
    if channels not in (1, 3):
        raise ValueError(f"cannot make images with {channels} channels; models take 1 (grayscale) or 3 (colour)")
    img = img.convert("L" if channels == 1 else "RGB")
    if input_shape is not None and input_shape[0] and input_shape[1]:
        h, w = int(input_shape[0]), int(input_shape[1])
        if img.size != (w, h):
            img = img.resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[..., None] if channels == 1 else arr


def load_images(images: np.ndarray | Iterable[ImageInput], input_shape: ShapeLike | None) -> np.ndarray:
    """Many images (paths, arrays, ...) -> uint8 [N, H, W, C]; an array batch passes through as uint8."""
    if isinstance(images, np.ndarray) and images.ndim == 4:
        return _to_uint8(images)
    return np.stack([load_image(i, input_shape) for i in images])
