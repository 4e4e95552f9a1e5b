"""Which devices train: the tf.distribute strategy, and a small Keras compatibility shim.

- one device: TensorFlow's default strategy;
- several local devices (all local GPUs, or an explicit `devices` list such as
  ["/cpu:0", "/cpu:1"]): `MirroredStrategy`;
- a cluster named in the `TF_CONFIG` environment variable: `MultiWorkerMirroredStrategy`.

The batch size the user gives is the GLOBAL batch (the paper's 128); each replica
gets batch / replicas, so the batch must be divisible by the number of replicas.

Keras 3.15.1 `model.fit` under `MultiWorkerMirroredStrategy` is broken upstream
(keras-team/keras#20585), in two places. We chose a small shim over a custom
training step: the shim keeps everything `fit` gives (callbacks, BackupAndRestore,
progress bars, CSV and TensorBoard logs) and changes two Keras functions only while
a multi-worker strategy is in use. The shim lives with every other touch of a private
API in `keras_resnet/_compat.py` (install_multiworker_shim, which says what it fixes);
`tests/training/test_distribute.py` runs two workers without it and fails once upstream
works on its own: then delete the shim.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import tensorflow as tf

from .. import _compat
from .cluster import cluster_spec, is_chief  # noqa: F401  (public here too)


def _parse_devices(devices: str | Iterable[str] | None) -> list[str] | None:
    if devices is None:
        return None
    if isinstance(devices, str):
        devices = [d.strip() for d in devices.split(",") if d.strip()]
    names = list(devices)
    if not names or not all(isinstance(d, str) for d in names):
        raise ValueError(f"devices must be a list of device names such as ['/gpu:0', '/gpu:1'], got {names!r}.")
    return names


def get_strategy(devices: str | Iterable[str] | None = None) -> tf.distribute.Strategy:
    """The strategy for this process (see the module docstring for the rules)."""
    devices = _parse_devices(devices)
    if cluster_spec() is not None:
        if devices:
            raise ValueError(f"TF_CONFIG names a cluster, so the devices come from it; do not also give devices={devices}.")
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        _compat.install_multiworker_shim()
        return strategy
    if devices:
        known = {d.name.lower().replace("/job:localhost/replica:0/task:0", "").replace("/device:", "/")
                 for d in tf.config.list_logical_devices()}
        for d in devices:
            norm = "/" + d.lower().lstrip("/").replace("device:", "")
            if norm not in known:
                raise ValueError(f"Unknown device {d!r}. This machine has: {', '.join(sorted(known))}.")
        if len(devices) == 1:
            return tf.distribute.OneDeviceStrategy(devices[0])
        return tf.distribute.MirroredStrategy(devices)
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def per_replica_batch(batch_size: int, strategy: tf.distribute.Strategy) -> int:
    """The batch of one replica; the global `batch_size` must split evenly over the replicas."""
    replicas = strategy.num_replicas_in_sync
    if batch_size < 1 or batch_size % replicas:
        raise ValueError(
            f"batch_size {batch_size} is the global batch and must be divisible by the number of "
            f"replicas ({replicas}); use a multiple of {replicas}, e.g. {max(1, batch_size // replicas) * replicas or replicas}."
        )
    return batch_size // replicas


@contextlib.contextmanager
def maybe_scope(strategy: tf.distribute.Strategy | None) -> Iterator[None]:
    """`strategy.scope()`, or nothing for the default strategy."""
    if strategy is None:
        yield
    else:
        with strategy.scope():
            yield
