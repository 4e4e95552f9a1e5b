"""The ONNX export: the probabilities SavedModel converted by tf2onnx (an optional extra)."""

from __future__ import annotations

import pathlib
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._typing import StrPath


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
