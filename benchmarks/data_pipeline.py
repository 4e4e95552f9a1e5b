"""Images/s delivered by keras_resnet.data.pipeline (training, with the paper's augmentation).

    python benchmarks/data_pipeline.py [SOURCE] [--batch-size 128] [--epochs 6] [--repeat 10]

SOURCE defaults to the real CIFAR-10 subset in ../shared (any keras_resnet.data.load source works).
The training split is repeated `--repeat` times (an epoch of 50,000 images for the 5,000-image subset)
and each epoch is timed after a warm-up epoch (which fills the cache). It compares the batched,
vectorised augmentation the package uses with the per-image alternative (tf.image ops in a map before
batching) and prints min / median / max images/s of each.
"""

import argparse
import os
import pathlib
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from keras_resnet import data as D  # noqa: E402

SUBSET = pathlib.Path(__file__).resolve().parents[2] / "shared/data/cifar10-subset/cifar10_subset.npz"


def per_image_pipeline(ds, batch_size, seed=0):
    """The usual per-image version: pad, random crop, flip, one image at a time, then batch."""
    def augment(x, y):
        h, w, c = x.shape
        x = tf.image.pad_to_bounding_box(x, D.PAD, D.PAD, h + 2 * D.PAD, w + 2 * D.PAD)
        x = tf.image.random_flip_left_right(tf.image.random_crop(x, (h, w, c)))
        return tf.cast(x, tf.float32), y
    n = int(ds.cardinality())
    return (ds.cache().shuffle(min(n, 50_000), seed=seed).map(augment, num_parallel_calls=D.AUTOTUNE)
            .batch(batch_size).prefetch(D.AUTOTUNE))


def rates(ds, epochs):
    out = []
    for e in range(epochs + 1):
        t, n = time.perf_counter(), 0
        for x, _ in ds:
            n += int(x.shape[0])
        if e:  # epoch 0 fills the cache
            out.append(n / (time.perf_counter() - t))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", nargs="?", default=str(SUBSET))
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--repeat", type=int, default=10)
    a = p.parse_args()
    data = D.load(a.source)
    train = data.train.repeat(a.repeat)
    n = data.num_train * a.repeat
    print(f"{data.name}: {n} training images/epoch {data.image_shape}, batch {a.batch_size}, "
          f"{os.cpu_count()} CPUs, TF {tf.__version__}")
    for label, ds in (("keras_resnet.data.pipeline (batched augmentation)",
                       D.pipeline(train, batch_size=a.batch_size, training=True, augment=True, seed=0)),
                      ("per-image map augmentation (for comparison)", per_image_pipeline(train, a.batch_size))):
        r = rates(ds, a.epochs)
        print(f"{label}: images/s min {min(r):,.0f}  median {statistics.median(r):,.0f}  max {max(r):,.0f}"
              f"  over {len(r)} epochs")


if __name__ == "__main__":
    main()
