"""Readers for the dataset files of :mod:`keras_resnet.data.sources`: ``.npz``, the official CIFAR-10/100 python
batches, MNIST-style IDX files. Plain numpy; each problem is one ValueError / FileNotFoundError that names
the file, what was found and what is expected."""

from __future__ import annotations

import gzip
import io
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


# The CIFAR layout (https://www.cs.toronto.edu/~kriz/cifar.html): batches of N x 3072 uint8 images (N = 10,000
# per CIFAR-10 file and CIFAR-100 test, 50,000 in CIFAR-100 train) with a list of N labels; meta files of names.
CIFAR_PIXELS = 3072
CIFAR_MAX_IMAGES = 50_000
CIFAR_MAX_BYTES = 200 << 20            # the largest official file (CIFAR-100 train) is 155 MB
_INTEGER_DTYPES = {"u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8"}

# What the official archive's pickles reference: numpy's array reconstruction and dtypes inside dicts, lists and
# byte strings. Arrays written by Python 3 / numpy 2 name numpy._core; `_codecs.encode` (latin-1) is how protocol-2
# pickles written by Python 3 store bytes, `_frombuffer` how protocol 5 stores an array, `scalar` a numpy int.
CIFAR_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
}


class _Refused(pickle.UnpicklingError):
    pass


def _dtype_of(d: Any) -> np.dtype:
    """A dtype the layout allows (plain integers; the images are uint8), from a `_Dtype` or a numpy dtype."""
    d = d.dtype if isinstance(d, _Dtype) else d
    if not isinstance(d, np.dtype) or d.fields is not None or d.subdtype is not None or \
            f"{d.kind}{d.itemsize}" not in _INTEGER_DTYPES:
        raise _Refused(f"an array of dtype {d!r}, which a CIFAR batch never holds (uint8 images, integer labels)")
    return d


def _check_array(shape: Any, dtype: np.dtype, nbytes: int | None = None) -> tuple[int, ...]:
    """The CIFAR layout, checked before an array is made: N x 3072 uint8 images or N integer labels, N <= 50,000,
    and (when `nbytes` is given) exactly the bytes the file holds for it: nothing is allocated that is not there."""
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise _Refused(f"an array of shape {str(shape)[:60]}, not a shape")
    ok = (len(shape) == 2 and shape[0] <= CIFAR_MAX_IMAGES and shape[1] == CIFAR_PIXELS and dtype == np.uint8) or \
         (len(shape) == 1 and shape[0] <= CIFAR_MAX_IMAGES)
    if not ok:
        raise _Refused(f"an array of shape {shape} and dtype {dtype}; the CIFAR layout is N x {CIFAR_PIXELS} uint8 "
                       f"images and N labels, N at most {CIFAR_MAX_IMAGES:,}")
    if nbytes is not None and nbytes != int(np.prod(shape)) * dtype.itemsize:
        raise _Refused(f"an array of shape {shape} ({dtype}) whose data is {nbytes:,} bytes, not "
                       f"{int(np.prod(shape)) * dtype.itemsize:,}")
    return shape


class _Dtype:
    """numpy.dtype(name, align, copy) as pickled: checked, and its pickled state (byte order only) applied."""

    def __init__(self, name: Any, *args: Any) -> None:
        if not isinstance(name, str) or name.lstrip("<>|=") not in _INTEGER_DTYPES:
            raise _Refused(f"a dtype {str(name)[:40]!r}, which a CIFAR batch never holds")
        self.dtype = np.dtype(name)

    def __setstate__(self, state: Any) -> None:
        if not (isinstance(state, tuple) and len(state) >= 5 and state[1] in ("<", ">", "|", "=")
                and state[2:5] == (None, None, None)):
            raise _Refused("a dtype with fields or sub-arrays, which a CIFAR batch never holds")
        self.dtype = self.dtype.newbyteorder(state[1]) if state[1] != "|" else self.dtype


class _Array:
    """numpy's `_reconstruct(ndarray, (0,), b'b')` as pickled: an empty stand-in whose `__setstate__` (the
    pickle's BUILD) checks shape, dtype and the size of the byte string before the array is made from them."""

    def __init__(self, cls: Any, shape: Any, *args: Any) -> None:
        if cls is not np.ndarray or shape not in ((0,), [0]):
            raise _Refused(f"_reconstruct({getattr(cls, '__name__', cls)}, {str(shape)[:40]}), not how numpy "
                           "pickles an array")
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not (isinstance(state, tuple) and len(state) == 5):
            raise _Refused("an array state that is not numpy's (version, shape, dtype, fortran, data)")
        _, shape, dtype, fortran, raw = state
        dtype = _dtype_of(dtype)
        if not isinstance(raw, bytes):
            raise _Refused(f"array data of type {type(raw).__name__}, not bytes")
        shape = _check_array(tuple(shape) if isinstance(shape, (tuple, list)) else shape, dtype, len(raw))
        self.array = np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C").copy()


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any = "C") -> np.ndarray:
    dtype = _dtype_of(dtype)
    if not isinstance(buf, (bytes, bytearray)):
        raise _Refused(f"array data of type {type(buf).__name__}, not bytes")
    shape = _check_array(tuple(shape) if isinstance(shape, (tuple, list)) else shape, dtype, len(buf))
    return np.frombuffer(bytes(buf), dtype).reshape(shape, order="F" if order == "F" else "C").copy()


def _scalar(dtype: Any, raw: Any = None) -> Any:
    dtype = _dtype_of(dtype)
    if not isinstance(raw, bytes) or len(raw) != dtype.itemsize:
        raise _Refused("a numpy scalar whose data does not fit its dtype")
    return np.frombuffer(raw, dtype)[0]


def _encode(text: Any, encoding: Any = "utf-8", *args: Any) -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused(f"_codecs.encode(..., {str(encoding)[:20]!r}), not how pickle stores bytes")
    return text.encode("latin-1")


_STAND_INS: dict[str, Any] = {"_reconstruct": _Array, "ndarray": np.ndarray, "dtype": _Dtype,
                              "_frombuffer": _frombuffer, "scalar": _scalar, "encode": _encode}


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles only what a CIFAR batch holds: any other global (os.system, a class...) is refused unrun, and
    numpy arrays are rebuilt by checked stand-ins (`_Array`, `_Dtype`): the CIFAR layout's shapes and dtypes,
    data present in the file, before anything is allocated."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in CIFAR_PICKLE_GLOBALS:
            return _STAND_INS[name]
        raise pickle.UnpicklingError(f"it references {module}.{name}, which a CIFAR batch never holds "
                                     "(refused without running it: only numpy arrays, lists, dicts and bytes are "
                                     "unpickled)")


def _resolve(value: Any) -> Any:
    """A value of the unpickled dict with its stand-ins replaced by the arrays / dtypes they stand for."""
    if isinstance(value, _Array):
        if value.array is None:
            raise _Refused("an array whose state was never set")
        return value.array
    if isinstance(value, _Dtype):
        return value.dtype
    return value


def _unpickle(path: pathlib.Path) -> dict[Any, Any]:
    """One file of the official CIFAR python archive: the only pickle this package reads, and restricted."""
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR python-batches folder {str(path.parent)!r} lacks {path.name!r}; "
                                "expected data_batch_1..5, test_batch, batches.meta (CIFAR-10) or "
                                "train, test, meta (CIFAR-100) from the official python archive")
    with open(path, "rb") as f:
        raw = f.read(CIFAR_MAX_BYTES + 1)      # read whole: a length in the pickle cannot make a larger read
    if len(raw) > CIFAR_MAX_BYTES:
        raise ValueError(f"CIFAR batch {str(path)!r} is larger than {CIFAR_MAX_BYTES >> 20} MB, more than any "
                         "file of the official python archive")
    try:
        obj = _CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except _Refused as e:
        raise ValueError(f"CIFAR batch {str(path)!r} holds {e}; refused before it was allocated") from None
    except Exception as e:  # noqa: BLE001  UnpicklingError, EOFError, ValueError, ... for a corrupt file
        raise ValueError(f"cannot unpickle CIFAR batch {str(path)!r} ({type(e).__name__}: {str(e)[:200]}); "
                         "expected a file of the official python archive") from None
    if not isinstance(obj, dict):
        raise ValueError(f"CIFAR batch {str(path)!r} holds a {type(obj).__name__}, not the dict of the official "
                         "python archive")
    try:
        return {k: _resolve(v) for k, v in obj.items()}
    except _Refused as e:
        raise ValueError(f"CIFAR batch {str(path)!r} holds {e}") from None


def _cifar_batch(path: pathlib.Path, label_key: bytes, max_images: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """One batch: b'data' N x 3072 uint8 and N labels (N <= `max_images`), else one ValueError naming the file."""
    d = _unpickle(path)
    data, labels = d.get(b"data"), d.get(label_key)
    if not isinstance(data, np.ndarray) or labels is None:
        raise ValueError(f"CIFAR batch {str(path)!r} is not in the official format (dict with b'data' "
                         f"N x 3072 uint8 and {label_key!r}): it has keys {sorted(map(str, d))[:8]}")
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != CIFAR_PIXELS or data.shape[0] > max_images:
        raise ValueError(f"CIFAR batch {str(path)!r} is not in the official format: b'data' is {data.shape} "
                         f"{data.dtype}, expected N x {CIFAR_PIXELS} uint8 with N at most {max_images:,}")
    if isinstance(labels, list) and not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                            for v in labels):
        raise ValueError(f"CIFAR batch {str(path)!r} is not in the official format: {label_key!r} holds "
                         "values that are not integers")
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(data) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"CIFAR batch {str(path)!r} is not in the official format: {len(data)} images but "
                         f"{label_key!r} is {type(labels).__name__} of shape {y.shape}, expected {len(data)} "
                         "integer labels")
    x = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, y.astype(np.int64)


def _names(path: pathlib.Path, key: bytes) -> list[str]:
    """The class names of a meta file (a list of byte strings), else one ValueError naming it."""
    names = _unpickle(path).get(key)
    if not isinstance(names, list) or not all(isinstance(n, bytes) and len(n) <= 200 for n in names) or \
            len(names) > 1000:
        raise ValueError(f"CIFAR meta file {str(path)!r} is not in the official format: {key!r} must be a list "
                         "of class names (byte strings)")
    try:
        return [n.decode() for n in names]
    except UnicodeDecodeError:
        raise ValueError(f"CIFAR meta file {str(path)!r}: {key!r} holds names that are not UTF-8") from None


def read_cifar_dir(d: pathlib.Path) -> dict[str, Any]:
    """The official CIFAR python archive (https://www.cs.toronto.edu/~kriz/cifar.html), extracted."""
    if (d / "train").is_file():  # CIFAR-100: fine labels (100 classes)
        x_train, y_train = _cifar_batch(d / "train", b"fine_labels", CIFAR_MAX_IMAGES)
        x_test, y_test = _cifar_batch(d / "test", b"fine_labels")
        return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, y_coarse=None,
                    class_names=_names(d / "meta", b"fine_label_names"))
    parts = [_cifar_batch(d / f"data_batch_{i}", b"labels") for i in range(1, 6)]
    x_test, y_test = _cifar_batch(d / "test_batch", b"labels")
    names = _names(d / "batches.meta", b"label_names")
    return dict(x_train=np.concatenate([p[0] for p in parts]), y_train=np.concatenate([p[1] for p in parts]),
                x_test=x_test, y_test=y_test, class_names=names)


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
