"""Parity of an exported model with its Keras original, on held-out images.

For each exported file: top-1 agreement with the Keras model, the largest absolute difference of
any class probability, and (with labels) top-1 accuracy against the Keras model's. Thresholds:

    float32 files (SavedModel, TFLite fp32, ONNX): max |Δp| < 1e-4 and 100 % agreement
    TFLite float16:                                 ≥ 99.5 % agreement
    TFLite int8 (full integer):                     ≥ 98 % agreement and accuracy within 1 point
"""

from __future__ import annotations

import json
import pathlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io import atomic_write

if TYPE_CHECKING:
    import numpy.typing as npt

    from .._typing import StrPath
    from .predictors import Predictor

REPORT_JSON = "parity.json"
REPORT_TEXT = "parity.txt"
FP32 = {"max_abs_diff": 1e-4, "agreement": 1.0}
THRESHOLDS: dict[str, dict[str, float]] = {
    "savedmodel": FP32,
    "tflite": FP32,
    "onnx": FP32,
    "tflite-fp16": {"agreement": 0.995},
    "tflite-int8": {"agreement": 0.98, "accuracy_drop": 0.01},
}


class ParityError(ValueError):
    """An exported file missed its parity threshold."""


def compare(reference_probs: npt.ArrayLike, probs: npt.ArrayLike, labels: npt.ArrayLike | None = None,
            thresholds: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Agreement, max |Δp| and accuracies of `probs` against `reference_probs`; failures per `thresholds`."""
    reference_probs, probs = np.asarray(reference_probs, np.float64), np.asarray(probs, np.float64)
    if reference_probs.shape != probs.shape:
        raise ValueError(f"probabilities of shape {probs.shape} cannot be compared with {reference_probs.shape}")
    ref_top, top = reference_probs.argmax(1), probs.argmax(1)
    row: dict[str, Any] = {"examples": int(len(probs)),
           "top1_agreement": float((ref_top == top).mean()),
           "disagreements": int((ref_top != top).sum()),
           "max_abs_diff": float(np.abs(reference_probs - probs).max()),
           "accuracy": None, "reference_accuracy": None, "accuracy_drop": None}
    if labels is not None:
        labels = np.asarray(labels).ravel()
        row["accuracy"] = float((top == labels).mean())
        row["reference_accuracy"] = float((ref_top == labels).mean())
        row["accuracy_drop"] = row["reference_accuracy"] - row["accuracy"]
    thresholds = thresholds or {}
    failures = []
    if "max_abs_diff" in thresholds and not row["max_abs_diff"] < thresholds["max_abs_diff"]:
        failures.append(f"max |Δp| {row['max_abs_diff']:.3g} ≥ {thresholds['max_abs_diff']:g}")
    if "agreement" in thresholds and row["top1_agreement"] < thresholds["agreement"]:
        failures.append(f"top-1 agreement {row['top1_agreement']:.2%} < {thresholds['agreement']:.1%}")
    if "accuracy_drop" in thresholds:
        if row["accuracy_drop"] is None:
            row["note"] = "no labels: the accuracy criterion was not checked"
        elif row["accuracy_drop"] > thresholds["accuracy_drop"] + 1e-12:
            failures.append(f"accuracy {row['accuracy']:.2%} is {row['accuracy_drop'] * 100:.2f} points below "
                            f"Keras's {row['reference_accuracy']:.2%} (allowed {thresholds['accuracy_drop'] * 100:g})")
    row.update(thresholds=thresholds, failures=failures, passed=not failures, checked=True)
    return row


def check(reference: Predictor, predictors: Mapping[str, Predictor], images: np.ndarray,
          labels: np.ndarray | None = None, report: Mapping[str, Any] | None = None,
          verbose: bool = True) -> dict[str, Any]:
    """Run the reference Predictor and each {format: Predictor} on `images`; returns the report dict."""
    report = dict(report or {})
    t = time.perf_counter()
    ref = reference.predict(images)
    report["reference"] = {"backend": reference.backend, "examples": int(len(images)),
                           "accuracy": None if labels is None else float((ref.argmax(1) == labels).mean()),
                           "seconds": round(time.perf_counter() - t, 3)}
    report.setdefault("formats", {})
    for fmt, predictor in predictors.items():
        t = time.perf_counter()
        row = compare(ref, predictor.predict(images), labels, THRESHOLDS.get(fmt, FP32))
        row["seconds"] = round(time.perf_counter() - t, 3)
        report["formats"][fmt] = row
        if verbose:
            print(f"parity: {fmt}: {_summary(row)}", flush=True)
    return report


def _summary(row: Mapping[str, Any]) -> str:
    if not row.get("checked"):
        return "not checked"
    acc = "" if row["accuracy"] is None else f", accuracy {row['accuracy']:.2%} (Keras {row['reference_accuracy']:.2%})"
    verdict = "PASS" if row["passed"] else "FAIL: " + "; ".join(row["failures"])
    return (f"agreement {row['top1_agreement']:.2%} ({row['disagreements']}/{row['examples']} differ), "
            f"max |Δp| {row['max_abs_diff']:.2g}{acc} -> {verdict}")


def render(report: Mapping[str, Any]) -> str:
    """A short text version of the report."""
    lines = [f"Parity of exported files with the Keras model ({report.get('model', '')})"]
    ref = report.get("reference")
    if ref:
        acc = "" if ref["accuracy"] is None else f", Keras top-1 accuracy {ref['accuracy']:.2%}"
        lines.append(f"held-out images: {ref['examples']}{acc}")
    for fmt, row in report.get("formats", {}).items():
        lines.append(f"  {fmt:12s} {_summary(row)}")
    return "\n".join(lines) + "\n"


def write_report(report: Mapping[str, Any], out_dir: StrPath) -> dict[str, Any]:
    """Write parity.json and parity.txt in `out_dir`, keeping the entries of formats exported before."""
    out_dir = pathlib.Path(out_dir)
    path = out_dir / REPORT_JSON
    merged = dict(report)
    if path.is_file():
        try:
            old = json.loads(path.read_text())
            merged["formats"] = {**old.get("formats", {}), **report.get("formats", {})}
        except (json.JSONDecodeError, AttributeError):
            pass
    atomic_write(path, json.dumps(merged, indent=2) + "\n")
    atomic_write(out_dir / REPORT_TEXT, render(merged))
    return merged
