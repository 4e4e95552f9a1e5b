"""One 3x3 convolution of the CIFAR ResNets, its three kernels, TensorFlow (oneDNN) beside PyTorch (oneDNN).

A training step's convolutions are three kernels each: forward, the gradient with respect to the input,
and the gradient with respect to the filter (weights). `train_throughput.py --profile` shows that in
bfloat16 the last one gains least over float32 in TensorFlow. This times each kernel alone, for the
three 3x3 convolutions of the CIFAR ResNets (16, 32 and 64 channels at 32x32, 16x16 and 8x8; batch 128),
in float32 and bfloat16, in TensorFlow (tf.raw_ops Conv2D / Conv2DBackpropInput / Conv2DBackpropFilter,
NHWC, oneDNN on, as in training) and in PyTorch (aten.convolution / convolution_backward, channels_last),
each in its own process, so the ratio says whether a gap is the framework's call or the kernel's.

    .venv/bin/python benchmarks/conv_kernels.py            # ~2 min on 2 cores
    .venv/bin/python benchmarks/conv_kernels.py --repeats 500

Needs torch (the `convert` extra) for the PyTorch side; without it prints TensorFlow's numbers only.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

LAYERS = ((16, 32), (32, 16), (64, 8))     # (channels, spatial size) of the three stages
KERNELS = ("forward", "grad_input", "grad_filter")


def tf_side(batch, repeats):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
    import keras_resnet

    keras_resnet.configure_tensorflow()        # oneDNN on, as in training
    import tensorflow as tf

    out = {}
    for dtype in ("float32", "bfloat16"):
        for c, hw in LAYERS:
            x = tf.cast(tf.random.stateless_normal((batch, hw, hw, c), (1, 2)), dtype)
            w = tf.cast(tf.random.stateless_normal((3, 3, c, c), (3, 4)) * 0.1, dtype)
            dy = tf.cast(tf.random.stateless_normal((batch, hw, hw, c), (5, 6)), dtype)
            ops = {
                "forward": lambda: tf.raw_ops.Conv2D(input=x, filter=w, strides=[1, 1, 1, 1], padding="SAME"),
                "grad_input": lambda: tf.raw_ops.Conv2DBackpropInput(
                    input_sizes=tf.shape(x), filter=w, out_backprop=dy, strides=[1, 1, 1, 1], padding="SAME"),
                "grad_filter": lambda: tf.raw_ops.Conv2DBackpropFilter(
                    input=x, filter_sizes=tf.shape(w), out_backprop=dy, strides=[1, 1, 1, 1], padding="SAME"),
            }
            for name, f in ops.items():
                # the whole op runs; only one element comes back (copying the 8 MB result would be timed too)
                first = tf.function(lambda f=f: tf.reshape(f(), [-1])[0])
                out[f"{dtype} {c}x{hw} {name}"] = clock(lambda: first().numpy(), repeats)
    return out


def torch_side(batch, repeats):
    import torch

    out = {}
    for dtype_name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        for c, hw in LAYERS:
            g = torch.Generator().manual_seed(0)
            cl = torch.channels_last
            x = torch.randn(batch, c, hw, hw, generator=g).to(dtype).contiguous(memory_format=cl)
            w = (torch.randn(c, c, 3, 3, generator=g) * 0.1).to(dtype).contiguous(memory_format=cl)
            dy = torch.randn(batch, c, hw, hw, generator=g).to(dtype).contiguous(memory_format=cl)
            conv = torch.ops.aten.convolution
            back = torch.ops.aten.convolution_backward
            args = ([1, 1], [1, 1], [1, 1], False, [0, 0], 1)
            ops = {
                "forward": lambda: conv(x, w, None, *args),
                "grad_input": lambda: back(dy, x, w, None, *args, [True, False, False]),
                "grad_filter": lambda: back(dy, x, w, None, *args, [False, True, False]),
            }
            with torch.no_grad():
                for name, f in ops.items():
                    out[f"{dtype_name} {c}x{hw} {name}"] = clock(f, repeats)
    return out


def clock(f, repeats):
    for _ in range(3):
        f()
    start = time.perf_counter()
    for _ in range(repeats):
        f()
    return (time.perf_counter() - start) / repeats * 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--side", choices=["tf", "torch"], help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.side:
        fn = tf_side if a.side == "tf" else torch_side
        print(json.dumps(fn(a.batch, a.repeats)))
        return
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from train_throughput import cpu_info, uptime

    name, isa = cpu_info()
    print(f"CPU: {name}, {os.cpu_count()} logical CPUs; {isa}\nbefore: {uptime()}")
    results = {}
    for side in ("tf", "torch"):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        run = subprocess.run([sys.executable, __file__, "--side", side, "--batch", str(a.batch),
                              "--repeats", str(a.repeats)], capture_output=True, text=True, env=env)
        lines = [ln for ln in run.stdout.splitlines() if ln.startswith("{")]
        if run.returncode or not lines:
            print(f"{side}: skipped ({(run.stderr.strip().splitlines() or ['no output'])[-1]})")
            continue
        results[side] = json.loads(lines[-1])
    print(f"after: {uptime()}\n")
    print(f"ms per call, batch {a.batch}, 3x3 stride 1, mean of {a.repeats}; bf16 gain = fp32 ms / bf16 ms\n")
    print("| conv | kernel | TF fp32 | TF bf16 | TF bf16 gain | torch fp32 | torch bf16 | torch bf16 gain |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for c, hw in LAYERS:
        for k in KERNELS:
            cells = []
            for side in ("tf", "torch"):
                r = results.get(side)
                if r is None:
                    cells += ["", "", ""]
                    continue
                f32, b16 = r[f"float32 {c}x{hw} {k}"], r[f"bfloat16 {c}x{hw} {k}"]
                cells += [f"{f32:.2f}", f"{b16:.2f}", f"{f32 / b16:.2f}x"]
            print(f"| {c}ch {hw}x{hw} | {k} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
