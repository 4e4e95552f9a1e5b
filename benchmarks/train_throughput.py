"""Training throughput of the CIFAR ResNets on this CPU, beside the PyTorch reference.

Measures, for ResNet-20 and ResNet-56 at batch 128 (the paper's batch):
  * our training rate (images/s): the model and optimizer exactly as
    `keras_resnet.training` builds them (SGD momentum 0.9, weight decay 1e-4 as L2,
    normalisation layers inside the model), `model.fit` on a fixed batch,
    after a warm-up; several timed runs -> min/median/max;
  * the PyTorch reference (../shared/bench/torch_reference.py) run right after
    ours, alternating, so both see the same machine load; the ratio per pair;
  * the input pipeline's own rate (data.pipeline with the paper's augmentation
    on 50,000 CIFAR-sized images), to show it is not the bottleneck.

Each variant runs in its own process (TF's thread pools are fixed at start-up).

    .venv/bin/python benchmarks/train_throughput.py                      # defaults, ResNet-20 and -56
    .venv/bin/python benchmarks/train_throughput.py --depths 20 --rounds 5 \\
        --variant default --variant intra2_inter1 --variant jit --variant spe4
Prints one line per measurement and a summary with ratios; `uptime` load is
printed with every round (other programs share the CPU: compare ratios).
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
TORCH_REF = ROOT.parent / "shared" / "bench" / "torch_reference.py"
TORCH_PY = pathlib.Path("/tmp/torch-ref/bin/python")

# name -> (environment, TrainConfig overrides[, model-builder overrides])
VARIANTS = {
    "default": ({}, {}),
    "keras_bn": ({}, {}, {"fused_bn": False}),
    "intra2_inter1": ({"TF_NUM_INTRAOP_THREADS": "2", "TF_NUM_INTEROP_THREADS": "1"}, {}),
    "intra1_inter2": ({"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "2"}, {}),
    "intra1_inter1": ({"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}, {}),
    "jit": ({}, {"jit_compile": True}),
    "spe4": ({}, {"steps_per_execution": 4}),
    "onednn": ({"TF_ENABLE_ONEDNN_OPTS": "1"}, {}),
    "no_onednn": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, {}),
    "onednn_jit": ({"TF_ENABLE_ONEDNN_OPTS": "1"}, {"jit_compile": True}),
}


def training_setup(depth, batch, overrides=None, build_overrides=None):
    """The model, its TrainConfig and a repeated fixed batch, exactly as `keras_resnet.training` compiles them."""
    import keras_resnet

    keras_resnet.configure_tensorflow()   # before TF loads: oneDNN on unless the variant's environment says 0

    import numpy as np
    import tensorflow as tf

    from keras_resnet.nets import build
    from keras_resnet.training import TrainConfig, compile_model

    cfg = TrainConfig(model=f"resnet{depth}", epochs=1, **(overrides or {}))
    model = build(cfg.model, weight_decay=cfg.weight_decay, **(build_overrides or {}),
                  preprocessing={"scale": 1 / 255, "mean": [0.49, 0.48, 0.45], "std": [0.25, 0.24, 0.26]})
    compile_model(model, cfg, steps_per_epoch=1000)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (batch, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, batch)
    return model, cfg, tf.data.Dataset.from_tensors((x, y)).repeat()


def worker(args):
    """Runs in a child process: one variant, one depth; prints a JSON line."""
    model, cfg, ds = training_setup(args.depth, args.batch, *json.loads(args.overrides))
    import keras  # after training_setup, which configures TF before it loads

    spe = cfg.steps_per_execution
    warm = max(3, spe)                                  # like the reference: 3 untimed steps first
    steps = max(spe, args.steps // spe * spe)
    rates = []
    for _ in range(args.repeats):
        # Steady state, like the reference: the clock runs from the end of the last warm-up step
        # to the end of the last timed step, inside one fit (fit's own start-up is not a training step).
        marks = []
        clock = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: marks.append(time.perf_counter()))
        model.fit(ds, steps_per_epoch=warm + steps, epochs=1, verbose=0, callbacks=[clock])
        per_call = spe if len(marks) < warm + steps else 1
        timed = marks[-1] - marks[warm // per_call - 1]
        rates.append(steps * args.batch / timed)
    print(json.dumps({"depth": args.depth, "train_img_s": rates}))


def profile_ops(depth, batch, steps=3, top=12):
    """Where the time of a training step goes: tf.profiler trace, summed by op type (ms over `steps` steps)."""
    import collections
    import glob
    import tempfile

    model, _, ds = training_setup(depth, batch)   # configures TF before it loads: oneDNN as in training
    import tensorflow as tf
    try:
        from tsl.profiler.protobuf import xplane_pb2
    except ImportError:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2

    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)
    step, it = model.make_train_function(), iter(ds)
    logdir = tempfile.mkdtemp()
    tf.profiler.experimental.start(logdir)
    for _ in range(steps):
        step(it)
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    space.ParseFromString(open(glob.glob(f"{logdir}/plugins/profile/*/*.xplane.pb")[0], "rb").read())
    by_type = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for ev in line.events:
                name = plane.event_metadata[ev.metadata_id].name
                by_type[name.split(":")[-1]] += ev.duration_ps / 1e9
    print(f"time by op type, resnet{depth} batch {batch}, {steps} training steps "
          f"(TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}):")
    for name, ms in by_type.most_common(top):
        print(f"  {ms:9.1f} ms  {name}")


def pipeline_rate(batches=60):
    """Images/s of data.pipeline(training=True, augment=True) on 50,000 32x32x3 images."""
    import numpy as np

    from keras_resnet import data as data_lib

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (50_000, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, 50_000)
    d = data_lib.from_arrays(x, y, x[:100], y[:100])
    ds = data_lib.pipeline(d.train, batch_size=128, training=True, augment=True, seed=0)
    it = iter(ds.repeat())
    for _ in range(400):          # warm-up: fill the cache (one pass over 50k) and the prefetch buffer
        next(it)
    t = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * 128 / (time.perf_counter() - t)


def run_ours(variant, depth, a):
    env_extra, overrides, *build = VARIANTS[variant]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **env_extra)
    cmd = [sys.executable, __file__, "--worker", "--depth", str(depth), "--batch", str(a.batch),
           "--steps", str(a.steps), "--repeats", str(a.repeats), "--overrides", json.dumps([overrides, build[0] if build else {}])]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    line = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode or not line:
        raise SystemExit(f"benchmark worker failed ({variant}, depth {depth}):\n{p.stderr[-3000:]}")
    return statistics.median(json.loads(line[-1])["train_img_s"])   # median of the repeats in one process


def run_torch(depth, a):
    if not (TORCH_PY.exists() and TORCH_REF.exists()):
        return None
    p = subprocess.run([str(TORCH_PY), str(TORCH_REF), "--depth", str(depth), "--batch", str(a.batch),
                        "--steps", str(a.steps)], capture_output=True, text=True)
    line = [l for l in p.stdout.splitlines() if l.startswith("{")]
    return json.loads(line[-1])["train_img_s"] if line else None


def mmm(values):
    return f"min {min(values):7.1f}  median {statistics.median(values):7.1f}  max {max(values):7.1f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--depths", type=int, nargs="+", default=[20, 56])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20, help="timed steps per run (the reference's default)")
    p.add_argument("--repeats", type=int, default=1, help="timed runs inside one process (their median is kept)")
    p.add_argument("--rounds", type=int, default=3, help="processes per variant (min/median/max over these)")
    p.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="default: just 'default'")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--no-pipeline", action="store_true")
    p.add_argument("--profile", action="store_true", help="only profile one training step by op type (this process)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--depth", type=int, help=argparse.SUPPRESS)
    p.add_argument("--overrides", default="[{}, {}]", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        return worker(a)
    if a.profile:
        return profile_ops(a.depths[0], a.batch)
    variants = a.variant or ["default"]
    results = {}
    for depth in a.depths:
        for r in range(a.rounds):
            load = os.getloadavg()[0]
            for v in variants:
                rate = run_ours(v, depth, a)
                results.setdefault((depth, v), []).append(rate)
                print(f"resnet{depth} {v:14s} round {r + 1}: {rate:7.1f} img/s   (load {load:.1f})", flush=True)
            if not a.no_torch:
                ref = run_torch(depth, a)
                if ref is not None:
                    results.setdefault((depth, "torch"), []).append(ref)
                    ratios = "  ".join(f"{v}/torch {results[(depth, v)][-1] / ref:.2f}x" for v in variants)
                    print(f"resnet{depth} {'torch':14s} round {r + 1}: {ref:7.1f} img/s   {ratios}", flush=True)
    print("\nsummary (images/s; load average now "
          f"{' '.join(f'{l:.1f}' for l in os.getloadavg())}, {os.cpu_count()} CPUs)")
    for (depth, v), rates in results.items():
        line = f"resnet{depth} {v:14s} {mmm(rates)}"
        if v != "torch" and (depth, "torch") in results:
            ratios = [o / t for o, t in zip(rates, results[(depth, "torch")])]
            line += f"   ratio to torch (same round): min {min(ratios):.2f}x median {statistics.median(ratios):.2f}x max {max(ratios):.2f}x"
        print(line)
    if not a.no_pipeline:
        model_rate = statistics.median(results[(a.depths[0], variants[0])])
        pipe = pipeline_rate()
        print(f"input pipeline (pad+crop+flip, batch 128): {pipe:.0f} img/s = {pipe / model_rate:.0f}x "
              f"the resnet{a.depths[0]} training rate")


if __name__ == "__main__":
    main()
