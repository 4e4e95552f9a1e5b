"""Shared fixtures. Tests never need the network, a GPU or ../shared."""

import os
import pathlib
import socket

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as the keras-resnet command does (runtime.configure_tensorflow)

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = pathlib.Path(os.environ.get("KERAS_RESNET_SHARED", ROOT.parent / "shared"))
CIFAR_SUBSET = SHARED / "data" / "cifar10-subset" / "cifar10_subset.npz"
FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def cifar_subset_path():
    """The real CIFAR-10 subset in ../shared (skips when it is absent)."""
    if not CIFAR_SUBSET.exists():
        pytest.skip(f"real CIFAR-10 subset not available at {CIFAR_SUBSET}")
    return CIFAR_SUBSET


@pytest.fixture
def fashion_mnist_dir():
    """Debian's dataset-fashion-mnist IDX files (skips when not installed)."""
    if not FASHION_MNIST.is_dir() or not any(FASHION_MNIST.iterdir()):
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    return FASHION_MNIST


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def free_ports(n=1):
    """n distinct free TCP ports on 127.0.0.1 (all bound at once, then released) for servers the tests start."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
