"""Batches for `model.fit` without TensorFlow: the input pipeline of Keras's JAX and PyTorch backends.

`ArrayBatches` is a `keras.utils.PyDataset` over in-memory uint8 arrays (an ImageData's `arrays`): each epoch a
new seeded permutation, then the paper's augmentation (§4.2: zero-pad 4 pixels at 32x32, a random crop of the
original size, a random horizontal flip; `pipeline.pad_for` at other sizes) done on whole batches with NumPy
index arithmetic, as `pipeline.augment_batch` does in TensorFlow. Images stay 0-255 float32 (the model
rescales them), so the same model and recipe train on every backend.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from .pipeline import pad_for


def augment_batch_numpy(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The paper's pad-crop-flip on a batch (N, H, W, C): each image its own offset and flip, one gather."""
    n, h, w = int(images.shape[0]), int(images.shape[1]), int(images.shape[2])
    ph, pw = pad_for(h), pad_for(w)
    padded = np.pad(images, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    dy = rng.integers(0, 2 * ph + 1, n)
    dx = rng.integers(0, 2 * pw + 1, n)
    flip = rng.integers(0, 2, n).astype(bool)
    rows = dy[:, None] + np.arange(h)[None]
    cols = np.arange(w)[None]
    cols = dx[:, None] + np.where(flip[:, None], w - 1 - cols, cols)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


class ArrayBatches(keras.utils.PyDataset):
    """(x, y) batches of uint8 arrays for `fit` / `evaluate` / `predict` on any Keras backend.

    training: a fresh permutation every epoch (seeded: `seed`, then the epoch number) and, if `augment`, the
    paper's augmentation. Labels as int64, or one-hot float32 when `classes` is given (label smoothing).
    `drop_remainder` drops the last partial batch (several devices need equal shards).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, *, batch_size: int, training: bool = False,
                 augment: bool = False, seed: int = 0, drop_remainder: bool = False, classes: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"ArrayBatches needs as many labels as images (at least one), got {len(x)} and {len(y)}")
        self.x, self.y = x, np.asarray(y, np.int64)
        self.batch_size, self.training, self.augment = int(batch_size), training, augment
        self.seed, self.classes, self.drop_remainder = seed, classes, drop_remainder
        self._epoch = 0
        self._order = self._permutation()

    def _permutation(self) -> np.ndarray:
        if not self.training:
            return np.arange(len(self.x))
        return np.random.default_rng([self.seed, self._epoch]).permutation(len(self.x))

    def __len__(self) -> int:
        n = len(self.x) // self.batch_size if self.drop_remainder else -(-len(self.x) // self.batch_size)
        return max(1, n)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        take = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        x = self.x[take]
        if self.training and self.augment:
            x = augment_batch_numpy(x, np.random.default_rng([self.seed, self._epoch, index]))
        y = self.y[take]
        if self.classes is not None:
            y = np.eye(self.classes, dtype=np.float32)[y]
        return x.astype(np.float32), y

    def on_epoch_end(self) -> None:
        self._epoch += 1
        self._order = self._permutation()

    def set_epoch(self, epoch: int) -> None:
        """Start at `epoch` (a resumed run continues the same sequence of permutations)."""
        self._epoch = int(epoch)
        self._order = self._permutation()
