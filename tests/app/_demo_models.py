"""Tiny model folders for the demo tests (tests/app/test_app.py, tests/app/test_browser.py).

Each folder has the layout of `saved_models/<name>/`: model.keras, model.tflite
(built-in ops only), model_card.json and README.md. The models are untrained
ResNet-8s (width 0.25, 16x16 inputs) with preprocessing inside, as the project
ships them; a per-model bias on the classifier makes their top class differ.
"""

import functools
import json
import pathlib
import shutil
import tempfile

import numpy as np

COLOR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
GRAY_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _tflite_bytes(model):
    """Built-in ops only. (from_concrete_functions on a Keras 3 model leaves READ_VARIABLE ops: NaN/crash.)"""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def make_model_folder(folder, *, channels=3, classes=COLOR_CLASSES, tflite=True, seed=0, name=None,
                      dataset="synthetic"):
    """Write a tiny model folder and return its path."""
    import keras

    import keras_resnet

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    prep = {"scale": 1 / 255, "mean": [0.5] * channels, "std": [0.25] * channels}
    model = keras_resnet.build("resnet8", width=0.25, input_shape=(16, 16, channels), classes=len(classes),
                               preprocessing=prep)
    dense = model.get_layer("predictions")
    kernel, bias = dense.get_weights()
    bias = np.random.default_rng(seed).normal(0, 1.0, bias.shape).astype("float32")
    dense.set_weights([kernel * 20, bias])  # make the image matter and the classes distinct
    model.save(folder / "model.keras")
    if tflite:
        (folder / "model.tflite").write_bytes(_tflite_bytes(model))
    p = keras_resnet.profile(model)
    card = {
        "name": name or folder.name, "model": {"name": "resnet8", "kwargs": {"width": 0.25}},
        "dataset": {"name": dataset, "spec": {"source": "none"}, "num_train": 0, "num_validation": 0,
                    "num_test": 0},
        "class_names": list(classes), "input_shape": [16, 16, channels], "preprocessing": prep,
        "params": {"trainable": p["trainable_params"], "total": p["total_params"]}, "macs": p["macs"],
        "metrics": {}, "training": {"recipe": "none", "epochs": 0},
        "command": "(untrained test fixture)", "created": "2026-01-01T00:00:00Z",
        "versions": {"keras_resnet": keras_resnet.__version__},
    }
    (folder / "model_card.json").write_text(json.dumps(card, indent=1))
    (folder / "README.md").write_text(f"# {folder.name}\n\nAn untrained fixture model for tests.\n")
    return folder


@functools.lru_cache(maxsize=None)
def fixture_models_dir():
    """A models directory with two valid models and four broken folders (built once per session)."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="demo-models-"))
    # dataset names pick the example images of keras_resnet/app/examples/ (cifar10/, fashion-mnist/)
    color = make_model_folder(root / "tiny-color", channels=3, classes=COLOR_CLASSES, seed=1,
                              dataset="cifar10-untrained-fixture")
    make_model_folder(root / "tiny-gray", channels=1, classes=GRAY_CLASSES, seed=2,
                      dataset="fashion-mnist-untrained-fixture")
    # broken folders: no card, corrupt model.keras, card that is not JSON, corrupt model.tflite only
    (root / "no-card").mkdir()
    shutil.copy(color / "model.keras", root / "no-card" / "model.keras")
    (root / "corrupt-keras").mkdir()
    shutil.copy(color / "model_card.json", root / "corrupt-keras" / "model_card.json")
    (root / "corrupt-keras" / "model.keras").write_bytes(b"this is not a zip archive")
    (root / "bad-json").mkdir()
    shutil.copy(color / "model.keras", root / "bad-json" / "model.keras")
    (root / "bad-json" / "model_card.json").write_text("{not json")
    shutil.copytree(color, root / "corrupt-tflite")
    (root / "corrupt-tflite" / "model.tflite").write_bytes(b"\x00" * 64)
    (root / "notes.txt").write_text("a stray file, not a model folder")
    return root
