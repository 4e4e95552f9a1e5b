"""keras_resnet: the residual networks of He et al., "Deep Residual Learning for
Image Recognition" (CVPR 2016), for Keras 3 / TensorFlow.

```python
import keras_resnet
model = keras_resnet.ResNet56(classes=10)                 # CIFAR, option A
model = keras_resnet.build("resnet50", version="v1.5")    # ImageNet, option B
keras_resnet.profile(model)                               # params and MACs
```

Importing the package has no side effects (no environment variable, no matplotlib backend) and is
light: the public names below load their subpackage (and TensorFlow) when first used. Call
`keras_resnet.configure_tensorflow()` before importing TensorFlow to turn on its oneDNN kernels.
Keras finds this package's layers by name (`keras.saving.load_model(path, safe_mode=True)`) in any import
order: when Keras is loaded already they are registered at once; otherwise a one-shot import hook registers
them right after `import keras` finishes (see `_RegisterAfterKeras`), so importing this package never imports
Keras or TensorFlow by itself.
"""

import importlib
import importlib.abc
import importlib.util
import sys
from typing import TYPE_CHECKING, Any

from .runtime import PerformanceWarning, configure_tensorflow

if TYPE_CHECKING:   # what the lazy names below are, for type checkers (nothing is imported at run time)
    from . import analysis, app, cli, convert, data, deploy, io, nets, registry, search, training  # noqa: F401
    from .deploy.images import load_image
    from .deploy.predictors import open_predictor
    from .nets.builders import (
        ResNet18, ResNet20, ResNet32, ResNet34, ResNet44, ResNet50, ResNet56, ResNet101, ResNet110, ResNet152,
        ResNet1202, build, cifar_resnet, imagenet_resnet, toy_skip_net,
    )
    from .nets.layers import FusedBatchNormalization, SubsamplingConv2D, ZeroPadShortcut
    from .nets.profiling import profile
    from .registry import list_models

__version__ = "0.1.0"

# public name -> the module that defines it (imported on first access)
_LAZY = {
    **dict.fromkeys(
        ("ResNet18", "ResNet20", "ResNet32", "ResNet34", "ResNet44", "ResNet50", "ResNet56", "ResNet101",
         "ResNet110", "ResNet152", "ResNet1202", "build", "cifar_resnet", "imagenet_resnet", "toy_skip_net"),
        ".nets.builders"),
    "list_models": ".registry",
    "FusedBatchNormalization": ".nets.layers",
    "SubsamplingConv2D": ".nets.layers",
    "ZeroPadShortcut": ".nets.layers",
    "profile": ".nets.profiling",
    "load_image": ".deploy.images",
    "open_predictor": ".deploy.predictors",
}
_SUBPACKAGES = ("analysis", "app", "cli", "convert", "data", "deploy", "io", "nets", "registry", "search", "training")

__all__ = [
    "FusedBatchNormalization", "PerformanceWarning", "SubsamplingConv2D", "ZeroPadShortcut", "build", "cifar_resnet",
    "configure_tensorflow", "imagenet_resnet", "toy_skip_net", "list_models", "profile", "load_image",
    "open_predictor", "ResNet18", "ResNet20", "ResNet32", "ResNet34", "ResNet44", "ResNet50", "ResNet56",
    "ResNet101", "ResNet110", "ResNet152", "ResNet1202",
]


def _register_keras_objects() -> None:
    """Register our layers and the TopK metric with Keras (so `keras.saving.load_model` finds them)."""
    from .nets import layers  # noqa: F401
    from .training import metrics  # noqa: F401  TopK: compiled models saved by train() reference it


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """A one-shot post-import hook: registers our Keras objects right after `import keras` completes.

    Why a hook: Keras 3 imports a serialized layer's module by itself only for its own packages
    (keras, keras_hub, ...; `keras/src/saving/serialization_lib.py`), so our layers must be registered
    before `load_model`, whatever order the user imported things in. Importing Keras here instead would make
    `import keras_resnet` (and `keras-resnet --help`) load TensorFlow (~4 s). The finder only answers for
    the name "keras", removes itself from `sys.meta_path` at that moment, and leaves the real spec and loader
    in place (only that one loader instance's `exec_module` is wrapped).
    """

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "keras":
            return None
        _remove_hook()
        spec = importlib.util.find_spec("keras")   # the real one, from the finders after us
        loader = None if spec is None else spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module: Any) -> None:
            exec_module(module)
            _register_keras_objects()

        # this spec's own loader object only
        loader.exec_module = exec_then_register   # type: ignore[method-assign]
        return spec


def _remove_hook() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _RegisterAfterKeras)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        if _LAZY[name] != ".registry":
            _register_keras_objects()
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBPACKAGES))


if "keras" in sys.modules:   # Keras is loaded already: registering costs nothing more, and load_model then works
    _register_keras_objects()
elif not any(isinstance(f, _RegisterAfterKeras) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKeras())
