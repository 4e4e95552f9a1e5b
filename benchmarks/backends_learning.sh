#!/usr/bin/env bash
# ResNet-20 on the real CIFAR-10 subset with `keras-resnet train`, the same recipe, epochs and seeds on each Keras
# backend; JAX and PyTorch in processes where TensorFlow cannot be imported. Then the table of test accuracies.
#   bash benchmarks/backends_learning.sh [EPOCHS] [OUT_DIR] [SEEDS]     (default 10 epochs, runs/backends, "0 1")
# Each run takes the CPU queue /tmp/cpu.lock when it is there (one CPU-heavy process at a time).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-10}; OUT=${2:-runs/backends}; SEEDS=${3:-0 1}
DATA=${KERAS_RESNET_SHARED:-../shared}/data/cifar10-subset/cifar10_subset.npz
echo "uptime: $(uptime)"
echo "CPU flags: $(lscpu | grep -o 'avx512[a-z_0-9]*\|avx2\|amx[a-z_]*' | sort -u | tr '\n' ' ')"
for backend in tensorflow torch jax; do
  for seed in $SEEDS; do
    pp=""; [ "$backend" != tensorflow ] && pp=tests/backends/no_tensorflow
    start=$(date +%s)
    PYTHONPATH=$pp flock /tmp/cpu.lock .venv/bin/keras-resnet train resnet20 --backend "$backend" --dataset "$DATA" \
      --epochs "$EPOCHS" --seed "$seed" --run-dir "$OUT/$backend-seed$seed" --quiet > "$OUT-$backend-seed$seed.log" 2>&1
    echo "$backend seed $seed: $(tail -1 "$OUT-$backend-seed$seed.log") ($(( $(date +%s) - start )) s with queueing)"
  done
done
echo "uptime: $(uptime)"
.venv/bin/python - "$OUT" <<'PY'
import json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1]); rows = {}
for card in sorted(out.glob("*/model_card.json")):
    c = json.loads(card.read_text())
    rows.setdefault(c["training"]["backend"], {})[c["training"]["seed"]] = c["metrics"]["test_top1_accuracy"]
ref = statistics.mean(rows["tensorflow"].values())
seeds = sorted({s for accs in rows.values() for s in accs})
print("| backend | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | mean - TensorFlow's |")
print("|---|" + "---:|" * (len(seeds) + 2))
for b, accs in rows.items():
    print(f"| {b} | " + " | ".join(f"{100 * accs[s]:.2f} %" if s in accs else "-" for s in seeds)
          + f" | {100 * statistics.mean(accs.values()):.2f} % | {100 * (statistics.mean(accs.values()) - ref):+.2f} |")
PY
