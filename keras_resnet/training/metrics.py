"""Top-k accuracy that also works on a mixed-precision model's float16/bfloat16 outputs.

Keras's top-k metrics call `tf.math.in_top_k`, which takes float32 only; a model
built under the `mixed_float16` / `mixed_bfloat16` policy outputs half-precision
probabilities. `TopK` casts them to float32 first (a no-op otherwise).
"""

from __future__ import annotations

from typing import Any

import keras


@keras.saving.register_keras_serializable(package="keras_resnet")
class TopK(keras.metrics.MeanMetricWrapper):
    """Top-k accuracy (the paper's top-5 error is 1 - TopK(5)); integer labels, or one-hot with sparse=False."""

    def __init__(self, k: int = 5, sparse: bool = True, name: str = "top5", dtype: Any = None) -> None:
        fn = keras.metrics.sparse_top_k_categorical_accuracy if sparse else keras.metrics.top_k_categorical_accuracy

        def top_k(y_true, y_pred):
            # at most the number of classes: TensorFlow's in_top_k allows more, PyTorch's topk raises
            classes = y_pred.shape[-1]
            return fn(y_true, keras.ops.cast(y_pred, "float32"), k=k if classes is None else min(k, classes))

        super().__init__(top_k, name=name, dtype=dtype)
        self.k, self.sparse = k, sparse

    def get_config(self) -> dict[str, Any]:
        return {"k": self.k, "sparse": self.sparse, "name": self.name, "dtype": self.dtype}
