"""Run tests/backends/core on Keras's JAX and PyTorch backends, each in a process where TensorFlow cannot be
imported, and check .keras files across backends both ways (max |probability difference| <= 1e-5)."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BLOCKER = pathlib.Path(__file__).parent / "no_tensorflow"
MODEL = ROOT / "saved_models" / "resnet20-cifar10" / "model.keras"


@pytest.fixture(scope="module")
def tf_reference(tmp_path_factory):
    import keras

    import keras_resnet  # noqa: F401

    x = np.random.default_rng(7).integers(0, 256, (32, 32, 32, 3)).astype("float32")
    p = keras.saving.load_model(MODEL, safe_mode=True).predict(x, verbose=0)
    path = tmp_path_factory.mktemp("tf_reference") / "reference.npz"
    np.savez(path, x=x, p=p)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_core_suite_without_tensorflow(backend, tf_reference, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install -e '.[{backend}]')")
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=os.pathsep.join([str(BLOCKER), str(ROOT)]),
               KERAS_RESNET_TF_REFERENCE=str(tf_reference), KERAS_RESNET_BACKEND_OUT=str(tmp_path))
    env.pop("XLA_FLAGS", None)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-s",
                        str(ROOT / "tests" / "backends" / "core")],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    print(r.stdout[-4000:])
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert " passed" in r.stdout.strip().splitlines()[-1]
    # and back: the .keras written on this backend loads on TensorFlow with the same probabilities
    import keras

    back = np.load(tmp_path / "probabilities.npz")
    model = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert np.abs(model.predict(back["x"], verbose=0) - back["p"]).max() <= 1e-5
