"""Parameters and multiply-accumulates (MACs) of a model, as in the paper's tables.

The paper counts "FLOPs" as multiply-adds (Table 1: ResNet-50, 3.8 x 10^9).
We count one MAC per multiply-add of every convolution and dense layer:

    conv:  H_out * W_out * k_h * k_w * (C_in / groups) * C_out
    dense: (positions) * C_in * C_out

Batch normalization, additions, pooling and activations are not counted (they
are < 1 % of the total; the paper leaves them out too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np

if TYPE_CHECKING:
    from .._typing import Shape, ShapeLike


def _count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def _layer_macs(layer):
    if isinstance(layer, keras.Model):
        return _macs(layer)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kh, kw, cin, mult = layer.kernel.shape
        _, h, w, _ = layer.output.shape
        return _positions(layer, (h, w)) * kh * kw * cin * mult
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw, cin, cout = layer.kernel.shape
        _, h, w, _ = layer.output.shape
        return _positions(layer, (h, w)) * kh * kw * cin * cout
    if isinstance(layer, keras.layers.Dense):
        cin, cout = layer.kernel.shape
        return _positions(layer, layer.output.shape[1:-1]) * cin * cout
    return 0


def _positions(layer, dims):
    """How many output positions a layer computes (1 for a flat output)."""
    if any(d is None for d in dims):
        raise _UnknownSize(layer.name)
    return int(np.prod(dims, dtype=np.int64))


class _UnknownSize(Exception):
    pass


def _macs(model):
    return int(sum(_layer_macs(layer) for layer in model.layers))


def profile(model: keras.Model, input_shape: ShapeLike | None = None) -> dict[str, Any]:
    """Parameters and multiply-accumulates per image of a functional model.

    Args:
        model: a built functional `keras.Model`.
        input_shape: (H, W, C) to count MACs at, required when the model's
            input has an undefined size such as (None, None, 3).

    Returns:
        dict(trainable_params, non_trainable_params, total_params, macs,
        input_shape).
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"profile() needs a keras.Model, got {type(model).__name__}.")
    shape: Shape | None = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    counted = model
    if input_shape is not None:
        input_shape = tuple(input_shape)
        if shape is not None and len(input_shape) != len(shape):
            raise ValueError(f"input_shape {input_shape} does not match the model's input rank {shape}.")
        if input_shape != shape:
            counted = keras.models.clone_model(model, input_tensors=keras.Input(shape=input_shape))
        shape = input_shape
    try:
        macs = _macs(counted)
    except _UnknownSize as e:
        raise ValueError(
            f"Layer {e.args[0]!r} has an undefined spatial size (model input {model.input_shape}); "
            f"pass input_shape=(H, W, C) to count its multiply-accumulates."
        ) from None
    return dict(
        trainable_params=_count(model.trainable_weights),
        non_trainable_params=_count(model.non_trainable_weights),
        total_params=_count(model.weights),
        macs=macs,
        input_shape=shape,
    )
