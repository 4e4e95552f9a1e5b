"""keras_resnet/_compat.py: each touch of a private API (or workaround of an upstream bug) has a test here
that FAILS once it is no longer needed: it runs the public way and asserts it still misbehaves, or, where
there is no public way, asserts there still is none (and that the private one still works). When one
fails, do what its message says: use the public way, delete the function in _compat.py and its test.

The multi-worker shim (keras-team/keras#20585) is watched by
tests/training/test_distribute.py::test_upstream_keras_fit_under_multiworker_is_still_broken_so_the_shim_is_needed
(it needs two worker processes).
"""

import argparse
import os
import pathlib
import platform
import subprocess
import sys

import pytest

from keras_resnet import _compat

ROOT = pathlib.Path(__file__).resolve().parents[1]
TFLITE = ROOT / "saved_models" / "resnet20-cifar10" / "model.tflite"


def _python(code, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "TF_ENABLE_ONEDNN"))}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**base, **env}, cwd=ROOT)


def _log_lines(text, level=3):
    return [line for line in text.splitlines() if _compat.is_hidden_log_line(line, level)]


# --------------------------------------------------------------------------- native log lines


def test_tensorflow_still_logs_at_import_despite_min_log_level():
    p = _python("import tensorflow", TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="1")
    assert p.returncode == 0, p.stderr[-2000:]
    if not _log_lines(p.stderr):
        pytest.fail("TensorFlow now honours TF_CPP_MIN_LOG_LEVEL=3 while it loads (tensorflow/tensorflow#100442 "
                    "fixed): runtime.import_tensorflow can be a plain import; drop it from _compat.hidden_native_logs.")


@pytest.mark.skipif(not TFLITE.exists(), reason="no shipped .tflite model")
def test_litert_still_logs_the_xnnpack_delegate_despite_min_log_level():
    code = ("from ai_edge_litert.interpreter import Interpreter\n"
            f"it = Interpreter(model_path={str(TFLITE)!r}); it.allocate_tensors()")
    p = _python(code, TF_CPP_MIN_LOG_LEVEL="3")
    assert p.returncode == 0, p.stderr[-2000:]
    if "Created TensorFlow Lite XNNPACK delegate" not in p.stderr:
        pytest.fail("LiteRT no longer prints its XNNPACK INFO line at TF_CPP_MIN_LOG_LEVEL=3 "
                    "(google-ai-edge/LiteRT#7420): drop hidden_native_logs around the interpreter in "
                    "deploy/predictors.py and the TFLite format from _compat.NATIVE_LOG_LINE.")


def test_hidden_native_logs_drops_log_lines_below_the_level_and_keeps_everything_else(capfd, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    with _compat.hidden_native_logs():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
                    b"I0000 00:00:1795462443.405122   20968 cudart_stub.cc:31] Could not find cuda drivers\n"
                    b"a line of our own\n"
                    b"E0000 00:00:1795462595.321315   22360 cuda_platform.cc:52] failed call to cuInit\n"
                    b"2025-09-17 14:44:05.157831: W external/local_xla/x.cc:32] old style warning\n"
                    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        with _compat.hidden_native_logs():          # nested: a no-op, the outer block holds fd 2
            os.write(2, b"I0000 00:00:1795462443.4   20968 port.cc:153] nested\nnested output\n")
    err = capfd.readouterr().err
    assert err.splitlines() == ["a line of our own",
                                "E0000 00:00:1795462595.321315   22360 cuda_platform.cc:52] failed call to cuInit",
                                "nested output"]


def test_hidden_native_logs_is_a_no_op_at_level_0(capfd, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    with _compat.hidden_native_logs():
        os.write(2, b"I0000 00:00:1795462443.405122   20968 port.cc:153] oneDNN custom operations are on.\n")
    assert "oneDNN custom operations" in capfd.readouterr().err


# --------------------------------------------------------------------------- TensorFlow: oneDNN state


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="oneDNN switch is x86")
def test_onednn_state_still_has_no_public_api():
    code = ("import tensorflow as tf\n"
            "names = [n for m in (tf.config, tf.config.experimental, tf.sysconfig) for n in dir(m)\n"
            "         if 'onednn' in n.lower() or 'mkl' in n.lower()]\n"
            "names += [k for k in tf.sysconfig.get_build_info() if 'onednn' in k.lower() or 'mkl' in k.lower()]\n"
            "from keras_resnet import _compat\n"
            "print(names, _compat.onednn_enabled())")
    on, off = (_python(code, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS=v) for v in ("1", "0"))
    assert on.returncode == 0 and off.returncode == 0, on.stderr[-2000:] + off.stderr[-2000:]
    if on.stdout.split("]")[0] != "[":
        pytest.fail(f"TensorFlow has a public oneDNN/MKL API now ({on.stdout.strip()}): use it in "
                    f"_compat.onednn_enabled instead of _pywrap_util_port.IsMklEnabled.")
    # the private function still answers (None would mean it moved: runtime.check_onednn would go silent)
    assert on.stdout.strip().endswith("True") and off.stdout.strip().endswith("False"), (on.stdout, off.stdout)


# --------------------------------------------------------------------------- keras-tuner


def test_kerastuner_still_has_no_public_distribute_utils(monkeypatch):
    import keras_tuner

    public = [keras_tuner, keras_tuner.engine, keras_tuner.oracles, keras_tuner.tuners]
    found = [f"{m.__name__}.{n}" for m in public for n in dir(m) if n in ("has_chief_oracle", "is_chief_oracle",
                                                                          "distribute")]
    if found:
        pytest.fail(f"keras-tuner exports {found} now: use it in _compat.kerastuner_is_worker.")
    for name in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        monkeypatch.delenv(name, raising=False)
    assert _compat.kerastuner_is_worker() is False
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner0")
    assert _compat.kerastuner_is_worker() is True
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert _compat.kerastuner_is_worker() is False


def test_hyperband_still_takes_no_max_trials(tmp_path):
    import keras
    import keras_tuner as kt

    def build(hp):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        return model

    try:
        kt.Hyperband(build, objective="val_loss", max_epochs=2, max_trials=3, directory=str(tmp_path),
                     project_name="public")
    except (TypeError, ValueError) as e:
        assert "max_trials" in str(e)
    else:
        pytest.fail("keras_tuner.Hyperband takes max_trials now: pass it in search/hypermodel.make_tuner and "
                    "delete _compat.set_hyperband_max_trials.")
    tuner = kt.Hyperband(build, objective="val_loss", max_epochs=2, directory=str(tmp_path), project_name="ours")
    _compat.set_hyperband_max_trials(tuner, 3)
    assert tuner.oracle.max_trials == 3


# --------------------------------------------------------------------------- Keras: functional graphs


def test_shared_layer_still_has_no_public_input_in_one_model():
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="d2")(keras.layers.Dense(3, name="d1")(inputs)))
    clone = keras.models.clone_model(model, clone_function=lambda layer: layer)     # shares every layer
    try:
        keras.Model(clone.input, clone.get_layer("d1").output)
    except ValueError:
        pass                                  # layer.output is the tensor of its first model, not the clone's
    else:
        pytest.fail("keras: a shared layer's .output is now the tensor of the model it is asked through: use it "
                    "in analysis/switches.py and analysis/responses.py; delete _compat.functional_nodes.")
    nodes = _compat.functional_nodes(clone)
    probe = keras.Model(clone.input, nodes["d1"].output_tensors[0])
    assert probe.output_shape == (None, 3)
    assert _compat.is_functional(model) and not _compat.is_functional(keras.Sequential([keras.Input((2,))]))


# --------------------------------------------------------------------------- Gradio


def test_gradio_still_writes_a_stub_for_component_subclasses(tmp_path, monkeypatch):
    (tmp_path / "my_image.py").write_text("import gradio as gr\n\nclass MyImage(gr.Image):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import my_image  # noqa: F401

    if not (tmp_path / "my_image.pyi").exists():
        pytest.fail("Gradio no longer writes a .pyi next to a component subclass: app/ui.py can subclass gr.Image "
                    "(overriding preprocess) instead of _compat.set_component_preprocess.")
    import gradio as gr

    image = gr.Image()
    assert _compat.set_component_preprocess(image, lambda payload: "wrapped").preprocess(None) == "wrapped"


def test_gradio_components_still_keep_their_cache_folder():
    import gradio as gr

    folder = _compat.gradio_cache_dir(gr.Image())
    assert folder and pathlib.Path(folder).is_absolute(), (
        "Gradio moved Block.GRADIO_CACHE: find where it keeps served files now and update _compat.gradio_cache_dir.")


def test_gradio_still_has_no_public_way_to_wait_for_running_events():
    import inspect
    import threading
    import time

    import gradio as gr
    from gradio_client import Client

    if set(inspect.signature(gr.Blocks.close).parameters) - {"self", "verbose"} or hasattr(gr.Blocks, "wait"):
        pytest.fail("Gradio's Blocks.close / Blocks.wait can now wait for running events: use it in app.ui.close "
                    "and delete _compat.gradio_busy.")
    started, release = threading.Event(), threading.Event()

    def slow(x):
        started.set()
        release.wait(30)
        return x

    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(slow, box, box, api_name="slow")
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
    try:
        assert not _compat.gradio_busy(demo)
        job = Client(url, verbose=False).submit("x", api_name="/slow")
        assert started.wait(30) and _compat.gradio_busy(demo)
        release.set()
        assert job.result(timeout=30) == "x"
        deadline = time.monotonic() + 10
        while _compat.gradio_busy(demo) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _compat.gradio_busy(demo)
    finally:
        release.set()
        demo.close()


# --------------------------------------------------------------------------- argparse


def test_argparse_still_has_no_public_actions():
    parser = argparse.ArgumentParser()
    added = parser.add_argument("--epochs", type=int)
    public = [n for n in dir(parser) if not n.startswith("_") and "action" in n.lower() and n != "register"]
    if any(n in public for n in ("actions", "get_actions", "iter_actions")):
        pytest.fail(f"argparse has a public list of actions now ({public}): use it in cli/train.py and delete "
                    f"_compat.parser_actions.")
    assert added in _compat.parser_actions(parser)
