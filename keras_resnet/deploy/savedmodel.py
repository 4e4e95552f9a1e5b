"""The SavedModel export: the uint8 -> probabilities (and top-k) serving function every format is made from.

`saved_model_archive` is the `savedmodel` format (TF Serving's `serving_default` plus a `class_names`
signature); `_write_probs_saved_model` the probabilities-only SavedModel the TFLite and ONNX converters read.
The preprocessing of He et al. 2016 (§4.2) is inside the model, so every signature takes raw uint8 images.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

    from .._typing import ShapeLike, StrPath

TOP_K = 5


def _serving_fn(model: keras.Model, input_shape: ShapeLike, with_top_k: bool, class_table: Any = None,
                k: int = TOP_K) -> Any:
    """The uint8 -> probabilities (and top-k) function that every format is made from."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, *input_shape], tf.uint8, name="images")
    k = min(k, model.output_shape[-1])

    @tf.function(input_signature=[spec])
    def serve(images):
        probs = model(tf.cast(images, tf.float32), training=False)
        out = {"probabilities": probs}
        if with_top_k:
            scores, ids = tf.math.top_k(probs, k=k)
            out.update(top_k_ids=ids, top_k_scores=scores,
                       top_k_labels=class_table.lookup(tf.cast(ids, tf.int64)))
        return out

    return serve


def saved_model_archive(model: keras.Model, input_shape: ShapeLike, labels_path: StrPath,
                        k: int = TOP_K) -> keras.export.ExportArchive:
    """A `keras.export.ExportArchive` with TF Serving's `serving_default` and a `class_names` signature.

    serving_default(images: uint8 [N, H, W, C]) -> probabilities float32 [N, K], top_k_ids int32 [N, k],
    top_k_scores float32 [N, k], top_k_labels string [N, k]. class_names() -> class_names string [K].
    The class names are the asset `assets/labels.txt` (one per line).
    """
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    init = tf.lookup.TextFileInitializer(str(labels_path), tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
                                         tf.string, tf.lookup.TextFileIndex.WHOLE_LINE)
    table = tf.lookup.StaticHashTable(init, default_value="")
    archive.track(table)
    archive.add_endpoint("serving_default", _serving_fn(model, input_shape, True, table, k))
    num_classes = model.output_shape[-1]

    @tf.function(input_signature=[])
    def class_names():
        return {"class_names": table.lookup(tf.range(num_classes, dtype=tf.int64))}

    archive.add_endpoint("class_names", class_names)
    return archive


def _write_probs_saved_model(model: keras.Model, input_shape: ShapeLike, path: StrPath) -> None:
    """A probabilities-only SavedModel: what the TFLite and ONNX converters read (variables frozen)."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", _serving_fn(model, input_shape, False))
    archive.write_out(str(path), verbose=False)
