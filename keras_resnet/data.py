"""Dataset sources and the ``tf.data`` input pipeline (He et al. 2016, §4.2).

Every source becomes one :class:`ImageData`: unbatched ``(uint8 HxWxC image, int64 label)``
datasets for train / validation / test, with the class names in label order. Sources:

* a tensorflow-datasets name (``cifar10``, ``cifar100``, ``fashion_mnist``, ``mnist`` ...), read with
  ``tfds.load(download=False, data_dir=...)``: the data must already be prepared;
* a path to the extracted official CIFAR-10/100 python-batches folder, a folder of MNIST-style IDX files
  (gzipped or not), a folder tree with one sub-folder per class (optionally ``train/`` and ``test/``), or
  an ``.npz`` with ``x_train, y_train, x_test, y_test`` (optional ``class_names``).

:func:`pipeline` batches a split for ``model.fit``; for training it shuffles and applies the paper's
augmentation ("4 pixels are padded on each side, and a 32x32 crop is randomly sampled from the padded
image or its horizontal flip", §4.2), vectorised on whole batches. :func:`normalization_stats` gives the
per-channel mean/std of the training split that the model's preprocessing layers use.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import pathlib
import pickle

import numpy as np

AUTOTUNE = -1  # tf.data.AUTOTUNE
PAD = 4  # paper §4.2: 4 pixels padded on each side
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot"]
EXAMPLE_TFDS = "cifar10, cifar100, fashion_mnist, mnist, svhn_cropped, emnist, kmnist"
SOURCES_HELP = (f"a tensorflow-datasets name (e.g. {EXAMPLE_TFDS}) or a path to: a CIFAR-10/100 "
                "python-batches folder, a folder of MNIST-style IDX files, a folder with one sub-folder "
                "of images per class, or an .npz with x_train, y_train, x_test, y_test")
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


@dataclasses.dataclass
class ImageData:
    """A dataset ready for :func:`pipeline`: unbatched ``(uint8 image, int64 label)`` splits."""

    name: str
    spec: dict
    class_names: list
    image_shape: tuple
    train: object
    test: object
    validation: object = None
    num_train: int = 0
    num_test: int = 0
    num_validation: int = 0
    _stats: dict = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def num_classes(self):
        return len(self.class_names)


# ----------------------------------------------------------------------------------------- load
def load(source, *, data_dir=None, validation_split=None, image_size=None, seed=0) -> ImageData:
    """Load ``source`` (a tfds name or a path, see the module docstring) as :class:`ImageData`.

    ``validation_split``: ``None``, a fraction in (0, 1) or an int count held out from the END of the
    training split (the paper's CIFAR split is 45k/5k: ``validation_split=5000``).
    ``image_size``: ``(H, W)`` to resize every image to (needed for folders of mixed sizes).
    """
    image_size = _check_image_size(image_size)
    spec = {"source": str(source), "data_dir": None if data_dir is None else str(data_dir),
            "validation_split": validation_split,
            "image_size": None if image_size is None else list(image_size), "seed": seed}
    if not isinstance(source, (str, os.PathLike)) or not str(source):
        raise ValueError(f"dataset source must be a non-empty string or path, got {source!r}; "
                         f"allowed: {SOURCES_HELP}")
    path = pathlib.Path(source).expanduser()
    if path.exists():
        if path.is_file():
            if path.suffix != ".npz":
                raise ValueError(f"dataset file {str(path)!r} is not an .npz; allowed: {SOURCES_HELP}")
            arrays = _read_npz(path)
            name = path.stem.replace("_", "-")
            if "class_names" not in arrays and _known_names(name, arrays):
                arrays["class_names"] = _known_names(name, arrays)
        elif _is_cifar_dir(path) is not None:
            arrays = _read_cifar_dir(_is_cifar_dir(path))
            name = "cifar100" if "y_coarse" in arrays else "cifar10"
            arrays.pop("y_coarse", None)
        elif _idx_paths(path) is not None:
            arrays = _read_idx_dir(path)
            name = path.name
        else:
            return _load_folder_tree(path, spec, validation_split, image_size, seed)
        data = from_arrays(**arrays, name=name, validation_split=validation_split, image_size=image_size)
        data.spec = spec
        return data
    if str(source).endswith(".npz") or str(source).startswith((".", "~", "/", os.sep)):
        raise FileNotFoundError(f"dataset path {str(path)!r} does not exist; allowed: {SOURCES_HELP}")
    return _load_tfds(str(source), data_dir, spec, validation_split, image_size)


def from_arrays(x_train, y_train, x_test, y_test, class_names=None, name="arrays",
                validation_split=None, image_size=None) -> ImageData:
    """Wrap in-memory arrays: images ``(N, H, W)`` or ``(N, H, W, C)`` with values 0-255, integer labels."""
    x_train, y_train = _check_split("train", x_train, y_train)
    x_test, y_test = _check_split("test", x_test, y_test)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"train images are {x_train.shape[1:]} but test images are {x_test.shape[1:]}; "
                         "both splits must have the same (H, W, C)")
    num_classes = int(max(y_train.max(initial=-1), y_test.max(initial=-1))) + 1
    if class_names is None:
        class_names = [str(i) for i in range(num_classes)]
    class_names = [str(c) for c in np.asarray(class_names).ravel().tolist()]
    for split, y in (("train", y_train), ("test", y_test)):
        if y.size and y.max() >= len(class_names):
            raise ValueError(f"{split} labels must be in [0, {len(class_names)}) for {len(class_names)} "
                             f"classes, got label {int(y.max())}")
    n_val = _validation_count(validation_split, len(x_train))
    import tensorflow as tf

    def make(x, y):
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        return _resize(ds, image_size) if image_size is not None else ds

    cut = len(x_train) - n_val
    shape = x_train.shape[1:] if image_size is None else (*image_size, x_train.shape[-1])
    return ImageData(
        name=name, spec={"source": name, "data_dir": None, "validation_split": validation_split,
                         "image_size": None if image_size is None else list(image_size)},
        class_names=class_names, image_shape=tuple(int(s) for s in shape),
        train=make(x_train[:cut], y_train[:cut]), test=make(x_test, y_test),
        validation=make(x_train[cut:], y_train[cut:]) if n_val else None,
        num_train=cut, num_test=len(x_test), num_validation=n_val)


def _check_split(split, x, y):
    """Images to uint8 (N, H, W, C), labels to int64 (N,); one clear error for anything else."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 3:
        x = x[..., None]  # grayscale without a channel axis
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4) or 0 in x.shape[1:]:
        raise ValueError(f"x_{split} must be images of shape (N, H, W) or (N, H, W, C) with C in 1, 3, 4; "
                         f"got shape {x.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y_{split} must be integer class labels of shape (N,), got shape {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"x_{split} has {len(x)} images but y_{split} has {len(y)} labels; they must match")
    if len(x) == 0:
        raise ValueError(f"x_{split} is empty; a split needs at least one image")
    if not (np.issubdtype(y.dtype, np.integer) or (np.issubdtype(y.dtype, np.floating)
                                                   and np.all(np.mod(y, 1) == 0))):
        raise ValueError(f"y_{split} must hold integer class labels, got dtype {y.dtype}")
    if y.min() < 0:
        raise ValueError(f"y_{split} labels must be >= 0 (class indices), got {int(y.min())}")
    if x.dtype != np.uint8:
        if not (np.issubdtype(x.dtype, np.number)) or x.min() < 0 or x.max() > 255:
            raise ValueError(f"x_{split} must hold pixel values 0-255 (uint8), got dtype {x.dtype}"
                             + (f" with range [{x.min()}, {x.max()}]" if np.issubdtype(x.dtype, np.number) else ""))
        x = np.round(x).astype(np.uint8)
    return x, y.astype(np.int64)


def _validation_count(validation_split, num_train):
    if validation_split is None or validation_split == 0:
        return 0
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float, np.number)):
        raise ValueError(f"validation_split must be None, a fraction in (0, 1) or an int count, "
                         f"got {validation_split!r}")
    if isinstance(validation_split, (int, np.integer)) or float(validation_split) >= 1:
        if float(validation_split) != int(validation_split):
            raise ValueError(f"validation_split >= 1 must be a whole count, got {validation_split!r}")
        n = int(validation_split)
    elif 0 < validation_split < 1:
        n = int(round(validation_split * num_train))
    else:
        n = -1
    if not 0 < n < num_train:
        raise ValueError(f"validation_split={validation_split!r} must leave 1..{num_train - 1} of the "
                         f"{num_train} training images for validation (a fraction in (0, 1) or a count)")
    return n


def _check_image_size(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)):
        image_size = (image_size, image_size)
    try:
        h, w = (int(s) for s in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"image_size must be None, an int or (height, width), got {image_size!r}") from None
    if h < 1 or w < 1:
        raise ValueError(f"image_size must be positive, got {image_size!r}")
    return h, w


def _resize(ds, image_size):
    import tensorflow as tf

    def resize(x, y):
        x = tf.image.resize(x, image_size, antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8), y
    return ds.map(resize, num_parallel_calls=AUTOTUNE)


# ------------------------------------------------------------------------------------ file formats
def _read_npz(path):
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as e:  # zipfile.BadZipFile, ValueError, OSError, EOFError
        raise ValueError(f"cannot read {str(path)!r} as an .npz ({type(e).__name__}: {e}); expected "
                         "numpy.savez(..., x_train=, y_train=, x_test=, y_test=[, class_names=])") from None
    need = ["x_train", "y_train", "x_test", "y_test"]
    missing = [k for k in need if k not in arrays]
    extra = [k for k in arrays if k not in need + ["class_names"]]
    if missing or extra:
        raise ValueError(f".npz {str(path)!r} has keys {sorted(arrays)}; required {need}, optional "
                         f"['class_names']" + (f"; missing {missing}" if missing else "")
                         + (f"; unexpected {extra}" if extra else ""))
    return arrays


def _is_cifar_dir(path):
    """The python-batches folder itself, or its parent holding ``cifar-10(0)-*-py``; else None."""
    for d in [path, *sorted(path.glob("cifar-10*-py"))]:
        if (d / "data_batch_1").exists() or (d / "batches.meta").exists():
            return d
        if (d / "train").is_file() and (d / "test").is_file() and (d / "meta").is_file():
            return d
    return None


def _unpickle(path):
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR python-batches folder {str(path.parent)!r} lacks {path.name!r}; "
                                "expected data_batch_1..5, test_batch, batches.meta (CIFAR-10) or "
                                "train, test, meta (CIFAR-100) from the official python archive")
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="bytes")
    except Exception as e:
        raise ValueError(f"cannot unpickle CIFAR batch {str(path)!r} ({type(e).__name__}: {e}); "
                         "expected a file of the official python archive") from None


def _cifar_batch(path, label_key):
    d = _unpickle(path)
    try:
        x = np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        y = np.asarray(d[label_key], np.int64)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"CIFAR batch {str(path)!r} is not in the official format (dict with b'data' "
                         f"N x 3072 uint8 and {label_key!r}): {type(e).__name__}: {e}") from None
    return x, y


def _read_cifar_dir(d):
    """The official CIFAR python archive (https://www.cs.toronto.edu/~kriz/cifar.html), extracted."""
    if (d / "train").is_file():  # CIFAR-100: fine labels (100 classes)
        x_train, y_train = _cifar_batch(d / "train", b"fine_labels")
        x_test, y_test = _cifar_batch(d / "test", b"fine_labels")
        names = _unpickle(d / "meta").get(b"fine_label_names")
        return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, y_coarse=None,
                    class_names=[n.decode() for n in names])
    parts = [_cifar_batch(d / f"data_batch_{i}", b"labels") for i in range(1, 6)]
    x_test, y_test = _cifar_batch(d / "test_batch", b"labels")
    names = _unpickle(d / "batches.meta").get(b"label_names")
    return dict(x_train=np.concatenate([p[0] for p in parts]), y_train=np.concatenate([p[1] for p in parts]),
                x_test=x_test, y_test=y_test, class_names=[n.decode() for n in names])


def _idx_paths(path):
    found = {}
    for key, stem in IDX_FILES.items():
        for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
            if (path / name).is_file():
                found[key] = path / name
                break
    if not found:
        return None
    if len(found) < 4:
        missing = [IDX_FILES[k] + "[.gz]" for k in IDX_FILES if k not in found]
        raise FileNotFoundError(f"IDX folder {str(path)!r} lacks {missing}; expected the four MNIST-style "
                                f"files {[v + '[.gz]' for v in IDX_FILES.values()]}")
    return found


def _read_idx(path, ndim):
    """An IDX file (http://yann.lecun.com/exdb/mnist/): magic 0x0000 08 <ndim>, big-endian sizes, uint8."""
    try:
        raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as e:
        raise ValueError(f"cannot read IDX file {str(path)!r} ({type(e).__name__}: {e})") from None
    if len(raw) < 4 + 4 * ndim or raw[:3] != b"\x00\x00\x08" or raw[3] != ndim:
        raise ValueError(f"{str(path)!r} is not a uint8 IDX file with {ndim} dimension(s) "
                         f"(magic {raw[:4].hex() or 'missing'}, expected 000008{ndim:02x})")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", ndim, 4))
    body = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"IDX file {str(path)!r} is truncated or corrupt: header says shape {shape} "
                         f"({int(np.prod(shape))} bytes) but it holds {body.size} bytes")
    return body.reshape(shape)


def _read_idx_dir(path):
    files = _idx_paths(path)
    arrays = {k: _read_idx(p, 3 if k.startswith("x") else 1) for k, p in files.items()}
    arrays["class_names"] = _known_names(path.name, arrays) or [str(i) for i in range(10)]
    return arrays


def _known_names(name, arrays):
    """Class names of well-known datasets recognised by file/folder name (when the file has none)."""
    name = name.lower().replace("_", "-")
    known = (FASHION_MNIST_CLASSES if "fashion" in name else
             CIFAR10_CLASSES if name.startswith("cifar10") and not name.startswith("cifar100") else None)
    top = max(int(np.max(arrays["y_train"], initial=0)), int(np.max(arrays["y_test"], initial=0)))
    return known if known is not None and top < len(known) else None


# ----------------------------------------------------------------------------------- folder trees
def _load_folder_tree(path, spec, validation_split, image_size, seed):
    """One sub-folder of images per class (``train/`` + ``test/`` if present, else a seeded 80/20 split)."""
    import keras
    import tensorflow as tf

    def index(root):
        classes = sorted(p.name for p in root.iterdir() if p.is_dir())
        if not classes:
            raise ValueError(f"folder {str(root)!r} has no class sub-folders; expected one sub-folder of "
                             f"images per class; allowed sources: {SOURCES_HELP}")
        try:
            paths = list(keras.utils.image_dataset_from_directory(
                root, labels="inferred", batch_size=None, shuffle=False, verbose=False).file_paths)
        except ValueError:  # keras: "No images found in directory ..."
            paths = []
        if not paths:
            raise ValueError(f"folder {str(root)!r} has class sub-folders {classes[:10]} but no images "
                             "(.png, .jpg, .jpeg, .bmp, .gif) in them")
        labels = [classes.index(pathlib.Path(p).parent.name) for p in paths]
        return classes, np.array(paths), np.array(labels, np.int64)

    rng = np.random.default_rng(seed)
    if (path / "train").is_dir() and (path / "test").is_dir():
        classes, p_train, y_train = index(path / "train")
        test_classes, p_test, y_test = index(path / "test")
        if test_classes != classes:
            raise ValueError(f"train classes {classes} and test classes {test_classes} differ in {str(path)!r}")
    else:
        classes, paths, labels = index(path)
        order = rng.permutation(len(paths))
        n_test = max(1, int(round(0.2 * len(paths))))
        if len(paths) < 2:
            raise ValueError(f"folder {str(path)!r} has {len(paths)} image; need at least 2 to split train/test")
        p_test, y_test = paths[order[:n_test]], labels[order[:n_test]]
        p_train, y_train = paths[order[n_test:]], labels[order[n_test:]]
    order = rng.permutation(len(p_train))  # mix classes before holding out the end for validation
    p_train, y_train = p_train[order], y_train[order]

    first = tf.io.decode_image(tf.io.read_file(p_train[0]), expand_animations=False)
    channels = 1 if first.shape[-1] == 1 else 3
    size = tuple(image_size or first.shape[:2])

    def decode(p, y):
        x = tf.io.decode_image(tf.io.read_file(p), channels=channels, expand_animations=False)
        x = tf.image.resize(x, size, antialias=True) if image_size is not None else \
            tf.image.resize_with_crop_or_pad(x, *size)
        x = tf.cast(tf.clip_by_value(tf.round(tf.cast(x, tf.float32)), 0, 255), tf.uint8)
        return tf.ensure_shape(x, (*size, channels)), y

    def make(p, y):
        return tf.data.Dataset.from_tensor_slices((p, y)).map(decode, num_parallel_calls=AUTOTUNE)

    n_val = _validation_count(validation_split, len(p_train))
    cut = len(p_train) - n_val
    return ImageData(name=path.name, spec=spec, class_names=classes, image_shape=(*size, channels),
                     train=make(p_train[:cut], y_train[:cut]), test=make(p_test, y_test),
                     validation=make(p_train[cut:], y_train[cut:]) if n_val else None,
                     num_train=cut, num_test=len(p_test), num_validation=n_val)


# ------------------------------------------------------------------------------------------ tfds
def _load_tfds(name, data_dir, spec, validation_split, image_size):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(f"unknown dataset {name!r}: not an existing path and not a tensorflow-datasets "
                         f"name; allowed: {SOURCES_HELP}") from None
    info = builder.info
    keys = info.supervised_keys
    label = info.features[keys[1]] if keys and keys[1] in info.features else None
    image = info.features[keys[0]] if keys and keys[0] in info.features else None
    if not isinstance(label, tfds.features.ClassLabel) or not isinstance(image, tfds.features.Image):
        raise ValueError(f"tensorflow-datasets {name!r} is not an image-classification dataset "
                         f"(supervised keys {keys}); allowed: {SOURCES_HELP}")
    splits = ["train", "test"]
    try:
        train, test = tfds.load(name, split=splits, as_supervised=True, download=False, data_dir=data_dir,
                                shuffle_files=False)
    except (AssertionError, FileNotFoundError, tfds.core.registered.DatasetNotFoundError):
        root = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
        raise FileNotFoundError(
            f"tensorflow-datasets {name!r} is not prepared in data_dir={data_dir and str(data_dir)!r} (no data in "
            f"{str(builder.data_dir)!r}; nothing is downloaded at run time): prepare it once with "
            f"`tfds build {name} --data_dir {root}` where there is network and pass that data_dir, or pass "
            f"a path to the extracted official archive / an .npz instead") from None
    except ValueError as e:  # e.g. no 'test' split
        raise ValueError(f"tensorflow-datasets {name!r} needs 'train' and 'test' splits, it has "
                         f"{sorted(info.splits.keys())}: {e}") from None
    shape = image.shape
    if image_size is None and None in shape[:2]:
        raise ValueError(f"tensorflow-datasets {name!r} has images of varying size {shape}; pass "
                         "image_size=(H, W)")
    if image_size is not None:
        train, test = _resize(train, image_size), _resize(test, image_size)
    cast = lambda x, y: (x, tf.cast(y, tf.int64))  # noqa: E731
    train, test = train.map(cast), test.map(cast)
    num_train, num_test = _count(train, info, "train"), _count(test, info, "test")
    n_val = _validation_count(validation_split, num_train)
    cut = num_train - n_val
    return ImageData(name=name, spec=spec, class_names=list(label.names),
                     image_shape=(*(image_size or shape[:2]), shape[2]),
                     train=train.take(cut), test=test, validation=train.skip(cut) if n_val else None,
                     num_train=cut, num_test=num_test, num_validation=n_val)


def _count(ds, info, split):
    n = int(ds.cardinality())
    if n >= 0:
        return n
    if split in info.splits and info.splits[split].num_examples:
        return int(info.splits[split].num_examples)
    return int(ds.reduce(np.int64(0), lambda c, _: c + 1))


# -------------------------------------------------------------------------------------- pipeline
def augment_batch(images, seed):
    """The paper's augmentation on a batch (§4.2): zero-pad 4 pixels, random HxW crop, random h-flip.

    Vectorised: each image gets its own crop offset and flip, done as one gather of row and column
    indices into the padded batch (no per-image ops). ``seed`` is a stateless seed of shape (2,).
    """
    import tensorflow as tf

    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    padded = tf.pad(images, [[0, 0], [PAD, PAD], [PAD, PAD], [0, 0]])
    seeds = tf.random.experimental.stateless_split(seed, 3)
    dy = tf.random.stateless_uniform([b], seeds[0], 0, 2 * PAD + 1, tf.int32)
    dx = tf.random.stateless_uniform([b], seeds[1], 0, 2 * PAD + 1, tf.int32)
    flip = tf.random.stateless_uniform([b], seeds[2], 0, 2, tf.int32) > 0
    rows = dy[:, None] + tf.range(h)[None]
    cols = tf.range(w)[None]
    cols = dx[:, None] + tf.where(flip[:, None], w - 1 - cols, cols)
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(out, cols, axis=2, batch_dims=1)


def pipeline(ds, *, batch_size, training, augment=False, cache=True, seed=None, drop_remainder=False):
    """Batch an unbatched ``(uint8 image, label)`` split for ``fit``/``evaluate``.

    training: cache, shuffle (reshuffled each epoch), batch, augment (if ``augment``), float32, prefetch.
    Otherwise: cache, batch, float32, prefetch. Images stay in 0-255 (the model rescales them).
    """
    import tensorflow as tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if cache:
        ds = ds.cache()
    if training:
        n = int(ds.cardinality())
        ds = ds.shuffle(min(n, 50_000) if n > 0 else 10_000, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)
    to_float = lambda x, y: (tf.cast(x, tf.float32), y)  # noqa: E731
    if training and augment:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds).map(lambda b, s: to_float(augment_batch(b[0], s), b[1]),
                                                num_parallel_calls=AUTOTUNE)
    else:
        ds = ds.map(to_float, num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


def normalization_stats(data: ImageData) -> dict:
    """Per-channel mean and std (population, 0..1 units) of the training split, for ``preprocessing``."""
    if data._stats is None:
        import tensorflow as tf

        def sums(x, _):
            x = tf.cast(x, tf.float64) / 255.0
            return tf.stack([tf.reduce_sum(x, [0, 1, 2]), tf.reduce_sum(x * x, [0, 1, 2])])

        total = data.train.batch(1024).map(sums, num_parallel_calls=AUTOTUNE).reduce(
            tf.zeros([2, data.image_shape[-1]], tf.float64), lambda a, b: a + b).numpy()
        n = data.num_train * data.image_shape[0] * data.image_shape[1]
        mean = total[0] / n
        std = np.sqrt(np.maximum(total[1] / n - mean ** 2, 0.0))
        data._stats = {"scale": 1 / 255, "mean": mean.tolist(), "std": std.tolist()}
    return dict(data._stats)


def default_augment(data: ImageData) -> bool:
    """The paper's pad-and-crop + flip is on by default for CIFAR-like data: 32x32 colour images."""
    return tuple(data.image_shape) == (32, 32, 3)
