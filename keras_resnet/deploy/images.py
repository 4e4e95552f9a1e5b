"""Any image a person gives -> the uint8 [H, W, C] array a model takes (the converters of predict and the demo).

Paths, encoded bytes, PIL images and arrays in any mode (RGBA and palette composited on white, 16-bit
scaled to 8 bits, floats in [0, 1] scaled up, EXIF orientation applied), converted to the model's channels
and resized to its input.

Files are untrusted input. Every decode runs under a pixel budget (`pixel_budget`: Pillow's own
`Image.MAX_IMAGE_PIXELS` set to the package's `MAX_IMAGE_PIXELS`, 50 MP, its DecompressionBombWarning an
error; both in keras_resnet.io), so what a container hides behind a small header (an ICO or ICNS whose directory says 16x16 but holds a
12000x12000 PNG, which Pillow decodes inside `Image.open`; a GIF frame larger than its screen; a TIFF tile)
is refused by Pillow's check at this limit before it is allocated. The size of the frame that will be decoded
(the first: an animation, a multi-page TIFF or an MPO gives its first frame) is checked too, before `load()`.
Every way a file can fail to decode is one ValueError naming the file.
"""

from __future__ import annotations

import io
import os
import pathlib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from ..io import MAX_IMAGE_PIXELS, pixel_budget  # noqa: F401  (re-exported: the package's limit and budget)

if TYPE_CHECKING:
    import numpy.typing as npt
    from PIL import Image

    from .._typing import ImageInput, ShapeLike, StrPath

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


def _bomb(name: str, src: io.BytesIO | pathlib.Path, error: Exception, max_pixels: int) -> ValueError:
    """Pillow refused an image over the budget: say what it holds (its header's WxH when that is the image)."""
    found = re.search(r"\((\d+) pixels\)", str(error))
    pixels = int(found.group(1)) if found else None
    size = _header_size(src)
    if size and (pixels is None or size[0] * size[1] == pixels):
        return _too_large(name, size, max_pixels)
    held = f"an image of {pixels:,} pixels" if pixels else "an image larger than the limit"
    claims = f" behind a header that claims {size[0]}x{size[1]}" if size else ""
    return ValueError(f"image {name} holds {held}{claims}, more than the limit of {max_pixels:,} "
                      "(keras_resnet.deploy.images.MAX_IMAGE_PIXELS); not decoded")


def _decode(image: StrPath | bytes, max_pixels: int) -> Image.Image:
    """A path or encoded bytes -> a decoded PIL image, EXIF orientation applied; one ValueError otherwise.

    Everything from `Image.open` on runs under `pixel_budget(max_pixels)`."""
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
    bomb = (Image.DecompressionBombError, Image.DecompressionBombWarning)
    with pixel_budget(max_pixels):
        try:
            img = Image.open(src)                  # the header; an ICO's embedded PNG is decoded here, in budget
        except bomb as e:
            raise _bomb(name, src, e, max_pixels) from None
        except UnidentifiedImageError:
            raise ValueError(f"cannot decode image {name}: not a recognised image format; {FORMATS_HINT}") from None
        except Exception as e:  # noqa: BLE001  PIL's parsers raise many types (SyntaxError, struct.error, ...)
            raise ValueError(f"cannot decode image {name}: {_reason(e)}; {FORMATS_HINT}") from None
        try:
            w, h = img.size                        # the first frame's: the one decoded
            if w * h > max_pixels:                 # before a single pixel is decoded
                raise _too_large(name, (w, h), max_pixels)
            if w < 1 or h < 1:
                raise ValueError(f"image {name} claims {w}x{h} pixels: nothing to decode")
            try:
                img.load()
                return _normalize(_upright(img))
            except bomb as e:                      # a frame or tile larger than the header said
                raise _bomb(name, src, e, max_pixels) from None
            except Exception as e:  # noqa: BLE001  truncated data, broken streams, modes PIL cannot convert
                raise ValueError(f"cannot decode image {name} ({img.format} {w}x{h}, mode {img.mode}): "
                                 f"{_reason(e)}; {FORMATS_HINT}") from None
        finally:
            img.close()


def _header_size(src: io.BytesIO | pathlib.Path) -> tuple[int, ...] | None:
    """(width, height) an image header claims, for the error message only; None if unknown.

    Called under the pixel budget (a plugin that decodes while opening, like ICO's, is refused again).
    """
    from PIL import Image

    Image.init()
    if isinstance(src, io.BytesIO):
        src.seek(0)
        data = src.read(1 << 20)
    else:
        with open(src, "rb") as f:
            data = f.read(1 << 20)
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, 1   # nothing is decoded while reading headers
    try:
        for fmt in Image.ID:
            factory, accept = Image.OPEN[fmt]
            if accept and not accept(data[:16]):
                continue
            try:
                return tuple(factory(io.BytesIO(data), "").size)   # "": no file name (what PIL makes of None)
            except Exception:  # noqa: BLE001  not this format
                continue
    finally:
        Image.MAX_IMAGE_PIXELS = saved
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
    resize with bilinear filtering. `max_pixels` (default MAX_IMAGE_PIXELS): no image of more pixels is
    decoded, whatever its header claims (`pixel_budget`). Raises FileNotFoundError (no such file) or ValueError naming the
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
