"""Memory and start-up of ImageNet-scale training that do not grow with the dataset (issue 24).

Generates an ImageNet-like folder tree (10 classes, JPEG photos of 300-640 x 240-480 pixels, ~5 % grayscale and
~2 % CMYK JPEGs; train/ + val/ with 200 validation images) at each size (default 5,000 and 20,000 training
images), then for each size, in a fresh process:

* ResNet-18 at 224x224 on it with the paper's ImageNet recipe exactly as `keras-resnet train resnet18 --recipe
  imagenet` builds it (data.streaming + training.prepare_data/build_model/compile_model, `model.fit`): the time
  from `load_streaming` to the end of the first training step (listing, the 1,000-image statistics sample,
  building, compiling, the first step), and the peak RSS (`resource.getrusage`, the whole process) after
  `--iterations` steps at batch `--batch` (a small batch: two shared CPU cores);
* the input pipeline alone (no model): decoded, scale-augmented, cropped, flipped, PCA-lit batches per second
  with tf.data's thread pool and TensorFlow's op pools limited to one thread: images/s on one core. From it, the
  cores that would feed ResNet-50 training at 6,000 images/s on one GPU.

The pool of distinct photos is `--distinct` (1,000) JPEGs; the folder's files are hard links to them (quick to
make; the page cache holds them, so no disk reads are measured). Put it under /tmp:

    .venv/bin/python benchmarks/imagenet_input.py                                   # 5,000 and 20,000, 200 steps, 2 rounds
    .venv/bin/python benchmarks/imagenet_input.py --sizes 500 --iterations 3 --rounds 1   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLASSES = 10
VAL = 200


# ------------------------------------------------------------------------------------------ the folder
def make_pool(pool: pathlib.Path, n: int, seed: int = 0) -> list[pathlib.Path]:
    """`n` distinct JPEG photos of random size: smooth colour fields plus noise (ImageNet-like file sizes)."""
    import numpy as np
    from PIL import Image

    pool.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        path = pool / f"{i:05d}.jpg"
        out.append(path)
        if path.exists():
            continue
        w, h = int(rng.integers(300, 641)), int(rng.integers(240, 481))
        base = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((w, h), Image.BILINEAR)
        noisy = np.clip(np.asarray(base, np.int16) + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
        img = Image.fromarray(noisy)
        kind = rng.random()
        if kind < 0.05:
            img = img.convert("L")            # grayscale JPEG
        elif kind < 0.07:
            img = img.convert("CMYK")         # CMYK JPEG (TensorFlow's decoder converts it)
        img.save(path, "JPEG", quality=90)
    return out


def make_tree(root: pathlib.Path, pool: list[pathlib.Path], n_train: int) -> pathlib.Path:
    """root/n<N>/{train,val}/class_k/*.jpg as hard links into the pool."""
    tree = root / f"n{n_train}"
    if (tree / ".done").exists():
        return tree
    k = 0
    for split, n in (("train", n_train), ("val", VAL)):
        for i in range(n):
            d = tree / split / f"class_{i % CLASSES}"
            d.mkdir(parents=True, exist_ok=True)
            dst = d / f"{split}_{i:06d}.jpg"
            if not dst.exists():
                os.link(pool[k % len(pool)], dst)
            k += 1
    (tree / ".done").write_text("")
    return tree


# ------------------------------------------------------------------------------------------ children
def _rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_train(tree: str, iterations: int, batch: int) -> dict:
    import resource

    import keras

    from keras_resnet.data.streaming import load_streaming
    from keras_resnet.training import TrainConfig, build_model, compile_model, prepare_data

    t0 = time.perf_counter()
    data = load_streaming(tree, crop=(224, 224), recipe="imagenet")
    config = TrainConfig(model="resnet18", dataset=data, recipe="imagenet", batch_size=batch, iterations=iterations)
    prepared = prepare_data(config)
    model = build_model(config, prepared.data)          # the 1,000-image statistics sample happens here
    t_built = time.perf_counter() - t0
    compile_model(model, config, prepared.steps_per_epoch)
    marks: dict[str, float] = {}

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                marks["first"] = time.perf_counter() - t0
                marks["rss_first"] = _rss_mb()

    t_fit = time.perf_counter()
    model.fit(prepared.train_ds.take(iterations), epochs=1, verbose=0, callbacks=[Clock()])
    fit_s = time.perf_counter() - t_fit
    return {"images": data.num_train, "first_step_s": marks["first"], "load_stats_build_s": t_built,
            "steps": iterations, "batch": batch, "fit_s": fit_s,
            "s_per_step_after_first": (fit_s - (marks["first"] - (t_fit - t0))) / max(1, iterations - 1),
            "rss_after_first_mb": marks["rss_first"], "rss_end_mb": _rss_mb(),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "cached": data.cache_plan()["train"][0], "cache_estimate_gb": data.cache_plan()["train"][1] / 2 ** 30}


def child_pipeline(tree: str, images: int, batch: int) -> dict:
    import resource

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from keras_resnet.data.streaming import load_streaming

    data = load_streaming(tree, crop=(224, 224), recipe="imagenet")
    ds = data.batches("train", batch_size=batch, training=True, seed=0)
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1        # one core: decode + augmentation on one thread
    options.autotune.cpu_budget = 1
    ds = ds.with_options(options)
    it = iter(ds)
    for _ in range(3):                                   # warm-up: tracing, first reads
        next(it)
    n, t = 0, time.perf_counter()
    cpu0 = time.process_time()
    while n < images:
        x, _ = next(it)
        n += int(x.shape[0])
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu0
    return {"images": n, "wall_s": wall, "cpu_s": cpu, "images_per_s": n / wall, "images_per_cpu_s": n / cpu,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _run_child(args: list[str]) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    if out.returncode or not lines:
        raise SystemExit(f"child {args} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def _summary(runs: list[dict]) -> dict:
    """One row from several runs of the same size: the median time to the first step, the largest memory."""
    import statistics

    first = [r["first_step_s"] for r in runs]
    row = dict(runs[0], first_step_s=statistics.median(first), first_min=min(first), first_max=max(first),
               s_per_step_after_first=statistics.median(r["s_per_step_after_first"] for r in runs))
    for key in ("peak_rss_mb", "rss_after_first_mb", "rss_end_mb"):
        row[key] = max(r[key] for r in runs)
    return row


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000])
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--rounds", type=int, default=2, help="training runs per size, sizes alternating")
    p.add_argument("--pipeline-images", type=int, default=800)
    p.add_argument("--distinct", type=int, default=1000)
    p.add_argument("--root", default="/tmp/imagenet_like")
    p.add_argument("--child", choices=("train", "pipeline"))
    p.add_argument("--tree")
    a = p.parse_args()
    if a.child == "train":
        print("RESULT " + json.dumps(child_train(a.tree, a.iterations, a.batch)))
        return
    if a.child == "pipeline":
        print("RESULT " + json.dumps(child_pipeline(a.tree, a.pipeline_images, a.batch)))
        return

    root = pathlib.Path(a.root)
    t = time.perf_counter()
    pool = make_pool(root / "pool", a.distinct)
    trees = {n: make_tree(root, pool, n) for n in a.sizes}
    print(f"folders ready in {time.perf_counter() - t:.1f} s: " + ", ".join(str(v) for v in trees.values()))
    print(f"uptime before: {_uptime()}")
    flags = [f for f in open("/proc/cpuinfo").read().split() if f in ("avx2", "avx512f", "avx512_bf16", "amx_tile")]
    print(f"CPU: {os.cpu_count()} cores visible; flags {' '.join(sorted(set(flags)))}")
    runs: dict[int, list[dict]] = {n: [] for n in trees}
    for r in range(a.rounds):                    # sizes alternate, so each sees the same caches and load
        for n, tree in trees.items():
            tr = _run_child(["--child", "train", "--tree", str(tree), "--iterations", str(a.iterations),
                             "--batch", str(a.batch)])
            runs[n].append(tr)
            print(json.dumps({"round": r, "size": n, "train": tr}))
    pipes = {}
    for n, tree in trees.items():
        pipes[n] = _run_child(["--child", "pipeline", "--tree", str(tree), "--pipeline-images",
                               str(a.pipeline_images), "--batch", str(a.batch)])
        print(json.dumps({"size": n, "pipeline": pipes[n]}))
    print(f"uptime after: {_uptime()}")
    rows = [(n, _summary(runs[n]), pipes[n]) for n in trees]
    print(f"\nResNet-18, 224x224, recipe imagenet, batch {a.batch}, {a.iterations} iterations per size, "
          f"{a.rounds} rounds (time to first step: median, min-max; RSS: the largest):\n")
    print("| training images | peak RSS | RSS after step 1 | RSS at the end | time to first step | s/step after | "
          "cached | pipeline alone, 1 core |")
    print("|---:|---:|---:|---:|---:|---:|:--|---:|")
    for n, tr, pl in rows:
        print(f"| {n:,} | {tr['peak_rss_mb']:,.0f} MB | {tr['rss_after_first_mb']:,.0f} MB | {tr['rss_end_mb']:,.0f} MB "
              f"| {tr['first_step_s']:.1f} s ({tr['first_min']:.1f}-{tr['first_max']:.1f}) "
              f"| {tr['s_per_step_after_first']:.2f} | "
              f"{'yes' if tr['cached'] else 'no'} ({tr['cache_estimate_gb']:.1f} GB est.) | "
              f"{pl['images_per_s']:.0f} img/s ({pl['images_per_cpu_s']:.0f} per CPU-s) |")
    if len(rows) > 1:
        (n0, a0, _), (n1, a1, _) = rows[0], rows[-1]
        print(f"\n{n1:,} vs {n0:,} images: peak RSS {100 * (a1['peak_rss_mb'] / a0['peak_rss_mb'] - 1):+.1f} %, "
              f"time to first step {100 * (a1['first_step_s'] / a0['first_step_s'] - 1):+.1f} % (medians)")
    per_core = min(pl["images_per_cpu_s"] for _, _, pl in rows)
    print(f"\ninput pipeline: {per_core:.0f} images per CPU-second (decode + scale augmentation + crop + flip + "
          f"lighting, 300-640 x 240-480 JPEGs); ResNet-50 at 6,000 images/s on one GPU needs "
          f"~{6000 / per_core:.0f} such cores for the input alone")


if __name__ == "__main__":
    main()
