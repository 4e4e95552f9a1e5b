"""Streaming ImageNet-like data (He et al. 2016, §3.4): photos of every size read as they are needed.

`load_streaming` reads a folder tree (one sub-folder per class; ``train/`` + ``val/``, ``validation/`` or
``test/`` if present, else a seeded 80/20 split), TFRecord shards of (encoded image, label) or a prepared
tensorflow-datasets name (``imagenet2012``, prepared once with ``tfds build imagenet2012 --manual_dir DIR``).
Nothing is decoded when it loads: the folder is listed (paths and labels, ~100 bytes an image) and TFRecord
shards are counted from their record headers. `StreamingData.batches` builds the tf.data pipeline:

    paths (shuffled each epoch) -> read + decode, parallel (AUTOTUNE) -> the recipe's transform (data.imagenet),
    parallel -> batch -> PCA lighting (recipe imagenet) -> prefetch

* Caching: a split is cached only when its decoded images fit `cache_budget` (default 1 GiB, `CACHE_BUDGET`):
  the training split as decoded photos (count x the mean decoded size of a header sample), an evaluation split
  after its centre crop (count x crop x crop x 3). ImageNet (~1.28 M photos, ~500 KB each decoded) is never
  cached; a folder of a few thousand small photos is.
* Unreadable images are found as they are read: each file is decoded on its own (`tf.py_function`, so the error
  can name it), under the package's pixel limit (`keras_resnet.io.MAX_IMAGE_PIXELS`, checked from the header
  first). By default the first one stops the run with a ValueError naming the file; with
  ``skip_bad_images=True`` (``--skip-bad-images``) each is skipped, counted and reported at the end (`BadImages`).
* Normalisation statistics: from a bounded sample (`STATS_SAMPLE` = 1,000 training images, centre crops), or
  the known ImageNet constants (``stats="imagenet"``; the default for tfds ``imagenet2012``).

TensorFlow only: on Keras's JAX and PyTorch backends `load_streaming` says so in one error.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import os
import pathlib
import struct
import sys
import threading
import warnings
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import imagenet
from .files import find_cifar_dir, find_idx_files
from .sources import (AUTOTUNE, IMAGE_SUFFIXES, ImageData, _tensorflow_backend, empty_class_folders_error,
                      split_folder_tree, tfds_builder)

if TYPE_CHECKING:
    import tensorflow as tf

    from .._typing import StrPath

CACHE_BUDGET = 1 << 30          # bytes of decoded images a run may cache in memory (all splits together)
STATS_SAMPLE = 1000             # training images the normalisation statistics are computed from
SHUFFLE_RECORDS = 1024          # shuffle buffer of encoded records (TFRecords, tfds): ~110 MB of ImageNet JPEGs
HEADER_SAMPLE = 64              # image headers read to estimate the decoded size of the training split
TEST_DIRS = ("val", "validation", "test")
LABEL_FILES = ("class_names.txt", "labels.txt")
RECORD_KEYS = (("image/encoded", "image/class/label"), ("image", "label"))
STREAMING_HELP = ("a folder tree of photos (one sub-folder per class, optionally train/ and val/ or test/), a folder "
                  "of TFRecord shards (train-* and validation-* or test-*, with class_names.txt), or a prepared "
                  "tensorflow-datasets name such as imagenet2012")


@dataclasses.dataclass
class BadImages:
    """The unreadable images met while streaming: skipped and counted (`skip`), or the one that stopped the run."""

    skip: bool = False
    seen: dict[str, str] = dataclasses.field(default_factory=dict)       # name -> reason (each file once)
    fatal: tuple[str, str] | None = None
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, reason: str) -> None:
        with self._lock:
            self.seen.setdefault(name, reason)
            if not self.skip and self.fatal is None:
                self.fatal = (name, reason)

    def summary(self) -> str:
        shown = "; ".join(f"{n} ({why})" for n, why in list(self.seen.items())[:5])
        more = f" and {len(self.seen) - 5} more" if len(self.seen) > 5 else ""
        return f"skipped {len(self.seen)} unreadable image(s) (--skip-bad-images): {shown}{more}"

    def error(self) -> ValueError:
        name, why = self.fatal or ("?", "?")
        return ValueError(f"image {name} cannot be read: {why}. Replace or delete it, or pass --skip-bad-images "
                          f"(skip_bad_images=True) to skip and count unreadable images (allowed: readable "
                          f"{', '.join(IMAGE_SUFFIXES)} under {_max_pixels():,} pixels)")


@dataclasses.dataclass
class Split:
    """Where a split's examples are: files (paths + labels), TFRecord shards, or a tfds split."""

    kind: str                          # "files" | "tfrecord" | "tfds"
    names: np.ndarray                  # file paths, shard paths, or [tfds split name]
    labels: np.ndarray | None
    count: int


@dataclasses.dataclass
class StreamingData(ImageData):
    """An ImageData whose splits are read from disk as they are needed (module docstring).

    `train`, `validation`, `test` are unbatched (uint8 centre crop, label) datasets for generic code; training
    and evaluation use `batches`, which applies the recipe's transforms and the cache decision.
    """

    crop: tuple[int, int] = (imagenet.CROP, imagenet.CROP)
    splits: dict[str, Split] = dataclasses.field(default_factory=dict)
    bad: BadImages = dataclasses.field(default_factory=BadImages)
    cache_budget: int = CACHE_BUDGET
    stats_source: str = "sample"       # "sample" | "imagenet"
    tfds_name: str | None = None
    data_dir: str | None = None
    _header_bytes: float | None = dataclasses.field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ reading
    def _examples(self, split: str, training: bool, seed: int | None) -> tf.data.Dataset:
        """(name, encoded bytes or b"" for a file, label) in epoch order (shuffled each epoch when training)."""
        import tensorflow as tf

        s = self.splits[split]
        if s.kind == "files":
            ds = tf.data.Dataset.from_tensor_slices((s.names, s.labels))
            if training:      # shuffling paths, not images: the buffer is the file list
                ds = ds.shuffle(len(s.names), seed=seed, reshuffle_each_iteration=True)
            return ds.map(lambda p, y: (p, tf.constant(b""), y))
        if s.kind == "tfrecord":
            files = tf.data.Dataset.from_tensor_slices(s.names)
            if training:
                files = files.shuffle(len(s.names), seed=seed, reshuffle_each_iteration=True)
            ds = files.interleave(_records, cycle_length=min(8, len(s.names)), num_parallel_calls=AUTOTUNE,
                                  deterministic=not training)
        else:
            import tensorflow_datasets as tfds

            builder = tfds.builder(self.tfds_name, data_dir=self.data_dir)
            raw = builder.as_dataset(split=str(s.names[0]), shuffle_files=training,
                                     decoders={"image": tfds.decode.SkipDecoding()},
                                     read_config=tfds.ReadConfig(shuffle_seed=seed))
            prefix = f"{self.tfds_name}/{s.names[0]} #"
            ds = raw.enumerate().map(lambda i, ex: (
                ex["file_name"] if "file_name" in ex else prefix + tf.strings.as_string(i),
                ex["image"], tf.cast(ex["label"], tf.int64)))
        if training:
            ds = ds.shuffle(SHUFFLE_RECORDS, seed=seed, reshuffle_each_iteration=True)
        return ds

    def _decoded(self, split: str, training: bool, seed: int | None) -> tf.data.Dataset:
        """(uint8 (H, W, 3) photo, label), decoded in parallel; unreadable ones raise or are skipped (`bad`)."""
        import tensorflow as tf

        bad = self.bad

        def decode(name: tf.Tensor, data: tf.Tensor) -> np.ndarray:
            return _decode_one(name.numpy().decode("utf-8", "replace"), data.numpy(), bad)

        def read(name, data, y):
            x = tf.py_function(decode, [name, data], tf.uint8)
            x.set_shape([None, None, 3])
            return name, x, y

        def check(name, x, y):      # stop at an unreadable image (`reporting_bad_images` names it once more)
            with tf.control_dependencies([tf.debugging.Assert(tf.size(x) > 0, ["unreadable image:", name])]):
                return tf.identity(x), y

        def readable(name, x, y):
            return tf.size(x) > 0

        def drop_name(name, x, y):
            return x, y

        ds = self._examples(split, training, seed).map(read, num_parallel_calls=AUTOTUNE)
        if bad.skip:
            return ds.filter(readable).map(drop_name)
        return ds.map(check)

    def _centre_view(self, split: str) -> tf.data.Dataset:
        """Unbatched (uint8 centre crop, label) of `split`, uncached: the split as generic ImageData code reads it."""
        import tensorflow as tf

        def crop(x, y):
            return tf.cast(tf.clip_by_value(tf.round(imagenet.center_crop(x, self.crop)), 0, 255), tf.uint8), y

        return self._decoded(split, False, None).map(crop, num_parallel_calls=AUTOTUNE)

    # ------------------------------------------------------------------ the cache decision
    def cache_plan(self) -> dict[str, tuple[bool, int]]:
        """split -> (cached?, estimated bytes): the training split as decoded photos (count x mean decoded size of
        a header sample), evaluation splits after the centre crop (count x crop x crop x 3); cached in the order
        train, validation, test while the total stays within `cache_budget`."""
        plan: dict[str, tuple[bool, int]] = {}
        left = self.cache_budget
        for split in ("train", "validation", "test"):
            if split not in self.splits:
                continue
            per = self._decoded_bytes() if split == "train" else self.crop[0] * self.crop[1] * 3
            need = int(self.splits[split].count * per)
            plan[split] = (cache_decision(need, left), need)
            left -= need if plan[split][0] else 0
        return plan

    def _decoded_bytes(self) -> float:
        if self._header_bytes is None:
            self._header_bytes = _mean_decoded_bytes(self)
        return self._header_bytes

    # ------------------------------------------------------------------ batches
    def batches(self, split: str, *, batch_size: int, training: bool = False, augment: bool = True,
                seed: int | None = None, drop_remainder: bool = False, views: str = "center",
                one_hot: int | None = None) -> tf.data.Dataset:
        """Batched float32 (0-255) images and labels of `split` for fit / evaluate.

        training: the recipe's transform (`imagenet.scale_augment` + `lighting`, or torchvision's
        `random_resized_crop`; centre crops when not `augment`). Otherwise `views` "center" (B, h, w, 3) or
        "ten_crop" (B, 10, h, w, 3). `one_hot`: labels as one-hot vectors of that many classes (label smoothing).
        """
        import tensorflow as tf

        if split not in self.splits:
            raise ValueError(f"dataset {self.name!r} has no {split!r} split; it has {', '.join(self.splits)}")
        if views not in ("center", "ten_crop"):
            raise ValueError(f"views must be 'center' or 'ten_crop', got {views!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        crop, cached = self.crop, self.cache_plan()[split][0]
        to_uint8 = lambda x: tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)  # noqa: E731
        if training and augment and cached:     # decoded photos in file order, then shuffled every epoch
            n = self.splits[split].count
            ds = self._decoded(split, False, seed).cache().shuffle(n, seed=seed, reshuffle_each_iteration=True)
        else:
            ds = self._decoded(split, training, seed)
        if training and augment:
            transform = imagenet.random_resized_crop if self.spec.get("recipe") == "torchvision" \
                else imagenet.scale_augment
            seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
            ds = tf.data.Dataset.zip(ds, seeds).map(lambda xy, s: (transform(xy[0], s, crop), xy[1]),
                                                    num_parallel_calls=AUTOTUNE)
        elif views == "ten_crop":
            ds = ds.map(lambda x, y: (imagenet.ten_crop(x, crop), y), num_parallel_calls=AUTOTUNE)
        else:
            ds = ds.map(lambda x, y: (to_uint8(imagenet.center_crop(x, crop)), y), num_parallel_calls=AUTOTUNE)
            if cached:
                ds = ds.cache()     # uint8 centre crops
            ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y))
        ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)
        if training and augment and self.spec.get("recipe") != "torchvision":
            light = tf.data.Dataset.random(seed=None if seed is None else seed + 1,
                                           rerandomize_each_iteration=True).batch(2)
            ds = tf.data.Dataset.zip(ds, light).map(lambda b, s: (imagenet.lighting(b[0], s), b[1]),
                                                    num_parallel_calls=AUTOTUNE)
        if one_hot:
            ds = ds.map(lambda x, y: (x, tf.one_hot(tf.cast(y, tf.int32), one_hot)))
        return ds.prefetch(AUTOTUNE)

    # ------------------------------------------------------------------ statistics
    def compute_stats(self) -> dict[str, Any]:
        """Per-channel mean / std (0-1 units) for the model's Normalization layer: the ImageNet constants, or
        the centre crops of a seeded sample of at most `STATS_SAMPLE` training images (never the whole split)."""
        import tensorflow as tf

        if self.stats_source == "imagenet":
            return {"scale": 1 / 255, "mean": list(imagenet.IMAGENET_MEAN), "std": list(imagenet.IMAGENET_STD)}
        def sums(x: tf.Tensor) -> tf.Tensor:     # x: (B, h, w, 3) in 0-1
            x = tf.cast(x, tf.float64)
            n = tf.fill([3], tf.cast(tf.shape(x)[0], tf.float64))
            return tf.stack([tf.reduce_sum(x, [0, 1, 2]), tf.reduce_sum(x * x, [0, 1, 2]), n])

        crops = self._sample("train", STATS_SAMPLE).map(lambda x, y: imagenet.center_crop(x, self.crop) / 255.0,
                                                        num_parallel_calls=AUTOTUNE)
        total = crops.batch(64).map(sums).reduce(tf.zeros([3, 3], tf.float64), lambda a, b: a + b).numpy()
        pixels = total[2, 0] * self.crop[0] * self.crop[1]
        if not pixels:
            raise ValueError(f"dataset {self.name!r}: no readable image among the first training images sampled "
                             "for the normalisation statistics")
        mean = total[0] / pixels
        std = np.sqrt(np.maximum(total[1] / pixels - mean ** 2, 0.0))
        return {"scale": 1 / 255, "mean": mean.tolist(), "std": std.tolist()}

    def _sample(self, split: str, k: int) -> tf.data.Dataset:
        """Decoded (photo, label) of at most `k` images of `split`: a seeded random subset of a file list, the
        first `k` records of shards / tfds."""
        import tensorflow as tf

        s = self.splits[split]
        if s.kind == "files" and s.count > k:
            pick = np.sort(np.random.default_rng(0).choice(s.count, k, replace=False))
            sub = dataclasses.replace(self, splits={split: Split("files", s.names[pick], np.asarray(s.labels)[pick], k)})
            ds = sub._decoded(split, False, None)
        else:
            ds = self._decoded(split, False, None).take(k)
        return ds


def _records(shard: tf.Tensor) -> tf.data.Dataset:
    """(name "shard#i", encoded image, label) of one TFRecord shard of tf.train.Examples (`RECORD_KEYS`)."""
    import tensorflow as tf

    def parse(i, record):
        ex = tf.io.parse_single_example(record, {k: tf.io.FixedLenFeature([], tf.string, b"")
                                                 for k, _ in RECORD_KEYS}
                                        | {k: tf.io.FixedLenFeature([], tf.int64, -1) for _, k in RECORD_KEYS})
        image = ex[RECORD_KEYS[0][0]]
        image = tf.where(tf.strings.length(image) > 0, image, ex[RECORD_KEYS[1][0]])
        label = tf.where(ex[RECORD_KEYS[0][1]] >= 0, ex[RECORD_KEYS[0][1]], ex[RECORD_KEYS[1][1]])
        return shard + tf.constant(" record ") + tf.strings.as_string(i), image, label

    return tf.data.TFRecordDataset(shard).enumerate().map(parse)


# ---------------------------------------------------------------------------------------- decoding one image
def _max_pixels() -> int:
    from ..io import MAX_IMAGE_PIXELS

    return MAX_IMAGE_PIXELS


def _header_size(name: str, data: bytes) -> tuple[int, int, int] | None:
    """(width, height, frames) from the header (Pillow, nothing decoded), or None when Pillow cannot parse it."""
    from PIL import Image

    from ..io import pixel_budget

    with pixel_budget(_max_pixels()):
        try:
            with Image.open(io.BytesIO(data)) as img:
                return img.size[0], img.size[1], getattr(img, "n_frames", 1) if img.format == "GIF" else 1
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return _max_pixels() + 1, 1, 1
        except Exception:  # noqa: BLE001  not for Pillow: TensorFlow's decoder says what is wrong with it
            return None


def _decode_one(name: str, data: bytes, bad: BadImages) -> np.ndarray:
    """One image as uint8 (H, W, 3): read (a file when `data` is empty), checked against the pixel limit from its
    header (as `keras_resnet.io.check_image_file` does for the in-memory folder reader), decoded by TensorFlow
    (grayscale, CMYK and palette images become RGB; a GIF's first frame). An unreadable one is recorded in
    `bad` and returned as an empty (0, 0, 3) array: filtered out (skip), or stopping the pipeline (an assertion
    naming it; no exception is raised in here, so TensorFlow prints no Python traceback)."""
    import tensorflow as tf

    try:
        if not data:
            with open(name, "rb") as f:
                data = f.read()
        size = _header_size(name, data)
        if size is not None and size[0] * size[1] * size[2] > _max_pixels():
            raise ValueError(f"more than the limit of {_max_pixels():,} pixels (keras_resnet.io.MAX_IMAGE_PIXELS); "
                             "not decoded")
        image = tf.io.decode_image(data, channels=3, expand_animations=False).numpy()
        if 0 in image.shape:
            raise ValueError("an image of size 0")
        return image
    except (OSError, ValueError, tf.errors.OpError) as e:
        reason = (e.message if isinstance(e, tf.errors.OpError) else str(e)).strip().splitlines()[0]
        reason = reason.split("[Op:")[0].split("}}")[-1].strip() or type(e).__name__
        bad.add(name, reason.rstrip("."))
        return np.zeros((0, 0, 3), np.uint8)


def cache_decision(estimated_bytes: int, budget: int) -> bool:
    """Cache a split in memory only when its decoded images (`estimated_bytes`) fit the `budget` left."""
    return 0 <= estimated_bytes <= budget


def _mean_decoded_bytes(data: StreamingData) -> float:
    """Mean decoded size (H x W x 3 bytes) of the first `HEADER_SAMPLE` training images, from their headers."""
    s = data.splits["train"]
    sizes = []
    if s.kind == "files":
        for p in s.names[:HEADER_SAMPLE]:
            try:
                with open(p, "rb") as f:
                    size = _header_size(str(p), f.read(1 << 16))
            except OSError:
                size = None
            if size:
                sizes.append(size[0] * size[1] * 3)
    else:
        for name, raw, _ in data._examples("train", False, None).take(HEADER_SAMPLE):
            size = _header_size(name.numpy().decode(), raw.numpy())
            if size:
                sizes.append(size[0] * size[1] * 3)
    return float(np.mean(sizes)) if sizes else float(500 * 400 * 3)   # ImageNet's typical photo when unknown


# --------------------------------------------------------------------------------------------- loading
def load_streaming(source: StrPath, *, data_dir: StrPath | None = None, validation_split: float | int | None = None,
                   seed: int = 0, crop: tuple[int, int] = (imagenet.CROP, imagenet.CROP), recipe: str = "imagenet",
                   skip_bad_images: bool = False, cache_budget: int = CACHE_BUDGET,
                   stats: str | None = None) -> StreamingData:
    """ImageNet-like `source` (`STREAMING_HELP`) as StreamingData; nothing is decoded here.

    `crop`: the training / evaluation crop (the model's input size); `recipe`: "imagenet" or "torchvision"
    (its training transform); `stats`: "sample" (1,000 training images) or "imagenet" (the constants; default for
    tfds imagenet2012, else "sample"); `validation_split` as in `data.load` (held out from the end of a shuffled
    file list; not for TFRecords or tfds).
    """
    _check_streaming_args(source, cache_budget, stats)
    h, w = (int(c) for c in crop)
    spec = {"source": str(source), "data_dir": None if data_dir is None else str(data_dir),
            "validation_split": validation_split, "image_size": None, "seed": seed, "recipe": recipe,
            "crop": [h, w], "streaming": True}
    name, class_names, splits, tfds_name = _streaming_splits(source, spec, data_dir, validation_split, seed, recipe)
    data = StreamingData(
        name=name, spec=spec, class_names=class_names, image_shape=(h, w, 3), train=None, test=None,
        num_train=splits["train"].count, num_test=splits["test"].count,
        num_validation=splits["validation"].count if "validation" in splits else 0,
        crop=(h, w), splits=splits, bad=BadImages(skip=bool(skip_bad_images)), cache_budget=int(cache_budget),
        stats_source=stats or ("imagenet" if tfds_name and tfds_name.startswith("imagenet2012") else "sample"),
        tfds_name=tfds_name, data_dir=None if data_dir is None else str(data_dir))
    data.train = data._centre_view("train")
    data.test = data._centre_view("test")
    data.validation = data._centre_view("validation") if "validation" in splits else None
    return data


def _check_streaming_args(source: StrPath, cache_budget: int, stats: str | None) -> None:
    """One clear error for the wrong backend, a bad cache budget or a bad `stats`."""
    if not _tensorflow_backend():
        import keras

        raise ValueError(f"streaming ImageNet-like data ({source!s}) needs the TensorFlow backend for now (tf.data "
                         f"decodes and augments the photos); on the {keras.backend.backend()} backend use "
                         "--backend tensorflow, or an in-memory source (.npz, CIFAR batches, IDX) with --recipe paper")
    if cache_budget is None or isinstance(cache_budget, bool) or cache_budget < 0:
        raise ValueError(f"cache_budget must be a number of bytes >= 0, got {cache_budget!r}")
    if stats not in (None, "sample", "imagenet"):
        raise ValueError(f"stats must be 'sample' or 'imagenet', got {stats!r}")


def _streaming_splits(source: StrPath, spec: dict[str, Any], data_dir: StrPath | None,
                      validation_split: float | int | None, seed: int,
                      recipe: str) -> tuple[str, list[str], dict[str, Split], str | None]:
    """(name, class names, splits, tfds name or None) of a folder tree, TFRecord shards or a tfds name."""
    path = pathlib.Path(str(source)).expanduser()
    if path.is_dir():
        spec["source"] = str(path.resolve())
        if find_cifar_dir(path) is not None or find_idx_files(path) is not None:
            raise ValueError(f"dataset {str(path)!r} holds small in-memory images (CIFAR batches / IDX files), not "
                             f"photos; recipe {recipe!r} reads {STREAMING_HELP}; use --recipe paper for it")
        shards = _shards(path)
        if shards is not None and validation_split:
            raise ValueError(f"validation_split is not available for TFRecord shards ({str(path)!r}); the "
                             "validation-* / test-* shards are the test split")
        class_names, splits = shards if shards is not None else _folder_splits(path, validation_split, seed)
        return path.name, class_names, splits, None
    if path.exists() or str(source).startswith((".", "~", "/", os.sep)) or str(source).endswith(".npz"):
        what = "is an .npz of in-memory images" if path.suffix == ".npz" and path.exists() else "does not exist"
        raise (ValueError if path.exists() else FileNotFoundError)(
            f"dataset {str(path)!r} {what}; recipe {recipe!r} reads {STREAMING_HELP}")
    tfds_name = str(source)
    class_names, splits = _tfds_splits(tfds_name, data_dir)
    if validation_split:
        raise ValueError(f"validation_split is not available for tensorflow-datasets {tfds_name!r} when "
                         "streaming; its validation split is the test split")
    return tfds_name, class_names, splits, tfds_name


def _list_images(root: pathlib.Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(classes, paths, labels) of a folder with one sub-folder of images per class: a listing, nothing opened."""
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise ValueError(f"folder {str(root)!r} has no class sub-folders; expected {STREAMING_HELP}")
    paths, labels, empty = [], [], []
    for i, c in enumerate(classes):
        found = sorted(e.path for e in os.scandir(root / c)
                       if e.is_file() and os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES)
        if not found:
            empty.append(str(root / c))
        paths += found
        labels += [i] * len(found)
    if empty:
        raise empty_class_folders_error(empty)
    return classes, np.array(paths), np.array(labels, np.int64)


def _folder_splits(path: pathlib.Path, validation_split: float | int | None,
                   seed: int) -> tuple[list[str], dict[str, Split]]:
    test_dir = next((path / d for d in TEST_DIRS if (path / d).is_dir()), None)
    classes, parts = split_folder_tree(path, test_dir, _list_images, validation_split, seed, shown=10)
    return classes, {k: Split("files", p, y, len(p)) for k, (p, y) in parts.items()}


def _shards(path: pathlib.Path) -> tuple[list[str], dict[str, Split]] | None:
    """TFRecord shards in `path` (train-* and validation-* / test-*), or None when it holds none."""
    files = sorted(p for p in path.iterdir() if p.is_file() and ("tfrecord" in p.name or "-of-" in p.name))
    train = [p for p in files if p.name.startswith("train")]
    test = [p for p in files if p.name.startswith(("validation", "val", "test"))]
    if not train:
        return None
    if not test:
        raise ValueError(f"folder {str(path)!r} has TFRecord shards train-* but no validation-* or test-* shards")
    label_file = next((path / n for n in LABEL_FILES if (path / n).is_file()), None)
    if label_file is None:
        raise ValueError(f"folder {str(path)!r} holds TFRecord shards but no {' or '.join(LABEL_FILES)} (one class "
                         "name a line, in label order; for shards whose labels start at 1, put a first line such "
                         "as 'background')")
    names = [n.strip() for n in label_file.read_text(encoding="utf-8").splitlines() if n.strip()]
    return names, {"train": Split("tfrecord", np.array([str(p) for p in train]), None, _count_records(train)),
                   "test": Split("tfrecord", np.array([str(p) for p in test]), None, _count_records(test))}


def _count_records(files: list[pathlib.Path]) -> int:
    """Records in TFRecord files, counted from their 12-byte record headers (length + CRC): data is skipped."""
    n = 0
    for p in files:
        size = p.stat().st_size
        with open(p, "rb") as f:
            pos = 0
            while pos < size:
                head = f.read(8)
                if len(head) < 8:
                    raise ValueError(f"TFRecord file {str(p)!r} is truncated at byte {pos}")
                (length,) = struct.unpack("<Q", head)
                pos += 16 + length
                if pos > size:
                    raise ValueError(f"TFRecord file {str(p)!r} is truncated: a record of {length} bytes at byte "
                                     f"{pos - 16 - length} runs past its end ({size} bytes)")
                f.seek(pos)
                n += 1
    return n


def _tfds_splits(name: str, data_dir: StrPath | None) -> tuple[list[str], dict[str, Split]]:
    """The train and validation/test splits of a prepared tfds image-classification dataset (counts from its info)."""
    import tensorflow_datasets as tfds

    builder = tfds_builder(name, data_dir, STREAMING_HELP)
    info = builder.info
    label = info.features["label"] if "label" in info.features else None
    if "image" not in info.features or not isinstance(label, tfds.features.ClassLabel):
        raise ValueError(f"tensorflow-datasets {name!r} has no 'image' and 'label' features; allowed: {STREAMING_HELP}")
    have = list(info.splits.keys())       # empty until prepared (and under tfds.testing.mock_data)
    test = next((s for s in ("validation", "test") if not have or s in have), None)
    root = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
    missing = FileNotFoundError(
        f"tensorflow-datasets {name!r} is not prepared in data_dir={data_dir and str(data_dir)!r} (splits {have}; "
        f"nothing is downloaded at run time): prepare it once with `tfds build {name} --manual_dir "
        f"DIR_WITH_THE_ARCHIVES --data_dir {root}` and pass that data_dir")
    if (have and "train" not in have) or test is None:
        raise missing

    def count(split: str) -> int:
        if split in info.splits and info.splits[split].num_examples:
            return int(info.splits[split].num_examples)
        try:
            ds = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
        except (AssertionError, FileNotFoundError, tfds.core.registered.DatasetNotFoundError):
            raise missing from None
        n = int(ds.cardinality())
        return n if n >= 0 else int(ds.reduce(0, lambda c, _: c + 1))

    return list(label.names), {"train": Split("tfds", np.array(["train"]), None, count("train")),
                               "test": Split("tfds", np.array([test]), None, count(test))}


# ------------------------------------------------------------------------------------------ reporting
class reporting_bad_images:  # noqa: N801  (a context manager, used as `with reporting_bad_images(data):`)
    """Around reading StreamingData: the error of an unreadable image becomes one ValueError naming the file;
    images skipped with `skip_bad_images` are reported (stderr) when the block ends. Other data: nothing."""

    def __init__(self, data: Any) -> None:
        self.bad = getattr(data, "bad", None) if isinstance(data, StreamingData) else None
        self._warnings = warnings.catch_warnings()

    def __enter__(self) -> BadImages | None:
        self._warnings.__enter__()
        if self.bad is not None and self.bad.skip:   # skipping makes the epoch's length unknown: Keras's warning
            warnings.filterwarnings("ignore", message="Your input ran out of data")   # then says nothing useful
        return self.bad

    def __exit__(self, kind: Any, error: Any, tb: Any) -> Literal[False]:
        self._warnings.__exit__(kind, error, tb)
        if self.bad is None:
            return False
        if error is not None and self.bad.fatal is not None and not isinstance(error, KeyboardInterrupt):
            raise self.bad.error() from None
        if error is None and self.bad.seen:
            print(self.bad.summary(), file=sys.stderr)
        return False



def is_imagenet_like(source: Any, probe: int = 16) -> bool:
    """True for a source the ImageNet recipes are for: a folder of TFRecord shards, a tfds ``imagenet*`` name, or
    a folder tree of photos (among the first `probe` images' headers: a shorter side >= 128 px or sizes that
    vary). Reads at most `probe` headers; False for .npz, CIFAR / IDX folders and anything unknown."""
    if not isinstance(source, (str, os.PathLike)):
        return isinstance(source, StreamingData)
    path = pathlib.Path(source).expanduser()
    if not path.exists():
        return not str(source).startswith((".", "~", "/", os.sep)) and str(source).startswith("imagenet")
    if not path.is_dir() or find_cifar_dir(path) is not None or find_idx_files(path) is not None:
        return False
    try:
        if _shards(path) is not None:
            return True
    except ValueError:
        return True       # shards without labels: load_streaming says what is missing
    files = (os.path.join(root, n) for root, _, names in os.walk(path) for n in sorted(names)
             if os.path.splitext(n)[1].lower() in IMAGE_SUFFIXES)
    sizes = set()
    for f in itertools.islice(files, probe):      # a walk stopped early: never the whole tree
        with open(f, "rb") as fh:
            size = _header_size(f, fh.read(1 << 16))
        if size:
            sizes.add(size[:2])
        if len(sizes) > 1 or (size and min(size[:2]) >= 128):
            return True
    return False
