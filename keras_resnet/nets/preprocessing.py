"""A model's input preprocessing: the Rescaling / Normalization layers `preprocessing=` puts first, and their one reader.

`add_preprocessing` builds them (nets/builders.py); `leading_preprocessing`, `channel_affine` and `mean_std`
read them back, for the weights' preprocessing (`nets.weights.preprocessing_of`) and for the int8 exporter's
folded input affine (`deploy.int8.input_affine`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np

if TYPE_CHECKING:
    from .._typing import Preprocessing


def add_preprocessing(x: keras.KerasTensor, preprocessing: Preprocessing | None, channels: int,
                      dtype: Any = None) -> keras.KerasTensor:
    """Rescale (and normalise) raw 0-255 images inside the model.

    `preprocessing` is None or a dict with optional keys `scale` (e.g. 1/255),
    `mean` and `std` (per channel, or one value), applied as
    (x * scale - mean) / std.
    """
    if preprocessing is None:
        return x
    if not isinstance(preprocessing, dict) or not set(preprocessing) <= {"scale", "mean", "std"}:
        raise ValueError(
            f"preprocessing must be None or a dict with keys 'scale', 'mean', 'std', got {preprocessing!r}."
        )
    scale = preprocessing.get("scale")
    if scale is not None:
        x = keras.layers.Rescaling(float(scale), name="rescale", dtype=dtype)(x)
    mean, std = preprocessing.get("mean"), preprocessing.get("std")
    if mean is not None or std is not None:
        mean = np.broadcast_to(np.asarray(0.0 if mean is None else mean, "float32"), (channels,))
        std = np.broadcast_to(np.asarray(1.0 if std is None else std, "float32"), (channels,))
        if np.any(std <= 0):
            raise ValueError(f"preprocessing std must be > 0, got {std.tolist()}.")
        x = keras.layers.Normalization(
            mean=mean.tolist(), variance=(std**2).tolist(), name="normalize", dtype=dtype
        )(x)
    return x


def leading_preprocessing(model: keras.Model) -> list[keras.layers.Layer]:
    """The Rescaling and per-channel Normalization layers a one-input image model starts with, in order.

    [] when the model has another input or starts otherwise; the first other layer ends the list.
    """
    layers = model.layers
    if len(model.inputs) != 1 or len(model.input_shape) != 4 or not layers or \
            not isinstance(layers[0], keras.layers.InputLayer):
        return []
    found = []
    for layer in layers[1:]:
        if isinstance(layer, keras.layers.Normalization):
            axis = layer.axis if isinstance(layer.axis, (tuple, list)) else (layer.axis,)
            if layer.invert or tuple(axis) not in ((-1,), (3,)):
                break
        elif not isinstance(layer, keras.layers.Rescaling):
            break
        found.append(layer)
    return found


def mean_std(layer: keras.layers.Normalization) -> tuple[np.ndarray, np.ndarray]:
    """A Normalization layer's mean and standard deviation (the square root of its variance), float64, flat."""
    mean = np.ravel(keras.ops.convert_to_numpy(layer.mean)).astype(np.float64)
    return mean, np.sqrt(np.ravel(keras.ops.convert_to_numpy(layer.variance)).astype(np.float64))


def channel_affine(layer: keras.layers.Layer, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(scale, offset) per channel, float64: what a Rescaling or Normalization layer computes, x * scale + offset.

    Normalization divides by max(std, keras.config.epsilon()), as the layer does. ValueError when a value does
    not broadcast to `channels`.
    """
    if isinstance(layer, keras.layers.Rescaling):
        scale = np.broadcast_to(np.asarray(layer.scale, np.float64).ravel(), (channels,))
        return scale, np.broadcast_to(np.asarray(layer.offset, np.float64).ravel(), (channels,))
    mean, std = (np.broadcast_to(v, (channels,)) for v in mean_std(layer))
    std = np.maximum(std, keras.config.epsilon())
    return 1.0 / std, -mean / std
