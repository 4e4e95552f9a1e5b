"""Inference speed of ResNet-20 / ResNet-56 (He et al. 2016, §4.2) on this CPU, every backend in one run.

Batch-1 latency (median, p95, ms) and batch-256 throughput (images/s) for:
  keras-predict   model.predict(x)
  keras-call      model(x, training=False), eager
  tf-function     the same call compiled with tf.function
  savedmodel      the exported SavedModel's serving_default (tf.saved_model.load)
  tflite-*        the exported fp32 / fp16 / int8 .tflite in ai_edge_litert's Interpreter, with
                  num_threads and the default XNNPACK delegate on/off
  onnxruntime     the exported model.onnx (tf2onnx from the same SavedModel as the TFLite files) in
                  ONNX Runtime's CPU provider, intra-op threads = each --threads value, 1 inter-op
                  thread; an optional peer: skipped, and said so, unless tf2onnx and onnxruntime are
                  installed (pip install -e ".[onnx]")
and, per model, ONNX Runtime's ratio to TFLite fp32 / int8 and Keras at the same thread count.

Weights are freshly initialised (speed does not depend on them), so the parity check is off here;
the int8 calibration uses --data images if given, else random images. Other processes share the
machine: the load average is printed with the numbers.

    .venv/bin/python benchmarks/inference.py                       # ~20 min on 2 busy cores (load ~14)
    .venv/bin/python benchmarks/inference.py --models resnet20 --repeats 30 --json bench.json
    .venv/bin/python benchmarks/inference.py --models resnet20 --threads 2 --repeats 5 --batch-repeats 1   # smoke run
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def timings(fn, x, repeats, warmup=3):
    for _ in range(warmup):
        fn(x)
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(x)
        out.append(time.perf_counter() - t)
    return np.asarray(out)


def measure(fn, x1, xb, repeats, batch_repeats):
    t1 = timings(fn, x1, repeats) * 1000
    tb = timings(fn, xb, batch_repeats, warmup=1)
    return {"median_ms": float(np.median(t1)), "p95_ms": float(np.percentile(t1, 95)),
            "images_per_s": float(len(xb) / np.median(tb))}


def onnx_available():
    """(True, versions) when the onnx peer can run here, else (False, why)."""
    try:
        import onnxruntime
        import tf2onnx
    except ImportError as e:
        return False, f"ONNX Runtime skipped: {e.name} is not installed (pip install tf2onnx onnxruntime)"
    return True, f"tf2onnx {tf2onnx.__version__}, onnxruntime {onnxruntime.__version__}"


def onnx_session(path, threads):
    """model.onnx in ONNX Runtime's CPU provider with `threads` intra-op threads; callable(uint8 batch)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def backends(model, files, threads):
    """{name: callable(uint8 batch) -> probabilities} for every backend."""
    import tensorflow as tf

    from keras_resnet.deploy import SavedModelPredictor, TFLitePredictor

    compiled = tf.function(lambda x: model(tf.cast(x, tf.float32), training=False), reduce_retracing=True)
    fns = {
        "keras-predict": lambda x: model.predict(x, batch_size=256, verbose=0),
        "keras-call": lambda x: model(tf.cast(x, tf.float32), training=False),
        "tf-function": compiled,
        "savedmodel": SavedModelPredictor(files["savedmodel"])._predict,
    }
    for fmt in ("tflite", "tflite-fp16", "tflite-int8"):
        for n in threads:
            fns[f"{fmt} t{n}"] = TFLitePredictor(files[fmt], num_threads=n)._predict
        fns[f"{fmt} t{threads[-1]} no-xnnpack"] = TFLitePredictor(files[fmt], num_threads=threads[-1],
                                                                   xnnpack=False)._predict
    if "onnx" in files and files["onnx"].exists():
        for n in threads:
            fns[f"onnxruntime t{n}"] = onnx_session(files["onnx"], n)
    return fns


def bench_model(name, args, rep):
    from keras_resnet import build
    from keras_resnet.deploy.export import FORMATS, export

    pre = {"scale": 1 / 255, "mean": [0.49, 0.48, 0.45], "std": [0.25, 0.24, 0.26]}
    model = build(name, preprocessing=pre)
    rng = np.random.default_rng(0)
    x1 = rng.integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    xb = rng.integers(0, 256, (args.batch, 32, 32, 3), dtype=np.uint8)
    formats = ["savedmodel", "tflite", "tflite-fp16", "tflite-int8"] + (["onnx"] if args.onnx else [])
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        export(model, d, formats=formats, representative_data=rep, check=False, verbose=False)
        print(f"{name}: exported {len(formats)} formats in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        files = {f: pathlib.Path(d) / FORMATS[f] for f in formats}
        sizes = {f: sum(p.stat().st_size for p in files[f].rglob("*")) if files[f].is_dir() else files[f].stat().st_size
                 for f in formats}
        if "onnx" in sizes:
            sizes["onnxruntime"] = sizes["onnx"]
        if args.onnx:     # the same function as the Keras model (export's parity check is off here)
            got, want = onnx_session(files["onnx"], 1)(xb[:16]), model(xb[:16].astype("float32"), training=False)
            print(f"{name}: onnx vs Keras max |dp| {np.abs(got - np.asarray(want)).max():.1e}", file=sys.stderr)
        rows = []
        for backend, fn in backends(model, files, args.threads).items():
            row = {"model": name, "backend": backend, **measure(fn, x1, xb, args.repeats, args.batch_repeats)}
            fmt = backend.split()[0]
            row["size_kb"] = round(sizes[fmt] / 1024) if fmt in sizes else None
            rows.append(row)
            print(f"  {backend:28s} {row['median_ms']:8.2f} ms  {row['images_per_s']:8.0f} img/s", file=sys.stderr)
    return rows


def table(rows, batch):
    head = f"{'model':9s} {'backend':28s} {'b1 median ms':>12s} {'b1 p95 ms':>10s} {f'b{batch} img/s':>10s} {'file KB':>8s}"
    lines = [head, "-" * len(head)]
    for r in rows:
        size = "" if r["size_kb"] is None else str(r["size_kb"])
        lines.append(f"{r['model']:9s} {r['backend']:28s} {r['median_ms']:12.2f} {r['p95_ms']:10.2f} "
                     f"{r['images_per_s']:10.0f} {size:>8s}")
    return "\n".join(lines)


def ratios(rows, threads):
    """Lines: ONNX Runtime's batch-1 speed-up (median latency) and batch throughput ratio against the others."""
    lines = []
    for model in dict.fromkeys(r["model"] for r in rows):
        by = {r["backend"]: r for r in rows if r["model"] == model}
        for n in threads:
            ort = by.get(f"onnxruntime t{n}")
            if ort is None:
                continue
            for other in (f"tflite t{n}", f"tflite-int8 t{n}", "tf-function", "keras-predict"):
                o = by.get(other)
                if o:
                    speedup = o["median_ms"] / ort["median_ms"]
                    lines.append(f"{model} onnxruntime t{n} vs {other:14s}: batch 1 {speedup:5.2f}x "
                                 f"as fast ({ort['median_ms']:.2f} vs {o['median_ms']:.2f} ms), batch throughput "
                                 f"{ort['images_per_s'] / o['images_per_s']:5.2f}x ({ort['images_per_s']:.0f} vs "
                                 f"{o['images_per_s']:.0f} img/s)")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["resnet20", "resnet56"])
    p.add_argument("--repeats", type=int, default=50, help="batch-1 timed calls per backend (default 50)")
    p.add_argument("--batch", type=int, default=256, help="throughput batch size (default 256)")
    p.add_argument("--batch-repeats", type=int, default=3, help="timed batch calls per backend (default 3)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="TFLite num_threads values (default 1 2)")
    p.add_argument("--data", help="int8 calibration images: a dataset keras_resnet.data.load reads (e.g. an .npz)")
    p.add_argument("--json", help="also write the rows here")
    p.add_argument("--no-onnx", dest="onnx", action="store_false", help="leave ONNX Runtime out")
    args = p.parse_args(argv)
    if args.onnx:
        args.onnx, onnx_info = onnx_available()
    else:
        onnx_info = "ONNX Runtime left out (--no-onnx)"
    print(onnx_info, file=sys.stderr)

    rep = np.random.default_rng(1).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    if args.data:
        from keras_resnet import data

        rep = data.load(args.data)
        rep = np.stack([x for x, _ in rep.train.take(200).as_numpy_iterator()])
    load_before = os.getloadavg()
    rows = [r for name in args.models for r in bench_model(name, args, rep)]
    import tensorflow as tf

    info = (f"{os.cpu_count()} CPUs, load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} "
            f"(1 min); TF {tf.__version__}; batch-1 over {args.repeats} calls, batch-{args.batch} median of "
            f"{args.batch_repeats}")
    print(table(rows, args.batch))
    print(info + f"; {onnx_info}")
    if args.onnx:
        print(ratios(rows, args.threads))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"rows": rows, "info": info}, indent=2) + "\n")


if __name__ == "__main__":
    main()
