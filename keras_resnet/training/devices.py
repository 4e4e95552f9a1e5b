"""Several devices on Keras's JAX backend: `keras.distribution.DataParallel`, the counterpart of MirroredStrategy.

Each device holds a full copy of the weights and takes an equal shard of the global batch; gradients are
averaged across devices, so one step equals one step on one device at the same global batch. Used when
`devices` names more than one device (e.g. ["gpu:0", "gpu:1"], or "cpu:0,cpu:1" with
XLA_FLAGS=--xla_force_host_platform_device_count=2), or by default when JAX sees several GPUs. TensorFlow
uses tf.distribute (distribute.py); Keras's PyTorch backend trains on one device.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def parse_devices(devices: str | Iterable[str] | None) -> list[str] | None:
    """"cpu:0,cpu:1" or a list -> ["cpu:0", "cpu:1"] (lower case, no leading slash); None stays None."""
    if devices is None:
        return None
    if isinstance(devices, str):
        devices = [d for d in devices.split(",")]
    names = [str(d).strip().lower().lstrip("/").replace("device:", "") for d in devices if str(d).strip()]
    if not names:
        raise ValueError(f"devices must name at least one device such as 'gpu:0', got {devices!r}.")
    return names


def data_parallel(backend: str, devices: str | Iterable[str] | None = None) -> Any:
    """A `keras.distribution.DataParallel` over `devices` (JAX), or None for one device."""
    import keras

    names = parse_devices(devices)
    if backend != "jax":
        if names and len(names) > 1:
            raise ValueError(f"several devices ({', '.join(names)}) need the JAX backend (keras.distribution) or "
                             f"TensorFlow (tf.distribute); Keras's {backend} backend trains on one device.")
        return None
    have = [d.lower() for d in keras.distribution.list_devices()]
    if names is None:
        gpus = [d for d in have if d.startswith(("gpu", "cuda"))]
        names = gpus if len(gpus) > 1 else None
    if not names or len(names) == 1:
        if names and names[0] not in have:
            raise ValueError(f"Unknown device {names[0]!r}. This machine has: {', '.join(have)}.")
        return None
    unknown = [d for d in names if d not in have]
    if unknown:
        raise ValueError(f"Unknown device(s) {', '.join(unknown)}. This machine has: {', '.join(have)}.")
    return keras.distribution.DataParallel(devices=names)
