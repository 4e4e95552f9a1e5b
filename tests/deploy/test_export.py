"""Export -> load -> compare for every format, on a tiny trained ResNet; predict; bad input."""

import json
import os

import numpy as np
import pytest

H, W, C, K = 16, 16, 3, 3
NAMES = ["red", "green", "blue"]


def _images(rng, n):
    """Colour blobs: class k is a noisy image dominated by channel k (learnable in a few epochs)."""
    y = rng.integers(0, K, n)
    base = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200]])
    x = np.clip(base[y][:, None, None, :] + rng.normal(0, 25, (n, H, W, C)), 0, 255).astype(np.uint8)
    return x, y


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run directory like train's: model.keras + model_card.json naming a reloadable .npz dataset."""
    import keras

    import keras_resnet

    keras.utils.set_random_seed(0)   # a confident model: int8 agreement then does not hinge on near-ties
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("export")
    x, y = _images(rng, 160)
    np.savez(root / "blobs.npz", x_train=x[:100], y_train=y[:100], x_test=x[100:], y_test=y[100:],
             class_names=np.array(NAMES))
    model = keras_resnet.build("resnet8", width=0.25, input_shape=(H, W, C), classes=K,
                               preprocessing={"scale": 1 / 255, "mean": [0.5] * 3, "std": [0.25] * 3})
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:100], y[:100], epochs=10, batch_size=20, verbose=0)
    run = root / "run"
    run.mkdir()
    model.save(run / "model.keras")
    card = {"name": "resnet8-blobs", "model": {"name": "resnet8", "kwargs": {"width": 0.25}},
            "dataset": {"name": "blobs", "spec": {"source": str(root / "blobs.npz"), "data_dir": None}},
            "class_names": NAMES, "input_shape": [H, W, C]}
    (run / "model_card.json").write_text(json.dumps(card))
    return run


@pytest.fixture(scope="module")
def exported(run_dir):
    from keras_resnet.deploy.export import export

    blobs = str(run_dir.parent / "blobs.npz")   # the card names it, but a card's paths are read only when passed
    report = export(run_dir, formats=["savedmodel", "tflite", "tflite-fp16", "tflite-int8"], verbose=False,
                    representative_data=blobs, eval_data=blobs)
    return run_dir, report


@pytest.fixture(scope="module")
def held_out(run_dir):
    d = np.load(run_dir.parent / "blobs.npz")
    return d["x_test"], d["y_test"]


@pytest.fixture(scope="module")
def keras_probs(run_dir, held_out):
    from keras_resnet.deploy.predictors import load_keras_model

    return load_keras_model(run_dir).predict(held_out[0], verbose=0)


def test_report_passes_every_threshold(exported):
    run, report = exported
    assert set(report["formats"]) == {"savedmodel", "tflite", "tflite-fp16", "tflite-int8"}
    for fmt, row in report["formats"].items():
        assert row["passed"] and row["examples"] == 60, (fmt, row)
        assert os.path.exists(row["path"])
    assert report["formats"]["tflite"]["max_abs_diff"] < 1e-4
    saved = json.loads((run / "parity.json").read_text())
    assert saved["formats"]["tflite-int8"]["top1_agreement"] >= 0.98
    assert saved["formats"]["tflite-int8"]["calibration"] == {"images": 100, "input_preprocessing_folded": True}
    assert "tflite-int8" in (run / "parity.txt").read_text()
    assert (run / "labels.txt").read_text().split() == NAMES
    assert not [p for p in os.listdir(run) if p.startswith(".")]  # no temporary leftovers


def test_input_affine_folds_the_preprocessing(run_dir, held_out, keras_probs):
    """int8 export folds Rescaling + Normalization into one per-channel affine: the same function in float."""
    import keras

    import keras_resnet
    from keras_resnet.deploy.export import input_affine
    from keras_resnet.deploy.predictors import load_keras_model

    scale, offset, rest = input_affine(load_keras_model(run_dir))
    np.testing.assert_allclose(scale, 1 / 255 / 0.25, rtol=1e-6)
    np.testing.assert_allclose(offset, -0.5 / 0.25, rtol=1e-6)
    x = held_out[0].astype("float32")
    np.testing.assert_allclose(rest.predict(x * scale + offset, verbose=0), keras_probs, atol=1e-5)
    bare = keras_resnet.build("resnet8", width=0.25, input_shape=(H, W, C), classes=K)   # no preprocessing layers
    assert input_affine(bare) is None
    assert input_affine(keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(2)])) is None


def test_saved_model_with_plain_tensorflow(exported, held_out, keras_probs):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(exported[0] / "saved_model"))
    serve = loaded.signatures["serving_default"]
    spec = serve.structured_input_signature[1]["images"]
    assert spec.dtype == tf.uint8 and spec.shape.as_list() == [None, H, W, C]
    assert set(serve.structured_outputs) == {"probabilities", "top_k_ids", "top_k_scores", "top_k_labels"}
    for n in (1, 7):
        out = serve(images=tf.constant(held_out[0][:n]))
        np.testing.assert_allclose(out["probabilities"].numpy(), keras_probs[:n], atol=1e-5)
        ids = out["top_k_ids"].numpy()
        assert ids.shape == (n, K) and (ids[:, 0] == keras_probs[:n].argmax(1)).all()
        labels = [b.decode() for b in out["top_k_labels"].numpy()[:, 0]]
        assert labels == [NAMES[i] for i in ids[:, 0]]
    names = loaded.signatures["class_names"]()["class_names"].numpy()
    assert [n.decode() for n in names] == NAMES
    assert (exported[0] / "saved_model" / "assets" / "labels.txt").read_text().split() == NAMES


@pytest.mark.parametrize("fmt,atol", [("model.tflite", 1e-4), ("model_fp16.tflite", 5e-3),
                                      ("model_int8.tflite", 0.08)])
def test_tflite_builtin_ops_uint8_dynamic_batch(exported, held_out, keras_probs, fmt, atol):
    from ai_edge_litert.interpreter import Interpreter

    from keras_resnet.deploy.export import flex_ops, tflite_ops
    from keras_resnet.deploy.predictors import tflite_embedded_labels

    path = exported[0] / fmt
    assert flex_ops(path) == [] and "CONV_2D" in tflite_ops(path)   # no Flex / custom operator (from the flatbuffer)
    it = Interpreter(model_path=str(path))
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    assert inp["dtype"] == np.uint8 and list(inp["shape_signature"]) == [-1, H, W, C]
    for n in (1, 7):
        it.resize_tensor_input(inp["index"], [n, H, W, C])
        it.allocate_tensors()
        it.set_tensor(inp["index"], held_out[0][:n])
        it.invoke()
        probs = it.get_tensor(out["index"]).astype(np.float32)
        scale, zero = out["quantization"]
        probs = (probs - zero) * scale if scale else probs
        assert probs.shape == (n, K)
        np.testing.assert_allclose(probs, keras_probs[:n], atol=atol)
    assert tflite_embedded_labels(path) == NAMES


def test_predictors_agree_and_read_class_names(exported, held_out, keras_probs):
    from keras_resnet.deploy.predictors import open_predictor

    run = exported[0]
    for path, backend in [(run, "keras"), (run / "model.keras", "keras"), (run / "saved_model", "savedmodel"),
                          (run / "model.tflite", "tflite"), (run / "model_int8.tflite", "tflite")]:
        p = open_predictor(path)
        assert p.backend == backend and p.input_shape == (H, W, C) and p.class_names == NAMES
        probs = p.predict(held_out[0][:7])
        assert (probs.argmax(1) == keras_probs[:7].argmax(1)).all()
        top = p.top_k(held_out[0][:1], k=5)[0]
        assert len(top) == K and top[0][0] == NAMES[keras_probs[0].argmax()]


def test_predict_cli_any_image_mode(exported, tmp_path, capsys):
    from PIL import Image

    from keras_resnet.cli import main
    from keras_resnet.deploy.images import load_image

    red = np.zeros((40, 30, 4), np.uint8)
    red[..., 0], red[..., 3] = 220, 255
    Image.fromarray(red, "RGBA").save(tmp_path / "red.png")
    Image.fromarray(np.full((20, 20, 3), (20, 20, 220), np.uint8)).convert("P").save(tmp_path / "blue.gif")
    Image.fromarray((np.ones((9, 9)) * 40000).astype(np.uint16)).save(tmp_path / "grey16.png")
    assert load_image(tmp_path / "grey16.png", (H, W, C)).shape == (H, W, C)
    assert load_image(tmp_path / "grey16.png", (8, 8, 1)).shape == (8, 8, 1)
    assert load_image(tmp_path / "grey16.png", (8, 8, 1))[0, 0, 0] == round(40000 * 255 / 65535)
    images = [str(tmp_path / f) for f in ("red.png", "blue.gif", "grey16.png")]
    for model in ("model.tflite", "saved_model"):
        assert main(["predict", str(exported[0] / model), *images]) == 0
        out = capsys.readouterr().out
        lines = out.splitlines()
        assert lines[2].split()[1] == "red" and lines[3 + K].split()[1] == "blue"  # top-1 of the first two images
        assert out.count(" 1. ") == 3 and " 3. " in out


def test_existing_outputs_are_refused_and_overwrite_replaces(exported, capsys):
    from keras_resnet.cli import main

    run = exported[0]
    before = (run / "model.tflite").read_bytes()
    assert main(["export", str(run), "--format", "tflite"]) == 2
    err = capsys.readouterr().err.strip()
    assert "already exists" in err and "--overwrite" in err and len(err.splitlines()) == 1
    assert (run / "model.tflite").read_bytes() == before
    assert main(["export", str(run), "--format", "tflite", "--overwrite", "--eval-data", str(run.parent / "blobs.npz")]) == 0
    assert (run / "model.tflite").stat().st_size > 1000
    assert set(json.loads((run / "parity.json").read_text())["formats"]) >= {"savedmodel", "tflite-int8"}


def test_the_cards_dataset_path_is_not_read_unless_passed(exported, tmp_path, capsys):
    """A model card is information: export names the dataset path it holds and asks for it, reading nothing."""
    from keras_resnet.cli import main

    run = exported[0]
    assert main(["export", str(run), "--format", "tflite", "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "blobs.npz" in err[0] and "--eval-data" in err[0], err
    assert not (tmp_path / "out").exists()


def test_failed_parity_writes_nothing_unless_kept(exported, tmp_path, monkeypatch):
    from keras_resnet.deploy import parity
    from keras_resnet.deploy.export import ParityError, export

    monkeypatch.setitem(parity.THRESHOLDS, "tflite-fp16", {"max_abs_diff": 0.0})
    out = tmp_path / "out"
    with pytest.raises(ParityError, match="tflite-fp16"):
        export(exported[0] / "model.keras", out, formats=["tflite-fp16"], verbose=False,
               eval_data=str(exported[0].parent / "blobs.npz"))
    assert not (out / "model_fp16.tflite").exists()
    assert json.loads((out / "parity.json").read_text())["formats"]["tflite-fp16"]["passed"] is False
    with pytest.raises(ParityError, match="kept anyway"):
        export(exported[0] / "model.keras", out, formats=["fp16"], keep_failed=True, verbose=False,
               eval_data=str(exported[0].parent / "blobs.npz"))
    assert (out / "model_fp16.tflite").exists()
    assert not [p for p in os.listdir(out) if p.startswith(".")]


def test_bad_inputs_one_clear_error(exported, tmp_path, capsys):
    import keras

    from keras_resnet.cli import main
    from keras_resnet.deploy.export import export

    run = exported[0]
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    (tmp_path / "junk.tflite").write_bytes(b"not a flatbuffer")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("hello")
    cases = [
        (["export", str(tmp_path / "missing.keras")], "not found"),
        (["export", str(tmp_path / "junk.keras")], "junk.keras is corrupt or truncated: not a zip archive"),
        (["export", str(run), "--format", "tflite-int4"], "unknown export format"),
        (["predict", str(tmp_path / "junk.tflite"), str(tmp_path / "junk.png")], "could not load"),
        (["predict", str(tmp_path / "notes.txt"), str(tmp_path / "junk.png")], "unknown model file"),
        (["predict", str(run / "model.tflite"), str(tmp_path / "junk.png")], "cannot decode image"),
        (["predict", str(run / "model.tflite"), str(tmp_path / "nope.png")], "image not found"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, (argv, err)
    # int8 with no representative data: an in-memory model with no model card
    model = keras.saving.load_model(run / "model.keras")
    out = tmp_path / "int8"
    with pytest.raises(ValueError, match="representative"):
        export(model, out, formats=["tflite-int8"], eval_data=np.zeros((2, H, W, C), np.uint8))
    with pytest.raises(ValueError, match="held-out"):
        export(model, out, formats=["tflite"])
    assert not out.exists() or not list(out.iterdir())


def test_onnx_optional_extra(exported, tmp_path, held_out, keras_probs):
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    from keras_resnet.deploy.export import export
    from keras_resnet.deploy.predictors import open_predictor

    report = export(exported[0] / "model.keras", tmp_path, formats=["onnx"], verbose=False)
    assert report["formats"]["onnx"]["passed"]
    p = open_predictor(tmp_path / "model.onnx")
    np.testing.assert_allclose(p.predict(held_out[0][:7]), keras_probs[:7], atol=1e-5)
