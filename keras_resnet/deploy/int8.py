"""int8 calibration: the input preprocessing folded into one per-channel affine before full-integer conversion.

`input_affine` reads the model's leading Rescaling / Normalization layers as one scale and offset per channel;
`_write_int8_saved_model` writes the probabilities SavedModel with them as a single 1x1 depthwise convolution,
checked equal to the model in float32, for `tflite.convert_tflite(..., "int8", representative)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

    from .._typing import ShapeLike, StrPath


def input_affine(model: keras.Model) -> tuple[np.ndarray, np.ndarray, keras.Model] | None:
    """(scale, offset, rest) when `model` starts with Rescaling / Normalization layers on its input.

    The model is then `rest(x * scale + offset)` with one scale and offset per channel (He et al.'s
    preprocessing: x / 255, minus the mean, divided by the std). None when it does not start that way.
    """
    import keras

    from ..nets.preprocessing import channel_affine, leading_preprocessing

    steps = leading_preprocessing(model)
    if not steps:
        return None
    channels = model.input_shape[-1]
    scale, offset = np.ones(channels), np.zeros(channels)
    try:
        for layer in steps:
            s, o = channel_affine(layer, channels)
            scale, offset = scale * s, offset * s + o
        rest = keras.Model(steps[-1].output, model.output)    # fails unless the rest reads only the last one's output
    except (ValueError, TypeError, AttributeError):
        return None
    return scale.astype(np.float32), offset.astype(np.float32), rest


def _write_int8_saved_model(model: keras.Model, input_shape: ShapeLike, path: StrPath,
                            images: np.ndarray) -> bool:
    """The probabilities SavedModel for the int8 converter, the input preprocessing folded into one op.

    The converter quantizes every op's output to int8 on its own calibrated range. Left as the
    model's layers, the preprocessing is three requantizations (x / 255, minus the mean, divided by
    the std) and the middle one gets the range of the last: the image reaches the first convolution
    with about 6 of its 8 bits, which alone made 1.7-2x as many int8 top-1 disagreements with Keras
    (e.g. 25 -> 15 of 1,017 for saved_models/resnet20-cifar10-subset, 19 -> 8 for resnet44-cifar10).
    Folded into one per-channel affine (a 1x1 depthwise convolution with bias: one int8 op, its
    weights exact per channel), the image is requantized once, at ~1 pixel level. Returns False
    (nothing written) when the model does not start with Rescaling / Normalization or the folded
    graph differs from the model by 1e-5 or more on `images` in float32.
    """
    import keras
    import tensorflow as tf

    folded = input_affine(model)
    if folded is None:
        return False
    scale, offset, rest = folded
    kernel = tf.constant(scale.reshape(1, 1, -1, 1))
    bias = tf.constant(offset)
    spec = tf.TensorSpec([None, *input_shape], tf.uint8, name="images")

    @tf.function(input_signature=[spec])
    def serve(images: Any) -> dict[str, Any]:
        x = tf.nn.depthwise_conv2d(tf.cast(images, tf.float32), kernel, [1, 1, 1, 1], "VALID") + bias
        return {"probabilities": rest(x, training=False)}

    sample = tf.constant(images[:64])
    diff = np.abs(np.asarray(serve(sample)["probabilities"], np.float64) -
                  np.asarray(model(tf.cast(sample, tf.float32), training=False), np.float64)).max()
    if not diff < 1e-5:
        return False
    archive = keras.export.ExportArchive()
    archive.track(rest)
    archive.add_endpoint("serving_default", serve)
    archive.write_out(str(path), verbose=False)
    return True
