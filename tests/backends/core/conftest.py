"""The core of the test suite on Keras's JAX and PyTorch backends, in a process where TensorFlow cannot be
imported (tests/backends/no_tensorflow on PYTHONPATH). tests/backends/test_backends.py starts it; collected
alone under the TensorFlow backend, these files are skipped."""

import os
import sys

import pytest

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
if BACKEND not in ("jax", "torch"):
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(autouse=True)
def _tensorflow_never_imported():
    yield
    assert "tensorflow" not in sys.modules, "a test on the JAX/PyTorch backend imported TensorFlow"
