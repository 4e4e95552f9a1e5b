"""Export a trained ResNet to files that serve without this package: SavedModel, TFLite, ONNX.

Every file takes a batch of raw uint8 images [N, H, W, C] (any N): the preprocessing of He et al.
2016 (§4.2: scale, subtract the per-pixel/per-channel mean) is inside the model. Each export is
checked against the Keras model on held-out images (`keras_resnet.deploy.parity`); a file that misses
its threshold is not kept (unless `keep_failed=True`) and the export raises `ParityError`.

    from keras_resnet.deploy import export
    report = export("runs/resnet20-cifar10", formats=["savedmodel", "tflite", "tflite-int8"])

Files written next to model.keras (or in `output_dir`): `saved_model/`, `model.tflite`,
`model_fp16.tflite`, `model_int8.tflite`, `model.onnx`, `labels.txt`, `parity.json`, `parity.txt`.
"""

from __future__ import annotations

import io
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import registry
from ..training.fit import check_fit
from . import parity
from .predictors import LABELS_FILE, KerasPredictor, load_keras_model, open_predictor, read_model_card
from .parity import ParityError

if TYPE_CHECKING:
    import keras

    from .._typing import ExportData, ShapeLike, StrPath


# format name -> file or folder written in the output directory (keras_resnet.registry)
FORMATS = registry.EXPORT_FORMATS
ALIASES = registry.EXPORT_FORMAT_ALIASES
DEFAULT_FORMATS = registry.DEFAULT_EXPORT_FORMATS
TOP_K = 5

__all__ = ["export", "FORMATS", "DEFAULT_FORMATS", "ParityError", "resolve_formats", "saved_model_archive",
           "convert_tflite", "input_affine", "write_onnx", "tflite_ops", "flex_ops"]


def resolve_formats(formats: str | Iterable[str] | None) -> list[str]:
    """Canonical format names; one clear error for a name that does not exist."""
    formats = [formats] if isinstance(formats, str) else list(formats or DEFAULT_FORMATS)
    out: list[str] = []
    for f in formats:
        key = str(f).lower().replace("_", "-")
        key = ALIASES.get(key, key)
        if key not in FORMATS:
            raise ValueError(f"unknown export format {f!r}; allowed: {', '.join(FORMATS)} "
                             f"(aliases: {', '.join(ALIASES)})")
        if key not in out:
            out.append(key)
    return out


# --------------------------------------------------------------------------- SavedModel

def _serving_fn(model: keras.Model, input_shape: ShapeLike, with_top_k: bool, class_table: Any = None,
                k: int = TOP_K) -> Any:
    """The uint8 -> probabilities (and top-k) function that every format is made from."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, *input_shape], tf.uint8, name="images")
    k = min(k, model.output_shape[-1])

    @tf.function(input_signature=[spec])
    def serve(images):
        probs = model(tf.cast(images, tf.float32), training=False)
        out = {"probabilities": probs}
        if with_top_k:
            scores, ids = tf.math.top_k(probs, k=k)
            out.update(top_k_ids=ids, top_k_scores=scores,
                       top_k_labels=class_table.lookup(tf.cast(ids, tf.int64)))
        return out

    return serve


def saved_model_archive(model: keras.Model, input_shape: ShapeLike, labels_path: StrPath,
                        k: int = TOP_K) -> keras.export.ExportArchive:
    """A `keras.export.ExportArchive` with TF Serving's `serving_default` and a `class_names` signature.

    serving_default(images: uint8 [N, H, W, C]) -> probabilities float32 [N, K], top_k_ids int32 [N, k],
    top_k_scores float32 [N, k], top_k_labels string [N, k]. class_names() -> class_names string [K].
    The class names are the asset `assets/labels.txt` (one per line).
    """
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    init = tf.lookup.TextFileInitializer(str(labels_path), tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
                                         tf.string, tf.lookup.TextFileIndex.WHOLE_LINE)
    table = tf.lookup.StaticHashTable(init, default_value="")
    archive.track(table)
    archive.add_endpoint("serving_default", _serving_fn(model, input_shape, True, table, k))
    num_classes = model.output_shape[-1]

    @tf.function(input_signature=[])
    def class_names():
        return {"class_names": table.lookup(tf.range(num_classes, dtype=tf.int64))}

    archive.add_endpoint("class_names", class_names)
    return archive


def _write_probs_saved_model(model: keras.Model, input_shape: ShapeLike, path: StrPath) -> None:
    """A probabilities-only SavedModel: what the TFLite and ONNX converters read (variables frozen)."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", _serving_fn(model, input_shape, False))
    archive.write_out(str(path), verbose=False)


def input_affine(model: keras.Model) -> tuple[np.ndarray, np.ndarray, keras.Model] | None:
    """(scale, offset, rest) when `model` starts with Rescaling / Normalization layers on its input.

    The model is then `rest(x * scale + offset)` with one scale and offset per channel (He et al.'s
    preprocessing: x / 255, minus the mean, divided by the std). None when it does not start that way.
    """
    import keras

    layers = model.layers
    if len(model.inputs) != 1 or len(model.input_shape) != 4 or not layers or \
            not isinstance(layers[0], keras.layers.InputLayer):
        return None
    channels = model.input_shape[-1]
    scale, offset = np.ones(channels), np.zeros(channels)
    last = None
    try:
        for layer in layers[1:]:
            if isinstance(layer, keras.layers.Rescaling):
                s = np.broadcast_to(np.asarray(layer.scale, np.float64).ravel(), (channels,))
                o = np.broadcast_to(np.asarray(layer.offset, np.float64).ravel(), (channels,))
                scale, offset = scale * s, offset * s + o
            elif isinstance(layer, keras.layers.Normalization):
                axis = layer.axis if isinstance(layer.axis, (tuple, list)) else (layer.axis,)
                if layer.invert or tuple(axis) not in ((-1,), (3,)):
                    break
                mean = np.broadcast_to(np.asarray(layer.mean, np.float64).ravel(), (channels,))
                std = np.maximum(np.sqrt(np.broadcast_to(np.asarray(layer.variance, np.float64).ravel(), (channels,))),
                                 keras.config.epsilon())       # as Normalization computes it
                scale, offset = scale / std, (offset - mean) / std
            else:
                break
            last = layer
        if last is None:
            return None
        rest = keras.Model(last.output, model.output)    # fails unless the rest reads only `last`'s output
    except (ValueError, TypeError, AttributeError):
        return None
    return scale.astype(np.float32), offset.astype(np.float32), rest


def _write_int8_saved_model(model: keras.Model, input_shape: ShapeLike, path: StrPath,
                            images: np.ndarray) -> bool:
    """The probabilities SavedModel for the int8 converter, the input preprocessing folded into one op.

    The converter quantizes every op's output to int8 on its own calibrated range. Left as the
    model's layers, the preprocessing is three requantizations (x / 255, minus the mean, divided by
    the std) and the middle one gets the range of the last: the image reaches the first convolution
    with about 6 of its 8 bits, which alone made 1.7-2x as many int8 top-1 disagreements with Keras
    (e.g. 25 -> 15 of 1,017 for saved_models/resnet20-cifar10-subset, 19 -> 9 for resnet44-cifar10).
    Folded into one per-channel affine (a 1x1 depthwise convolution with bias: one int8 op, its
    weights exact per channel), the image is requantized once, at ~1 pixel level. Returns False
    (nothing written) when the model does not start with Rescaling / Normalization or the folded
    graph differs from the model by 1e-5 or more on `images` in float32.
    """
    import keras
    import tensorflow as tf

    folded = input_affine(model)
    if folded is None:
        return False
    scale, offset, rest = folded
    kernel = tf.constant(scale.reshape(1, 1, -1, 1))
    bias = tf.constant(offset)
    spec = tf.TensorSpec([None, *input_shape], tf.uint8, name="images")

    @tf.function(input_signature=[spec])
    def serve(images: Any) -> dict[str, Any]:
        x = tf.nn.depthwise_conv2d(tf.cast(images, tf.float32), kernel, [1, 1, 1, 1], "VALID") + bias
        return {"probabilities": rest(x, training=False)}

    sample = tf.constant(images[:64])
    diff = np.abs(np.asarray(serve(sample)["probabilities"], np.float64) -
                  np.asarray(model(tf.cast(sample, tf.float32), training=False), np.float64)).max()
    if not diff < 1e-5:
        return False
    archive = keras.export.ExportArchive()
    archive.track(rest)
    archive.add_endpoint("serving_default", serve)
    archive.write_out(str(path), verbose=False)
    return True


# --------------------------------------------------------------------------- TFLite

def convert_tflite(probs_saved_model: StrPath, mode: str = "float32",
                   representative: np.ndarray | None = None) -> bytes:
    """TFLite flatbuffer bytes, built-in ops only (no Flex / SELECT_TF_OPS).

    mode: "float32", "float16" (weights in fp16) or "int8" (full integer: uint8 input and output,
    int8 weights and activations calibrated on `representative`, a uint8 array [N, H, W, C]).
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(probs_saved_model))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "int8":
        if representative is None or len(representative) == 0:
            raise ValueError("int8 export needs representative images; none were given or found")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([representative[i:i + 1]] for i in range(len(representative)))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    elif mode != "float32":
        raise ValueError(f"unknown TFLite mode {mode!r}; allowed: float32, float16, int8")
    return converter.convert()


def embed_labels(flatbuffer: bytes, class_names: Iterable[str]) -> bytes:
    """Append `labels.txt` as an associated file (a zip after the flatbuffer, as TFLite metadata packs it)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(LABELS_FILE, "\n".join(class_names) + "\n")
    return bytes(flatbuffer) + buf.getvalue()


def _builtin_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def tflite_ops(path_or_bytes: StrPath | bytes | bytearray) -> list[str]:
    """Every operator of a .tflite file, read from its flatbuffer: builtin names and custom codes."""
    from ai_edge_litert import schema_py_generated as schema

    data = path_or_bytes if isinstance(path_or_bytes, (bytes, bytearray)) else pathlib.Path(path_or_bytes).read_bytes()
    model = schema.Model.GetRootAsModel(data, 0)
    names = _builtin_names()
    ops: set[str] = set()
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        custom = code.CustomCode()
        ops.add(custom.decode() if custom else names.get(builtin, str(builtin)))
    return sorted(ops)


def flex_ops(path_or_bytes: StrPath | bytes | bytearray) -> list[str]:
    """The Flex (SELECT_TF_OPS) or other custom operators of a .tflite file: [] for a deployable file."""
    builtin = set(_builtin_names().values()) - {"CUSTOM"}
    return [op for op in tflite_ops(path_or_bytes) if op not in builtin]


# --------------------------------------------------------------------------- ONNX

def write_onnx(probs_saved_model: StrPath, path: StrPath, opset: int = 17) -> None:
    """Convert the probabilities SavedModel with tf2onnx (optional extra: pip install tf2onnx onnxruntime).

    tf2onnx's SavedModel route freezes every variable; its `from_function` route and Keras's
    `model.export(format="onnx")` leave the Normalization layer's mean/variance as graph inputs.
    """
    try:
        import tf2onnx  # noqa: F401
    except ImportError:
        raise ValueError("the onnx format needs tf2onnx and onnxruntime: pip install tf2onnx onnxruntime") from None
    cmd = [sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(probs_saved_model),
           "--output", str(path), "--opset", str(opset)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not pathlib.Path(path).is_file():
        raise ValueError(f"tf2onnx could not convert the model: {done.stderr.strip()[-500:]}")


# --------------------------------------------------------------------------- data

def _load_dataset(source: Any, card: Mapping[str, Any] | None, what: str) -> Any:
    """An ImageData from a source (tfds name, path, spec dict or ImageData), else from the model card."""
    from .. import data as data_lib

    if source is None:
        spec = dict(((card or {}).get("dataset") or {}).get("spec") or {})
        if not spec.get("source"):
            return None
        if not _tfds_name(spec["source"]) or spec.get("data_dir") is not None:
            # a card is information: a path in it is never read unless the user passes it
            option = "--representative-data / representative_data" if what == "int8 calibration" else \
                "--eval-data / eval_data"
            raise ValueError(f"the model card names the dataset {str(spec['source'])[:200]!r}"
                             + (f" in data_dir {str(spec['data_dir'])[:200]!r}" if spec.get("data_dir") else "")
                             + f" for {what}; paths in a model card are not read unless you pass them: pass "
                             f"{option} with that dataset" + (", or --no-check" if what != "int8 calibration" else ""))
        spec.pop("data_dir", None)
        try:
            return data_lib.load(spec.pop("source"), **{k: spec[k] for k in
                                                        ("data_dir", "validation_split", "image_size", "seed")
                                                        if spec.get(k) is not None})
        except (ValueError, FileNotFoundError, OSError) as e:
            print(f"export: the model card's dataset could not be loaded for {what} ({e})", file=sys.stderr)
            return None
    if isinstance(source, (str, os.PathLike)):
        return data_lib.load(source)
    if isinstance(source, dict):
        spec = dict(source)
        return data_lib.load(spec.pop("source"), **spec)
    return source


def _tfds_name(source: Any) -> bool:
    """Whether a card's dataset source is a tensorflow-datasets name (`cifar10`, `mnist:3.*.*`), not a path."""
    import re

    return (isinstance(source, str) and re.fullmatch(r"[a-z][a-z0-9_]*(/[a-z0-9_.]+)?(:[0-9*.]+)?", source) is not None
            and not pathlib.Path(source).exists())


def _arrays(source: Any, split: str, limit: int, seed: int = 0) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(images uint8 [N, H, W, C], labels or None) from an array, (x, y), a tf.data.Dataset or ImageData."""
    import tensorflow as tf

    if source is None:
        return None, None
    if hasattr(source, "class_names") and hasattr(source, "train"):
        source = getattr(source, split)
    if isinstance(source, tf.data.Dataset):
        if split == "train":
            source = source.shuffle(10_000, seed=seed)
        xs, ys = [], []
        for item in source.take(limit).as_numpy_iterator():
            x, y = item if isinstance(item, tuple) else (item, None)
            xs.append(x)
            ys.append(y)
        y = None if not ys or ys[0] is None else np.asarray(ys).astype(np.int64)
        return np.asarray(xs), y
    if isinstance(source, tuple):
        x, y = source
        return np.asarray(x)[:limit], np.asarray(y).astype(np.int64).ravel()[:limit]
    return np.asarray(source)[:limit], None


def _check_images(x: np.ndarray | None, input_shape: ShapeLike, what: str) -> np.ndarray | None:
    if x is None or len(x) == 0:
        return None
    x = x[..., None] if x.ndim == 3 else x
    check_fit(input_shape, None, x.shape[1:], data=f"the {what} data",
              fix="give images of the model's input size")
    return np.clip(x, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- export

def _resolve_model(model: keras.Model | StrPath,
                   output_dir: StrPath | None) -> tuple[keras.Model, pathlib.Path, dict[str, Any] | None]:
    """(keras model, output dir, model card or None, class names or None)."""
    if hasattr(model, "predict"):
        if output_dir is None:
            raise ValueError("output_dir is required when exporting an in-memory model")
        return model, pathlib.Path(output_dir), None
    src = pathlib.Path(model)
    keras_model = load_keras_model(src)
    card = read_model_card(src)
    default_dir = src if src.is_dir() else src.parent
    return keras_model, pathlib.Path(output_dir) if output_dir else default_dir, card


def _place(tmp: pathlib.Path, dest: pathlib.Path, overwrite: bool) -> None:
    """Move a finished file/folder into place (an old one, with overwrite, only after the new one is there)."""
    old = None
    if dest.exists():
        if not overwrite:
            raise FileExistsError(f"{dest} already exists; pass overwrite=True / --overwrite to replace it")
        old = dest.with_name(f".{dest.name}.old")
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old) if old.is_dir() else old.unlink()


def export(model: keras.Model | StrPath, output_dir: StrPath | None = None, *,
           formats: str | Iterable[str] | None = DEFAULT_FORMATS, representative_data: ExportData = None,
           eval_data: ExportData = None, class_names: Sequence[str] | None = None,
           input_shape: Sequence[int] | None = None, num_representative: int = 200, max_eval: int = 2000,
           top_k: int = TOP_K, overwrite: bool = False, keep_failed: bool = False, check: bool = True,
           verbose: bool = True) -> dict[str, Any]:
    """Export `model` (a keras.Model, a .keras file or a run directory) to `formats`; returns the parity report.

    representative_data (int8 calibration) and eval_data (parity check): an image array, (images, labels),
    a tf.data.Dataset, an ImageData, a dataset source (tfds name or path for `keras_resnet.data.load`) or a
    spec dict; by default the training / test split of the dataset in the model card. Raises ValueError
    (bad format, no data, ParityError when a threshold is missed), FileNotFoundError, FileExistsError.
    """
    formats = resolve_formats(formats)
    keras_model, out_dir, card = _resolve_model(model, output_dir)
    class_names = list(class_names or (card or {}).get("class_names") or
                       [f"class_{i}" for i in range(keras_model.output_shape[-1])])
    if len(class_names) != keras_model.output_shape[-1]:
        raise ValueError(f"got {len(class_names)} class names for a model with {keras_model.output_shape[-1]} outputs")
    shape = tuple(input_shape or keras_model.input_shape[1:])
    if None in shape and card:   # a dynamic-input model: the sizes it leaves open from its (checked) card
        shape = tuple(c if m is None else m for m, c in zip(shape, card["input_shape"]))
        check_fit(keras_model.input_shape[1:], None, shape, model=str(model), data="its model_card.json",
                  fix="a model card must describe the model beside it (fix or remove the card)")
    if None in shape:
        raise ValueError(f"the model's input shape {shape} has unknown sizes; pass input_shape=(H, W, C)")
    targets = {f: out_dir / FORMATS[f] for f in formats}
    for dest in targets.values():
        if dest.exists() and not overwrite:
            raise FileExistsError(f"{dest} already exists; pass overwrite=True / --overwrite to replace it")
    labels_text = "\n".join(class_names) + "\n"
    labels_dest = out_dir / LABELS_FILE
    if labels_dest.exists() and labels_dest.read_text() != labels_text and not overwrite:
        raise FileExistsError(f"{labels_dest} exists with other class names; pass overwrite=True to replace it")

    rep = None
    if "tflite-int8" in formats:
        data = _load_dataset(representative_data, card, "int8 calibration")
        rep = _check_images(_arrays(data, "train", num_representative)[0], shape, "representative")
        if rep is None:
            raise ValueError("int8 export needs representative images: pass representative_data / "
                             "--representative-data (a dataset or image array), or export a model whose "
                             "model_card.json names a dataset that can be loaded here")
    x_eval = y_eval = None
    if check:
        data = _load_dataset(eval_data, card, "the parity check")
        x_eval, y_eval = _arrays(data, "test", max_eval)
        x_eval = _check_images(x_eval, shape, "held-out")
        if x_eval is None:
            raise ValueError("no held-out images for the parity check: pass eval_data / --eval-data, or "
                             "check=False / --no-check to export unverified")

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    try:
        (tmp / LABELS_FILE).write_text(labels_text)
        notes: dict[str, Any] = {}
        built = _build(keras_model, shape, formats, tmp, class_names, rep, top_k, verbose, notes)
        report: dict[str, Any] = {"model": str(model) if not hasattr(model, "predict") else keras_model.name,
                                  "class_names": class_names, "input_shape": list(shape), "formats": {}}
        if check:
            assert x_eval is not None          # loaded above (no images: ValueError before any work)
            reference = KerasPredictor(keras_model, class_names, shape)
            report = parity.check(reference, {f: open_predictor(p) for f, p in built.items()}, x_eval, y_eval,
                                  report, verbose=verbose)
        else:
            report["formats"] = {f: {"checked": False, "passed": None} for f in built}
        for f, note in notes.items():
            report["formats"][f].update(note)
        failed = [f for f, r in report["formats"].items() if r["passed"] is False]
        keep = [f for f in built if f not in failed or keep_failed]
        for f in keep:
            _place(built[f], targets[f], overwrite)
            report["formats"][f]["path"] = str(targets[f])
        if keep:
            if not labels_dest.exists() or labels_dest.read_text() != labels_text:
                _place(tmp / LABELS_FILE, labels_dest, True)
            report["labels"] = str(labels_dest)
        parity.write_report(report, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        raise ParityError(f"parity check failed for {', '.join(failed)} "
                          f"({'kept anyway' if keep_failed else 'not written'}); see {out_dir / parity.REPORT_JSON}: "
                          + "; ".join(f"{f}: {', '.join(report['formats'][f]['failures'])}" for f in failed))
    return report


def _build(model: keras.Model, shape: Sequence[int], formats: Sequence[str], tmp: pathlib.Path,
           class_names: Sequence[str], rep: np.ndarray | None, top_k: int, verbose: bool,
           notes: dict[str, Any] | None = None) -> dict[str, pathlib.Path]:
    """Write each format under `tmp`; returns {format: path}; how int8 was calibrated goes in `notes`."""
    built = {}
    probs_sm = tmp / "probs_saved_model"
    if any(f != "savedmodel" for f in formats):
        _write_probs_saved_model(model, shape, probs_sm)
    for f in formats:
        path = tmp / FORMATS[f]
        if verbose:
            print(f"export: writing {f} ...", file=sys.stderr)
        if f == "savedmodel":
            saved_model_archive(model, shape, tmp / LABELS_FILE, top_k).write_out(str(path), verbose=False)
        elif f == "onnx":
            write_onnx(probs_sm, path)
        else:
            mode = {"tflite": "float32", "tflite-fp16": "float16", "tflite-int8": "int8"}[f]
            source = probs_sm
            if mode == "int8":
                assert rep is not None          # export() refuses int8 without representative images
                folded = _write_int8_saved_model(model, shape, tmp / "int8_saved_model", rep)
                source = tmp / "int8_saved_model" if folded else probs_sm
                if notes is not None:
                    notes[f] = {"calibration": {"images": int(len(rep)), "input_preprocessing_folded": folded}}
            flat = convert_tflite(source, mode, rep)
            bad = flex_ops(flat)
            if bad:
                raise ValueError(f"the {f} conversion produced non-builtin ops {bad}; refusing to write it")
            path.write_bytes(embed_labels(flat, class_names))
        built[f] = path
    return built
