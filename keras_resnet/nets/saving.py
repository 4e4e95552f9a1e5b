"""Loading `.keras` files safely: one clear error for a missing, corrupt or code-carrying file.

Kept with the networks (not in deploy/) because training, the pretrained weights, the experiments and
deployment all load models, and dependencies point down (DESIGN.md, Layout). `keras_resnet.deploy`
re-exports both functions.
"""

from __future__ import annotations

import pathlib
import zipfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

    from .._typing import StrPath

MODEL_FILE = "model.keras"


def check_keras_archive(path: StrPath, where: str | None = None) -> None:
    """A `.keras` file is a zip holding config.json and model.weights.h5 with good CRCs; else one ValueError.

    Cheap (no TensorFlow): the demo checks its folders with it at start-up, load_keras_model before loading.
    """
    where = where or str(path)
    if not zipfile.is_zipfile(path):
        size = pathlib.Path(path).stat().st_size
        raise ValueError(f"{where} is empty (0 bytes)" if not size else
                         f"{where} is corrupt or truncated: not a zip archive ({size:,} bytes); a .keras file is "
                         "the zip that model.save() writes")
    try:
        with zipfile.ZipFile(path) as z:
            missing = [n for n in ("config.json", "model.weights.h5") if n not in z.namelist()]
            if missing:
                raise ValueError(f"{where} is corrupt: {' and '.join(missing)} missing inside the archive")
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
        raise ValueError(f"{where} is corrupt: {e}") from None
    if bad is not None:
        raise ValueError(f"{where} is corrupt: {bad} inside fails its CRC check")


def load_keras_model(path: StrPath, compile: bool = False) -> keras.Model:
    """Load a `.keras` file (safe mode; uncompiled for inference unless `compile`). One clear error otherwise.

    Always `safe_mode=True`: a file holding Python code (a Lambda layer's lambda) is refused, never run.
    Importing this package registers its layers and metrics, so files written by `train` load.
    """
    import keras

    from . import layers  # noqa: F401  registers this package's layers, so Keras finds them by name

    path = pathlib.Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"Keras model not found: {path}")
    check_keras_archive(path)
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=compile)
    except Exception as e:  # noqa: BLE001  Keras raises many types for a bad file
        text = " ".join(str(e).split())
        if "safe_mode" in text:
            layer = "a Lambda layer" if "Lambda" in text else "Python code"
            raise ValueError(f"{path} holds {layer} (arbitrary Python code) and is refused: .keras files are "
                             "loaded with safe_mode=True. Rebuild the model without it, or, only if you trust "
                             "where the file comes from, load it yourself with "
                             "keras.saving.load_model(path, safe_mode=False)") from None
        raise ValueError(f"could not load {path} as a Keras model: {type(e).__name__}: {text[:300]}") from None
