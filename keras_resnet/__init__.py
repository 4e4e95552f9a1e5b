"""keras_resnet: the residual networks of He et al., "Deep Residual Learning for
Image Recognition" (CVPR 2016), for Keras 3 / TensorFlow.

    import keras_resnet
    model = keras_resnet.ResNet56(classes=10)                 # CIFAR, option A
    model = keras_resnet.build("resnet50", version="v1.5")    # ImageNet, option B
    keras_resnet.profile(model)                               # params and MACs

Importing the package has no side effects (no environment variable, no matplotlib backend) and is
light: the public names below load their subpackage (and TensorFlow) when first used. Call
`keras_resnet.configure_tensorflow()` before importing TensorFlow to turn on its oneDNN kernels.
Keras finds this package's layers by name (`keras.saving.load_model`) once `keras_resnet.nets` is
imported; it is imported here already when Keras was loaded first.
"""

import importlib
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
