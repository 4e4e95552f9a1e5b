"""Deep Keras graphs: the recursion limit they need. Below builders.py and weights.py, which both use it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def deep_graph_recursion(limit: int = 20_000) -> Iterator[None]:
    """Let Keras walk very deep graphs (ResNet-1202 has ~3,600 layers in a chain).

    Keras maps a functional graph with one recursive call per node, which
    exceeds Python's default limit of 1,000. Use this around building, cloning,
    saving or loading such a model; the previous limit is restored afterwards.
    """
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
