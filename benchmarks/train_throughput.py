"""Training throughput of the CIFAR ResNets on this CPU, beside the strongest PyTorch peers.

Measures, for ResNet-20 and ResNet-56 at batch 128 (the paper's batch):
  * our training rate (images/s): the model and optimizer exactly as
    `keras_resnet.training` builds them (SGD momentum 0.9, weight decay 1e-4 as L2,
    normalisation layers inside the model), `model.fit` on a fixed batch,
    after a warm-up; by default both float32 (`default`) and `--mixed-precision`
    (`mixed_bf16`: Keras's mixed_bfloat16 policy, what `keras-resnet train
    --mixed-precision` uses on a CPU);
  * the PyTorch reference (../shared/bench/torch_reference.py, the same network) in
    each of its modes: eager, channels_last, compile (torch.compile) and bf16
    (channels_last + bfloat16 autocast), every one in its own process, alternating
    with ours in every round so all see the same machine load; the ratios per round;
  * the input pipeline's own rate (data.pipeline with the paper's augmentation
    on 50,000 CIFAR-sized images), to show it is not the bottleneck.

Each measurement runs in its own process (TF's thread pools are fixed at start-up); the
order alternates from round to round. Prints the CPU's vector ISA (AVX2, AVX-512,
AVX512_BF16, AMX: bf16 is only fast with the last two), `uptime` before and after, one
line per measurement and a markdown summary: median (min-max) over the rounds and our
ratio to torch channels_last fp32 and to torch channels_last + bf16 (median of the
per-round ratios).

    .venv/bin/python benchmarks/train_throughput.py                      # defaults: ResNet-20 and -56, 3 rounds
    .venv/bin/python benchmarks/train_throughput.py --depths 20 --rounds 1 --steps 3 --torch-mode eager   # a smoke run
    .venv/bin/python benchmarks/train_throughput.py --depths 20 --rounds 5 --no-torch \\
        --variant default --variant intra2_inter1 --variant jit --variant spe4
PyTorch runs with /tmp/torch-ref/bin/python (see torch_reference.py) if it exists, else
with the project's .venv python when it has torch (the `convert` extra), else is skipped.
Other programs share the CPU: compare ratios within a round, not absolute rates.
"""

import argparse
import functools
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
TORCH_REF = ROOT.parent / "shared" / "bench" / "torch_reference.py"
TORCH_PY = pathlib.Path("/tmp/torch-ref/bin/python")
TORCH_MODES = ["eager", "channels_last", "compile", "bf16"]   # torch_reference.py --mode
# the two PyTorch peers the summary divides by: the strongest fp32 mode and channels_last + bf16 autocast
PEERS = {"channels_last": "torch channels_last fp32", "bf16": "torch channels_last+bf16"}

# name -> (environment, TrainConfig overrides[, model-builder overrides])
VARIANTS = {
    "default": ({}, {}),
    "mixed_bf16": ({}, {"mixed_precision": True}),
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

    import keras
    import numpy as np
    import tensorflow as tf

    from keras_resnet.nets import build
    from keras_resnet.training import TrainConfig, compile_model

    cfg = TrainConfig(model=f"resnet{depth}", epochs=1, **(overrides or {}))
    previous = keras.config.dtype_policy()
    if cfg.mixed_precision:     # as keras_resnet.training.build_model sets it: bfloat16 on a CPU
        keras.config.set_dtype_policy("mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16")
    try:
        model = build(cfg.model, weight_decay=cfg.weight_decay, **(build_overrides or {}),
                      preprocessing={"scale": 1 / 255, "mean": [0.49, 0.48, 0.45], "std": [0.25, 0.24, 0.26]})
    finally:
        keras.config.set_dtype_policy(previous)
    compile_model(model, cfg, steps_per_epoch=1000)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (batch, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, batch)
    return model, cfg, tf.data.Dataset.from_tensors((x, y)).repeat()


def worker(args):
    """Runs in a child process: one variant, one depth; prints a JSON line (rates, peak RSS, parameters)."""
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
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux: KiB; the whole process's peak
    print(json.dumps({"depth": args.depth, "batch": args.batch, "train_img_s": rates, "peak_rss_mb": round(peak_mb, 1),
                      "params": int(model.count_params()), "dtype_policy": model.dtype_policy.name}))


OP_GROUPS = (   # a reader's category -> op types (as the profiler names them, oneDNN's included), exact names
    ("conv forward", {"Conv2D", "_FusedConv2D", "_MklConv2D", "_MklNativeConv2D", "_MklFusedConv2D",
                      "_MklNativeFusedConv2D", "DepthwiseConv2dNative", "_MklNativeConv2DWithBias"}),
    ("conv backward (input)", {"Conv2DBackpropInput", "_MklConv2DBackpropInput", "_MklNativeConv2DBackpropInput"}),
    ("conv backward (filter)", {"Conv2DBackpropFilter", "_MklConv2DBackpropFilter", "_MklNativeConv2DBackpropFilter",
                                "_MklNativeConv2DBackpropFilterWithBias"}),
    ("batch norm", {"FusedBatchNormV3", "FusedBatchNormGradV3", "_FusedBatchNormEx", "_MklFusedBatchNormV3",
                    "_MklNativeFusedBatchNormV3", "_MklNativeFusedBatchNormEx", "_MklNativeFusedBatchNormGradV3",
                    "_MklFusedBatchNormGradV3"}),
    ("casts (bf16 <-> fp32)", {"Cast"}),
    ("ReLU", {"Relu", "ReluGrad", "_MklRelu", "_MklReluGrad", "_MklNativeRelu", "_MklNativeReluGrad"}),
    ("shortcut slicing / padding", {"StridedSlice", "StridedSliceGrad", "Slice", "Pad", "PadV2"}),
    ("optimizer", {"ResourceApplyMomentum", "ResourceApplyKerasMomentum", "AssignVariableOp", "AssignSubVariableOp",
                   "AssignAddVariableOp", "ReadVariableOp"}),
)


def op_group(op_type):
    return next((group for group, names in OP_GROUPS if op_type in names), "other")


def profile_ops(depth, batch, variants=("default", "mixed_bf16"), steps=3, top=12):
    """Where the time of a training step goes, per variant: tf.profiler trace summed by op type and by category
    (conv forward / backward, batch norm, casts, ReLU, optimizer, other), ms per step, side by side."""
    import collections
    import glob
    import tempfile

    stats = {}
    for variant in variants:
        env_extra, overrides, *build = VARIANTS[variant]
        if env_extra:
            raise SystemExit(f"--profile runs in this process: variant {variant!r} needs its own environment")
        model, _, ds = training_setup(depth, batch, overrides, *build)  # configures TF before it loads
        import tensorflow as tf
        try:
            from tsl.profiler.protobuf import xplane_pb2
        except ImportError:
            from tensorflow.tsl.profiler.protobuf import xplane_pb2

        model.fit(ds, steps_per_epoch=3, epochs=1, verbose=0)
        step, it = model.make_train_function(), iter(ds)
        logdir = tempfile.mkdtemp()
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        for _ in range(steps):
            logs = step(it)
        float(logs["loss"])
        wall = (time.perf_counter() - start) / steps * 1e3
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
                    op_type = name.split(":")[-1]    # "op_name:OpType"
                    if op_type != "Process":          # the executor's own events wrap the ops
                        by_type[op_type] += ev.duration_ps / 1e9 / steps
        stats[variant] = (by_type, wall)
    print(f"resnet{depth}, batch {batch}, ms per training step (mean of {steps}, traced; op time summed over "
          f"TF's compute threads, so it can exceed wall time). "
          f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}\n")
    rows = {g: [] for g, _ in OP_GROUPS}
    rows.update({"other": [], "total (op time)": [], "wall time per step": []})
    for by_type, wall in stats.values():
        by_group = collections.Counter()
        for op, ms in by_type.items():
            by_group[op_group(op)] += ms
        for g, cells in rows.items():
            cells.append(by_group[g])
        rows["total (op time)"][-1] = sum(by_type.values())
        rows["wall time per step"][-1] = wall
    print("| category | " + " | ".join(variants) + " |\n|---|" + "---:|" * len(variants))
    for g, cells in rows.items():
        print(f"| {g} | " + " | ".join(f"{ms:.1f}" for ms in cells) + " |")
    for v in variants:
        print(f"\ntop op types, {v}:")
        for name, ms in stats[v][0].most_common(top):
            print(f"  {ms:8.1f} ms  {name}  ({op_group(name)})")


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


def measure_ours(variant, depth, batch, steps, repeats=1):
    """One worker process: {"train_img_s": [...], "peak_rss_mb": ..., "params": ..., ...} (also for cost.py)."""
    env_extra, overrides, *build = VARIANTS[variant]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **env_extra)
    cmd = [sys.executable, __file__, "--worker", "--depth", str(depth), "--batch", str(batch),
           "--steps", str(steps), "--repeats", str(repeats),
           "--overrides", json.dumps([overrides, build[0] if build else {}])]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    line = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode or not line:
        raise SystemExit(f"benchmark worker failed ({variant}, depth {depth}, batch {batch}, exit {p.returncode}):\n"
                         f"{p.stderr[-3000:]}")
    return json.loads(line[-1])


def run_ours(variant, depth, a):
    return statistics.median(measure_ours(variant, depth, a.batch, a.steps, a.repeats)["train_img_s"])


@functools.cache
def torch_python():
    """The python that runs the PyTorch reference: /tmp/torch-ref's, else this one if it has torch; else None."""
    for py in (TORCH_PY, pathlib.Path(sys.executable)):
        if py.exists() and subprocess.run([str(py), "-c", "import torch"], capture_output=True).returncode == 0:
            return py
    return None


def run_torch(depth, mode, a):
    """The reference's JSON line for one mode (train_img_s, version, threads), or None (printed why)."""
    py = torch_python()
    if py is None or not TORCH_REF.exists():
        return None
    p = subprocess.run([str(py), str(TORCH_REF), "--depth", str(depth), "--batch", str(a.batch),
                        "--steps", str(a.steps), "--mode", mode], capture_output=True, text=True)
    line = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode or not line:
        print(f"resnet{depth} torch {mode} failed (exit {p.returncode}): {p.stderr.strip()[-500:]}", flush=True)
        return None
    return json.loads(line[-1])


def cpu_info():
    """(model name, vector ISA line) from /proc/cpuinfo: which of AVX2 / AVX-512 / AVX512_BF16 / AMX the CPU has."""
    name, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name == "unknown CPU":
                    name = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        return name, "vector ISA: unknown (no /proc/cpuinfo)"
    isa = [("AVX2", "avx2"), ("AVX-512", "avx512f"), ("AVX512_VNNI", "avx512_vnni"), ("AVX512_BF16", "avx512_bf16"),
           ("AMX-BF16", "amx_bf16"), ("AMX-INT8", "amx_int8")]
    have = [label for label, flag in isa if flag in flags]
    missing = [label for label, flag in isa if flag not in flags]
    bf16 = ("native bf16 (AVX512_BF16" + (" + AMX" if "amx_bf16" in flags else "") + ")" if "avx512_bf16" in flags
            else "no native bf16: bfloat16 is emulated (slow)")
    return name, f"vector ISA: {' '.join(have) or 'none of AVX2/AVX-512'}; missing: {' '.join(missing) or '-'}; {bf16}"


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: " + " ".join(f"{l:.2f}" for l in os.getloadavg())


def mmm(values):
    return f"min {min(values):7.1f}  median {statistics.median(values):7.1f}  max {max(values):7.1f}"


def summary_table(results, depths, variants, modes):
    """Markdown: median (min-max) images/s per run, and ours / each PyTorch peer (median of same-round ratios)."""
    peers = [m for m in PEERS if m in modes]
    head = "| model | run | images/s median (min-max) | " + " | ".join(f"ours / {PEERS[m]}" for m in peers) + " |"
    lines = [head, "|---|---|---:|" + "---:|" * len(peers)]
    for depth in depths:
        for key in [*variants, *(f"torch {m}" for m in modes)]:
            rates = results.get((depth, key))
            if not rates:
                continue
            cells = []
            for m in peers:
                ref = results.get((depth, f"torch {m}"), [])
                ratios = [o / t for o, t in zip(rates, ref) if o and t]
                cells.append("" if key.startswith("torch") or not ratios else
                             f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")
            rate = f"{statistics.median(rates):.1f} ({min(rates):.1f}-{max(rates):.1f})"
            lines.append(f"| ResNet-{depth} | {key} | {rate} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--depths", type=int, nargs="+", default=[20, 56])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20, help="timed steps per run (the reference's default)")
    p.add_argument("--repeats", type=int, default=1, help="timed runs inside one process (their median is kept)")
    p.add_argument("--rounds", type=int, default=3, help="processes per variant (min/median/max over these)")
    p.add_argument("--variant", action="append", choices=sorted(VARIANTS),
                   help="ours, repeatable; default: default and mixed_bf16")
    p.add_argument("--torch-mode", action="append", choices=TORCH_MODES,
                   help=f"PyTorch reference modes, repeatable; default: all ({' '.join(TORCH_MODES)})")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--no-pipeline", action="store_true")
    p.add_argument("--profile", action="store_true",
                   help="only profile training steps by op type and category, each --variant (default: default and "
                        "mixed_bf16) side by side, in this process")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--depth", type=int, help=argparse.SUPPRESS)
    p.add_argument("--overrides", default="[{}, {}]", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        return worker(a)
    if a.profile:
        return profile_ops(a.depths[0], a.batch, a.variant or ("default", "mixed_bf16"))
    variants = a.variant or ["default", "mixed_bf16"]
    modes = [] if a.no_torch else (a.torch_mode or TORCH_MODES)
    name, isa = cpu_info()
    py = torch_python() if modes else None
    print(f"CPU: {name}, {os.cpu_count()} logical CPUs; {isa}")
    print(f"before: {uptime()}")
    if modes:
        print(f"PyTorch reference: {TORCH_REF} with {py}" if py and TORCH_REF.exists() else
              f"PyTorch reference skipped: no python with torch ({TORCH_PY} or {sys.executable}) or no {TORCH_REF}")
    print(f"batch {a.batch}, 3 untimed steps then {a.steps} timed steps per process, {a.rounds} rounds", flush=True)
    results = {}
    torch_versions = set()
    for depth in a.depths:
        for r in range(a.rounds):
            jobs = [("ours", v) for v in variants] + [("torch", m) for m in modes]
            if r % 2:
                jobs.reverse()              # alternate the order: neither side always runs first
            load = os.getloadavg()[0]
            for side, what in jobs:
                if side == "ours":
                    rate = run_ours(what, depth, a)
                    key = what
                else:
                    out = run_torch(depth, what, a)
                    if out is None:
                        continue
                    rate, key = out["train_img_s"], f"torch {what}"
                    torch_versions.add(f"torch {out.get('version')} ({out.get('threads')} threads)")
                results.setdefault((depth, key), []).append(rate)
                print(f"resnet{depth} {key:22s} round {r + 1}: {rate:7.1f} img/s   (load {load:.1f})", flush=True)
    print(f"\nafter: {uptime()}")
    print(f"summary: {name}; {isa}; {os.cpu_count()} logical CPUs; batch {a.batch}; "
          f"{a.rounds} rounds{'; ' + ', '.join(sorted(torch_versions)) if torch_versions else ''}")
    for (depth, v), rates in results.items():
        print(f"resnet{depth} {v:22s} {mmm(rates)}")
    print()
    print(summary_table(results, a.depths, variants, modes))
    if not a.no_pipeline:
        model_rate = statistics.median(results[(a.depths[0], variants[0])])
        pipe = pipeline_rate()
        print(f"\ninput pipeline (pad+crop+flip, batch 128): {pipe:.0f} img/s = {pipe / model_rate:.0f}x "
              f"the resnet{a.depths[0]} {variants[0]} training rate")


if __name__ == "__main__":
    main()
