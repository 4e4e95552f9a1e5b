"""Export a trained ResNet to files that serve without this package: SavedModel, TFLite, ONNX.

Every file takes a batch of raw uint8 images [N, H, W, C] (any N): the preprocessing of He et al.
2016 (§4.2: scale, subtract the per-pixel/per-channel mean) is inside the model. Each export is
checked against the Keras model on held-out images (`keras_resnet.deploy.parity`); a file that misses
its threshold is not kept (unless `keep_failed=True`) and the export raises `ParityError`.

    from keras_resnet.deploy import export
    report = export("runs/resnet20-cifar10", formats=["savedmodel", "tflite", "tflite-int8"])

Files written next to model.keras (or in `output_dir`): `saved_model/`, `model.tflite`,
`model_fp16.tflite`, `model_int8.tflite`, `model.onnx`, `labels.txt`, `parity.json`, `parity.txt`.

This module is the export itself (formats, checks, placing the files); each format lives in its own module:
savedmodel.py (the serving function, the SavedModel), int8.py (int8 calibration: the input preprocessing
folded), tflite.py (conversion, embedded labels, operators), onnx_export.py (tf2onnx), export_data.py (the
calibration and held-out images). Their public names are importable from here too.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import registry
from ..training.fit import check_fit
from . import parity
from .export_data import _arrays, _check_images, _load_dataset, _tfds_name  # noqa: F401  (re-exported)
from .int8 import _write_int8_saved_model, input_affine
from .onnx_export import write_onnx
from .parity import ParityError
from .predictors import KerasPredictor, load_keras_model, model_card_path, open_predictor, read_model_card
from .savedmodel import TOP_K, _serving_fn, _write_probs_saved_model, saved_model_archive  # noqa: F401
from .tflite import LABELS_FILE, convert_tflite, embed_labels, flex_ops, tflite_ops

if TYPE_CHECKING:
    import keras

    from .._typing import ExportData, ShapeLike, StrPath


# format name -> file or folder written in the output directory (keras_resnet.registry)
FORMATS = registry.EXPORT_FORMATS
ALIASES = registry.EXPORT_FORMAT_ALIASES
DEFAULT_FORMATS = registry.DEFAULT_EXPORT_FORMATS

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


# --------------------------------------------------------------------------- export

def _resolve_model(model: keras.Model | StrPath,
                   output_dir: StrPath | None) -> tuple[keras.Model, pathlib.Path, dict[str, Any] | None]:
    """(keras model, output dir, model card or None)."""
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
    card_path = model_card_path(model) if card else None
    class_names = _class_names(class_names, card, keras_model)
    shape = _input_shape(input_shape, keras_model, card, model)
    targets = {f: out_dir / FORMATS[f] for f in formats}
    labels_text = "\n".join(class_names) + "\n"
    _check_free(targets, out_dir / LABELS_FILE, labels_text, overwrite)
    rep = None
    if "tflite-int8" in formats:
        rep = _representative_images(representative_data, card, card_path, shape, num_representative)
    x_eval, y_eval = _eval_images(eval_data, card, card_path, shape, max_eval) if check else (None, None)

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
        failed = _place_passed(report, built, targets, tmp, out_dir, labels_text, overwrite, keep_failed)
        parity.write_report(report, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        raise ParityError(f"parity check failed for {', '.join(failed)} "
                          f"({'kept anyway' if keep_failed else 'not written'}); see {out_dir / parity.REPORT_JSON}: "
                          + "; ".join(f"{f}: {', '.join(report['formats'][f]['failures'])}" for f in failed))
    return report


def _class_names(class_names: Sequence[str] | None, card: dict[str, Any] | None, model: keras.Model) -> list[str]:
    """The given class names, else the model card's, else class_0, class_1, ...; one per model output."""
    outputs = model.output_shape[-1]
    names = list(class_names or (card or {}).get("class_names") or [f"class_{i}" for i in range(outputs)])
    if len(names) != outputs:
        raise ValueError(f"got {len(names)} class names for a model with {outputs} outputs")
    return names


def _input_shape(input_shape: Sequence[int] | None, keras_model: keras.Model, card: dict[str, Any] | None,
                 model: keras.Model | StrPath) -> tuple[int, ...]:
    """The (H, W, C) the files take: `input_shape`, else the model's, its open sizes from the model card."""
    shape = tuple(input_shape or keras_model.input_shape[1:])
    if None in shape and card:   # a dynamic-input model: the sizes it leaves open from its (checked) card
        shape = tuple(c if m is None else m for m, c in zip(shape, card["input_shape"]))
        check_fit(keras_model.input_shape[1:], None, shape, model=str(model), data="its model_card.json",
                  fix="a model card must describe the model beside it (fix or remove the card)")
    if None in shape:
        raise ValueError(f"the model's input shape {shape} has unknown sizes; pass input_shape=(H, W, C)")
    return shape


def _check_free(targets: dict[str, pathlib.Path], labels_dest: pathlib.Path, labels_text: str,
                overwrite: bool) -> None:
    """Refuse (before any work) to replace existing files without `overwrite`."""
    for dest in targets.values():
        if dest.exists() and not overwrite:
            raise FileExistsError(f"{dest} already exists; pass overwrite=True / --overwrite to replace it")
    if labels_dest.exists() and labels_dest.read_text() != labels_text and not overwrite:
        raise FileExistsError(f"{labels_dest} exists with other class names; pass overwrite=True to replace it")


def _representative_images(data: ExportData, card: dict[str, Any] | None, card_path: pathlib.Path | None,
                           shape: Sequence[int], count: int) -> np.ndarray:
    """Up to `count` int8 calibration images from the training split of `data` (or the card's dataset)."""
    loaded = _load_dataset(data, card, "int8 calibration", card_path)
    rep = _check_images(_arrays(loaded, "train", count)[0], shape, "representative")
    if rep is None:
        raise ValueError("int8 export needs representative images: pass representative_data / "
                         "--representative-data (a dataset or image array), or export a model whose "
                         "model_card.json names a dataset that can be loaded here")
    return rep


def _eval_images(data: ExportData, card: dict[str, Any] | None, card_path: pathlib.Path | None,
                 shape: Sequence[int], count: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Up to `count` held-out (images, labels or None) for the parity check, from the test split."""
    loaded = _load_dataset(data, card, "the parity check", card_path)
    x_eval, y_eval = _arrays(loaded, "test", count)
    x_eval = _check_images(x_eval, shape, "held-out")
    if x_eval is None:
        raise ValueError("no held-out images for the parity check: pass eval_data / --eval-data, or "
                         "check=False / --no-check to export unverified")
    return x_eval, y_eval


def _place_passed(report: dict[str, Any], built: dict[str, pathlib.Path], targets: dict[str, pathlib.Path],
                  tmp: pathlib.Path, out_dir: pathlib.Path, labels_text: str, overwrite: bool,
                  keep_failed: bool) -> list[str]:
    """Move the files that passed (all with `keep_failed`) and labels.txt into place; returns the failed formats."""
    failed = [f for f, r in report["formats"].items() if r["passed"] is False]
    keep = [f for f in built if f not in failed or keep_failed]
    for f in keep:
        _place(built[f], targets[f], overwrite)
        report["formats"][f]["path"] = str(targets[f])
    if keep:
        labels_dest = out_dir / LABELS_FILE
        if not labels_dest.exists() or labels_dest.read_text() != labels_text:
            _place(tmp / LABELS_FILE, labels_dest, True)
        report["labels"] = str(labels_dest)
    return failed


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
