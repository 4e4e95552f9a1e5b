"""The demo's tools through gradio_client: /explain (Grad-CAM), /lesion and /lesion_random (switch blocks off,
Veit et al. 2016), /compare (every model on one image), against the app launched in-process on 127.0.0.1.

Tiny untrained models (ResNet-8 colour and grayscale from _demo_models.py, plus a plain net, a v2 net and an
option-B net built here) always; the trained models of saved_models/ when the project has them.
"""

import json
import os
import pathlib

import numpy as np
import pytest
from PIL import Image

from _demo_models import COLOR_CLASSES, GRAY_CLASSES, make_model_folder
from keras_resnet.cli.demo import load_app

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHIPPED = pathlib.Path(os.environ.get("DEMO_MODELS_DIR", ROOT / "saved_models"))
pytestmark = pytest.mark.timeout(600)

ga = load_app()


def _variant_folder(folder, arch, seed, **kwargs):
    """A tiny model folder like make_model_folder's, for another architecture (plain net, v2, option B)."""
    import keras

    import keras_resnet

    make_model_folder(folder, channels=3, classes=COLOR_CLASSES, tflite=False, seed=seed, dataset="synthetic")
    keras.utils.set_random_seed(seed)
    prep = {"scale": 1 / 255, "mean": [0.5] * 3, "std": [0.25] * 3}
    model = keras_resnet.build(arch, width=0.25, input_shape=(16, 16, 3), classes=10, preprocessing=prep, **kwargs)
    dense = model.get_layer("predictions")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * 20, np.random.default_rng(seed).normal(0, 1.0, bias.shape).astype("float32")])
    model.save(folder / "model.keras")
    card = json.loads((folder / "model_card.json").read_text())
    card["model"] = {"name": arch, "kwargs": {"width": 0.25, **kwargs}}
    (folder / "model_card.json").write_text(json.dumps(card, indent=1))
    return folder


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(demo, client, root) over five tiny models: colour, grayscale, plain, v2, option B."""
    from gradio_client import Client

    root = tmp_path_factory.mktemp("tool-models")
    make_model_folder(root / "tiny-color", channels=3, classes=COLOR_CLASSES, seed=1)
    make_model_folder(root / "tiny-gray", channels=1, classes=GRAY_CLASSES, seed=2, tflite=False)
    _variant_folder(root / "tiny-plain", "plain8", seed=3)
    _variant_folder(root / "tiny-v2", "resnet8", seed=4, version="v2")
    _variant_folder(root / "tiny-b", "resnet14", seed=5, shortcut="B")
    demo = ga.build_demo([root])
    _, url, _ = ga.launch(demo, prevent_thread_lock=True, quiet=True)
    try:
        yield demo, Client(url, verbose=False), root
    finally:
        ga.close(demo)   # waits for running events: no worker left inside TensorFlow at exit


def _image(path, size=(37, 23), seed=0, colour=None):
    """A random RGB image (or one flat colour) of size (width, height)."""
    w, h = size
    arr = (np.full((h, w, 3), colour, np.uint8) if colour is not None
           else np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))
    Image.fromarray(arr).save(path)
    return path


def _probs(label):
    return {c["label"]: c["confidence"] for c in label["confidences"]}


def _call(client, api, *args):
    from gradio_client import handle_file

    args = [handle_file(str(a)) if isinstance(a, pathlib.Path) else a for a in args]
    return client.predict(*args, api_name=api)


def _shipped_trained():
    """Valid model folders of saved_models/ whose card records a test accuracy (trained models)."""
    models, _ = ga.discover_models([SHIPPED]) if SHIPPED.is_dir() else ({}, [])
    return {n: e for n, e in models.items() if (e.card.get("metrics") or {}).get("test_top1_accuracy")}


# --------------------------------------------------------------------------- the endpoints exist


def test_api_lists_explain_lesion_compare_beside_predict(served):
    _, client, _ = served
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/predict", "/explain", "/lesion", "/lesion_random", "/compare"} <= set(endpoints)
    params = {api: [p["parameter_name"] for p in endpoints[api]["parameters"]] for api in endpoints}
    assert params["/explain"] == ["image", "model", "rank"]
    assert params["/lesion"] == ["image", "model", "deleted"]
    assert params["/lesion_random"] == ["image", "model", "k", "seed"]
    assert params["/compare"] == ["image", "backend"]


# --------------------------------------------------------------------------- Grad-CAM


@pytest.mark.parametrize("model", ["tiny-color", "tiny-gray", "tiny-plain", "tiny-v2", "tiny-b"])
def test_explain_heat_map_has_the_input_size_and_is_not_constant(served, tmp_path, model):
    _, client, _ = served
    # a flat image: the overlay varies only where the heat map does
    path = _image(tmp_path / "flat.png", size=(45, 30), colour=(120, 130, 140))
    overlay, text = _call(client, "/explain", path, model, 1)
    arr = np.asarray(Image.open(overlay))
    assert arr.shape == (30, 45, 3)
    assert arr.reshape(-1, 3).std(axis=0).max() > 1.0, "the heat map is constant"
    assert text.startswith("Explained: **") and "(top-1," in text and "model.keras" in text
    # a random photo-sized image keeps its size too
    overlay, _ = _call(client, "/explain", _image(tmp_path / "r.png", size=(300, 200), seed=1), model, 2)
    assert Image.open(overlay).size == (300, 200)


def test_explain_explains_the_class_ranked(served, tmp_path):
    demo, client, _ = served
    path = _image(tmp_path / "x.png", seed=2)
    probs, *_ = ga.predict(demo.models["tiny-color"], path, "Keras")
    order = sorted(probs, key=probs.get, reverse=True)
    for rank in (1, 2, 5):
        _, text = _call(client, "/explain", path, "tiny-color", rank)
        assert f"**{order[rank - 1]}** (top-{rank}," in text


def test_gradcam_equals_the_cam_formula_of_a_gap_dense_head(served, tmp_path):
    """With global average pooling + Dense, Grad-CAM for logit c is ReLU(sum_k W[k, c] A_k) / (h w)."""
    import keras

    from keras_resnet.app import explain as explaining

    demo, _, root = served
    entry = demo.models["tiny-color"]
    path = _image(tmp_path / "x.png", seed=3)
    r = explaining.explain(entry, path, 1)
    model = keras.saving.load_model(root / "tiny-color" / "model.keras")
    x = ga.prepare_image(path, entry.input_shape)[None].astype("float32")
    fmap = keras.Model(model.input, model.get_layer(r["layer"]).output)(x).numpy()[0]
    kernel = model.get_layer("predictions").get_weights()[0]
    cam = np.maximum(fmap @ kernel[:, entry.class_names.index(r["class_"])], 0)
    assert cam.max() > 0
    np.testing.assert_allclose(r["heatmap"], cam / cam.max(), atol=1e-4)
    assert r["overlay"].shape == (23, 37, 3)


@pytest.mark.parametrize("arch,kwargs,layer", [
    ("resnet8", {}, "conv4_block1_out"), ("resnet8", {"version": "v2"}, "post_relu"),
    ("resnet14", {"shortcut": "B"}, "conv4_block2_out"), ("resnet14", {"shortcut": "C"}, "conv4_block2_out"),
    ("plain8", {}, "conv4_block1_out"), ("resnet8", {"version": "v1.5"}, "conv4_block1_out"),
    ("resnet50", {"input_shape": (32, 32, 3), "width": 0.125}, "conv5_block3_out"),
    ("resnet18", {"input_shape": (32, 32, 3), "width": 0.125, "version": "v2"}, "post_relu"),
    ("toy_skip", {"blocks": 2, "filters": 4}, "block2_out"),
])
def test_gradcam_reads_the_last_stage_of_every_kind_of_model(arch, kwargs, layer):
    import keras_resnet
    from keras_resnet.app.explain import GradCAM, feature_layer

    kw = {"width": 0.25, "input_shape": (16, 16, 3), **kwargs} if arch != "toy_skip" else kwargs
    model = keras_resnet.build(arch, **kw)
    assert feature_layer(model) == layer
    shape = tuple(model.input_shape[1:])
    cam, probs, target = GradCAM(model, shape).run(   # NumPy in and out, on every Keras backend
        np.random.default_rng(0).integers(0, 256, (1, *shape), dtype=np.uint8), 1, -1)
    assert cam.shape == tuple(model.get_layer(layer).output.shape[1:3]) and np.isfinite(cam).all()
    assert int(target) == int(np.argmax(probs))


# --------------------------------------------------------------------------- lesion


@pytest.mark.parametrize("model", ["tiny-color", "tiny-gray", "tiny-v2", "tiny-b"])
def test_deleting_no_block_equals_predict(served, tmp_path, model):
    _, client, _ = served
    path = _image(tmp_path / "x.png", seed=4)
    label, _, _ = _call(client, "/predict", path, model, "Keras")
    intact, lesioned, summary = _call(client, "/lesion", path, model, "")
    expected = _probs(label)
    for got in (_probs(intact), _probs(lesioned)):
        assert got.keys() == expected.keys()
        for name, p in expected.items():
            assert abs(got[name] - p) <= 1e-5, (name, got[name], p)
    assert "the network is intact" in summary


def test_lesion_equals_the_model_with_those_branches_removed(served, tmp_path):
    """The switches (analysis.switches.instrument) give what analysis.switches.delete_blocks's graph gives."""
    import keras

    from keras_resnet.analysis.switches import delete_blocks

    demo, client, root = served
    entry = demo.models["tiny-b"]
    path = _image(tmp_path / "x.png", seed=5)
    deleted = ["conv2_block1", "conv3_block1", "conv4_block2"]
    _, lesioned, summary = _call(client, "/lesion", path, "tiny-b", ", ".join(deleted))
    model = keras.saving.load_model(root / "tiny-b" / "model.keras")
    x = ga.prepare_image(path, entry.input_shape)[None].astype("float32")
    expected = np.asarray(delete_blocks(model, deleted)(x, training=False))[0]
    top5 = _probs(lesioned)
    for name, p in top5.items():
        assert abs(p - expected[entry.class_names.index(name)]) <= 1e-5
    assert "Switched off 3 of 6 residual blocks" in summary and "conv3_block1 ↓" in summary


@pytest.mark.skipif(not _shipped_trained(), reason=f"no trained model folder in {SHIPPED}")
def test_deleting_blocks_of_a_trained_model_changes_its_probabilities(tmp_path):
    from gradio_client import Client

    name, entry = next(iter(_shipped_trained().items()))
    demo = ga.build_demo([entry.folder])
    _, url, _ = ga.launch(demo, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(url, verbose=False)
        path = (ga.examples_for(entry) or [_image(tmp_path / "x.png", size=(64, 64), seed=6)])[0]
        label, _, _ = _call(client, "/predict", path, entry.name, "Keras")
        before = _probs(label)
        for api, args in (("/lesion", ("conv3_block1",)), ("/lesion_random", (3, 0))):
            out = _call(client, api, path, entry.name, *args)
            intact, after = _probs(out[0]), _probs(out[1])
            assert all(abs(intact[c] - p) <= 1e-5 for c, p in before.items())
            common = set(before) & set(after)
            changed = max([abs(before[c] - after[c]) for c in common] + [0.0])
            assert changed > 1e-3 or set(after) != set(before), (api, before, after)
            assert "Switched off" in out[2]
        overlay, text = _call(client, "/explain", path, entry.name, 1)
        assert Image.open(overlay).size == Image.open(path).size
        assert f"**{label['label']}** (top-1," in text
    finally:
        ga.close(demo)   # waits for running events: no worker left inside TensorFlow at exit


def test_lesion_random_is_seeded_and_k_is_checked(served, tmp_path):
    from gradio_client.exceptions import AppError

    _, client, _ = served
    path = _image(tmp_path / "x.png", seed=7)
    a = _call(client, "/lesion_random", path, "tiny-b", 3, 11)
    b = _call(client, "/lesion_random", path, "tiny-b", 3, 11)
    assert a[3] == b[3] and len(a[3].split(", ")) == 3 and a[1] == b[1]
    none = _call(client, "/lesion_random", path, "tiny-b", 0, 11)
    assert none[3] == "" and none[0] == none[1]
    all_six = _call(client, "/lesion_random", path, "tiny-b", 6, 0)
    assert len(all_six[3].split(", ")) == 6
    with pytest.raises(AppError, match=r"k must be from 0 to 6 .* got 7"):
        _call(client, "/lesion_random", path, "tiny-b", 7, 0)


def test_concurrent_lesions_do_not_mix_their_switches(served, tmp_path):
    """Every request sets the shared switches and predicts under the model's lock: answers match sequential ones."""
    _, client, _ = served
    path = _image(tmp_path / "x.png", seed=8)
    sets = ["", "conv2_block1", "conv3_block1, conv4_block1", "conv2_block1, conv3_block1, conv4_block1"]
    sequential = {s: _call(client, "/lesion", path, "tiny-color", s)[1] for s in sets}
    from gradio_client import handle_file

    jobs = [(s, client.submit(handle_file(str(path)), "tiny-color", s, api_name="/lesion")) for s in sets * 4]
    for s, job in jobs:
        got = _probs(job.result(timeout=120)[1])
        want = _probs(sequential[s])
        assert got.keys() == want.keys() and all(abs(got[c] - want[c]) <= 1e-6 for c in want), s


def test_a_plain_net_lesion_says_why_it_cannot_work(served, tmp_path):
    from gradio_client.exceptions import AppError

    _, client, _ = served
    path = _image(tmp_path / "x.png", seed=9)
    intact, lesioned, summary = _call(client, "/lesion", path, "tiny-plain", "")
    assert "is a plain net" in summary and "no shortcuts" in summary and "one path" in summary
    intact, lesioned, summary = _call(client, "/lesion", path, "tiny-plain", "conv2_block1")
    assert "is a plain net" in summary and "Switched off 1 of 3 blocks (input passed on unchanged)" in summary
    with pytest.raises(AppError, match="conv3_block1 cannot be switched off: a plain block that changes the shape"):
        _call(client, "/lesion", path, "tiny-plain", "conv3_block1")
    _, _, _, drawn = _call(client, "/lesion_random", path, "tiny-plain", 1, 0)
    assert drawn == "conv2_block1"   # the only plain block that keeps its shape
    with pytest.raises(AppError, match="k must be from 0 to 1"):
        _call(client, "/lesion_random", path, "tiny-plain", 2, 0)


# --------------------------------------------------------------------------- compare


def test_compare_returns_one_row_per_listed_model(served, tmp_path):
    demo, client, _ = served
    path = _image(tmp_path / "x.png", seed=10)
    for backend in ("Keras", "TFLite"):
        table = _call(client, "/compare", path, backend)
        assert table["headers"] == ["model", "input", "top-1 class", "confidence", "latency ms", "backend", "note"]
        rows = table["data"]
        assert [r[0] for r in rows] == list(demo.models)
        for row in rows:
            entry = demo.models[row[0]]
            probs, *_ = ga.predict(entry, path, row[5])
            assert row[2] == max(probs, key=probs.get) and abs(row[3] - max(probs.values())) <= 1e-4
            assert row[4] > 0
            assert row[5] == (backend if backend in entry.backends else "Keras")
            if backend not in entry.backends:
                assert "no TFLite file: Keras used" in row[6]


# --------------------------------------------------------------------------- bad inputs


def test_bad_inputs_give_clear_errors(served, tmp_path, capfd):
    from gradio_client.exceptions import AppError

    _, client, _ = served
    path = _image(tmp_path / "x.png", seed=11)
    # a value outside a menu's choices: Gradio's own check (which logs its traceback)
    for api, args in (("/explain", (path, "no-such-model", 1)), ("/lesion", (path, "no-such-model", "")),
                      ("/lesion_random", (path, "no-such-model", 1, 0))):
        with pytest.raises(AppError, match="no-such-model is not in the list of choices"):
            _call(client, api, *args)
    with pytest.raises(AppError, match="not in the list of choices"):
        _call(client, "/explain", path, "tiny-color", 6)
    # the app's own user errors: a message, and no traceback in the server's log
    capfd.readouterr()
    for api, args in (("/explain", (None, "tiny-color", 1)), ("/lesion", (None, "tiny-color", "")),
                      ("/lesion_random", (None, "tiny-color", 1, 0)), ("/compare", (None, "Keras"))):
        with pytest.raises(AppError, match="Upload, paste or capture an image first"):
            _call(client, api, *args)
    with pytest.raises(AppError, match="no block 'conv9_block1' in this model; its blocks: conv2_block1"):
        _call(client, "/lesion", path, "tiny-color", "conv2_block1, conv9_block1")
    with pytest.raises(AppError, match="k must be from 0 to 3"):
        _call(client, "/lesion_random", path, "tiny-color", 4, 0)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a PNG")
    for api, args in (("/explain", ("tiny-color", 1)), ("/lesion", ("tiny-color", "")), ("/compare", ("Keras",))):
        with pytest.raises(AppError, match="broken.png"):
            _call(client, api, tmp_path / "broken.png", *args)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err, out + err
