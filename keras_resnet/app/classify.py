"""Classify one image with one model folder: the cached predictor per backend, and the timings shown.

Image conversion and the per-backend predictors live in keras_resnet.deploy (one place for them).
"""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import tempfile
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ..deploy.predictors import KerasPredictor


class _Locked:

    """A predictor called by one request at a time (LiteRT interpreters are not thread-safe)."""

    def __init__(self, predictor):
        self.predictor, self.lock = predictor, threading.Lock()

    def predict(self, x):
        with self.lock:
            return self.predictor.predict(x)


_PREDICTORS: dict[tuple[str, str], KerasPredictor | _Locked] = {}   # (model folder, backend) -> predictor
_LOAD_LOCK = threading.Lock()


class ModelLoadError(RuntimeError):
    """A model file that passed the folder checks but does not load."""


def _enlarge(x, side=128):
    """The model's input (uint8 H, W, C), enlarged with nearest-neighbour so its pixels stay visible."""
    from PIL import Image

    im = Image.fromarray(x[..., 0] if x.shape[-1] == 1 else x)
    k = max(1, side // max(im.size))
    return im.resize((im.width * k, im.height * k), Image.Resampling.NEAREST)


def model_input_file(x, cache_dir):
    """The model's input, enlarged (`_enlarge`), as a PNG file in Gradio's cache: written once, atomically.

    The output image is served from a file. Returning a PIL image would let Gradio write it with
    processing_utils.save_pil_to_cache, which rewrites one content-hashed path in place (truncate, then
    write): two requests with the same image rewrite the file another request is still serving, and that
    one ends with h11's "Too little data for declared Content-Length" (the client sees "peer closed
    connection"). Here every distinct image gets its own path, named by its content, written to a
    temporary name and renamed into place, and never rewritten: a reader always gets a whole file.
    """
    buf = io.BytesIO()
    _enlarge(x).save(buf, "PNG")
    data = buf.getvalue()
    folder = pathlib.Path(cache_dir) / f"model-input-{hashlib.sha256(data).hexdigest()}"
    path = folder / "model-input.png"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".model-input-", suffix=".png")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)                # atomic: a reader sees the old inode or the whole new one
        except BaseException:
            pathlib.Path(tmp).unlink(missing_ok=True)
            raise
    return str(path)


def get_predictor(entry, backend):
    """The cached predictor of `entry` for `backend`, loaded on first use; and the seconds loading took (0 if cached)."""
    import numpy as np

    from ..deploy.predictors import KerasPredictor, TFLitePredictor

    key = (str(entry.folder), backend)
    with _LOAD_LOCK:
        if key in _PREDICTORS:
            return _PREDICTORS[key], 0.0
        t = time.perf_counter()
        path = entry.file(backend)
        try:
            if entry.preset:   # a packaged preset: built, its weights loaded after their SHA-256 check
                from ..nets.builders import build

                model = build(entry.preset["model"], weights=entry.preset["weights"])
                predictor: KerasPredictor | _Locked = KerasPredictor(model, class_names=entry.class_names)
            else:
                predictor = KerasPredictor(path) if backend == "Keras" else _Locked(TFLitePredictor(path))
        except Exception as e:  # noqa: BLE001  (inference raises ValueError with the reason)
            raise ModelLoadError(f"{entry.name}: {path.name} does not load ({e})") from None
        predictor.predict(np.zeros((1, *entry.input_shape), np.uint8))  # trace / allocate once, off the clock
        _PREDICTORS[key] = predictor
        return predictor, time.perf_counter() - t


T = TypeVar("T")


class ModelCache(Generic[T]):
    """One `build(keras_model, input_shape)` per model folder (Grad-CAM's cut model, the lesion's instrumented
    one), built on first use on /predict's cached Keras model and kept."""

    def __init__(self, build: Callable[[Any, tuple], T]):
        self.build = build
        self.cache: dict[str, T] = {}     # model folder -> what `build` made of its model
        self.lock = threading.Lock()

    def get(self, entry) -> tuple[T, float]:
        """The cached value for `entry`'s folder; and the seconds loading and building took (0 when cached)."""
        key = str(entry.folder)
        with self.lock:
            if key in self.cache:
                return self.cache[key], 0.0
            t = time.perf_counter()
            predictor, _ = get_predictor(entry, "Keras")
            self.cache[key] = self.build(predictor.model, entry.input_shape)
            return self.cache[key], time.perf_counter() - t


def prepare_image(image, input_shape):
    """Any image -> uint8 (H, W, C) for the model (keras_resnet.deploy.load_image)."""
    from ..deploy.images import load_image

    return load_image(image, tuple(input_shape))


def predict(entry, image, backend="Keras"):
    """Classify one image: ({class: probability}, convert seconds, inference seconds, load seconds, model input)."""
    import numpy as np

    if backend not in entry.backends:
        raise ValueError(f"{entry.name} has no {backend} backend; it has {', '.join(entry.backends)}")
    predictor, load_s = get_predictor(entry, backend)   # first: loading compares the card with the model
    t0 = time.perf_counter()
    x = prepare_image(image, entry.input_shape)         # the card's input shape, now known to be the model's
    t1 = time.perf_counter()
    p = np.asarray(predictor.predict(x[None]), np.float64)[0]
    t3 = time.perf_counter()
    if not np.isfinite(p).all():
        raise ValueError(f"{entry.name} ({backend}) returned NaN or infinite scores: a broken model file?")
    names = entry.class_names
    if len(p) != len(names):
        raise ValueError(f"{entry.name} outputs {len(p)} scores but its card names {len(names)} classes")
    return {n: float(v) for n, v in zip(names, p)}, t1 - t0, t3 - t1, load_s, x
