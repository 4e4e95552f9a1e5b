"""Readers for the dataset files of :mod:`keras_resnet.data.sources`: ``.npz``, the official CIFAR-10/100 python
batches, MNIST-style IDX files. Plain numpy; each problem is one ValueError / FileNotFoundError that names
the file, what was found and what is expected."""

from __future__ import annotations

import gzip
import pathlib
import pickle
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .._typing import StrPath

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def read_npz(path: StrPath) -> dict[str, Any]:
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


def find_cifar_dir(path: pathlib.Path) -> pathlib.Path | None:
    """The python-batches folder itself, or its parent holding ``cifar-10(0)-*-py``; else None."""
    for d in [path, *sorted(path.glob("cifar-10*-py"))]:
        if (d / "data_batch_1").exists() or (d / "batches.meta").exists():
            return d
        if (d / "train").is_file() and (d / "test").is_file() and (d / "meta").is_file():
            return d
    return None


# What the official CIFAR python archive's pickles reference: numpy arrays (and their dtypes) inside dicts,
# lists and byte strings; `_codecs.encode` is how protocol-2 pickles written by Python 3 store bytes.
CIFAR_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
}


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles only what a CIFAR batch holds: any other global (os.system, a class...) is refused unrun."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in CIFAR_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it references {module}.{name}, which a CIFAR batch never holds "
                                     "(refused without running it: only numpy arrays, lists, dicts and bytes are "
                                     "unpickled)")


def _unpickle(path: pathlib.Path) -> dict[Any, Any]:
    """One file of the official CIFAR python archive: the only pickle this package reads, and restricted."""
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR python-batches folder {str(path.parent)!r} lacks {path.name!r}; "
                                "expected data_batch_1..5, test_batch, batches.meta (CIFAR-10) or "
                                "train, test, meta (CIFAR-100) from the official python archive")
    try:
        with open(path, "rb") as f:
            obj = _CifarUnpickler(f, encoding="bytes").load()
    except Exception as e:  # noqa: BLE001  UnpicklingError, EOFError, ValueError, ... for a corrupt file
        raise ValueError(f"cannot unpickle CIFAR batch {str(path)!r} ({type(e).__name__}: {e}); "
                         "expected a file of the official python archive") from None
    if not isinstance(obj, dict):
        raise ValueError(f"CIFAR batch {str(path)!r} holds a {type(obj).__name__}, not the dict of the official "
                         "python archive")
    return obj


def _cifar_batch(path: pathlib.Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    d = _unpickle(path)
    try:
        x = np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        y = np.asarray(d[label_key], np.int64)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"CIFAR batch {str(path)!r} is not in the official format (dict with b'data' "
                         f"N x 3072 uint8 and {label_key!r}): {type(e).__name__}: {e}") from None
    return x, y


def read_cifar_dir(d: pathlib.Path) -> dict[str, Any]:
    """The official CIFAR python archive (https://www.cs.toronto.edu/~kriz/cifar.html), extracted."""
    if (d / "train").is_file():  # CIFAR-100: fine labels (100 classes)
        x_train, y_train = _cifar_batch(d / "train", b"fine_labels")
        x_test, y_test = _cifar_batch(d / "test", b"fine_labels")
        names: Any = _unpickle(d / "meta").get(b"fine_label_names")   # unpickled data: checked by use
        return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, y_coarse=None,
                    class_names=[n.decode() for n in names])
    parts = [_cifar_batch(d / f"data_batch_{i}", b"labels") for i in range(1, 6)]
    x_test, y_test = _cifar_batch(d / "test_batch", b"labels")
    names = _unpickle(d / "batches.meta").get(b"label_names")
    return dict(x_train=np.concatenate([p[0] for p in parts]), y_train=np.concatenate([p[1] for p in parts]),
                x_test=x_test, y_test=y_test, class_names=[n.decode() for n in names])


def find_idx_files(path: pathlib.Path) -> dict[str, pathlib.Path] | None:
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


def read_idx(path: pathlib.Path, ndim: int) -> np.ndarray:
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


def read_idx_dir(path: pathlib.Path) -> dict[str, Any]:
    files = find_idx_files(path)
    if files is None:
        raise FileNotFoundError(f"folder {str(path)!r} holds no MNIST-style IDX files "
                                f"{[v + '[.gz]' for v in IDX_FILES.values()]}")
    arrays: dict[str, Any] = {k: read_idx(p, 3 if k.startswith("x") else 1) for k, p in files.items()}
    arrays["class_names"] = known_class_names(path.name, arrays) or [str(i) for i in range(10)]
    return arrays


def known_class_names(name: str, arrays: Mapping[str, Any]) -> list[str] | None:
    """Class names of well-known datasets recognised by file/folder name (when the file has none)."""
    name = name.lower().replace("_", "-")
    known = (FASHION_MNIST_CLASSES if "fashion" in name else
             CIFAR10_CLASSES if name.startswith("cifar10") and not name.startswith("cifar100") else None)
    top = max(int(np.max(arrays["y_train"], initial=0)), int(np.max(arrays["y_test"], initial=0)))
    return known if known is not None and top < len(known) else None
