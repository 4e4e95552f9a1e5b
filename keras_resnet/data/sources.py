"""Dataset sources (He et al. 2016, §4.2): tfds, CIFAR batches, IDX, folder trees, .npz, arrays.

Every source becomes one :class:`ImageData`: unbatched ``(uint8 HxWxC image, int64 label)``
datasets for train / validation / test, with the class names in label order. Sources:

* a tensorflow-datasets name (``cifar10``, ``cifar100``, ``fashion_mnist``, ``mnist`` ...), read with
  ``tfds.load(download=False, data_dir=...)``: the data must already be prepared;
* a path to the extracted official CIFAR-10/100 python-batches folder, a folder of MNIST-style IDX files
  (gzipped or not), a folder tree with one sub-folder per class (optionally ``train/`` and ``test/``), or
  an ``.npz`` with ``x_train, y_train, x_test, y_test`` (optional ``class_names``).

The batched input pipeline (the paper's augmentation) and the normalisation statistics are in
:mod:`keras_resnet.data.pipeline`; the file readers (.npz, CIFAR batches, IDX) in :mod:`keras_resnet.data.files`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..runtime import require_tensorflow
from .files import find_cifar_dir, find_idx_files, known_class_names, read_cifar_dir, read_idx_dir, read_npz

if TYPE_CHECKING:
    import numpy.typing as npt
    import tensorflow as tf

    from .._typing import DatasetSource, StrPath


AUTOTUNE = -1  # tf.data.AUTOTUNE
EXAMPLE_TFDS = "cifar10, cifar100, fashion_mnist, mnist, svhn_cropped, emnist, kmnist"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")  # what image_dataset_from_directory indexes
SOURCES_HELP = (f"a tensorflow-datasets name (e.g. {EXAMPLE_TFDS}) or a path to: a CIFAR-10/100 "
                "python-batches folder, a folder of MNIST-style IDX files, a folder with one sub-folder "
                "of images per class, or an .npz with x_train, y_train, x_test, y_test")


@dataclasses.dataclass
class ImageData:
    """A dataset ready for :func:`keras_resnet.data.pipeline`: unbatched ``(uint8 image, int64 label)`` splits."""

    name: str
    spec: dict[str, Any]
    class_names: list[str]
    image_shape: tuple[int, ...]                    # (H, W, C)
    train: tf.data.Dataset | None                   # None on the JAX / PyTorch backends (see `arrays`)
    test: tf.data.Dataset | None
    validation: tf.data.Dataset | None = None
    num_train: int = 0
    num_test: int = 0
    num_validation: int = 0
    _stats: dict[str, Any] | None = dataclasses.field(default=None, repr=False, compare=False)
    # In-memory sources (.npz, CIFAR batches, IDX, arrays) also keep their uint8 arrays: x_train, y_train, x_val,
    # y_val, x_test, y_test. On Keras's JAX and PyTorch backends these are all there is (train/test are None):
    # keras_resnet.data.batches feeds them to fit without TensorFlow.
    arrays: dict[str, np.ndarray] | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


# ----------------------------------------------------------------------------------------- load
def load(source: StrPath, *, data_dir: StrPath | None = None, validation_split: float | int | None = None,
         image_size: int | Sequence[int] | None = None, seed: int = 0) -> ImageData:
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
        spec["source"] = str(path.resolve())  # reloadable from any working directory
        arrays: dict[str, Any]
        if path.is_file():
            if path.suffix != ".npz":
                raise ValueError(f"dataset file {str(path)!r} is not an .npz; allowed: {SOURCES_HELP}")
            arrays = read_npz(path)
            name = path.stem.replace("_", "-")
        elif (cifar_dir := find_cifar_dir(path)) is not None:
            arrays = read_cifar_dir(cifar_dir)
            name = "cifar100" if "y_coarse" in arrays else "cifar10"
            arrays.pop("y_coarse", None)
        elif find_idx_files(path) is not None:
            arrays = read_idx_dir(path)
            name = path.name
        else:
            require_tensorflow(f"dataset {str(path)!r} (an image folder, read through tf.data)")
            with naming_undecodable_images(path):
                return _load_folder_tree(path, spec, validation_split, image_size, seed)
        try:   # the arrays' checks (from_arrays) name the dataset file: the one place they are validated
            if path.is_file() and "class_names" not in arrays and known_class_names(name, arrays):
                arrays["class_names"] = known_class_names(name, arrays)
            data = from_arrays(**arrays, name=name, validation_split=validation_split, image_size=image_size)
        except (ValueError, TypeError) as e:   # TypeError: numpy on arrays of strings, objects, ...
            raise ValueError(f"dataset {str(path)!r}: {e}") from None
        data.spec = spec
        return data
    if str(source).endswith(".npz") or str(source).startswith((".", "~", "/", os.sep)):
        raise FileNotFoundError(f"dataset path {str(path)!r} does not exist; allowed: {SOURCES_HELP}")
    require_tensorflow(f"dataset {str(source)!r} (a tensorflow-datasets name)")
    return _load_tfds(str(source), data_dir, spec, validation_split, image_size)


def from_arrays(x_train: npt.ArrayLike, y_train: npt.ArrayLike, x_test: npt.ArrayLike, y_test: npt.ArrayLike,
                class_names: Sequence[str] | npt.ArrayLike | None = None, name: str = "arrays",
                validation_split: float | int | None = None, image_size: Sequence[int] | None = None) -> ImageData:
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
    cut = len(x_train) - n_val
    shape = x_train.shape[1:] if image_size is None else (*image_size, x_train.shape[-1])
    arrays = {"x_train": x_train[:cut], "y_train": y_train[:cut], "x_val": x_train[cut:], "y_val": y_train[cut:],
              "x_test": x_test, "y_test": y_test}
    spec = {"source": name, "data_dir": None, "validation_split": validation_split,
            "image_size": None if image_size is None else list(image_size)}
    common: dict[str, Any] = dict(name=name, spec=spec, class_names=class_names,
                                  image_shape=tuple(int(s) for s in shape), num_train=cut, num_test=len(x_test),
                                  num_validation=n_val)
    if not _tensorflow_backend():     # JAX / PyTorch: arrays only, no TensorFlow (data.batches feeds fit)
        if image_size is not None:
            arrays = {k: resize_arrays(v, image_size) if k.startswith("x") else v for k, v in arrays.items()}
        return ImageData(**common, train=None, test=None, arrays=arrays)
    import tensorflow as tf

    def make(x, y):
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        return _resize(ds, image_size) if image_size is not None else ds

    return ImageData(**common, train=make(arrays["x_train"], arrays["y_train"]),
                     test=make(x_test, y_test), validation=make(arrays["x_val"], arrays["y_val"]) if n_val else None,
                     arrays=None if image_size is not None else arrays)


def _tensorflow_backend() -> bool:
    """True when Keras runs on TensorFlow (then the splits are tf.data pipelines as well as arrays)."""
    import keras

    return keras.backend.backend() == "tensorflow"


def resize_arrays(x: np.ndarray, image_size: Sequence[int], chunk: int = 1024) -> np.ndarray:
    """uint8 images (N, H, W, C) resized with `keras.ops.image.resize` (bilinear, antialiased), rounded to uint8:
    `resize_images` for the backends without TensorFlow (values may differ from TensorFlow's by one grey level)."""
    import keras

    out = [np.asarray(keras.ops.convert_to_numpy(keras.ops.image.resize(
        x[i:i + chunk].astype("float32"), tuple(image_size), antialias=True)))
        for i in range(0, len(x), chunk)]
    return np.clip(np.round(np.concatenate(out)), 0, 255).astype(np.uint8)


def _check_split(split: str, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
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
        real = np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
        if not real or not np.isfinite(x).all() or x.min() < 0 or x.max() > 255:
            raise ValueError(f"x_{split} must hold pixel values 0-255 (uint8), got dtype {x.dtype}"
                             + (f" with range [{x.min()}, {x.max()}]" if np.issubdtype(x.dtype, np.number) else ""))
        x = np.round(x).astype(np.uint8)
    return x, y.astype(np.int64)


def _validation_count(validation_split: float | int | None, num_train: int) -> int:
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


def _check_image_size(image_size: int | Sequence[int] | None) -> tuple[int, int] | None:
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


def resize_images(x: Any, image_size: Sequence[int]) -> tf.Tensor:
    """Image(s) [..., H, W, C] resized to `image_size` (antialiased), rounded back to uint8 0-255: how `load(...,
    image_size=...)` resizes, and how the experiments show a model images of another size."""
    import tensorflow as tf

    x = tf.image.resize(x, image_size, antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)


def _resize(ds: tf.data.Dataset, image_size: Sequence[int]) -> tf.data.Dataset:
    return ds.map(lambda x, y: (resize_images(x, image_size), y), num_parallel_calls=AUTOTUNE)



# ----------------------------------------------------------------------------------- folder trees
Listing = tuple[list[str], np.ndarray, np.ndarray]   # (class names, image paths, int64 labels) of a folder tree


def _load_folder_tree(path: pathlib.Path, spec: dict[str, Any], validation_split: float | int | None,
                      image_size: tuple[int, int] | None, seed: int) -> ImageData:
    """One sub-folder of images per class (``train/`` + ``test/`` if present, else a seeded 80/20 split).

    Every image's size is checked from its header (``keras_resnet.io.check_image_file``, the 50 MP limit of
    ``load_image``) as the folder is indexed: ``tf.io.decode_image`` has no limit of its own.
    """
    import tensorflow as tf

    test_dir = path / "test" if (path / "test").is_dir() else None
    classes, parts = split_folder_tree(path, test_dir, _index_class_folders, validation_split, seed)
    first = tf.io.decode_image(tf.io.read_file(parts["train"][0][0]), expand_animations=False)
    channels = 1 if first.shape[-1] == 1 else 3
    size = tuple(image_size or first.shape[:2])

    def make(paths: np.ndarray, labels: np.ndarray) -> tf.data.Dataset:
        return _decoded_images(paths, labels, channels, size, resize=image_size is not None)

    n_val = len(parts["validation"][0]) if "validation" in parts else 0
    return ImageData(name=path.name, spec=spec, class_names=classes, image_shape=(*size, channels),
                     train=make(*parts["train"]), test=make(*parts["test"]),
                     validation=make(*parts["validation"]) if n_val else None,
                     num_train=len(parts["train"][0]), num_test=len(parts["test"][0]), num_validation=n_val)


def _index_class_folders(root: pathlib.Path) -> Listing:
    """The images under `root` (one sub-folder per class) as Keras indexes them, each header checked."""
    import keras

    from ..io import check_image_file

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
                         f"({', '.join(IMAGE_SUFFIXES)}) in them")
    for p in paths:   # each image's header, under the package's pixel limit, before TensorFlow decodes it
        check_image_file(p)
    labels = [classes.index(pathlib.Path(p).parent.name) for p in paths]
    empty = [str(root / c) for i, c in enumerate(classes) if i not in set(labels)]
    if empty:   # a class without images would be a class the model never sees
        raise empty_class_folders_error(empty)
    return classes, np.array(paths), np.array(labels, np.int64)


def empty_class_folders_error(empty: Sequence[str]) -> ValueError:
    """The error for class folders without images (each would be a class the model never sees)."""
    return ValueError(f"class folder(s) {', '.join(repr(e) for e in empty[:5])}"
                      f"{f' and {len(empty) - 5} more' if len(empty) > 5 else ''} hold no images "
                      f"({', '.join(IMAGE_SUFFIXES)}); add images or remove the folder")


def split_folder_tree(path: pathlib.Path, test_dir: pathlib.Path | None, index: Callable[[pathlib.Path], Listing],
                      validation_split: float | int | None, seed: int,
                      shown: int | None = None) -> tuple[list[str], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """(classes, {"train", "test"[, "validation"]: (paths, labels)}) of a folder tree listed by `index`.

    ``path/train`` and `test_dir` when both exist, else a seeded 80/20 split of `path`; the training files
    are shuffled (seeded) before the end is held out for validation. `shown`: how many class names a
    train/test mismatch error lists (None: all).
    """
    rng = np.random.default_rng(seed)
    if (path / "train").is_dir() and test_dir is not None:
        classes, p_train, y_train = index(path / "train")
        test_classes, p_test, y_test = index(test_dir)
        if test_classes != classes:
            raise ValueError(f"train classes {classes[:shown]} and {test_dir.name} classes {test_classes[:shown]} "
                             f"differ in {str(path)!r}")
    else:
        classes, paths, labels = index(path)
        if len(paths) < 2:
            raise ValueError(f"folder {str(path)!r} has {len(paths)} image; need at least 2 to split train/test")
        order = rng.permutation(len(paths))
        n_test = max(1, int(round(0.2 * len(paths))))  # no train/ + test/: hold out 20 % for test
        p_test, y_test = paths[order[:n_test]], labels[order[:n_test]]
        p_train, y_train = paths[order[n_test:]], labels[order[n_test:]]
    order = rng.permutation(len(p_train))  # mix classes before holding out the end for validation
    p_train, y_train = p_train[order], y_train[order]
    cut = len(p_train) - _validation_count(validation_split, len(p_train))
    parts = {"train": (p_train[:cut], y_train[:cut]), "test": (p_test, y_test)}
    if cut < len(p_train):
        parts["validation"] = (p_train[cut:], y_train[cut:])
    return classes, parts


def _decoded_images(paths: np.ndarray, labels: np.ndarray, channels: int, size: Sequence[int],
                    resize: bool) -> tf.data.Dataset:
    """(uint8 image of `size` x `channels`, label) read and decoded as needed: resized, or cropped/padded."""
    import tensorflow as tf

    def decode(p, y):
        x = tf.io.decode_image(tf.io.read_file(p), channels=channels, expand_animations=False)
        x = tf.image.resize(x, size, antialias=True) if resize else tf.image.resize_with_crop_or_pad(x, *size)
        x = tf.cast(tf.clip_by_value(tf.round(tf.cast(x, tf.float32)), 0, 255), tf.uint8)
        return tf.ensure_shape(x, (*size, channels)), y

    return tf.data.Dataset.from_tensor_slices((paths, labels)).map(decode, num_parallel_calls=AUTOTUNE)


def undecodable_images(source: DatasetSource) -> list[tuple[str, str]]:
    """``(path, reason)`` for every image file under the folder tree ``source`` that TensorFlow cannot decode.

    Empty for anything that is not a folder tree (tfds names, .npz, CIFAR or IDX folders, ImageData).
    """
    import tensorflow as tf

    if not isinstance(source, (str, os.PathLike)):
        return []
    path = pathlib.Path(source).expanduser()
    if not path.is_dir() or find_cifar_dir(path) is not None or find_idx_files(path) is not None:
        return []
    bad = []
    for f in sorted(path.rglob("*")):
        if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file():
            try:
                tf.io.decode_image(tf.io.read_file(str(f)), expand_animations=False)
            except tf.errors.OpError as e:
                reason = re.sub(r"\{\{.*?\}\}|\[Op:.*$", "", e.message.strip().splitlines()[0]).strip()
                bad.append((str(f), reason))
    return bad


@contextlib.contextmanager
def naming_undecodable_images(source: DatasetSource) -> Iterator[None]:
    """Turn TensorFlow's decode error while reading a folder tree into one ValueError naming the bad files.

    tf.data reports only "Invalid PNG"/"Invalid JPEG data" at the op that failed; on that error the
    tree is re-scanned (only then, so a healthy dataset pays nothing) to say which files and why.
    """
    try:
        yield
    except Exception as e:    # only TensorFlow's decode error, and without importing TensorFlow ourselves
        tf = sys.modules.get("tensorflow")
        if tf is None or not isinstance(e, tf.errors.InvalidArgumentError):
            raise
        bad = undecodable_images(source)
        if not bad:
            raise
        shown = "; ".join(f"{p} ({why})" for p, why in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ValueError(f"{len(bad)} image file(s) in dataset {str(source)!r} cannot be decoded: {shown}{more}. "
                         f"Replace or delete them (allowed: readable {', '.join(IMAGE_SUFFIXES)}).") from None


# ------------------------------------------------------------------------------------------ tfds
def tfds_builder(name: str, data_dir: StrPath | None, allowed: str) -> Any:
    """tensorflow-datasets' builder of `name`; an unknown name is one ValueError listing the `allowed` sources."""
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(f"unknown dataset {name!r}: not an existing path and not a tensorflow-datasets name; "
                         f"allowed: {allowed}") from None


def _load_tfds(name: str, data_dir: StrPath | None, spec: dict[str, Any], validation_split: float | int | None,
               image_size: tuple[int, int] | None) -> ImageData:
    import tensorflow as tf
    import tensorflow_datasets as tfds

    builder = tfds_builder(name, data_dir, SOURCES_HELP)
    info = builder.info
    keys = info.supervised_keys
    label = info.features[keys[1]] if keys and keys[1] in info.features else None
    image = info.features[keys[0]] if keys and keys[0] in info.features else None
    if not isinstance(label, tfds.features.ClassLabel) or not isinstance(image, tfds.features.Image):
        raise ValueError(f"tensorflow-datasets {name!r} is not an image-classification dataset "
                         f"(supervised keys {keys}); allowed: {SOURCES_HELP}")
    have = list(info.splits.keys())  # empty until prepared (and under tfds.testing.mock_data)
    test_split = next((s for s in ("test", "validation") if not have or s in have), None)
    if (have and "train" not in have) or test_split is None:
        raise ValueError(f"tensorflow-datasets {name!r} has splits {have}; need 'train' and 'test' (or "
                         "'validation'); use an .npz or a folder tree for other layouts")
    try:
        train, test = tfds.load(name, split=["train", test_split], as_supervised=True, download=False,
                                data_dir=data_dir, shuffle_files=False)
    except (AssertionError, FileNotFoundError, tfds.core.registered.DatasetNotFoundError):
        root = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
        raise FileNotFoundError(
            f"tensorflow-datasets {name!r} is not prepared in data_dir={data_dir and str(data_dir)!r} "
            f"(no data in {str(builder.data_dir)!r}; nothing is downloaded at run time): prepare it once with "
            f"`tfds build {name} --data_dir {root}` where there is network and pass that data_dir, or pass "
            f"a path to the extracted official archive / an .npz instead") from None
    shape = image.shape
    if image_size is None and None in shape[:2]:
        raise ValueError(f"tensorflow-datasets {name!r} has images of varying size {shape}; pass "
                         "image_size=(H, W)")
    if image_size is not None:
        train, test = _resize(train, image_size), _resize(test, image_size)
    cast = lambda x, y: (x, tf.cast(y, tf.int64))  # noqa: E731
    train, test = train.map(cast), test.map(cast)
    num_train, num_test = _count(train, info, "train"), _count(test, info, test_split)
    n_val = _validation_count(validation_split, num_train)
    cut = num_train - n_val
    return ImageData(name=name, spec=spec, class_names=list(label.names),
                     image_shape=(*(image_size or shape[:2]), shape[2]),
                     train=train.take(cut), test=test, validation=train.skip(cut) if n_val else None,
                     num_train=cut, num_test=num_test, num_validation=n_val)


def _count(ds: tf.data.Dataset, info: Any, split: str) -> int:
    n = int(ds.cardinality())
    if n >= 0:
        return n
    if split in info.splits and info.splits[split].num_examples:
        return int(info.splits[split].num_examples)
    return int(ds.reduce(np.int64(0), lambda c, _: c + 1))
