"""The networks of He et al. 2016: layers (option A, fused BN), blocks, builders, profiling, weights, saving.

    from keras_resnet.nets import build, profile
    model = build("resnet56", classes=10)
    profile(model)                         # params and MACs

`build`, `profile`, the named models and the layers are also importable from `keras_resnet` itself.
"""

from .blocks import BLOCKS, SHORTCUTS, VERSIONS, BlockOptions
from .builders import (
    CIFAR_DEPTHS, IMAGENET_SPECS, ResNet18, ResNet20, ResNet32, ResNet34, ResNet44, ResNet50, ResNet56, ResNet101,
    ResNet110, ResNet152, ResNet1202, ModelOptions, ResNetOptions, build, cifar_resnet, deep_graph_recursion,
    imagenet_resnet, list_models, resnet, toy_skip_net,
)
from .layers import FusedBatchNormalization, SubsamplingConv2D, ZeroPadShortcut
from .profiling import profile

__all__ = [
    "BLOCKS", "SHORTCUTS", "VERSIONS", "BlockOptions", "CIFAR_DEPTHS", "IMAGENET_SPECS", "FusedBatchNormalization",
    "SubsamplingConv2D", "ZeroPadShortcut", "build", "cifar_resnet", "deep_graph_recursion", "imagenet_resnet",
    "list_models", "profile", "resnet", "toy_skip_net", "ModelOptions", "ResNetOptions", "ResNet18", "ResNet20",
    "ResNet32", "ResNet34", "ResNet44", "ResNet50", "ResNet56", "ResNet101", "ResNet110", "ResNet152", "ResNet1202",
]
