"""`weights=` on the builders: shipped presets (checked by SHA-256), paths, checkpoints; the presets' metadata."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import CIFAR_SUBSET, SHARED

import keras_resnet as kr
from keras_resnet.nets import weights as W

PRESETS = W.list_presets()


def test_every_preset_is_complete_licensed_and_intact():
    assert {p["model"] for p in PRESETS if p["weights"] == "cifar10"} == {"resnet20", "resnet32", "resnet44", "resnet56"}
    folder = W.presets_dir()
    assert "Yerlan Idelbayev" in (folder / "LICENSE-akamaster").read_text()
    for p in PRESETS:
        for key in ("sha256", "source", "licence", "licence_file", "trained_by", "training", "preprocessing",
                    "class_names", "reported_test_error_percent", "measured", "optimistic"):
            assert p.get(key), f"{p['model']}: {key} missing"
        assert W.sha256(folder / p["file"]) == p["sha256"]
        assert (folder / p["licence_file"]).is_file() and p["licence"] == "BSD-2-Clause"
        original = SHARED / "weights" / "akamaster" / p["source"]["file"]
        if original.exists():
            assert W.sha256(original) == p["source"]["sha256"]


def test_preset_loads_and_predicts_in_a_fresh_process_without_network():
    code = f"""
import socket
def refuse(*a, **k):
    raise OSError("network disabled by the test")
socket.socket.connect = refuse
socket.create_connection = refuse
import numpy as np, pathlib
import keras_resnet as kr
model = kr.ResNet56(weights="cifar10")
path = pathlib.Path({str(CIFAR_SUBSET)!r})
if path.exists():
    with np.load(path) as d:
        x, y = d["x_test"], d["y_test"]
else:
    x, y = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)).astype("uint8"), None
p = model.predict(x, verbose=0)
assert np.allclose(p.sum(1), 1, atol=1e-4)
print("accuracy", -1 if y is None else float((p.argmax(1) == y).mean()))
"""
    env = dict(os.environ, HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", NO_PROXY="", no_proxy="")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    accuracy = float(proc.stdout.split("accuracy")[-1])
    if CIFAR_SUBSET.exists():
        assert accuracy >= 0.92, accuracy     # akamaster's ResNet-56: 92.72 % on the 1,017 real test images


def test_preset_options_head_and_preprocessing():
    full = kr.ResNet20(weights="cifar10")
    norm = full.get_layer("normalize")
    np.testing.assert_allclose(np.sqrt(norm.variance.numpy().ravel()), [0.229, 0.224, 0.225], rtol=1e-5)
    headless = kr.ResNet20(weights="cifar10", include_top=False, pooling="avg", classes=100)
    assert headless.output_shape == (None, 64)
    for name in ("conv1_conv", "conv4_block3_2_bn"):
        for a, b in zip(full.get_layer(name).weights, headless.get_layer(name).weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    raw = kr.ResNet20(weights="cifar10", preprocessing={"scale": 1 / 255})    # the user's preprocessing wins
    assert "normalize" not in [layer.name for layer in raw.layers]
    np.testing.assert_array_equal(raw.get_layer("predictions").kernel.numpy(), full.get_layer("predictions").kernel.numpy())

    with pytest.raises(ValueError, match=r"classes=100 with include_top=True.*10 classes.*include_top=False"):
        kr.ResNet20(weights="cifar10", classes=100)
    with pytest.raises(ValueError, match=r"No 'cifar10' weights for 'resnet110'.*resnet20, resnet32, resnet44, resnet56"):
        kr.ResNet110(weights="cifar10")
    with pytest.raises(ValueError, match=r"Unknown weights 'imagenet'.*cifar10"):
        kr.ResNet20(weights="imagenet")
    with pytest.raises(ValueError, match="needs shortcut='A', got shortcut='B'"):
        kr.ResNet20(weights="cifar10", shortcut="B")
    with pytest.raises(ValueError, match="needs plain=False"):
        kr.build("resnet20", weights="cifar10", plain=True)
    with pytest.raises(ValueError, match="No 'cifar10' weights for 'plain20'"):
        kr.build("plain20", weights="cifar10")


def test_a_modified_preset_file_is_refused(tmp_path, monkeypatch):
    shutil.copytree(W.presets_dir(), tmp_path / "presets")
    with open(tmp_path / "presets" / "resnet20_cifar10.weights.h5", "r+b") as f:
        f.seek(-100, 2)
        tail = f.read(8)
        f.seek(-100, 2)
        f.write(bytes(b ^ 0xFF for b in tail))
    monkeypatch.setattr(W, "presets_dir", lambda: tmp_path / "presets")
    with pytest.raises(ValueError, match="damaged or was modified: SHA-256"):
        kr.ResNet20(weights="cifar10")


def test_weights_from_paths(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    from keras_resnet.convert.layouts import Layout, expected_shapes

    rng = np.random.default_rng(1)
    state = {k: (rng.uniform(0.5, 1.5, s) if k.endswith("running_var") else rng.normal(0, 0.1, s)).astype("float32")
             for k, s in expected_shapes(Layout("akamaster", 20, "basic", (3, 3, 3), 10)).items()}
    st.save_file(state, tmp_path / "r20.safetensors")
    x = rng.integers(0, 256, (4, 32, 32, 3)).astype("float32")

    from_checkpoint = kr.ResNet20(weights=tmp_path / "r20.safetensors")       # preprocessing of the source: ImageNet's
    import keras_resnet.convert as krc

    expected = krc.convert(tmp_path / "r20.safetensors", verify=False, verbose=False).predict(x, verbose=0)
    np.testing.assert_allclose(from_checkpoint.predict(x, verbose=0), expected, atol=1e-6)
    with pytest.raises(ValueError, match="blocks per stage 3/3/3 in the checkpoint, 5/5/5 in resnet32"):
        kr.ResNet32(weights=tmp_path / "r20.safetensors")

    from_checkpoint.save(tmp_path / "m.keras")
    from_keras = kr.ResNet20(weights=str(tmp_path / "m.keras"), include_top=False)   # its preprocessing comes along
    assert "normalize" in [layer.name for layer in from_keras.layers]
    from_checkpoint.save_weights(tmp_path / "m.weights.h5")
    same = kr.ResNet20(weights=tmp_path / "m.weights.h5", preprocessing=krc.Layout("akamaster", 20, "basic", (3, 3, 3), 10).preprocessing)
    np.testing.assert_allclose(same.predict(x, verbose=0), expected, atol=1e-6)
    with pytest.raises(ValueError, match="only loads into the architecture it was saved from"):
        kr.ResNet32(weights=tmp_path / "m.weights.h5")
    with pytest.raises(FileNotFoundError):
        kr.ResNet20(weights=tmp_path / "none.keras")
    with pytest.raises(ValueError, match="allowed files are"):
        kr.ResNet20(weights=tmp_path / "model.h5")
