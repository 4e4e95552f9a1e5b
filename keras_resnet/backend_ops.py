"""The few things Keras 3 leaves to each backend: a compiled forward pass and a gradient with respect to a tensor.

Everything else in the package is `keras.ops`. On TensorFlow these are a `tf.function` and a `tf.GradientTape`
(as before); on JAX `jax.jit` / `jax.grad`; on PyTorch the model called under `torch.no_grad` / autograd.
Arguments and results are NumPy arrays, so callers need not know the backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def backend() -> str:
    import keras

    return keras.backend.backend()


def forward(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """`x -> model(x, training=False)` compiled once for the backend; x is cast to float32 inside (uint8 is fine)."""
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        fn = tf.function(lambda x: model(tf.cast(x, tf.float32), training=False), reduce_retracing=True)
        return lambda x: _numpy(fn(x))
    if name == "jax":
        import jax

        @jax.jit
        def call(trainable: Any, non_trainable: Any, x: Any) -> Any:
            return model.stateless_call(trainable, non_trainable, x.astype("float32"), training=False)[0]

        # the variables' current values at every call: a variable assigned later (a lesion switch) is seen
        return lambda x: _numpy(call([v.value for v in model.trainable_variables],
                                     [v.value for v in model.non_trainable_variables], x))
    import torch

    def call_torch(x: np.ndarray) -> Any:
        with torch.no_grad():
            return _numpy(model(np.asarray(x, np.float32), training=False))

    return call_torch


def value_and_gradient(fn: Callable[[Any], Any], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fn(x), d sum(fn(x)) / dx) for a function of one float32 tensor, as NumPy arrays."""
    name = backend()
    x = np.asarray(x, np.float32)
    if name == "tensorflow":
        import tensorflow as tf

        t = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = fn(t)
            total = tf.reduce_sum(y)
        return _numpy(y), _numpy(tape.gradient(total, t))
    if name == "jax":
        import jax

        def summed(t: Any) -> tuple[Any, Any]:
            y = fn(t)
            return y.sum(), y

        (_, y), g = jax.value_and_grad(summed, has_aux=True)(x)
        return _numpy(y), _numpy(g)
    import torch

    t = torch.tensor(x, requires_grad=True)
    y = fn(t)
    y.sum().backward()
    return _numpy(y.detach()), _numpy(t.grad)


def _numpy(x: Any) -> Any:
    """A backend tensor (or a list of them: a model with several outputs) as NumPy."""
    import keras

    if isinstance(x, (list, tuple)):
        return [_numpy(v) for v in x]
    return np.asarray(keras.ops.convert_to_numpy(x))
