"""The models shipped in saved_models/: they load, predict, and score what their cards claim."""

import functools
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from conftest import CIFAR_SUBSET, FASHION_MNIST, ROOT

SHIPPED = sorted(p for p in (ROOT / "saved_models").glob("*") if (p / "model_card.json").exists())
DATA = {"cifar10-subset": CIFAR_SUBSET, "fashion-mnist": FASHION_MNIST, "fashion_mnist": FASHION_MNIST}
EXAMPLES = {"cifar10": ROOT / "keras_resnet/app/examples/cifar10/ship-drawn-rgba.png",
            "fashion": ROOT / "keras_resnet/app/examples/fashion-mnist/ankle-boot-test0.png"}

pytestmark = pytest.mark.skipif(not SHIPPED, reason="no models in saved_models/")


def card(folder):
    return json.loads((folder / "model_card.json").read_text())


def example_for(folder):
    return next(path for key, path in EXAMPLES.items() if key in folder.name)


@pytest.mark.parametrize("folder", SHIPPED, ids=[p.name for p in SHIPPED])
def test_card_is_complete_and_matches_the_model(folder):
    c = card(folder)
    for key in ("model", "dataset", "class_names", "input_shape", "preprocessing", "params", "macs", "metrics",
                "training", "command"):
        assert key in c, f"{folder.name}: model_card.json lacks {key!r}"
    assert (folder / "model.keras").is_file() and (folder / "model.tflite").is_file() and (folder / "README.md").is_file()
    assert f"{100 * c['metrics']['test_top1_accuracy']:.2f} %" in (folder / "README.md").read_text()

    import keras_resnet as kr
    from keras_resnet.deploy import load_keras_model

    model = load_keras_model(folder)
    assert kr.profile(model)["trainable_params"] == c["params"]["trainable"]
    assert list(model.input_shape[1:]) == c["input_shape"]
    assert model.output_shape[-1] == len(c["class_names"])


# One fresh process per backend runs `keras-resnet predict` (its main) on every shipped folder in turn: nothing but
# the package is imported first, as for a user, without paying TensorFlow's start-up once per folder.
_PREDICT_EACH = """
import contextlib, io, json, sys
from keras_resnet.cli import main
out = {}
for target, image in json.loads(sys.argv[1]):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["predict", target, image, "-k", "3"])
    out[target] = [code, buf.getvalue()]
print(json.dumps(out))
"""


@pytest.mark.parametrize("backend", ["keras", "tflite"])
def test_predict_in_a_fresh_process(backend):
    """A fresh `keras-resnet predict` (nothing but the package imported) loads what train wrote, for every folder."""
    targets = {str(f / ("model.tflite" if backend == "tflite" else "model.keras")): f for f in SHIPPED}
    jobs = [[t, str(example_for(f))] for t, f in targets.items()]
    proc = subprocess.run([sys.executable, "-c", _PREDICT_EACH, json.dumps(jobs)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sorted(results) == sorted(targets)
    for target, (code, printed) in results.items():
        assert code == 0, (target, printed, proc.stderr[-2000:])
        names = card(targets[target])["class_names"]
        assert sum(name in printed for name in names) >= 3, (target, printed)


@functools.lru_cache(maxsize=None)
def _arrays(source):
    from keras_resnet import data

    test = data.load(source)
    return tuple(map(np.stack, zip(*[(im, label) for im, label in test.test.as_numpy_iterator()])))


def held_out(folder):
    """(card, x, y): the real test split the folder's card names, read once per dataset; skip where it is absent."""
    c = card(folder)
    source = DATA.get(c["dataset"]["name"])
    if source is None or not source.exists():
        pytest.skip(f"{c['dataset']['name']} test split not available here")
    return (c, *_arrays(str(source)))


@pytest.mark.parametrize("folder", SHIPPED, ids=[p.name for p in SHIPPED])
def test_tflite_scores_what_the_card_claims_on_the_real_test_split(folder):
    c, x, y = held_out(folder)
    from keras_resnet.deploy import open_predictor

    assert len(y) == c["metrics"]["test_examples"]
    predictor = open_predictor(folder / "model.tflite")
    probs = np.concatenate([predictor.predict(x[i:i + 256]) for i in range(0, len(x), 256)])
    accuracy = float((probs.argmax(1) == y).mean())
    assert accuracy == pytest.approx(c["metrics"]["test_top1_accuracy"], abs=0.002)


INT8 = [p for p in SHIPPED if (p / "model_int8.tflite").exists()]


@pytest.mark.parametrize("folder", INT8, ids=[p.name for p in INT8])
def test_int8_file_passes_the_parity_thresholds(folder):
    """Every shipped model_int8.tflite meets deploy.parity's int8 thresholds against model.keras, unchanged."""
    c, x, y = held_out(folder)
    from keras_resnet.deploy import open_predictor, parity

    reference = open_predictor(folder / "model.keras").predict(x)
    int8 = open_predictor(folder / "model_int8.tflite").predict(x)
    row = parity.compare(reference, int8, y, parity.THRESHOLDS["tflite-int8"])
    assert row["passed"], (folder.name, row["failures"])
    recorded = json.loads((folder / "parity.json").read_text())["formats"]["tflite-int8"]
    assert row["disagreements"] == recorded["disagreements"], "parity.json does not describe the shipped int8 file"
