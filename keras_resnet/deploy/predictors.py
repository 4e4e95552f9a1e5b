"""Run a trained ResNet from any of its files: `.keras`, a SavedModel folder, `.tflite`, a run directory.

Every exported file takes what the model took in training: a batch of raw 0-255 images
[N, H, W, C] (the rescaling and per-channel normalisation of He et al. 2016, §4.2, are layers
inside the model), and returns class probabilities [N, K].

    from keras_resnet.deploy import load_image, open_predictor
    predictor = open_predictor("runs/resnet20-cifar10/model.tflite")
    x = load_image("cat.png", predictor.input_shape)          # uint8 [H, W, C]
    predictor.predict(x[None])                                # float32 [1, K]
    predictor.top_k(["cat.png", "dog.jpg"], k=5)              # [[(name, probability), ...], ...]
"""

from __future__ import annotations

import pathlib
import zipfile
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..nets.saving import MODEL_FILE, check_keras_archive, load_keras_model  # noqa: F401  (re-exported)
from .images import load_images
from .tflite import LABELS_FILE, tflite_ops

if TYPE_CHECKING:
    import keras

    from .._typing import ImageInput, ShapeLike, StrPath

CARD_FILE = "model_card.json"
BACKENDS = ("keras", "savedmodel", "tflite", "onnx")


# --------------------------------------------------------------------------- class names

def model_card_path(path: StrPath) -> pathlib.Path | None:
    """The model_card.json of the run directory / saved_models folder holding `path` (None if there is none)."""
    p = pathlib.Path(path)
    for d in ([p] if p.is_dir() else []) + [p.parent, p.parent.parent]:
        if (d / CARD_FILE).is_file():
            return d / CARD_FILE
    return None


def load_model_card(path: StrPath, where: str | None = None) -> dict[str, Any]:
    """Read and check one model_card.json (training.card.read_card, the package's one card reader): a dict
    with class_names and input_shape of the right types, or one ValueError naming the file (`where`)."""
    from ..training.card import read_card

    return read_card(path, where=where)


def check_card_matches(card: dict[str, Any], card_path: StrPath, input_shape: ShapeLike, classes: int,
                       model_path: StrPath) -> None:
    """ValueError naming the card unless it describes the model (its input shape and number of classes)."""
    from ..training.fit import check_fit

    check_fit(input_shape, classes, card["input_shape"], class_names=card["class_names"], model=str(model_path),
              data=str(card_path), fix="a model card must describe the model beside it (fix or remove the card)")


def read_model_card(path: StrPath) -> dict[str, Any] | None:
    """The checked model card of the run directory / saved_models folder holding `path`; None if there is none.

    A card that is there but broken (not JSON, not an object, class_names / input_shape missing or of the
    wrong type) is a ValueError naming it: never silently ignored.
    """
    card_path = model_card_path(path)
    return load_model_card(card_path) if card_path else None


def read_labels_text(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def tflite_embedded_labels(path: StrPath) -> list[str] | None:
    """Class names packed in a .tflite file as an associated `labels.txt` (a zip appended to the flatbuffer)."""
    try:
        with zipfile.ZipFile(path) as z:
            return read_labels_text(z.read(LABELS_FILE).decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, OSError):
        return None


def find_class_names(path: StrPath, num_classes: int | None = None) -> list[str]:
    """Class names for the model file at `path`: embedded, a labels.txt beside it, or the model card."""
    p = pathlib.Path(path)
    names = tflite_embedded_labels(p) if p.suffix == ".tflite" else None
    for candidate in (p / "assets" / LABELS_FILE, p / LABELS_FILE, p.parent / LABELS_FILE):
        if names is None and candidate.is_file():
            names = read_labels_text(candidate.read_text())
    if names is None:
        card = read_model_card(p)
        names = card.get("class_names") if card else None
    if names is None or (num_classes is not None and len(names) != num_classes):
        names = [f"class_{i}" for i in range(num_classes or 0)]
    return list(names)


# --------------------------------------------------------------------------- predictors

class Predictor:
    """One model file, one `predict(images) -> probabilities [N, K]` (float32), whatever the backend.

    Attributes: `backend` ("keras" / "savedmodel" / "tflite"), `path`, `input_shape` (H, W, C),
    `class_names`, `num_classes`. `images` may be a uint8 array [N, H, W, C] or a list of anything
    `load_image` takes (converted to the model's input shape).
    """

    backend: str | None = None
    batch_size = 256
    path: str
    input_shape: tuple[int, ...]
    num_classes: int
    class_names: list[str]

    def _predict(self, x: np.ndarray) -> np.ndarray:
        """The probabilities [n, K] of one batch of model inputs [n, H, W, C]: what each backend defines."""
        raise NotImplementedError

    def predict(self, images: np.ndarray | Iterable[ImageInput]) -> np.ndarray:
        x = load_images(images, self.input_shape)
        if x.ndim != 4 or tuple(x.shape[1:]) != tuple(self.input_shape):
            raise ValueError(f"expected images of shape [N, {', '.join(map(str, self.input_shape))}]; got {list(x.shape)}")
        if len(x) == 0:
            return np.zeros((0, self.num_classes), np.float32)
        return np.concatenate([self._predict(x[i:i + self.batch_size]) for i in range(0, len(x), self.batch_size)])

    def top_k(self, images: np.ndarray | Iterable[ImageInput], k: int = 5) -> list[list[tuple[str, float]]]:
        """[[(class name, probability), ...best first], ...] for each image."""
        probs = self.predict(images)
        k = min(k, probs.shape[1])
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return [[(self.class_names[j], float(p[j])) for j in row] for p, row in zip(probs, order)]

    def _finish(self, path: StrPath, input_shape: Sequence[int], num_classes: int,

                class_names: Sequence[str] | None = None) -> None:
        self.path = str(path)
        self.input_shape = tuple(int(d) for d in input_shape)
        self.num_classes = int(num_classes)
        if class_names is not None and len(class_names) != self.num_classes:
            raise ValueError(f"got {len(class_names)} class names for a model with {self.num_classes} classes")
        card_path = model_card_path(path) if class_names is None else None
        if card_path:                        # the folder's card must describe this model
            check_card_matches(load_model_card(card_path), card_path, self.input_shape, self.num_classes, path)
        self.class_names = list(class_names) if class_names is not None else find_class_names(path, self.num_classes)

    def classify_files(self, images: Iterable[ImageInput], k: int = 5) -> list[dict[str, Any]]:
        """Top-k of each image, one unreadable image not stopping the others.

        Returns, in order, {"image": str, "top_k": [(class name, probability), ...]} for each image that
        decoded and {"image": str, "error": why} (the message of load_image: the file and the reason) for
        each that did not.
        """
        from .images import load_image

        rows: list[dict[str, Any]] = []
        arrays = []
        for image in images:
            row: dict[str, Any] = {"image": str(image)}
            try:
                arrays.append(load_image(image, self.input_shape))
            except (ValueError, FileNotFoundError) as e:
                row["error"] = str(e)
            rows.append(row)
        good = [row for row in rows if "error" not in row]
        if good:
            for row, top in zip(good, self.top_k(np.stack(arrays), k)):
                row["top_k"] = top
        return rows

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, input_shape={self.input_shape}, classes={self.num_classes})"


class KerasPredictor(Predictor):
    """A Keras model (or `.keras` file / run directory), called directly (`model(x, training=False)`)."""

    backend = "keras"

    def __init__(self, model: keras.Model | StrPath, class_names: Sequence[str] | None = None,
                 input_shape: Sequence[int] | None = None) -> None:
        from ..backend_ops import forward

        path: StrPath = ""
        net: keras.Model = model
        if not hasattr(model, "predict"):
            path, net = model, load_keras_model(model)
        elif class_names is None:
            class_names = [f"class_{i}" for i in range(net.output_shape[-1])]
        self.model = net
        shape = input_shape or net.input_shape[1:]
        if None in tuple(shape):   # a dynamic-input model: the sizes it leaves open from its (checked) card
            card = read_model_card(path) if path else None
            if card:
                shape = tuple(c if m is None else m for m, c in zip(shape, card["input_shape"]))
        self._call = forward(net)      # compiled for the Keras backend in use (tf.function, jax.jit, torch)
        self._finish(path or f"<{net.name}>", shape, net.output_shape[-1], class_names)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._call(x), np.float32)


class SavedModelPredictor(Predictor):
    """A SavedModel folder exported by `keras_resnet.deploy.export` (plain `tf.saved_model.load`)."""

    backend = "savedmodel"

    def __init__(self, path: StrPath) -> None:
        import tensorflow as tf

        path = pathlib.Path(path)
        if not (path / "saved_model.pb").is_file():
            raise FileNotFoundError(f"no SavedModel at {path} (expected {path / 'saved_model.pb'})")
        try:
            self.loaded = tf.saved_model.load(str(path))
            self.signature = self.loaded.signatures["serving_default"]
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"could not load {path} as a SavedModel: {type(e).__name__}: {str(e)[:300]}") from None
        spec = self.signature.structured_input_signature[1]["images"]
        classes = self.signature.structured_outputs["probabilities"].shape[-1]
        self._finish(path, spec.shape[1:], classes)
        if "class_names" in self.loaded.signatures:
            names = self.loaded.signatures["class_names"]()["class_names"].numpy()
            self.class_names = [n.decode("utf-8") for n in names]

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return self.signature(images=x)["probabilities"].numpy()


class TFLitePredictor(Predictor):
    """A `.tflite` file, run by `ai_edge_litert.interpreter.Interpreter`.

    Dynamic batch: the input is resized (`resize_tensor_input`) to each batch's size. Quantized
    inputs/outputs are (de)quantized with the file's scale and zero point. `num_threads` and
    `xnnpack=False` (no default XNNPACK delegate) are passed to the interpreter.
    """

    backend = "tflite"

    def __init__(self, path: StrPath, num_threads: int | None = None, xnnpack: bool = True) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        from .._compat import hidden_native_logs  # noqa: I001

        path = pathlib.Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"TFLite model not found: {path}")
        resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            with hidden_native_logs():    # LiteRT's XNNPACK INFO line, below TF_CPP_MIN_LOG_LEVEL (the CLI's 3)
                self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads,
                                               experimental_op_resolver_type=resolver)
                self.interpreter.allocate_tensors()
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"could not load {path} as a TFLite model: {type(e).__name__}: {str(e)[:300]}") from None
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self._batch = int(self.input["shape"][0])
        self._finish(path, self.input["shape_signature"][1:], self.output["shape"][-1])

    def ops(self) -> list[str]:
        """The operator names the file uses (e.g. CONV_2D); Flex ops would show as custom ops."""
        return tflite_ops(self.path)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        it, inp, out = self.interpreter, self.input, self.output
        if len(x) != self._batch:
            it.resize_tensor_input(inp["index"], [len(x), *self.input_shape])
            it.allocate_tensors()
            self._batch = len(x)
        scale, zero = inp["quantization"]
        if inp["dtype"] != np.uint8 or scale not in (0.0, 1.0) or zero != 0:
            x = x.astype(np.float32)
            if scale:
                info = np.iinfo(inp["dtype"])
                x = np.clip(np.round(x / scale + zero), info.min, info.max)
            x = x.astype(inp["dtype"])
        it.set_tensor(inp["index"], x)
        it.invoke()
        y = it.get_tensor(out["index"])
        scale, zero = out["quantization"]
        if scale:
            y = (y.astype(np.float32) - zero) * scale
        return y.astype(np.float32)


class OnnxPredictor(Predictor):
    """A `.onnx` file exported by `keras_resnet.deploy.export` (needs onnxruntime: an optional extra)."""

    backend = "onnx"

    def __init__(self, path: StrPath) -> None:
        path = pathlib.Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model not found: {path}")
        try:
            import onnxruntime
        except ImportError:
            raise ValueError("running .onnx files needs onnxruntime: pip install onnxruntime") from None
        try:
            self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"could not load {path} as an ONNX model: {type(e).__name__}: {str(e)[:300]}") from None
        self.input_name = self.session.get_inputs()[0].name
        self._finish(path, self.session.get_inputs()[0].shape[1:], self.session.get_outputs()[0].shape[-1])

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {self.input_name: x})[0], np.float32)


FOLDER_FILES = {"keras": MODEL_FILE, "tflite": "model.tflite", "onnx": "model.onnx", "savedmodel": "saved_model"}
SUFFIXES = {".keras": "keras", ".tflite": "tflite", ".onnx": "onnx"}


def _folder_contents(p: pathlib.Path) -> str:
    """What model files a folder holds, for error messages: 'model.keras (keras), model.tflite (tflite)'."""
    found = []
    for f in sorted(p.iterdir()):
        if f.is_file() and f.suffix in SUFFIXES:
            found.append(f"{f.name} ({SUFFIXES[f.suffix]})")
        elif f.is_dir() and (f / "saved_model.pb").is_file():
            found.append(f"{f.name}/ (savedmodel)")
    return ", ".join(found) or "no model files"


def detect_backend(path: StrPath) -> str:
    """'keras' / 'savedmodel' / 'tflite' / 'onnx' for a model path; one clear error for anything else."""
    p = pathlib.Path(path)
    if not p.exists():
        raise FileNotFoundError(f"model not found: {p}")
    if p.is_dir():
        if (p / "saved_model.pb").is_file():
            return "savedmodel"
        if (p / MODEL_FILE).is_file():
            return "keras"
        raise ValueError(f"{p} is a directory with neither saved_model.pb nor {MODEL_FILE} (it holds "
                         f"{_folder_contents(p)}); expected a run directory, a SavedModel folder, a .keras or a "
                         ".tflite file, or pass --backend to pick one of its files")
    if p.suffix in SUFFIXES:
        return SUFFIXES[p.suffix]
    raise ValueError(f"unknown model file {p}: expected a .keras, .tflite or .onnx file, a SavedModel folder "
                     "or a run directory")


def resolve_model(path: StrPath, backend: str | None = None) -> tuple[pathlib.Path, str]:
    """(model file or SavedModel folder, backend) for `path` and an optional `backend`.

    A folder (a run directory, a saved_models/ folder) with a backend gives the folder's file for it:
    model.keras, model.tflite, model.onnx or saved_model/; a folder that lacks it is a FileNotFoundError
    listing what the folder holds. A file with a backend that does not read it is a ValueError.
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    p = pathlib.Path(path)
    if backend is None:
        return p, detect_backend(p)
    if not p.exists():
        raise FileNotFoundError(f"model not found: {p}")
    if p.is_dir():
        if (p / "saved_model.pb").is_file():
            if backend != "savedmodel":
                raise ValueError(f"{p} is a SavedModel folder; --backend {backend} needs a folder holding "
                                 f"{FOLDER_FILES[backend]} or that file itself")
            return p, backend
        candidate = p / FOLDER_FILES[backend]
        ok = (candidate / "saved_model.pb").is_file() if backend == "savedmodel" else candidate.is_file()
        if not ok:
            want = FOLDER_FILES[backend] + ("/" if backend == "savedmodel" else "")
            raise FileNotFoundError(f"{p} has no {want} for backend {backend}; it holds "
                                    f"{_folder_contents(p)} (`keras-resnet export` writes the others; or pass "
                                    "the file itself)")
        return candidate, backend
    detected = SUFFIXES.get(p.suffix)
    if detected is not None and detected != backend:
        raise ValueError(f"{p} is a {detected} file; backend {backend} needs a {FOLDER_FILES[backend]} "
                         "(or a folder holding one)")
    return p, backend


def open_predictor(path: StrPath, backend: str | None = None, **kwargs: Any) -> Predictor:
    """A Predictor for `path` (a .keras file, a run directory, a SavedModel folder or a .tflite file).

    `backend` (one of BACKENDS) overrides the detection; with a folder it picks the folder's file for that
    backend (resolve_model). kwargs go to TFLitePredictor (num_threads, xnnpack).
    """
    path, backend = resolve_model(path, backend)
    if backend == "keras":
        return KerasPredictor(path)
    if backend == "savedmodel":
        return SavedModelPredictor(path)
    if backend == "onnx":
        return OnnxPredictor(path)
    return TFLitePredictor(path, **kwargs)
