"""PyTorch / safetensors checkpoints -> our Keras models, verified against PyTorch's logits.

```python
import keras_resnet.convert as krc
model = krc.convert("resnet56-4bfd9763.th", output="resnet56.keras")     # akamaster CIFAR ResNet-56
model = krc.convert("resnet50.safetensors")                            # torchvision/timm ResNet-50
```

Layouts (detected from the keys): akamaster/pytorch_resnet_cifar10's CIFAR ResNets (option A, its zero
channels mapped exactly onto ours) and torchvision's ImageNet ResNets 18/34/50/101/152 (timm's
`resnet*` use the same keys). Reading torch files and verifying need the `convert` extra
(`pip install 'keras-resnet-paper[convert]'`); `.safetensors` files convert without torch.
"""

from .checkpoints import SUFFIXES, is_checkpoint, read_checkpoint
from .converter import Verification, convert, keras_logits, preprocess_numpy, save, verify_conversion
from .layouts import LAYOUTS, Layout, check_state, detect_layout, expected_shapes, keras_weights

__all__ = [
    "SUFFIXES", "LAYOUTS", "Layout", "Verification", "check_state", "convert", "detect_layout", "expected_shapes",
    "is_checkpoint", "keras_logits", "keras_weights", "preprocess_numpy", "read_checkpoint", "save",
    "verify_conversion",
]
