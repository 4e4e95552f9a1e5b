"""Which mixed-precision policy a run uses (Micikevicius et al. 2018; Keras's mixed-precision guide).

bfloat16 where the hardware computes it (CPUs: AVX512_BF16 / AMX through oneDNN or XLA; NVIDIA GPUs of compute
capability 8.0 and newer: A100, H100/H200, ...); float16 with dynamic loss scaling on older GPUs, which have
fast float16 but no bfloat16 (Keras's `compile` wraps the optimizer in a `LossScaleOptimizer` under
"mixed_float16"). The model card records the policy and why.
"""

from __future__ import annotations


def gpu_compute_capability(backend: str) -> tuple[int, int] | None:
    """The first GPU's compute capability on `backend`, or None without a GPU."""
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        if not gpus:
            return None
        major, _, minor = str(getattr(gpus[0], "compute_capability", "0.0")).partition(".")
        return int(major), int(minor or 0)
    if backend == "torch":
        import torch

        return tuple(torch.cuda.get_device_capability(0)) if torch.cuda.is_available() else None  # type: ignore[return-value]
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return None
        return tuple(tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0)))
    return None


def mixed_policy(backend: str) -> tuple[str, str]:
    """(Keras dtype policy name, the reason in words) for mixed-precision training on this machine."""
    cc = gpu_compute_capability(backend)
    if cc is None:
        return "mixed_bfloat16", "no GPU: bfloat16 compute (fast on CPUs with AVX512_BF16 or AMX)"
    if cc >= (8, 0):
        return "mixed_bfloat16", f"GPU of compute capability {cc[0]}.{cc[1]} (>= 8.0): bfloat16 compute"
    return "mixed_float16", (f"GPU of compute capability {cc[0]}.{cc[1]} (< 8.0, no bfloat16): float16 compute "
                             "with dynamic loss scaling")
