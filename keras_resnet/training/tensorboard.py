"""Epoch scalars for TensorBoard without TensorFlow (Keras's TensorBoard callback writes through `tf.summary`).

Writes what Keras's callback writes at the end of each epoch, in the same layout (`train/` and `validation/`
event files, tags `epoch_loss`, `epoch_top1`, ..., and `epoch_learning_rate`), with the `tensorboard`
package's own writer, so `tensorboard --logdir RUN/tensorboard` shows a JAX or PyTorch run like a TensorFlow one.
"""

from __future__ import annotations

import pathlib
from typing import Any

import keras


class EpochScalars(keras.callbacks.Callback):
    """TensorBoard epoch scalars through `tensorboard.summary.Writer` (no TensorFlow)."""

    def __init__(self, log_dir: str | pathlib.Path) -> None:
        super().__init__()
        self.log_dir = pathlib.Path(log_dir)
        self._writers: dict[str, Any] = {}

    def _writer(self, split: str) -> Any:
        if split not in self._writers:
            from tensorboard.summary import Writer  # type: ignore[import-untyped]

            self._writers[split] = Writer(str(self.log_dir / split))
        return self._writers[split]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for key, value in (logs or {}).items():
            split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            self._writer(split).add_scalar(f"epoch_{name}", float(value), step=epoch)
        lr = getattr(self.model.optimizer, "learning_rate", None)
        if lr is not None:
            self._writer("train").add_scalar("epoch_learning_rate", float(keras.ops.convert_to_numpy(lr)), step=epoch)
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        for w in self._writers.values():
            w.close()
        self._writers.clear()
