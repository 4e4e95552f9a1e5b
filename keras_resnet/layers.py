"""Custom layers of keras_resnet, all registered for `.keras` serialization.

Every layer here has `get_config`, so a model that uses it saves to `.keras`
and loads back with `keras.saving.load_model(path, safe_mode=True)` (no
`Lambda` layers anywhere in the package).
"""

import keras
from keras import ops

PACKAGE = "keras_resnet"


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

    def __init__(self, strides=2, out_channels=None, **kwargs):
        super().__init__(**kwargs)
        if int(strides) < 1:
            raise ValueError(f"ZeroPadShortcut: strides must be >= 1, got {strides}.")
        self.strides = int(strides)
        self.out_channels = None if out_channels is None else int(out_channels)

    def build(self, input_shape):
        channels = input_shape[-1]
        if self.out_channels is not None and channels is not None and self.out_channels < channels:
            raise ValueError(
                f"ZeroPadShortcut: out_channels ({self.out_channels}) must be >= the input's "
                f"channels ({channels}); option A only appends zero channels."
            )

    def call(self, inputs):
        s = self.strides
        x = inputs[:, ::s, ::s, :] if s > 1 else inputs
        extra = 0 if self.out_channels is None else self.out_channels - inputs.shape[-1]
        if extra:
            x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, extra]])
        return x

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        s = self.strides
        h = None if h is None else -(-h // s)
        w = None if w is None else -(-w // s)
        return (n, h, w, c if self.out_channels is None else self.out_channels)

    def get_config(self):
        return {**super().get_config(), "strides": self.strides, "out_channels": self.out_channels}
