"""Regression: oneDNN's strided-1x1 filter gradient must never kill a training run.

TF 2.21's oneDNN `Conv2DBackpropFilter` for a 1x1 kernel at stride 2 with fewer than
16 input channels corrupts the heap when the batch size is odd (found on AMD EPYC
Zen 4, AVX-512 + BF16; see `nets.layers.SubsamplingConv2D`). Every shortcut option
and the plain net are trained here through the real CLI at three widths, on a
dataset whose last batch is odd, in child processes (one per option), so a native crash
fails tests instead of killing pytest.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_resnet.nets.layers import SubsamplingConv2D

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_subsampling_conv_equals_conv2d_in_output_and_gradients(rng):
    x = tf.constant(rng.normal(size=(5, 9, 9, 4)).astype("float32"))
    ours = SubsamplingConv2D(8, 1, strides=2, use_bias=False)
    ref = keras.layers.Conv2D(8, 1, strides=2, use_bias=False)
    ours.build(x.shape), ref.build(x.shape)
    ref.set_weights(ours.get_weights())
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a, b = ours(x), ref(x)
        la, lb = tf.reduce_sum(a * a), tf.reduce_sum(b * b)
    assert a.shape == b.shape == (5, 5, 5, 8)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tape.gradient(la, x), tape.gradient(lb, x), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(tape.gradient(la, ours.kernel), tape.gradient(lb, ref.kernel), rtol=1e-4, atol=1e-4)
    assert ours.compute_output_shape((None, 9, 9, 4)) == (None, 5, 5, 8)


def test_projection_shortcuts_use_the_subsampling_layer():
    import keras_resnet as kr

    model = kr.build("resnet8", shortcut="C", width=0.25)
    strided = [l for l in model.layers if isinstance(l, keras.layers.Conv2D) and l.kernel_size == (1, 1) and l.strides != (1, 1)]
    assert strided and all(isinstance(l, SubsamplingConv2D) for l in strided)


@pytest.fixture(scope="module")
def odd_dataset(tmp_path_factory):
    """157 training images: batches of 64, 64 and an odd 29."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("odd") / "odd.npz"
    np.savez(path, x_train=rng.integers(0, 256, (157, 32, 32, 3), dtype=np.uint8), y_train=rng.integers(0, 10, 157),
             x_test=rng.integers(0, 256, (37, 32, 32, 3), dtype=np.uint8), y_test=rng.integers(0, 10, 37))
    return path


WIDTHS = ("0.25", "0.5", "1")
OPTIONS = ("A", "B", "C", "plain")


# One process per option runs `keras-resnet train` (the CLI's own main) at the three widths in turn and
# prints a line after each: a native crash kills that process, failing the tests of the widths it had not
# finished, and names the last one started in its stderr. (12 processes cost 12 TensorFlow start-ups.)
DRIVER = """
import sys
from keras_resnet.cli import main
for argv in map(str.split, sys.argv[1:]):
    print("start", argv[argv.index("--width") + 1], file=sys.stderr, flush=True)
    print("done", argv[argv.index("--width") + 1], main(argv), flush=True)
"""


@pytest.fixture(scope="module")
def cli_runs(odd_dataset, tmp_path_factory):
    """Every (option, width) trained through the CLI, one process per option, two processes at a time:
    {(option, width): (exit status of its run or None if the process died before it, stderr, run directory)}."""
    from concurrent.futures import ThreadPoolExecutor

    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1", "PYTHONFAULTHANDLER": "1"}

    def run(option):
        flags = "--plain" if option == "plain" else f"--shortcut {option}"
        dirs = {w: tmp_path_factory.mktemp(f"{option}-{w}") / "run" for w in WIDTHS}
        argvs = [f"train resnet8 {flags} --width {w} --dataset {odd_dataset} --iterations 4 --batch-size 64 "
                 f"--run-dir {dirs[w]} --quiet" for w in WIDTHS]
        p = subprocess.run([sys.executable, "-c", DRIVER, *argvs], capture_output=True, text=True, env=env, cwd=ROOT,
                           timeout=300)
        status = {w: int(code) for _, w, code in (line.split() for line in p.stdout.splitlines()
                                                 if line.startswith("done "))}
        detail = f"process exit {p.returncode} (negative: killed by signal)\n{p.stderr[-3000:]}"
        return {(option, w): (status.get(w), detail, dirs[w]) for w in WIDTHS}

    with ThreadPoolExecutor(max_workers=2) as pool:
        return {k: v for runs in pool.map(run, OPTIONS) for k, v in runs.items()}


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("option", OPTIONS)
def test_cli_training_survives_every_option_and_width(option, width, cli_runs):
    status, detail, run_dir = cli_runs[option, width]
    assert status == 0, f"{option} width {width}: train returned {status}; {detail}"
    assert (run_dir / "model.keras").exists()
