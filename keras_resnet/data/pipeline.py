"""The ``tf.data`` input pipeline (He et al. 2016, §4.2).

:func:`pipeline` batches a split for ``model.fit``; for training it shuffles and applies the paper's
augmentation ("4 pixels are padded on each side, and a 32x32 crop is randomly sampled from the padded
image or its horizontal flip", §4.2), vectorised on whole batches. :func:`normalization_stats` gives the
per-channel mean/std of the training split that the model's preprocessing layers use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .sources import AUTOTUNE, ImageData

if TYPE_CHECKING:
    import tensorflow as tf

PAD = 4  # paper §4.2: 4 pixels padded on each side of a 32x32 image


def pad_for(side: int | None) -> int:
    """Pixels of padding for the random crop: the paper's 4 at 32 (an eighth of the side), the same fraction at other
    sizes (2 at 16x16, 8 at 64x64; at least 1); 4 when the size is not known statically."""
    return PAD if side is None else max(1, round(side * PAD / 32))


def augment_batch(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """The paper's augmentation on a batch (§4.2): zero-pad 4 pixels (at 32x32; `pad_for` other sizes), random HxW
    crop, random h-flip.

    Vectorised: each image gets its own crop offset and flip, done as one gather of row and column
    indices into the padded batch (no per-image ops). ``seed`` is a stateless seed of shape (2,).
    """
    import tensorflow as tf

    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    ph, pw = pad_for(images.shape[1]), pad_for(images.shape[2])
    padded = tf.pad(images, [[0, 0], [ph, ph], [pw, pw], [0, 0]])
    seeds = tf.random.experimental.stateless_split(seed, 3)
    dy = tf.random.stateless_uniform([b], seeds[0], 0, 2 * ph + 1, tf.int32)
    dx = tf.random.stateless_uniform([b], seeds[1], 0, 2 * pw + 1, tf.int32)
    flip = tf.random.stateless_uniform([b], seeds[2], 0, 2, tf.int32) > 0
    rows = dy[:, None] + tf.range(h)[None]
    cols = tf.range(w)[None]
    cols = dx[:, None] + tf.where(flip[:, None], w - 1 - cols, cols)
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(out, cols, axis=2, batch_dims=1)


def pipeline(ds: tf.data.Dataset, *, batch_size: int, training: bool, augment: bool = False, cache: bool = True,
             seed: int | None = None, drop_remainder: bool = False) -> tf.data.Dataset:
    """Batch an unbatched ``(uint8 image, label)`` split for ``fit``/``evaluate``.

    training: cache, shuffle (reshuffled each epoch), batch, augment (if ``augment``), float32, prefetch.
    Otherwise: cache, batch, float32, prefetch. Images stay in 0-255 (the model rescales them).
    """
    import tensorflow as tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if cache:
        ds = ds.cache()
    if training:
        n = int(ds.cardinality())
        ds = ds.shuffle(min(n, 50_000) if n > 0 else 10_000, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)
    to_float = lambda x, y: (tf.cast(x, tf.float32), y)  # noqa: E731
    if training and augment:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds).map(lambda b, s: to_float(augment_batch(b[0], s), b[1]),
                                                num_parallel_calls=AUTOTUNE)
    else:
        ds = ds.map(to_float, num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


def normalization_stats(data: ImageData) -> dict[str, Any]:
    """Per-channel mean and std (population, 0..1 units) of the training split, for ``preprocessing``."""
    if data._stats is None and hasattr(data, "compute_stats"):   # streaming photos: a bounded sample (streaming.py)
        data._stats = data.compute_stats()
    if data._stats is None and data.arrays is not None:    # in memory (and the only way without TensorFlow)
        x = data.arrays["x_train"]
        total = np.zeros((2, x.shape[-1]), np.float64)
        for i in range(0, len(x), 1024):
            chunk = x[i:i + 1024].astype(np.float64) / 255.0
            total += np.stack([chunk.sum((0, 1, 2)), (chunk * chunk).sum((0, 1, 2))])
        data._stats = _stats_from_sums(total, x.shape[0] * x.shape[1] * x.shape[2])
    if data._stats is None:
        import tensorflow as tf

        def sums(x, _):
            x = tf.cast(x, tf.float64) / 255.0
            return tf.stack([tf.reduce_sum(x, [0, 1, 2]), tf.reduce_sum(x * x, [0, 1, 2])])

        assert data.train is not None     # without arrays, a tf.data source
        total = data.train.batch(1024).map(sums, num_parallel_calls=AUTOTUNE).reduce(
            tf.zeros([2, data.image_shape[-1]], tf.float64), lambda a, b: a + b).numpy()
        data._stats = _stats_from_sums(total, data.num_train * data.image_shape[0] * data.image_shape[1])
    return dict(data._stats)


def _stats_from_sums(total: np.ndarray, n: int) -> dict[str, Any]:
    """Mean and population std per channel from the sums of x and x**2 over n pixels."""
    mean = total[0] / n
    std = np.sqrt(np.maximum(total[1] / n - mean ** 2, 0.0))
    return {"scale": 1 / 255, "mean": mean.tolist(), "std": std.tolist()}


def default_augment(data: ImageData) -> bool:
    """The paper's pad-and-crop + flip is on by default for CIFAR-like data: 32x32 colour images."""
    return tuple(data.image_shape) == (32, 32, 3)
