"""Training speed on a GPU: this package on Keras's JAX backend beside the PyTorch peers, in one call.

Runs where ../shared/gpu/README.md says (the GPU machine has JAX and PyTorch but no TensorFlow; Keras comes as
wheels). For each job: `model.fit` of the package's net on a fixed synthetic uint8 batch (the model rescales
inside, so the host sends 1 byte a pixel), images/s after warm-up; then `gpu_ref/torch_gpu_reference.py`
(torch eager channels_last and torch.compile) on the same GPU, and one table of both with the ratios. Then
`keras-resnet train resnet20 --backend jax` on the real CIFAR-10 subset through the package's own input
pipeline (data.batches.ArrayBatches), its images/s and accuracy.

    python3 benchmarks/gpu.py                        # everything (GPU machine, ~5 minutes)
    python3 benchmarks/gpu.py --smoke                # a few steps of each job at small batches (any JAX device)
    python3 benchmarks/gpu.py --only resnet50 --no-torch --no-train
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
JOBS = [  # model, batch, input (H, W), classes, precision, steps, kwargs
    ("resnet20", 512, (32, 32), 10, "fp32", 40, {}),
    ("resnet20", 512, (32, 32), 10, "bf16", 40, {}),
    ("resnet56", 512, (32, 32), 10, "fp32", 40, {}),
    ("resnet56", 512, (32, 32), 10, "bf16", 40, {}),
    ("resnet50", 256, (224, 224), 1000, "fp32", 20, {"version": "v1.5"}),
    ("resnet50", 256, (224, 224), 1000, "bf16", 20, {"version": "v1.5"}),
]


def ours(model: str, batch: int, size: tuple[int, int], classes: int, precision: str, steps: int,
         kwargs: dict, spe: int) -> dict:
    import keras
    import numpy as np

    import keras_resnet as kr

    dtype = "mixed_bfloat16" if precision == "bf16" else "float32"      # the head stays float32 (nets.builders)
    net = kr.build(model, input_shape=(*size, 3), classes=classes, dtype=dtype, **kwargs)
    net.compile(keras.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy",
                steps_per_execution=spe, jit_compile=True)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (batch * spe, *size, 3), dtype=np.uint8)
    y = rng.integers(0, classes, batch * spe)
    net.fit(x, y, batch_size=batch, epochs=2, verbose=0)                 # compile and warm up
    reps = max(1, steps // spe)
    xs, ys = np.concatenate([x] * reps), np.concatenate([y] * reps)
    t = time.perf_counter()
    net.fit(xs, ys, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - t
    import jax

    return {"framework": "keras-jax", "device": jax.devices()[0].device_kind, "model": model, "batch": batch,
            "precision": precision, "steps_per_execution": spe, "train_img_s": round(len(xs) / seconds, 1)}


def torch_peer(only: str | None) -> list[dict]:
    script = next((p for p in (ROOT / "gpu_ref" / "torch_gpu_reference.py",
                               ROOT.parent / "shared" / "gpu" / "torch_gpu_reference.py") if p.exists()), None)
    if script is None:
        print("torch peer: gpu_ref/torch_gpu_reference.py not found (cp -r ../shared/gpu gpu_ref)", file=sys.stderr)
        return []
    cmd = [sys.executable, str(script)] + (["--only", only] if only else [])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode:
        print(f"torch peer exited {r.returncode}: {r.stderr[-500:]}", file=sys.stderr)
    return rows


def train_run(epochs: int) -> dict | None:
    data = next((p for p in (ROOT / "cifar10_subset.npz",
                             ROOT.parent / "shared" / "data" / "cifar10-subset" / "cifar10_subset.npz") if p.exists()),
                None)
    if data is None:
        print("train: the CIFAR-10 subset is not here (copy cifar10_subset.npz to the checkout)", file=sys.stderr)
        return None
    run = pathlib.Path(os.environ.get("OUT", "/tmp")) / "gpu-train-resnet20"
    cmd = [sys.executable, "-m", "keras_resnet.cli", "train", "resnet20", "--backend", "jax", "--dataset", str(data),
           "--epochs", str(epochs), "--run-dir", str(run), "--quiet", "--overwrite"]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - t
    print(r.stdout[-1500:], r.stderr[-1500:], file=sys.stderr)
    if r.returncode:
        return None
    card = json.loads((run / "model_card.json").read_text())
    n = card["dataset"]["num_train"] * epochs
    return {"framework": "keras-jax", "model": "resnet20 (keras-resnet train, ArrayBatches)", "epochs": epochs,
            "images": n, "wall_s": round(seconds, 1), "img_s_including_startup": round(n / seconds, 1),
            "test_top1_accuracy": card["metrics"]["test_top1_accuracy"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=sorted({j[0] for j in JOBS}))
    p.add_argument("--smoke", action="store_true", help="tiny batches and steps: check that it runs (any device)")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--no-train", action="store_true")
    p.add_argument("--steps-per-execution", type=int, default=8)
    p.add_argument("--epochs", type=int, default=30, help="epochs of the keras-resnet train run (default 30)")
    a = p.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "jax")
    rows = []
    for model, batch, size, classes, precision, steps, kwargs in JOBS:
        if a.only not in (None, model):
            continue
        if a.smoke:
            batch, steps, size = 8, 2, (size if size[0] <= 32 else (64, 64))
        row = ours(model, batch, size, classes, precision, steps, kwargs, 1 if a.smoke else a.steps_per_execution)
        print(json.dumps(row), flush=True)
        rows.append(row)
    peers = [] if (a.no_torch or a.smoke) else torch_peer(a.only)
    for row in peers:
        print(json.dumps(row), flush=True)
    print("\n| model, batch | precision | keras-resnet on Keras-JAX | torch eager, channels_last | torch.compile | "
          "ours / best torch |\n|---|---|---:|---:|---:|---:|")
    for r in rows:
        same = [t for t in peers if t["model"] == r["model"] and t["precision"] == r["precision"]]
        eager = next((t["train_img_s"] for t in same if not t["compile"]), None)
        compiled = next((t["train_img_s"] for t in same if t["compile"]), None)
        best = max([v for v in (eager, compiled) if v] or [0])
        ratio = f"{r['train_img_s'] / best:.2f}x" if best else "-"
        print(f"| {r['model']}, {r['batch']} | {r['precision']} | {r['train_img_s']:,.0f} | "
              f"{eager or '-'} | {compiled or '-'} | {ratio} |")
    if not a.no_train:
        result = train_run(1 if a.smoke else a.epochs)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
