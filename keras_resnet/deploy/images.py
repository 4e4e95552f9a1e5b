"""Any image a person gives -> the uint8 [H, W, C] array a model takes (the converters of predict and the demo).

Paths, encoded bytes, PIL images and arrays in any mode (RGBA and palette composited on white, 16-bit
scaled to 8 bits, floats in [0, 1] scaled up), converted to the model's channels and resized to its input.
"""

import io
import os
import pathlib

import numpy as np


def _to_uint8(arr):
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


def _pil_from(image):
    """A path, bytes, PIL image or array -> a PIL image in mode L, LA, RGB or RGBA (8 bits per channel)."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, Image.Image):
        img = image
    elif isinstance(image, (str, os.PathLike, bytes)):
        src = io.BytesIO(image) if isinstance(image, bytes) else pathlib.Path(image)
        if not isinstance(src, io.BytesIO) and not src.is_file():
            raise FileNotFoundError(f"image not found: {src}")
        try:
            img = Image.open(src)
            img.load()
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise ValueError(f"cannot decode image {image if not isinstance(image, bytes) else '<bytes>'}: {e}; "
                             "expected a PNG, JPEG, BMP, GIF, TIFF or WebP file") from None
    else:
        arr = np.asarray(image)
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (2, 3, 4)):
            raise ValueError(f"cannot use an image array of shape {arr.shape}; expected H×W or H×W×C with C in 1, 2, 3, 4")
        arr = _to_uint8(arr)
        mode = {2: "L"}.get(arr.ndim) or {2: "LA", 3: "RGB", 4: "RGBA"}[arr.shape[-1]]
        return Image.fromarray(arr, mode)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):   # 16-bit / 32-bit grey: scale to 8 bits
        return Image.fromarray(_to_uint8(np.asarray(img)), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.mode else "RGB")
    return img


def load_image(image, input_shape=None):
    """Read and convert one image for a model: returns uint8 [H, W, C].

    `image`: a file path, encoded bytes, a PIL image or an array (uint8, 16-bit, or float in [0, 1]).
    Any mode is accepted (RGBA and palette are composited on white, 16-bit is scaled to 8 bits).
    `input_shape`: the model's (H, W, C); C=1 gives grayscale, C=3 colour; H, W (when not None)
    resize with bilinear filtering. Raises FileNotFoundError / ValueError (undecodable file).
    """
    from PIL import Image

    img = _pil_from(image)
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
            img = img.resize((w, h), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[..., None] if channels == 1 else arr


def load_images(images, input_shape):
    """Many images (paths, arrays, ...) -> uint8 [N, H, W, C]; an array batch passes through as uint8."""
    if isinstance(images, np.ndarray) and images.ndim == 4:
        return _to_uint8(images)
    return np.stack([load_image(i, input_shape) for i in images])
