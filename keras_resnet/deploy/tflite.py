"""TFLite files: conversion from a probabilities SavedModel (float32, float16, int8), the class names embedded
as an associated file, and the operators a flatbuffer holds (built-in only is deployable).

Import-light (TensorFlow and LiteRT are imported inside the functions): predictors.py reads a file's
operators from here, as export.py does.
"""

from __future__ import annotations

import io
import pathlib
import zipfile
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from .._typing import StrPath

LABELS_FILE = "labels.txt"   # the class names, one per line: next to every export and inside each .tflite


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
