"""keras_resnet: the residual networks of He et al., "Deep Residual Learning for
Image Recognition" (CVPR 2016), for Keras 3 / TensorFlow.

    import keras_resnet
    model = keras_resnet.ResNet56(classes=10)                 # CIFAR, option A
    model = keras_resnet.build("resnet50", version="v1.5")    # ImageNet, option B
    keras_resnet.profile(model)                               # params and MACs
"""

import os

# Quiet TensorFlow's C++ start-up logs unless the user asked for them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN convolution kernels: TF 2.21 leaves them off on this kind of CPU, and they train
# ResNet-20 ~1.9x faster (benchmarks/train_throughput.py --variant default --variant onednn).
# Must be set before TensorFlow is imported; set TF_ENABLE_ONEDNN_OPTS=0 to opt out.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from .training import metrics  # noqa: F401  registers TopK, which compiled models saved by train() reference
from .nets.layers import FusedBatchNormalization, ZeroPadShortcut
from .nets.builders import (
    ResNet18, ResNet20, ResNet32, ResNet34, ResNet44, ResNet50, ResNet56, ResNet101,
    ResNet110, ResNet152, ResNet1202, build, cifar_resnet, imagenet_resnet, list_models,
    toy_skip_net,
)
from .deploy.images import load_image
from .deploy.predictors import open_predictor
from .nets.profiling import profile

__version__ = "0.1.0"

__all__ = [
    "FusedBatchNormalization", "ZeroPadShortcut", "build", "cifar_resnet", "imagenet_resnet", "toy_skip_net", "list_models",
    "profile", "load_image", "open_predictor", "ResNet18", "ResNet20", "ResNet32", "ResNet34", "ResNet44", "ResNet50", "ResNet56",
    "ResNet101", "ResNet110", "ResNet152", "ResNet1202",
]
