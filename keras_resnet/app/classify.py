"""Classify one image with one model folder: the cached predictor per backend, and the timings shown.

Image conversion and the per-backend predictors live in keras_resnet.deploy (one place for them).
"""

from __future__ import annotations

import threading
import time

from .folders import FILES


class _Locked:
    """A predictor called by one request at a time (LiteRT interpreters are not thread-safe)."""

    def __init__(self, predictor):
        self.predictor, self.lock = predictor, threading.Lock()

    def predict(self, x):
        with self.lock:
            return self.predictor.predict(x)


_PREDICTORS = {}
_LOAD_LOCK = threading.Lock()


class ModelLoadError(RuntimeError):
    """A model file that passed the folder checks but does not load."""


def _enlarge(x, side=128):
    """The model's input (uint8 H, W, C), enlarged with nearest-neighbour so its pixels stay visible."""
    from PIL import Image

    im = Image.fromarray(x[..., 0] if x.shape[-1] == 1 else x)
    k = max(1, side // max(im.size))
    return im.resize((im.width * k, im.height * k), Image.Resampling.NEAREST)


def get_predictor(entry, backend):
    """The cached predictor of `entry` for `backend`, loaded on first use; and the seconds loading took (0 if cached)."""
    import numpy as np

    from ..deploy.predictors import KerasPredictor, TFLitePredictor

    key = (str(entry.folder), backend)
    with _LOAD_LOCK:
        if key in _PREDICTORS:
            return _PREDICTORS[key], 0.0
        t = time.perf_counter()
        path = entry.folder / FILES[backend]
        try:
            predictor = KerasPredictor(path) if backend == "Keras" else _Locked(TFLitePredictor(path))
        except Exception as e:  # noqa: BLE001  (inference raises ValueError with the reason)
            raise ModelLoadError(f"{entry.name}: {FILES[backend]} does not load ({e})") from None
        predictor.predict(np.zeros((1, *entry.input_shape), np.uint8))  # trace / allocate once, off the clock
        _PREDICTORS[key] = predictor
        return predictor, time.perf_counter() - t


def prepare_image(image, input_shape):
    """Any image -> uint8 (H, W, C) for the model (keras_resnet.deploy.load_image)."""
    from ..deploy.images import load_image

    return load_image(image, tuple(input_shape))


def predict(entry, image, backend="Keras"):
    """Classify one image: ({class: probability}, convert seconds, inference seconds, load seconds, model input)."""
    import numpy as np

    if backend not in entry.backends:
        raise ValueError(f"{entry.name} has no {backend} backend; it has {', '.join(entry.backends)}")
    t0 = time.perf_counter()
    x = prepare_image(image, entry.input_shape)
    t1 = time.perf_counter()
    predictor, load_s = get_predictor(entry, backend)
    t2 = time.perf_counter()
    p = np.asarray(predictor.predict(x[None]), np.float64)[0]
    t3 = time.perf_counter()
    if not np.isfinite(p).all():
        raise ValueError(f"{entry.name} ({backend}) returned NaN or infinite scores: a broken model file?")
    names = entry.class_names
    if len(p) != len(names):
        raise ValueError(f"{entry.name} outputs {len(p)} scores but its card names {len(names)} classes")
    return {n: float(v) for n, v in zip(names, p)}, t1 - t0, t3 - t2, load_s, x
