"""The package on Keras's JAX and PyTorch backends with TensorFlow absent (issue: every Keras backend)."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import keras_resnet as kr

ROOT = pathlib.Path(__file__).resolve().parents[3]
SHARED = pathlib.Path(os.environ.get("KERAS_RESNET_SHARED", ROOT.parent / "shared"))
SUBSET = SHARED / "data" / "cifar10-subset" / "cifar10_subset.npz"
AKAMASTER = SHARED / "weights" / "akamaster" / "resnet20-12fca82f.th"
BACKEND = keras.backend.backend()
CLI = [sys.executable, "-m", "keras_resnet.cli"]


def _subset():
    if not SUBSET.exists():
        pytest.skip(f"real CIFAR-10 subset not available at {SUBSET}")
    d = np.load(SUBSET)
    return d["x_test"], d["y_test"]


def _tiny_npz(tmp_path, n_train=64, n_test=32, side=16, seed=0):
    rng = np.random.default_rng(seed)
    y_train, y_test = rng.integers(0, 3, n_train), rng.integers(0, 3, n_test)
    # learnable: each class a different brightness
    x_train = (rng.integers(0, 60, (n_train, side, side, 3)) + 80 * y_train[:, None, None, None]).astype(np.uint8)
    x_test = (rng.integers(0, 60, (n_test, side, side, 3)) + 80 * y_test[:, None, None, None]).astype(np.uint8)
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, class_names=["a", "b", "c"])
    return path


def _env():
    return dict(os.environ, PYTHONUNBUFFERED="1")


def test_tensorflow_cannot_be_imported():
    assert BACKEND in ("jax", "torch")
    with pytest.raises(ImportError):
        import tensorflow  # noqa: F401


@pytest.mark.parametrize("name, params", [("resnet20", 269_722), ("resnet56", 853_018), ("resnet110", 1_727_962)])
def test_cifar_counts(name, params):
    assert sum(int(np.prod(w.shape)) for w in kr.build(name).trainable_weights) == params


def test_imagenet_counts_and_forward():
    m = kr.ResNet18()
    assert sum(int(np.prod(w.shape)) for w in m.trainable_weights) == 11_689_512
    small = kr.build("resnet50", input_shape=(64, 64, 3), classes=7, version="v1.5", width=0.25)
    assert small(np.zeros((2, 64, 64, 3), "float32")).shape == (2, 7)


@pytest.mark.parametrize("kwargs", [dict(shortcut="A"), dict(shortcut="B"), dict(shortcut="C"), dict(plain=True),
                                    dict(version="v2"), dict(zero_init_residual=True), dict(width=0.5)])
def test_options_build_and_run(kwargs):
    m = kr.build("resnet8", input_shape=(16, 16, 3), classes=4, **kwargs)
    p = keras.ops.convert_to_numpy(m(np.random.default_rng(0).uniform(0, 255, (3, 16, 16, 3)).astype("float32")))
    assert p.shape == (3, 4) and np.allclose(p.sum(-1), 1, atol=1e-5)


def test_fused_batch_norm_falls_back_to_keras():
    x = np.random.default_rng(1).normal(size=(4, 5, 5, 3)).astype("float32")
    ours, ref = kr.FusedBatchNormalization(), keras.layers.BatchNormalization()
    a = keras.ops.convert_to_numpy(ours(x, training=True))
    b = keras.ops.convert_to_numpy(ref(x, training=True))
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours.moving_mean),
                               keras.ops.convert_to_numpy(ref.moving_mean), atol=1e-7)


def test_presets_accuracy_on_the_real_subset():
    x, y = _subset()
    for name, build, floor in (("ResNet-56", kr.ResNet56, 0.92), ("ResNet-20", kr.ResNet20, 0.91)):
        p = build(weights="cifar10").predict(x, batch_size=256, verbose=0)
        acc = float((p.argmax(-1) == y).mean())
        print(f"{BACKEND}: {name} preset top-1 {acc:.4f} on {len(y)} real test images")
        assert acc >= floor, (name, acc)


def test_keras_file_from_tensorflow_gives_the_same_probabilities(tmp_path):
    ref = os.environ.get("KERAS_RESNET_TF_REFERENCE")
    if not ref:
        pytest.skip("no TensorFlow reference given (tests/backends/test_backends.py passes one)")
    r = np.load(ref)
    model = keras.saving.load_model(ROOT / "saved_models" / "resnet20-cifar10" / "model.keras", safe_mode=True)
    p = model.predict(r["x"], verbose=0)
    assert np.abs(p - r["p"]).max() <= 1e-5
    out = os.environ.get("KERAS_RESNET_BACKEND_OUT")
    if out:   # "and back": a .keras written here, its probabilities, for the TensorFlow side to compare
        # (the trained preset, one SGD step further on this backend: an untrained net on raw pixels
        # saturates its softmax, where float32 rounding differences between backends are amplified)
        model.compile(keras.optimizers.SGD(1e-3), "sparse_categorical_crossentropy")
        model.fit(r["x"][:16], np.arange(16) % 10, batch_size=16, epochs=1, verbose=0)
        model.save(pathlib.Path(out) / "model.keras")
        np.savez(pathlib.Path(out) / "probabilities.npz", x=r["x"], p=model.predict(r["x"], verbose=0))


def test_weights_files_and_pytorch_checkpoint(tmp_path):
    m = kr.build("resnet8", input_shape=(16, 16, 3), classes=4)
    path = tmp_path / "w.weights.h5"
    m.save_weights(path)
    again = kr.build("resnet8", input_shape=(16, 16, 3), classes=4, weights=str(path))
    x = np.random.default_rng(2).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(again.predict(x, verbose=0), m.predict(x, verbose=0), atol=1e-6)
    if not AKAMASTER.exists():
        pytest.skip(f"akamaster checkpoint not available at {AKAMASTER}")
    x, y = _subset()
    converted = kr.ResNet20(weights=str(AKAMASTER))
    acc = float((converted.predict(x[:500], verbose=0).argmax(-1) == y[:500]).mean())
    assert acc >= 0.88, acc


def test_fit_evaluate_predict_and_safe_keras_round_trip(tmp_path):
    from keras_resnet.data import batches, load

    data = load(_tiny_npz(tmp_path))
    assert data.train is None and data.arrays is not None       # no tf.data here
    train = batches.ArrayBatches(data.arrays["x_train"], data.arrays["y_train"], batch_size=16, training=True,
                                 augment=True)
    m = kr.build("resnet8", input_shape=(16, 16, 3), classes=3, width=0.5)
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = m.fit(train, epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    m.evaluate(data.arrays["x_test"], data.arrays["y_test"], verbose=0)
    path = tmp_path / "m.keras"
    m.save(path)
    back = keras.saving.load_model(path, safe_mode=True)
    x = data.arrays["x_test"].astype("float32")
    np.testing.assert_allclose(back.predict(x, verbose=0), m.predict(x, verbose=0), atol=1e-5)


def test_gradcam_lesion_predictor_and_profile():
    from keras_resnet.app.explain import GradCAM
    from keras_resnet.app.lesion import Lesion
    from keras_resnet.deploy.predictors import KerasPredictor

    model = keras.saving.load_model(ROOT / "saved_models" / "resnet20-cifar10" / "model.keras", safe_mode=True)
    x = np.random.default_rng(3).integers(0, 255, (4, 32, 32, 3)).astype(np.uint8)
    probs = KerasPredictor(model)._predict(x)
    np.testing.assert_allclose(probs, model.predict(x.astype("float32"), verbose=0), atol=1e-5)
    cam, p, target = GradCAM(model, (32, 32, 3)).run(x[:1], 1, -1)
    assert cam.shape == (8, 8) and (cam >= 0).all() and target == int(probs[0].argmax())
    lesion = Lesion(model, (32, 32, 3))
    assert len(lesion.blocks) == 9
    assert kr.profile(kr.ResNet20())["macs"] == 40_551_040


def test_tensorflow_only_parts_say_so(tmp_path):
    from keras_resnet import data

    with pytest.raises(ValueError, match=f"TensorFlow.*{BACKEND}|{BACKEND}.*TensorFlow"):
        data.load("cifar10")
    r = subprocess.run([*CLI, "export", str(ROOT / "saved_models" / "resnet20-cifar10"), "--output",
                        str(tmp_path / "exp")], capture_output=True, text=True, env=_env(), timeout=120)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "TensorFlow" in r.stderr and BACKEND in r.stderr, r.stderr
    assert not (tmp_path / "exp").exists()


def _assert_full_run_directory(run, epochs):
    card = json.loads((run / "model_card.json").read_text())
    assert card["versions"]["backend"] == BACKEND and card["training"]["backend"] == BACKEND
    assert f"--backend {BACKEND}" in card["command"]
    assert len((run / "history.csv").read_text().strip().splitlines()) == 1 + epochs      # header + one per epoch
    assert any((run / "tensorboard" / "train").iterdir()) and any((run / "tensorboard" / "validation").iterdir())


@pytest.mark.skipif(BACKEND == "jax", reason="on JAX test_resume_after_sigkill runs the CLI and checks its run directory")
def test_cli_train_writes_a_full_run_directory(tmp_path):
    run = tmp_path / "run"
    cmd = [*CLI, "train", "resnet8", "--backend", BACKEND, "--dataset", str(_tiny_npz(tmp_path)), "--epochs", "2",
           "--batch-size", "16", "--run-dir", str(run), "--quiet", "--width", "0.5"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    _assert_full_run_directory(run, epochs=2)
    again = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert again.returncode == 0 and "finished run" in again.stdout


@pytest.mark.skipif(BACKEND != "jax", reason="resume after SIGKILL is checked on JAX (one backend is enough)")
def test_resume_after_sigkill(tmp_path):
    run = tmp_path / "run"
    cmd = [*CLI, "train", "resnet8", "--backend", "jax", "--dataset", str(_tiny_npz(tmp_path, n_train=256)),
           "--epochs", "4", "--batch-size", "32", "--run-dir", str(run), "--quiet", "--width", "0.5"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    deadline = time.time() + 240
    history = run / "history.csv"
    while time.time() < deadline and proc.poll() is None:
        if history.exists() and len(history.read_text().strip().splitlines()) >= 2:   # an epoch done
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed: " + proc.stdout.read()[-1000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Resuming" in r.stdout
    epochs = [int(line.split(",")[0]) for line in history.read_text().strip().splitlines()[1:]]
    assert epochs == list(range(4)), epochs
    _assert_full_run_directory(run, epochs=4)


@pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution.DataParallel is JAX's")
def test_data_parallel_on_two_cpu_devices_equals_one_device(tmp_path):
    script = r'''
import json, sys, numpy as np, keras, keras_resnet as kr
from keras_resnet.training.devices import data_parallel
rng = np.random.default_rng(0)
x = rng.uniform(0, 255, (16, 16, 16, 3)).astype("float32"); y = rng.integers(0, 4, 16)
def step(distribution):
    keras.utils.set_random_seed(0)
    import contextlib
    with distribution.scope() if distribution else contextlib.nullcontext():
        m = kr.build("resnet8", input_shape=(16, 16, 3), classes=4, width=0.5)
        m.compile(keras.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy")
        m.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    return [keras.ops.convert_to_numpy(w) for w in m.weights]
dp = data_parallel("jax", "cpu:0,cpu:1")
assert dp is not None and len(keras.distribution.list_devices()) == 2
one, two = step(None), step(dp)
print(json.dumps(max(float((np.abs(a - b) / (1 + np.abs(a))).max()) for a, b in zip(one, two))))
'''
    env = dict(_env(), XLA_FLAGS="--xla_force_host_platform_device_count=2")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    diff = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"max |weight difference| / (1 + |weight|) after one step, 2 devices vs 1: {diff:.2e}")
    assert diff <= 1e-5


def test_demo_classifies_on_this_backend():
    from keras_resnet import app

    models, _ = app.discover_models([ROOT / "saved_models"])
    entry = models["resnet20-cifar10"]
    image = np.random.default_rng(4).integers(0, 256, (40, 30, 3)).astype(np.uint8)
    probs, *_ = app.predict(entry, image, "Keras")
    assert set(probs) == set(entry.class_names) and abs(sum(probs.values()) - 1) < 1e-4
    demo = app.build_demo([ROOT / "saved_models"])     # the whole page builds on this backend
    app.close(demo)
