"""keras_resnet.runtime: configure_tensorflow (before TF loads) and the one oneDNN PerformanceWarning (training)."""

import os
import pathlib
import platform
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
X86 = platform.machine().lower() in ("x86_64", "amd64")

# TF is loaded with TF_ENABLE_ONEDNN_OPTS from the environment; "unset" then removes the variable, which is
# what a user who imported TensorFlow without setting it has on a CPU where TF's default is off (this
# project's AVX-512 machines default to on, so the off state is simulated with =0 at load time).
SCRIPT = """
import os, sys, warnings
import tensorflow as tf
if sys.argv[1] == "unset":
    del os.environ["TF_ENABLE_ONEDNN_OPTS"]
import numpy as np, keras_resnet as kr
x, y = np.random.default_rng(0).integers(0, 256, (8, 8, 8, 3), dtype=np.uint8), np.arange(8) % 2
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    import keras_resnet.data, keras_resnet.nets, keras_resnet.training    # importing never warns
    kr.build("resnet8", width=0.25)                          # nor does building a model (no TensorFlow internals)
    before = len([w for w in seen if issubclass(w.category, kr.PerformanceWarning)])
    tiny = dict(model="resnet8", model_kwargs={"width": 0.25}, dataset=kr.data.from_arrays(x, y, x[:4], y[:4]))
    kr.training.train(**tiny, epochs=1, batch_size=8, run_dir=sys.argv[2] + "/a", verbose=0)    # the first run: the check
    kr.training.train(**tiny, epochs=1, batch_size=8, run_dir=sys.argv[2] + "/b", verbose=0)
mine = [w for w in seen if issubclass(w.category, kr.PerformanceWarning)]
print("BEFORE", before, "COUNT", len(mine))
for w in mine:
    print("AT", os.path.basename(w.filename), w.lineno)
    print("MESSAGE", str(w.message))
"""


def _run(onednn_at_load, mode, runs):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "TF_ENABLE_ONEDNN"))}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS=onednn_at_load)
    p = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(runs)], capture_output=True, text=True, timeout=300,
                       env=env, cwd=ROOT)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    return p.stdout


@pytest.mark.skipif(not X86, reason="TensorFlow's oneDNN switch applies to x86 CPUs")
def test_onednn_off_by_default_warns_once_with_the_cost_and_the_fix(tmp_path):
    out = _run("0", "unset", tmp_path)
    assert "BEFORE 0 COUNT 1" in out, out
    message = out.split("MESSAGE ", 1)[1]
    assert "2-3x slower" in message and "TF_ENABLE_ONEDNN_OPTS=1" in message
    assert "configure_tensorflow()" in message
    assert "AT <string> 14" in out, out        # points at the user's line, not into keras_resnet


@pytest.mark.skipif(not X86, reason="TensorFlow's oneDNN switch applies to x86 CPUs")
@pytest.mark.parametrize("onednn,mode", [("1", "keep"), ("0", "keep")], ids=["on", "off-on-purpose"])
def test_no_warning_when_onednn_is_on_or_turned_off_on_purpose(onednn, mode, tmp_path):
    assert "BEFORE 0 COUNT 0" in _run(onednn, mode, tmp_path)


def test_configure_tensorflow_sets_defaults_and_keeps_the_users_choice():
    code = ("import os, sys, keras_resnet as kr\n"
            "assert kr.configure_tensorflow() is True\n"
            "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], os.environ.get('TF_CPP_MIN_LOG_LEVEL'))\n"
            "import tensorflow\n"
            "assert kr.configure_tensorflow() is False      # too late: TensorFlow is loaded\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "TF_ENABLE_ONEDNN"))}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert p.returncode == 0 and p.stdout.split() == ["1", "3"], p.stderr[-2000:]
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                       env={**env, "TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "1"})
    assert p.returncode == 0 and p.stdout.split() == ["0", "1"], p.stderr[-2000:]
