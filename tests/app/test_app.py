"""The Gradio demo (keras_resnet.app) driven through gradio_client on 127.0.0.1.

Fixture model folders (tiny untrained ResNet-8s, tests/app/_demo_models.py) plus broken folders; and the
real saved_models/ folders when the project has them.
"""

import functools
import os
import json
import pathlib

import numpy as np
import pytest
from PIL import Image

from _demo_models import fixture_models_dir
from keras_resnet.cli.demo import load_app

ROOT = pathlib.Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)


ga = load_app()  # keras_resnet.app, imported the way `keras-resnet demo` does


def _launch(dirs):
    demo = ga.build_demo(dirs)
    _, url, _ = ga.launch(demo, port=None, prevent_thread_lock=True, quiet=True)
    return demo, url


@pytest.fixture(scope="module")
def served():
    """(demo, client, models dir) for the fixture models + broken folders + a missing directory."""
    from gradio_client import Client

    root = fixture_models_dir()
    demo, url = _launch([root, root / "does-not-exist"])
    try:
        yield demo, Client(url, verbose=False), root, url
    finally:
        ga.close(demo)   # waits for running events: no worker left inside TensorFlow at exit


@functools.lru_cache(maxsize=None)
def _reference_model(folder):
    import keras

    return keras.saving.load_model(pathlib.Path(folder) / "model.keras")


def _expected(folder, x):
    """Direct prediction, independent of the app's cache: a separately loaded model on the converted image."""
    return np.asarray(_reference_model(str(folder))(x[None].astype("float32"), training=False))[0]


def _ask(client, path, model, backend="Keras"):
    from gradio_client import handle_file

    label, timing, _ = client.predict(handle_file(str(path)), model, backend, api_name="/predict")
    return label, timing


def _check(label, names, probs, atol=1e-4):
    """The app's top-5 equals the direct prediction's (up to ties within atol)."""
    got = {c["label"]: c["confidence"] for c in label["confidences"]}
    assert len(got) == min(5, len(names))
    for name, p in got.items():
        assert abs(p - probs[names.index(name)]) <= atol, (name, p, probs[names.index(name)])
    rest = [p for n, p in zip(names, probs) if n not in got]
    assert not rest or min(got.values()) >= max(rest) - atol
    assert probs[names.index(label["label"])] >= probs.max() - atol


def _random_image(path, seed, size=(24, 20)):
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return path


# --------------------------------------------------------------------------- discovery and bad folders


def test_discovery_lists_valid_models_and_says_why_others_were_skipped(served):
    demo, _, root, url = served
    assert sorted(demo.models) == ["corrupt-tflite", "tiny-color", "tiny-gray"]
    assert demo.models["corrupt-tflite"].backends == ("Keras",)
    reasons = {pathlib.Path(f).name: r for f, r in demo.skipped}
    assert reasons["no-card"] == "no model_card.json"
    assert "model.keras is corrupt" in reasons["corrupt-keras"]
    assert "not valid JSON" in reasons["bad-json"]
    assert "model.tflite is corrupt" in reasons["corrupt-tflite"]
    assert reasons["does-not-exist"] == "directory does not exist"
    # the page itself shows them
    import httpx

    config = httpx.get(url.rstrip("/") + "/config", timeout=30).text
    for folder in ("no-card", "corrupt-keras", "bad-json", "does-not-exist"):
        assert folder in config
    assert "no model_card.json" in config


def test_no_valid_model_is_a_clear_error(tmp_path, capsys):
    from keras_resnet.cli import main

    (tmp_path / "empty-folder").mkdir()
    with pytest.raises(FileNotFoundError, match="no valid model folder.*empty-folder: no model_card.json"):
        ga.build_demo([tmp_path], presets=False)
    assert main(["demo", "--no-saved-models", "--models-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("keras-resnet demo: error: no valid model folder in ")


def _entry(name, dataset, accuracy):
    card = {"class_names": ["a", "b"], "input_shape": [8, 8, 3], "dataset": {"name": dataset},
            "metrics": {} if accuracy is None else {"test_top1_accuracy": accuracy}}
    return name, ga.ModelEntry(name, pathlib.Path(name), card, ("Keras",))


def test_the_page_opens_on_the_most_accurate_cifar10_model():
    models = dict([_entry("a-fashion", "fashion-mnist", 0.99), _entry("b-cifar100", "cifar100", 0.97),
                   _entry("c-cifar10", "cifar10", 0.91), _entry("d-subset", "cifar10-subset", 0.934),
                   _entry("e-untrained", "cifar10", None), _entry("f-cifar10", "CIFAR-10", 0.92)])
    assert ga.default_model(models) == "d-subset"
    del models["d-subset"], models["c-cifar10"], models["f-cifar10"]
    assert ga.default_model(models) == "a-fashion"           # no measured CIFAR-10 model: the most accurate one
    assert ga.default_model(dict([_entry("x", "cifar10", None), _entry("y", "mnist", None)])) == "x"   # the first
    assert ga.default_model({}) is None
    shipped, _ = ga.discover_models([ROOT / "saved_models"])
    cifar = {n: e.card["metrics"]["test_top1_accuracy"] for n, e in shipped.items()
             if e.card["dataset"]["name"].startswith("cifar10") and e.card.get("metrics")}
    if cifar:   # the project's models: resnet44-cifar10 (93.41 % on 1,017 test images)
        assert ga.default_model(shipped) == max(cifar, key=cifar.get)


@pytest.mark.slow
def test_without_model_folders_the_demo_lists_the_packaged_presets_and_every_tool_works(tmp_path):
    from gradio_client import Client, handle_file

    from keras_resnet.nets.weights import list_presets

    demo, url = _launch([tmp_path / "saved_models"])     # a pip install: no saved_models/
    try:
        assert demo.presets and demo.skipped == [(str(tmp_path / "saved_models"), "directory does not exist")]
        assert list(demo.models) == [f"{p['model']}-{p['weights']} (preset)" for p in list_presets()]
        assert demo.default_model == "resnet44-cifar10 (preset)"    # 93.41 %, the best measured preset
        import httpx

        page = httpx.get(url, timeout=30).text + httpx.get(url.rstrip("/") + "/config", timeout=30).text
        assert "packaged presets" in page and "resnet44-cifar10 (preset)" in page
        client, name = Client(url, verbose=False), demo.default_model
        image = handle_file(str(ROOT / "keras_resnet" / "app" / "examples" / "cifar10" / "ship-drawn-rgba.png"))
        label, timing, _ = client.predict(image, name, "Keras", api_name="/predict")
        assert label["label"] == "ship" and "Inference:" in timing
        _, explained = client.predict(image, name, 1, api_name="/explain")
        assert explained.startswith("Explained: **ship** (top-1,") and "resnet44_cifar10.weights.h5" in explained
        intact, lesioned, summary = client.predict(image, name, "conv3_block1", api_name="/lesion")
        assert intact["label"] == "ship" and "Switched off 1 of 21 residual blocks" in summary
        rows = client.predict(image, "TFLite", api_name="/compare")["data"]
        assert [r[0] for r in rows] == list(demo.models)
        assert all(r[5] == "Keras" and "no TFLite file" in r[6] for r in rows)
    finally:
        ga.close(demo)   # waits for running events: no worker left inside TensorFlow at exit


def test_cli_rejects_bad_port():
    from keras_resnet.cli import main

    assert main(["demo", "--port", "70000"]) == 2


# --------------------------------------------------------------------------- predictions


@pytest.mark.parametrize("model,backend", [("tiny-color", "Keras"), ("tiny-color", "TFLite"),
                                           ("tiny-gray", "Keras"), ("tiny-gray", "TFLite")])
def test_prediction_per_model_and_backend(served, tmp_path, model, backend):
    demo, client, root, _ = served
    path = _random_image(tmp_path / "x.png", seed=3)
    label, timing = _ask(client, path, model, backend)
    entry = demo.models[model]
    x = ga.prepare_image(path, entry.input_shape)
    assert x.shape == tuple(entry.input_shape) and x.dtype == np.uint8
    _check(label, entry.class_names, _expected(root / model, x), atol=1e-4)
    assert "Inference:" in timing and f"({backend}," in timing and " ms" in timing


def test_an_example_test_image_gets_a_verdict_and_an_upload_none(served, tmp_path):
    """One of the model's example test images (however it arrives: here through the API) says whether the
    prediction is right; any other image does not."""
    demo, client, root, _ = served
    for model in ("tiny-color", "tiny-gray"):
        entry = demo.models[model]
        path = ga.examples_for(entry)[0]
        truth = ga.gallery.manifest(path.parent)[path.name]["label"]
        label, timing = _ask(client, path, model)
        mark = "✓" if label["label"] == truth else "✗"
        assert timing.startswith(f"**true: {truth} · predicted: {label['label']} {mark}**"), timing
    _, timing = _ask(client, _random_image(tmp_path / "x.png", seed=8), "tiny-color")
    assert "true:" not in timing and "Inference:" in timing


def test_missing_backend_and_unknown_model_are_readable_errors(served, tmp_path):
    from gradio_client.exceptions import AppError

    _, client, _, _ = served
    path = _random_image(tmp_path / "x.png", seed=4)
    with pytest.raises(AppError, match="corrupt-tflite has no TFLite backend"):
        _ask(client, path, "corrupt-tflite", "TFLite")
    with pytest.raises(AppError, match="not in the list of choices"):
        _ask(client, path, "no-such-model")


def _odd_images(d):
    """Images of every awkward kind a person may give, with what the converted pixels must be."""
    rng = np.random.default_rng(5)
    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[:, :20] = (255, 0, 0, 255)  # left half opaque red, right half fully transparent (-> white)
    Image.fromarray(rgba, "RGBA").save(d / "rgba.png")
    Image.fromarray(rng.integers(0, 256, (33, 17), dtype=np.uint8), "L").save(d / "gray.png")
    pal = Image.new("P", (20, 20))
    pal.putpalette([0, 0, 255] + [0, 255, 0] * 255)
    pal.save(d / "palette.png")  # every pixel is index 0 = blue
    Image.fromarray(np.full((16, 16), 65535, np.uint16)).save(d / "gray16.png")  # 16-bit white
    Image.new("RGB", (6000, 4000), (10, 200, 30)).save(d / "huge.jpg", quality=80)
    Image.new("RGB", (1, 1), (250, 120, 5)).save(d / "tiny.png")
    Image.fromarray(rng.integers(0, 256, (7, 300, 3), dtype=np.uint8)).save(d / "wide.png")
    Image.new("CMYK", (20, 30), (0, 255, 255, 0)).save(d / "cmyk.jpg")  # red in CMYK
    Image.new("1", (9, 9), 1).save(d / "bilevel.png")
    return {"rgba.png": lambda x: x[0, 0].tolist() == [255, 0, 0] and x[0, -1].tolist() == [255, 255, 255],
            "gray.png": lambda x: (x[..., 0] == x[..., 1]).all(),
            "palette.png": lambda x: (x == [0, 0, 255]).all(),
            "gray16.png": lambda x: (x == 255).all(),
            "huge.jpg": lambda x: np.allclose(x, [10, 200, 30], atol=6),
            "tiny.png": lambda x: (x == [250, 120, 5]).all(),
            "wide.png": lambda x: x.shape == (16, 16, 3),
            "cmyk.jpg": lambda x: np.allclose(x, [255, 0, 0], atol=8),
            "bilevel.png": lambda x: (x == 255).all()}


def test_any_image_is_converted_and_classified(served, tmp_path):
    demo, client, root, _ = served
    expectations = _odd_images(tmp_path)
    for model in ("tiny-color", "tiny-gray"):
        entry = demo.models[model]
        for name, ok in expectations.items():
            x = ga.prepare_image(tmp_path / name, entry.input_shape)
            assert x.shape == tuple(entry.input_shape), (model, name, x.shape)
            if entry.input_shape[-1] == 3:
                assert ok(x), (name, x[0, 0], x[0, -1])
            label, _ = _ask(client, tmp_path / name, model, "TFLite")
            _check(label, entry.class_names, _expected(root / model, x), atol=1e-4)


def test_grayscale_model_gets_grayscale(served, tmp_path):
    demo, _, _, _ = served
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "red.png")
    x = ga.prepare_image(tmp_path / "red.png", demo.models["tiny-gray"].input_shape)
    assert x.shape == (16, 16, 1) and (x == 76).all()  # ITU-R 601 luma of pure red: 0.299 * 255


def test_undecodable_upload_gets_a_readable_message(served, tmp_path):
    from gradio_client.exceptions import AppError

    _, client, _, _ = served
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a PNG")
    with pytest.raises(AppError) as info:
        _ask(client, tmp_path / "broken.png", "tiny-color")
    # the message of keras_resnet.deploy.load_image for the same file, with the name the user uploaded
    assert "cannot decode image broken.png: not a recognised image format" in str(info.value)
    assert "Traceback" not in str(info.value)


def test_user_errors_log_no_traceback_on_the_server(served, tmp_path, capfd):
    from gradio_client.exceptions import AppError

    _, client, _, _ = served
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a PNG")
    capfd.readouterr()
    with pytest.raises(AppError, match="Upload, paste or capture an image first"):
        client.predict(None, "tiny-color", "Keras", api_name="/predict")
    with pytest.raises(AppError, match="broken.png"):
        _ask(client, tmp_path / "broken.png", "tiny-color")
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err, out + err


def test_sixteen_concurrent_requests_all_answered_correctly(served, tmp_path):
    from gradio_client import Client, handle_file

    demo, _, root, url = served
    jobs, expected = [], []
    for i in range(16):
        model, backend = ("tiny-color", "tiny-gray")[i % 2], ("Keras", "TFLite")[(i // 2) % 2]
        path = _random_image(tmp_path / f"c{i}.png", seed=100 + i)
        entry = demo.models[model]
        expected.append((entry, _expected(root / model, ga.prepare_image(path, entry.input_shape))))
        # one client (one session) per request, as 16 browsers would be: gradio_client 2.7.2 shares one event
        # stream per session, and a job submitted just as the server closes that stream (its other jobs done)
        # is cancelled on the client (CancelledError) though the server answers it: a client race, not the demo's
        client = Client(url, verbose=False)
        jobs.append(client.submit(handle_file(str(path)), model, backend, api_name="/predict"))
    for job, (entry, probs) in zip(jobs, expected):
        label, timing, _ = job.result(timeout=120)
        _check(label, entry.class_names, probs, atol=1e-4)


# --------------------------------------------------------------------------- the shipped models


SHIPPED = pathlib.Path(os.environ.get("DEMO_MODELS_DIR", ROOT / "saved_models"))  # override: check other folders


def _shipped():
    models, _ = ga.discover_models([SHIPPED])
    return models


@pytest.mark.skipif(not _shipped(), reason=f"no valid model folder in {SHIPPED} yet")
def test_shipped_models_answer_on_every_backend(tmp_path):
    from gradio_client import Client

    demo, url = _launch([SHIPPED])
    try:
        client = Client(url, verbose=False)
        for name, entry in demo.models.items():
            card = json.loads((entry.folder / "model_card.json").read_text())
            assert card["class_names"] and card["input_shape"]
            examples = ga.examples_for(entry) or [_random_image(tmp_path / "r.png", 1)]
            for backend in entry.backends:
                for path in examples[:2]:
                    label, _ = _ask(client, path, name, backend)
                    x = ga.prepare_image(path, entry.input_shape)
                    # TFLite float32 vs Keras: same top class, probabilities within 1e-3
                    _check(label, entry.class_names, _expected(entry.folder, x), atol=1e-3)
    finally:
        ga.close(demo)   # waits for running events: no worker left inside TensorFlow at exit
