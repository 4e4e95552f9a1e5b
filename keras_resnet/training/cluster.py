"""`TF_CONFIG`, the cluster description that Kubernetes operators, Ray and TensorFlow set: read in one place.

No TensorFlow here: the run directory needs to know who the chief is on every backend.
"""

from __future__ import annotations

import json
import os
from typing import Any


def tf_config() -> dict[str, Any]:
    """TF_CONFIG as a dict ({} when unset); one ValueError when it is not a JSON object."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e}); got {text[:200]!r}.") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object with 'cluster' and 'task', got {text[:200]!r}.")
    return cfg


def cluster_spec() -> dict[str, Any] | None:
    """The `cluster` of TF_CONFIG (a dict), or None when TF_CONFIG names no cluster."""
    cluster = tf_config().get("cluster") or {}
    return cluster if sum(len(v) for v in cluster.values()) > 0 else None


def task() -> tuple[str, int]:
    """(type, index) of this process's task ("worker", 0 when TF_CONFIG names none)."""
    t = tf_config().get("task") or {}
    return str(t.get("type", "worker")), int(t.get("index", 0))


def is_chief() -> bool:
    """True on the worker that writes the run directory (the chief, or worker 0 without a chief)."""
    kind, index = task()
    if kind == "chief":
        return True
    return kind == "worker" and index == 0 and "chief" not in (tf_config().get("cluster") or {})
