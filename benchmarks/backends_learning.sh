#!/usr/bin/env bash
# ResNet-20 on the real CIFAR-10 subset with `keras-resnet train`, two seeds per Keras backend, the same recipe
# and epochs; JAX and PyTorch in processes where TensorFlow cannot be imported. Then the table of test accuracies.
#   bash benchmarks/backends_learning.sh [EPOCHS] [OUT_DIR]       (default 10 epochs, runs/backends)
# Each run takes the CPU queue /tmp/cpu.lock when it is there (one CPU-heavy process at a time).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-10}; OUT=${2:-runs/backends}
DATA=${KERAS_RESNET_SHARED:-../shared}/data/cifar10-subset/cifar10_subset.npz
for backend in tensorflow torch jax; do
  for seed in 0 1; do
    pp=""; [ "$backend" != tensorflow ] && pp=tests/backends/no_tensorflow
    start=$(date +%s)
    PYTHONPATH=$pp flock /tmp/cpu.lock .venv/bin/keras-resnet train resnet20 --backend "$backend" --dataset "$DATA" \
      --epochs "$EPOCHS" --seed "$seed" --run-dir "$OUT/$backend-seed$seed" --quiet > "$OUT-$backend-seed$seed.log" 2>&1
    echo "$backend seed $seed: $(tail -1 "$OUT-$backend-seed$seed.log") ($(( $(date +%s) - start )) s with queueing)"
  done
done
.venv/bin/python - "$OUT" <<'PY'
import json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1]); rows = {}
for card in sorted(out.glob("*/model_card.json")):
    c = json.loads(card.read_text()); rows.setdefault(c["training"]["backend"], []).append(c["metrics"]["test_top1_accuracy"])
ref = statistics.mean(rows["tensorflow"])
print("| backend | seed 0 | seed 1 | mean | mean - TensorFlow's |\n|---|---:|---:|---:|---:|")
for b, accs in rows.items():
    print(f"| {b} | " + " | ".join(f"{100 * a:.2f} %" for a in accs) + f" | {100 * statistics.mean(accs):.2f} % | "
          f"{100 * (statistics.mean(accs) - ref):+.2f} |")
PY
