"""PyTorch reference implementations of the layouts, for verifying conversions (needs torch).

Written from the source projects' definitions (akamaster's `resnet.py`, torchvision's
`models/resnet.py`), so that a converted model can be checked against the network the checkpoint
was trained as: same module names, so `load_state_dict` takes the checkpoint as it is.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from torch import nn

    from .layouts import Layout


def _torch() -> types.ModuleType:
    try:
        import torch
    except ImportError:
        from .checkpoints import EXTRA

        raise ValueError(f"Verifying a conversion needs PyTorch, which is not installed: {EXTRA}.") from None
    return torch


def reference_model(layout: Layout) -> nn.Module:
    """An eval-mode `torch.nn.Module` of `layout` (random weights until a state dict is loaded)."""
    _torch()                                   # a clear error when torch is not installed
    net = _akamaster_resnet(layout) if layout.kind == "akamaster" else _torchvision_resnet(layout)
    return net.eval()


def _akamaster_resnet(layout: Layout) -> nn.Module:
    """akamaster's CIFAR ResNet (`resnet.py`): 3 stages of 16/32/64 filters, option A (zero-padded) shortcuts."""
    from torch import nn
    from torch.nn import functional as F

    class AkamasterBlock(nn.Module):
        def __init__(self, in_planes, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.pad = planes // 4 if (stride != 1 or in_planes != planes) else None

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            short = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0)
            return F.relu(out + short)

    class AkamasterResNet(nn.Module):
        layer1: nn.Sequential                  # set by setattr below (annotations only: no class attributes)
        layer2: nn.Sequential
        layer3: nn.Sequential

        def __init__(self, n, classes, channels):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, 16, 3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            planes = 16
            for s, f in enumerate((16, 32, 64), start=1):
                blocks = []
                for i in range(n):
                    blocks.append(AkamasterBlock(planes, f, 2 if (i == 0 and s > 1) else 1))
                    planes = f
                setattr(self, f"layer{s}", nn.Sequential(*blocks))
            self.linear = nn.Linear(64, classes)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer3(self.layer2(self.layer1(out)))
            out = F.avg_pool2d(out, out.size()[3]).flatten(1)
            return self.linear(out)

    return AkamasterResNet(layout.counts[0], layout.classes, layout.channels)


def _torchvision_block(kind: str) -> type[nn.Module]:
    """torchvision's `BasicBlock` or `Bottleneck` (v1.5: the stride on the 3x3 convolution)."""
    from torch import nn
    from torch.nn import functional as F

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride, downsample):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride, downsample):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)   # v1.5
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.downsample = downsample

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = F.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return F.relu(out + (x if self.downsample is None else self.downsample(x)))

    return Bottleneck if kind == "bottleneck" else BasicBlock


def _torchvision_resnet(layout: Layout) -> nn.Module:
    """torchvision's ImageNet ResNet (`models/resnet.py`): 7x7 stem, max pool, 4 stages of 64..512 planes."""
    from torch import nn
    from torch.nn import functional as F

    class TorchvisionResNet(nn.Module):
        layer1: nn.Sequential                  # set by setattr below (annotations only: no class attributes)
        layer2: nn.Sequential
        layer3: nn.Sequential
        layer4: nn.Sequential

        def __init__(self, block, counts, classes, channels):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, 64, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            inplanes = 64
            for s, (planes, count) in enumerate(zip((64, 128, 256, 512), counts), start=1):
                stride = 1 if s == 1 else 2
                blocks = []
                for i in range(count):
                    down = None
                    if i == 0 and (stride != 1 or inplanes != planes * block.expansion):
                        down = nn.Sequential(
                            nn.Conv2d(inplanes, planes * block.expansion, 1, stride=stride, bias=False),
                            nn.BatchNorm2d(planes * block.expansion),
                        )
                    blocks.append(block(inplanes, planes, stride if i == 0 else 1, down))
                    inplanes = planes * block.expansion
                setattr(self, f"layer{s}", nn.Sequential(*blocks))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(inplanes, classes)

        def forward(self, x):
            x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    return TorchvisionResNet(_torchvision_block(layout.block), layout.counts, layout.classes, layout.channels)


def reference_logits(layout: Layout, state: Mapping[str, np.ndarray], images: np.ndarray) -> np.ndarray:
    """Logits of the PyTorch reference of `layout` with `state` on `images` (N, H, W, C float32, preprocessed)."""
    torch = _torch()
    net = reference_model(layout)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:   # check_state ran first, so this is a bug in the reference
        raise ValueError(f"reference {layout.describe()}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32))
        return net(x).numpy().astype(np.float64)
