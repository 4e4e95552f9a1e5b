"""Custom layers of keras_resnet, all registered for `.keras` serialization.

Every layer here has `get_config`, so a model that uses it saves to `.keras`
and loads back with `keras.saving.load_model(path, safe_mode=True)` (no
`Lambda` layers anywhere in the package).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

PACKAGE = "keras_resnet"


def subsample(x: Any, strides: int | tuple[int, int]) -> Any:
    """`x[:, ::s, ::s, :]` (rows and columns 0, s, 2s, ...; NHWC), computed as a 1x1 average pooling of stride s.

    The same numbers in every dtype (the mean of one value is the value; its gradient is the gradient placed
    at the kept positions). Why: TensorFlow runs a strided slice and its gradient (StridedSlice,
    StridedSliceGrad) through a generic CPU kernel, the pooling through oneDNN's, several times faster
    (measured by `benchmarks/subsample.py`; numbers in docs/benchmarks.md). Any input size: "valid" 1x1
    pooling keeps ceil(H / s) rows like the slice.
    """
    return ops.average_pool(x, pool_size=1, strides=strides, padding="valid", data_format="channels_last")


@keras.saving.register_keras_serializable(package=PACKAGE)
class ZeroPadShortcut(keras.layers.Layer):
    """The parameter-free identity shortcut of option A (He et al. 2016, §3.3).

    "The shortcut still performs identity mapping, with extra zero entries
    padded for increasing dimensions ... when the shortcuts go across feature
    maps of two sizes, they are performed with a stride of 2."

    The output is the input sampled at even positions (rows and columns
    0, s, 2s, ...) with `out_channels - in_channels` zero channels appended
    after the existing ones. With `strides=1` and no extra channels it is the
    identity.

    Args:
        strides: spatial subsampling factor (1 or 2 in the paper).
        out_channels: number of output channels, >= the input's channels.
    """

    def __init__(self, strides: int = 2, out_channels: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if int(strides) < 1:
            raise ValueError(f"ZeroPadShortcut: strides must be >= 1, got {strides}.")
        self.strides = int(strides)
        self.out_channels = None if out_channels is None else int(out_channels)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = input_shape[-1]
        if self.out_channels is not None and channels is not None and self.out_channels < channels:
            raise ValueError(
                f"ZeroPadShortcut: out_channels ({self.out_channels}) must be >= the input's "
                f"channels ({channels}); option A only appends zero channels."
            )

    def call(self, inputs: Any) -> Any:
        s = self.strides
        x = subsample(inputs, s) if s > 1 else inputs
        extra = 0 if self.out_channels is None else self.out_channels - inputs.shape[-1]
        if extra:
            x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, extra]])
        return x

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        n, h, w, c = input_shape
        s = self.strides
        h = None if h is None else -(-h // s)
        w = None if w is None else -(-w // s)
        return (n, h, w, c if self.out_channels is None else self.out_channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "strides": self.strides, "out_channels": self.out_channels}


@keras.saving.register_keras_serializable(package=PACKAGE)
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose training step runs TF's fused kernel.

    Same arguments, weights, config and results as the Keras layer (batch
    normalization, Ioffe & Szegedy 2015, after every convolution of the paper,
    §3.4). Why: Keras 3 computes the training-mode moments and the
    normalisation as separate ops, a large part of a CPU training step. Here,
    in training mode on TensorFlow, NHWC 4-D input and channels-last axis, one
    `FusedBatchNormV3` op (oneDNN on CPU, cuDNN on GPU) computes the batch
    statistics, the normalised output and, in its gradient, all three
    gradients (measured by `benchmarks/train_throughput.py --variant default
    --variant keras_bn`; numbers in docs/benchmarks.md).

    Moving statistics follow Keras exactly: the fused op reports the batch
    variance with Bessel's correction, so it is scaled back by (n - 1) / n
    before the update `moving = moving * momentum + batch * (1 - momentum)`.
    Anything else (inference, masks, renorm, synchronized BN, other ranks
    or axes, epsilon below cuDNN's 1e-5 floor, another backend) falls back to
    the Keras implementation.
    """

    def _fused_applies(self, inputs: Any, training: bool | None, mask: Any) -> bool:
        return (
            bool(training)
            and self.trainable
            and mask is None
            and not self.renorm
            and not self.synchronized
            and keras.backend.backend() == "tensorflow"
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and self.epsilon >= 1e-5
        )

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if not self._fused_applies(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        channels = inputs.shape[-1]
        gamma = self.gamma if self.scale else ops.ones((channels,), "float32")
        beta = self.beta if self.center else ops.zeros((channels,), "float32")
        x = inputs if inputs.dtype in (tf.float16, tf.bfloat16, tf.float32) else tf.cast(inputs, tf.float32)
        empty = tf.constant([], tf.float32)
        y, mean, variance, *_ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=tf.cast(gamma, tf.float32), offset=tf.cast(beta, tf.float32),
            mean=empty, variance=empty, epsilon=self.epsilon, data_format="NHWC", is_training=True,
        )
        n = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
        variance = variance * tf.maximum(n - 1.0, 0.0) / n      # undo Bessel: Keras keeps the biased variance
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return ops.cast(y, self.compute_dtype)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SubsamplingConv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` whose 1x1 strided case subsamples, then convolves.

    A 1x1 convolution with stride s and "valid" padding reads only the inputs
    at rows and columns 0, s, 2s, ...; it equals `x[:, ::s, ::s, :]` followed
    by the same 1x1 convolution at stride 1 (same weights, same outputs, same
    gradients). This layer computes it that way. It is used for the paper's
    projection shortcuts where the feature map halves (options B and C,
    Eqn. 2: y = F(x) + W_s x) and for the strided 1x1 of a v1 bottleneck.

    Why: TensorFlow 2.21's oneDNN `Conv2DBackpropFilter` for a strided 1x1
    kernel with fewer than 16 input channels corrupts the heap (abort or
    segfault) when the batch size is odd, e.g. the last partial batch of an
    epoch, on AVX-512 CPUs, in float32 and bfloat16: a narrow net (width 0.25
    or 0.5) with option B/C died in training. The stride-1 1x1 kernel is not
    affected (`tests/training/test_onednn_crash.py` trains every option at
    three widths with an odd last batch). Any other kernel size, stride or
    layout is plain `Conv2D`.
    """

    def _subsamples(self) -> bool:
        # "same" never pads a 1x1 kernel, so both paddings read the same inputs.
        return self.kernel_size == (1, 1) and self.strides != (1, 1) \
            and self.data_format == "channels_last" and self.dilation_rate == (1, 1)

    def convolution_op(self, inputs: Any, kernel: Any) -> Any:
        if not self._subsamples():
            return super().convolution_op(inputs, kernel)
        return ops.conv(subsample(inputs, self.strides), kernel, strides=1, padding="valid",
                        data_format=self.data_format)
