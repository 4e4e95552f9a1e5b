"""How the training cost of the CIFAR ResNets grows with depth (He et al. 2016, §4.2: 20 to 1202 layers).

For each depth: training images/s and the peak resident memory of the process (ru_maxrss), each depth
in its own process (the model, optimizer and step exactly as benchmarks/train_throughput.py and
`keras_resnet.training` build them: SGD momentum 0.9, weight decay as L2, batch 128, float32), then the
time per image against depth with a least-squares line (ms/image = a + b * depth) and its R^2.

ResNet-1202 at batch 128 needs more memory than a small machine has (activations grow with depth
times batch): `--batch-for 1202=32` (the default) trains it at batch 32, printed in the table. Time per
image is close to batch-independent at these batch sizes on a CPU; memory is not, so the peak RSS of a
row at another batch is not on the same scale.

    .venv/bin/python benchmarks/cost.py                                   # 20 56 110 1202 (~15 min on 2 cores)
    .venv/bin/python benchmarks/cost.py --depths 20 56 --steps 3 --rounds 1   # a smoke run, ~2 min
    .venv/bin/python benchmarks/cost.py --batch-for 1202=128               # the paper's batch, if memory allows
Prints one line per measurement, then a markdown table and the fit. Other programs share the CPU:
`uptime` is printed before and after.
"""

import argparse
import pathlib
import statistics
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import train_throughput as tt  # noqa: E402


def batch_for(spec):
    depth, _, batch = spec.partition("=")
    try:
        return int(depth), int(batch)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected DEPTH=BATCH, e.g. 1202=32; got {spec!r}") from None


def linear_fit(xs, ys):
    """(intercept, slope, R^2) of the least-squares line ys = a + b * xs; None with fewer than 2 points."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    if len(xs) < 2 or len(set(xs)) < 2:
        return None
    slope, intercept = np.polyfit(xs, ys, 1)
    residual = ys - (intercept + slope * xs)
    total = ((ys - ys.mean()) ** 2).sum()
    r2 = 1 - (residual ** 2).sum() / total if total else 1.0
    return float(intercept), float(slope), float(r2)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--depths", type=int, nargs="+", default=[20, 56, 110, 1202])
    p.add_argument("--batch", type=int, default=128, help="batch size (default 128, the paper's)")
    p.add_argument("--batch-for", type=batch_for, action="append", metavar="DEPTH=BATCH",
                   help="another batch for one depth (default: 1202=32; repeat for several)")
    p.add_argument("--steps", type=int, default=10, help="timed steps per process after 3 untimed ones (default 10)")
    p.add_argument("--rounds", type=int, default=1, help="processes per depth; the median rate and the largest "
                                                         "peak RSS are kept (default 1)")
    p.add_argument("--variant", default="default", choices=sorted(tt.VARIANTS),
                   help="train_throughput.py variant (default: default, float32)")
    a = p.parse_args(argv)
    batches = dict(a.batch_for or [(1202, 32)])
    name, isa = tt.cpu_info()
    import os

    print(f"CPU: {name}, {os.cpu_count()} logical CPUs; {isa}")
    print(f"before: {tt.uptime()}")
    print(f"variant {a.variant}; 3 untimed steps then {a.steps} timed steps per process; {a.rounds} round(s)",
          flush=True)
    rows = []
    for depth in a.depths:
        batch = batches.get(depth, a.batch)
        rates, peaks, params = [], [], None
        for r in range(a.rounds):
            out = tt.measure_ours(a.variant, depth, batch, a.steps)
            rates.append(statistics.median(out["train_img_s"]))
            peaks.append(out["peak_rss_mb"])
            params = out["params"]
            print(f"resnet{depth} batch {batch} round {r + 1}: {rates[-1]:8.1f} img/s  peak RSS {peaks[-1]:8.0f} MB  "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
        rate = statistics.median(rates)
        rows.append({"depth": depth, "batch": batch, "params": params, "img_s": rate, "ms_per_image": 1000 / rate,
                     "peak_rss_mb": max(peaks)})
    print(f"\nafter: {tt.uptime()}\n")
    print("| model | layers | params | batch | train images/s | ms / image | ms / image / layer | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| ResNet-{r['depth']} | {r['depth']} | {r['params']:,} | {r['batch']} | {r['img_s']:.1f} | "
              f"{r['ms_per_image']:.2f} | {r['ms_per_image'] / r['depth']:.3f} | {r['peak_rss_mb']:.0f} |")
    fit = linear_fit([r["depth"] for r in rows], [r["ms_per_image"] for r in rows])
    if fit:
        a0, b, r2 = fit
        print(f"\ntime per image vs depth, least squares over {len(rows)} depths: "
              f"ms/image = {a0:.3f} + {b:.4f} x depth (R^2 {r2:.4f})")
        for r in rows:
            print(f"  ResNet-{r['depth']}: measured {r['ms_per_image']:.2f} ms, line {a0 + b * r['depth']:.2f} ms")
    same = [r for r in rows if r["batch"] == a.batch]
    mem = linear_fit([r["depth"] for r in same], [r["peak_rss_mb"] for r in same])
    if mem:
        a0, b, r2 = mem
        print(f"peak RSS vs depth at batch {a.batch} ({len(same)} depths): "
              f"MB = {a0:.0f} + {b:.2f} x depth (R^2 {r2:.4f})")


if __name__ == "__main__":
    main()
