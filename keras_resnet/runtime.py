"""TensorFlow's process-wide settings: chosen before TensorFlow loads, checked once it has.

Importing keras_resnet sets nothing. The `keras-resnet` command calls `configure_tensorflow()` before
any TensorFlow import; a script can do the same:

    import keras_resnet as kr
    kr.configure_tensorflow()        # before `import tensorflow` / `import keras`: oneDNN on, quiet logs
    import tensorflow as tf

oneDNN: TensorFlow 2.21 reads `TF_ENABLE_ONEDNN_OPTS` once, when it loads, and leaves its oneDNN kernels
off by default on some x86 CPUs (AVX2-only AMD ones among them), where this project measured ResNet
training ~2-3x slower without them (benchmarks/train_throughput.py --variant onednn --variant no_onednn).
When keras_resnet first builds or trains a model in a process whose TensorFlow has them off although
nobody chose so (the variable unset), it warns once (`PerformanceWarning`) with the fix.
"""

from __future__ import annotations

import inspect
import os
import platform
import sys
import warnings
from types import ModuleType

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
X86 = ("x86_64", "amd64", "i386", "i686", "x86")


class PerformanceWarning(UserWarning):
    """keras_resnet will run, but measurably slower than it could (the message says why and the fix)."""


def configure_tensorflow(*, onednn: bool = True, verbose: bool = False) -> bool:
    """Set TensorFlow's start-up options, unless the user set them: call before TensorFlow is imported.

    - `onednn=True`: `TF_ENABLE_ONEDNN_OPTS=1` (TF's oneDNN CPU kernels; ~2-3x faster ResNet training on
      CPUs where TF leaves them off).
    - `verbose=False`: `TF_CPP_MIN_LOG_LEVEL=3` (no TF/abseil/oneDNN/CUDA log lines), and TensorFlow's and
      absl's Python loggers at ERROR. `verbose=True` leaves TensorFlow's defaults.

    A variable already in the environment is kept (yours wins). Returns True, or False when TensorFlow is
    already loaded (then the variables no longer apply to it; only the Python loggers change).
    """
    loaded = "tensorflow" in sys.modules
    if onednn:
        os.environ.setdefault(ONEDNN_VARIABLE, "1")
    if not verbose:
        os.environ.setdefault(LOG_LEVEL_VARIABLE, "3")
        quiet_python_loggers()
    return not loaded


def quiet_python_loggers() -> None:
    """TensorFlow's and absl's Python loggers at ERROR (retracing notices, export chatter)."""
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if "absl.logging" in sys.modules or _importable("absl"):
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def keras_backend() -> str:
    """The Keras backend of this process: the loaded Keras's, else KERAS_BACKEND, else "tensorflow" (Keras's
    default), without importing Keras."""
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return keras.backend.backend()
    return os.environ.get("KERAS_BACKEND", "").strip() or "tensorflow"


def require_tensorflow(what: str) -> None:
    """One ValueError when `what`, a TensorFlow-only part of the package, is used on Keras's JAX or PyTorch
    backend (or TensorFlow is not installed): SavedModel/TFLite export, tf.distribute, tf.data sources, the
    keras-tuner search."""
    name = keras_backend()
    if name != "tensorflow":
        raise ValueError(f"{what} needs TensorFlow, but Keras runs on the {name} backend in this process "
                         f"(KERAS_BACKEND={name}); run it with KERAS_BACKEND=tensorflow (and TensorFlow installed)")
    if "tensorflow" not in sys.modules:
        try:
            import_tensorflow()
        except ImportError:
            raise ValueError(f"{what} needs TensorFlow, which is not installed here "
                             "(pip install 'tensorflow==2.21.*', or the package's default install)") from None


def import_tensorflow() -> ModuleType:
    """Import TensorFlow with its load-time log lines below `TF_CPP_MIN_LOG_LEVEL` held back (they ignore the
    variable, tensorflow/tensorflow#100442); everything else it writes still reaches stderr."""
    from . import _compat

    with _compat.hidden_native_logs():
        import tensorflow
    return tensorflow


# --------------------------------------------------------------------------- the oneDNN check

_onednn_checked = False


def onednn_off_by_default() -> bool:
    """True when the loaded TensorFlow has oneDNN off on an x86 CPU and `TF_ENABLE_ONEDNN_OPTS` was not set."""
    from . import _compat

    if os.environ.get(ONEDNN_VARIABLE, "").strip():          # the user (or the CLI) chose; respect it
        return False
    if platform.machine().lower() not in X86:
        return False
    return _compat.onednn_enabled() is False


def check_onednn() -> None:
    """Warn once per process (PerformanceWarning) when TensorFlow's oneDNN kernels are off by default here.

    Called when training starts on the TensorFlow backend (`training.train`, which `keras-resnet train` runs),
    never at import or when a model is built.
    """
    global _onednn_checked
    if _onednn_checked:
        return
    _onednn_checked = True
    if not onednn_off_by_default():
        return
    warnings.warn(
        "TensorFlow's oneDNN CPU kernels are off in this process (TensorFlow was loaded without "
        f"{ONEDNN_VARIABLE}, and its default leaves them off on this CPU): ResNet training runs about 2-3x "
        f"slower (measured by keras_resnet on AVX2 CPUs). Fix: set {ONEDNN_VARIABLE}=1 before TensorFlow is "
        f"imported, e.g. `export {ONEDNN_VARIABLE}=1` in the shell, or call keras_resnet.configure_tensorflow() "
        f"at the top of your script before importing tensorflow or keras (the keras-resnet command does). "
        f"To keep them off on purpose, set {ONEDNN_VARIABLE}=0.",
        PerformanceWarning,
        stacklevel=_caller_outside_package(),
    )


def _caller_outside_package() -> int:
    """The `stacklevel` that points a warning at the first caller outside keras_resnet."""
    level = 1
    frame = inspect.currentframe()
    try:
        frame = frame.f_back if frame is not None else None   # the function that warns
        while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == __name__.split(".")[0]:
            frame = frame.f_back
            level += 1
    finally:
        del frame
    return level
