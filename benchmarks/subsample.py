"""Option A's spatial subsampling x[:, ::2, ::2] (He et al. 2016, §3.3) in TensorFlow, forward + backward.

Why `keras_resnet.nets.layers.subsample` is a 1x1 average pooling of stride 2 and not a strided slice:
for the two tensors the CIFAR ResNets subsample (batch 128: 32x32x16 and 16x16x32), float32 and
bfloat16, this times one forward + backward (the shortcut's channel padding included, as in the
model) of each way of writing it, after checking that every one gives the slice's numbers exactly:

    slice      x[:, ::2, ::2, :]                (StridedSlice / StridedSliceGrad)
    avgpool    tf.nn.avg_pool2d(x, 1, 2)        (what the package uses)
    maxpool    tf.nn.max_pool2d(x, 1, 2)
    reshape    reshape to (N, H/2, 2, W/2, 2C) and take [:, :, 0, :, :C]  (even sizes only)
    gather     tf.gather of the even rows, then of the even columns

    .venv/bin/python benchmarks/subsample.py            # ~30 s on 2 cores
    .venv/bin/python benchmarks/subsample.py --repeats 200

Prints the CPU's ISA and `uptime`; other programs share the CPU, so compare within one run.
"""

import argparse
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def ways():
    import tensorflow as tf

    def reshape(x):
        n, h, w, c = x.shape
        return tf.reshape(x, (n, h // 2, 2, w // 2, 2 * c))[:, :, 0, :, :c]

    return {
        "slice": lambda x: x[:, ::2, ::2, :],
        "avgpool": lambda x: tf.nn.avg_pool2d(x, 1, 2, "VALID"),
        "maxpool": lambda x: tf.nn.max_pool2d(x, 1, 2, "VALID"),
        "reshape": reshape,
        "gather": lambda x: tf.gather(tf.gather(x, tf.range(0, x.shape[1], 2), axis=1),
                                      tf.range(0, x.shape[2], 2), axis=2),
    }


def time_way(f, x, repeats):
    import tensorflow as tf

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
            padded = tf.pad(y, [[0, 0], [0, 0], [0, 0], [0, y.shape[-1]]])   # option A's extra zero channels
            loss = tf.reduce_sum(padded * tf.cast(1.5, x.dtype))
        return y, tape.gradient(loss, x)

    y, g = step(x)
    for _ in range(3):
        step(x)
    start = time.perf_counter()
    for _ in range(repeats):
        y, g = step(x)
    g.numpy()
    return (time.perf_counter() - start) / repeats * 1e3, y, g


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=100, help="timed forward+backward calls per case (default 100)")
    p.add_argument("--batch", type=int, default=128)
    a = p.parse_args()

    import keras_resnet

    keras_resnet.configure_tensorflow()    # oneDNN on, as in training
    import numpy as np
    import tensorflow as tf
    from train_throughput import cpu_info, uptime

    name, isa = cpu_info()
    print(f"CPU: {name}, {os.cpu_count()} logical CPUs; {isa}\nbefore: {uptime()}")
    print(f"forward + backward, ms per call (mean of {a.repeats}); ratio = slice / this way")
    rows = []
    for dtype in ("float32", "bfloat16"):
        for shape in ((a.batch, 32, 32, 16), (a.batch, 16, 16, 32)):
            x = tf.cast(tf.random.stateless_normal(shape, (1, 2)), dtype)
            results = {k: time_way(f, x, a.repeats) for k, f in ways().items()}
            ref_y, ref_g = (np.asarray(t, np.float32) for t in results["slice"][1:])
            for way, (ms, y, g) in results.items():
                y, g = np.asarray(y, np.float32), np.asarray(g, np.float32)
                if not (np.array_equal(y, ref_y) and np.array_equal(g, ref_g)):
                    raise SystemExit(f"{way} differs from the strided slice for {shape} {dtype}")
                rows.append((dtype, "x".join(map(str, shape[1:])), way, ms, results["slice"][0] / ms))
                print(f"{dtype:9s} {rows[-1][1]:9s} {way:8s} {ms:7.3f} ms  {rows[-1][4]:5.2f}x", flush=True)
    print(f"after: {uptime()}\n")
    print("| dtype | tensor (batch {}) | way | ms fwd+bwd | slice / this |".format(a.batch))
    print("|---|---|---|---:|---:|")
    for dtype, shape, way, ms, ratio in rows:
        print(f"| {dtype} | {shape} | {way} | {ms:.3f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
