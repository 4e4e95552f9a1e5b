"""The checkpoint layouts the converter knows, and how each maps onto our layers.

    "akamaster"    github.com/akamaster/pytorch_resnet_cifar10: the paper's CIFAR ResNets (§4.2),
                   option A. Keys conv1, bn1, layer{1,2,3}.{i}.conv{1,2} / bn{1,2}, linear.
    "torchvision"  torchvision.models.resnet{18,34,50,101,152} (bottlenecks are v1.5: the stride on the
                   3x3), which is also timm's key layout for its plain `resnet*` models. Keys conv1, bn1,
                   layer{1..4}.{i}.conv{1,2,3} / bn{1,2,3}, layer{s}.0.downsample.{0,1}, fc.

Every layout is detected from the keys alone; the depth from the number of blocks per stage and,
for ImageNet nets, the block type from whether `conv3` exists.

Weights map one to one: convolution OIHW -> HWIO, BatchNorm weight/bias/running_mean/running_var ->
gamma/beta/moving_mean/moving_variance, Linear (out, in) -> Dense (in, out).

Option A channel order. akamaster's downsampling shortcut pads `planes // 4` zero channels on *each
side* of the input channels (`F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))`); our
`ZeroPadShortcut` appends all of them after the input channels. The converted network is therefore
our architecture with the channels of every stage output permuted: if `P` is the permutation of a
stage (our channel c holds akamaster's channel P[c]), the convolutions and BatchNorms whose output is
added to that stage's shortcut (each block's second layer) take their output channels in the order P,
and every layer that reads a stage output (each block's first convolution, the classifier) takes its
input channels in that order. BN and ReLU act per channel and the shortcut is a pure channel
rearrangement, so the result is exact. Stage conv2_x is unpermuted; going from a stage with C input
channels and permutation Q to 2C channels, P[c] = C/2 + Q[c] for c < C (the input channels sit in
the middle in akamaster's tensor) and our appended zero channels take akamaster's zero channels
0..C/2-1 and 3C/2..2C-1 in order.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .. import registry
from ..registry import IMAGENET_SPECS

IMAGENET_PREPROCESSING = {"scale": 1 / 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
LAYOUTS = {
    "akamaster": "akamaster/pytorch_resnet_cifar10 CIFAR ResNet (option A): keys conv1, bn1, "
                 "layer1..layer3.<i>.conv1/bn1/conv2/bn2, linear",
    "torchvision": "torchvision/timm ImageNet ResNet 18/34/50/101/152 (v1.5 bottlenecks): keys conv1, bn1, "
                   "layer1..layer4.<i>.conv1..conv3/bn1..bn3, layer<s>.0.downsample.0/1, fc",
}
BN_PARAMS = ("weight", "bias", "running_mean", "running_var")
CIFAR_STEM, CIFAR_FILTERS = 16, (16, 32, 64)
IMAGENET_STEM, IMAGENET_FILTERS = 64, (64, 128, 256, 512)
_NAME = re.compile(r"^(cifar_)?resnet(\d+)$")


@dataclasses.dataclass(frozen=True)
class Layout:
    """One checkpoint's architecture: the layout kind, depth, block type, blocks per stage, classes."""

    kind: str
    depth: int
    block: str
    counts: tuple[int, ...]
    classes: int
    channels: int = 3

    @property
    def model_name(self) -> str:
        """Our name for the network (`build(layout.model_name, **layout.build_kwargs)`)."""
        if self.kind == "akamaster" and self.depth in IMAGENET_SPECS:
            return f"cifar_resnet{self.depth}"
        return f"resnet{self.depth}"

    @property
    def build_kwargs(self) -> dict[str, Any]:
        """The architecture arguments of our builder that reproduce this layout exactly."""
        if self.kind == "akamaster":
            return {"shortcut": "A", "plain": False, "version": "v1", "width": 1, "bn_epsilon": 1e-5}
        return {"shortcut": "B", "plain": False, "version": "v1.5" if self.block == "bottleneck" else "v1",
                "width": 1, "bn_epsilon": 1e-5}      # PyTorch's BatchNorm2d eps

    @property
    def preprocessing(self) -> dict[str, Any]:
        """What the source trained on: [0, 1] RGB normalised with ImageNet's mean and std (both layouts)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in IMAGENET_PREPROCESSING.items()}

    @property
    def input_size(self) -> int:
        return 32 if self.kind == "akamaster" else 224

    def describe(self) -> str:
        if self.kind == "akamaster":
            return (f"akamaster CIFAR ResNet-{self.depth} (option A, {self.counts[0]} blocks per stage, "
                    f"{self.classes} classes)")
        return (f"torchvision ResNet-{self.depth} ({self.block} blocks {'/'.join(map(str, self.counts))}"
                f"{', v1.5' if self.block == 'bottleneck' else ''}, {self.classes} classes)")


@dataclasses.dataclass(frozen=True)
class Module:
    """One PyTorch module of a layout and the Keras layer it becomes."""

    prefix: str            # PyTorch key prefix, e.g. "layer2.0.conv1"
    layer: str             # our layer name, e.g. "conv3_block1_1_conv"
    kind: str              # "conv", "bn" or "linear"
    shape: tuple[int, ...]  # conv (O, I, kh, kw); bn (C,); linear (out, in)
    in_perm: np.ndarray | None = None   # channel order of the input (akamaster option A), or None
    out_perm: np.ndarray | None = None  # channel order of the output, or None


# --------------------------------------------------------------------------- detection


def _stage_counts(keys: Iterable[str]) -> dict[int, int]:
    blocks: dict[int, int] = {}
    for key in keys:
        m = re.match(r"layer(\d+)\.(\d+)\.", key)
        if m:
            s, i = int(m.group(1)), int(m.group(2))
            blocks[s] = max(blocks.get(s, 0), i + 1)
    return blocks


def parse_model_name(model: str) -> tuple[str, int]:
    """`model` ("resnet56", "ResNet-56", "cifar_resnet50") -> (family, depth); ValueError otherwise."""
    key = registry.normalize_name(model)
    m = _NAME.match(key)
    if not m:
        raise ValueError(
            f"model must name a ResNet the converter can fill: resnet<D> for an akamaster CIFAR depth "
            f"D = 6n+2 (20, 32, 44, 56, 110, 1202, ...) or a torchvision depth ({', '.join(map(str, IMAGENET_SPECS))}), "
            f"cifar_resnet<D> for CIFAR depths that are also ImageNet depths; got {model!r}."
        )
    depth = int(m.group(2))
    try:
        family = registry.parse_model_name(key).family   # the one place of the depth rules
    except ValueError:
        raise ValueError(f"model {model!r}: depth {depth} is neither a torchvision ResNet depth "
                         f"({', '.join(map(str, IMAGENET_SPECS))}) nor a CIFAR depth 6n+2.") from None
    return family, depth


def detect_layout(state: Mapping[str, np.ndarray], model: str | None = None) -> Layout:
    """The `Layout` of a state dict (keys without `module.`), checked against `model` if given.

    Raises ValueError naming the layouts it knows when the keys fit none, and when `model` asks for
    another family or depth than the keys show.
    """
    keys = set(state)
    counts = _stage_counts(keys)
    stages = sorted(counts)
    wanted = parse_model_name(model) if model is not None else None
    conv1 = state.get("conv1.weight")
    if "linear.weight" in keys and stages == [1, 2, 3] and conv1 is not None and conv1.ndim == 4:
        kind, classes = "akamaster", int(state["linear.weight"].shape[0])
        n = max(counts.values())
        layout = Layout(kind, 6 * n + 2, "basic", (n, n, n), classes, int(conv1.shape[1]))
    elif "fc.weight" in keys and stages == [1, 2, 3, 4] and conv1 is not None and conv1.ndim == 4:
        kind, classes = "torchvision", int(state["fc.weight"].shape[0])
        block = "bottleneck" if any(re.match(r"layer\d+\.\d+\.conv3\.weight$", k) for k in keys) else "basic"
        found = tuple(counts[s] for s in stages)
        depth = next((d for d, spec in IMAGENET_SPECS.items() if spec == (block, found)), None)
        if depth is None:
            if wanted is None:
                allowed = "; ".join(f"ResNet-{d}: {b} {'/'.join(map(str, c))}" for d, (b, c) in IMAGENET_SPECS.items())
                raise ValueError(
                    f"torchvision-layout checkpoint with {block} blocks {'/'.join(map(str, found))} per stage: "
                    f"no ResNet has that ({allowed})."
                )
            depth = wanted[1]
            block, found = IMAGENET_SPECS.get(depth, (block, found))
        layout = Layout(kind, depth, block, found, classes, int(conv1.shape[1]))
    else:
        sample = ", ".join(sorted(keys)[:8]) + (f", ... ({len(keys)} keys)" if len(keys) > 8 else "")
        raise ValueError(
            f"Unknown checkpoint layout (keys: {sample}). Known layouts: "
            + "; ".join(f"{k}: {v}" for k, v in LAYOUTS.items()) + "."
        )
    if wanted is not None:
        family, depth = wanted
        own = "cifar" if layout.kind == "akamaster" else "imagenet"
        if family != own:
            raise ValueError(
                f"The checkpoint is an {layout.describe()}, but model {model!r} is "
                f"{'a CIFAR' if family == 'cifar' else 'an ImageNet'} ResNet: leave the model out, or name a "
                f"{'CIFAR (resnet<6n+2>)' if own == 'cifar' else 'torchvision (resnet18/34/50/101/152)'} model."
            )
        if depth != layout.depth:
            layout = dataclasses.replace(layout, depth=depth, **_spec(layout.kind, depth))
    return layout


def _spec(kind: str, depth: int) -> dict[str, Any]:
    if kind == "akamaster":
        n = (depth - 2) // 6
        return {"block": "basic", "counts": (n, n, n)}
    block, counts = IMAGENET_SPECS[depth]
    return {"block": block, "counts": counts}


# --------------------------------------------------------------------------- modules and expected keys


def _option_a_permutation(previous: np.ndarray) -> np.ndarray:
    """Our channel order of a doubled stage, given the previous stage's order (see the module doc)."""
    c = len(previous)
    pad = c // 2                              # akamaster: planes // 4 with planes = 2c
    zeros = list(range(pad)) + list(range(pad + c, 2 * c))
    return np.asarray([pad + q for q in previous] + zeros)


def modules(layout: Layout) -> list[Module]:
    """Every PyTorch module of `layout`, in order, with its Keras layer and expected shape."""
    out: list[Module] = []
    add = lambda *a, **k: out.append(Module(*a, **k))   # noqa: E731
    c_in = layout.channels
    filters: tuple[int, ...]
    if layout.kind == "akamaster":
        stem, filters, kernel, head = CIFAR_STEM, CIFAR_FILTERS, 3, "linear"
    else:
        stem, filters, kernel, head = IMAGENET_STEM, IMAGENET_FILTERS, 7, "fc"
    add("conv1", "conv1_conv", "conv", (stem, c_in, kernel, kernel))
    add("bn1", "conv1_bn", "bn", (stem,))
    channels = stem
    perm = np.arange(stem) if layout.kind == "akamaster" else None   # order of the current stage output
    for s, (f, count) in enumerate(zip(filters, layout.counts), start=1):
        for i in range(count):
            p, k = f"layer{s}.{i}", f"conv{s + 1}_block{i + 1}"
            if layout.kind == "akamaster":
                in_perm = perm
                if i == 0 and s > 1:
                    if f != 2 * channels:
                        raise ValueError(f"akamaster layout expects each stage to double the channels, got {channels} -> {f}")
                    assert perm is not None       # akamaster: the order of every stage output is tracked
                    perm = _option_a_permutation(perm)
                add(f"{p}.conv1", f"{k}_1_conv", "conv", (f, channels, 3, 3), in_perm=in_perm)
                add(f"{p}.bn1", f"{k}_1_bn", "bn", (f,))
                add(f"{p}.conv2", f"{k}_2_conv", "conv", (f, f, 3, 3), out_perm=perm)
                add(f"{p}.bn2", f"{k}_2_bn", "bn", (f,), out_perm=perm)
                channels = f
                continue
            out_ch = 4 * f if layout.block == "bottleneck" else f
            if layout.block == "bottleneck":
                add(f"{p}.conv1", f"{k}_1_conv", "conv", (f, channels, 1, 1))
                add(f"{p}.bn1", f"{k}_1_bn", "bn", (f,))
                add(f"{p}.conv2", f"{k}_2_conv", "conv", (f, f, 3, 3))
                add(f"{p}.bn2", f"{k}_2_bn", "bn", (f,))
                add(f"{p}.conv3", f"{k}_3_conv", "conv", (out_ch, f, 1, 1))
                add(f"{p}.bn3", f"{k}_3_bn", "bn", (out_ch,))
            else:
                add(f"{p}.conv1", f"{k}_1_conv", "conv", (f, channels, 3, 3))
                add(f"{p}.bn1", f"{k}_1_bn", "bn", (f,))
                add(f"{p}.conv2", f"{k}_2_conv", "conv", (f, f, 3, 3))
                add(f"{p}.bn2", f"{k}_2_bn", "bn", (f,))
            if i == 0 and (s > 1 or channels != out_ch):
                add(f"{p}.downsample.0", f"{k}_0_conv", "conv", (out_ch, channels, 1, 1))
                add(f"{p}.downsample.1", f"{k}_0_bn", "bn", (out_ch,))
            channels = out_ch
    add(head, "predictions", "linear", (layout.classes, channels), in_perm=perm)
    return out


def expected_shapes(layout: Layout) -> dict[str, tuple[int, ...]]:
    """`{key: shape}` of every tensor a checkpoint of `layout` holds (without num_batches_tracked)."""
    shapes = {}
    for m in modules(layout):
        if m.kind == "conv":
            shapes[f"{m.prefix}.weight"] = m.shape
        elif m.kind == "bn":
            shapes.update({f"{m.prefix}.{p}": m.shape for p in BN_PARAMS})
        else:
            shapes[f"{m.prefix}.weight"] = m.shape
            shapes[f"{m.prefix}.bias"] = m.shape[:1]
    return shapes


def _listing(items: Iterable[str], limit: int = 8) -> str:
    ordered = sorted(items, key=_natural)
    text = ", ".join(ordered[:limit])
    return text + (f", ... ({len(ordered)} in all)" if len(ordered) > limit else "")


def _natural(key: str) -> list[int | str]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key)]


def check_state(state: Mapping[str, np.ndarray], layout: Layout, source: str = "the checkpoint") -> None:
    """Raise one ValueError listing missing keys, extra keys and shape mismatches, if any."""
    expected = expected_shapes(layout)
    missing = set(expected) - set(state)
    extra = set(state) - set(expected)
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(v)})" for k, v in expected.items()
             if k in state and tuple(state[k].shape) != tuple(v)]
    if not (missing or extra or wrong):
        return
    parts = []
    counts = _stage_counts(state)
    found = tuple(counts[s] for s in sorted(counts))
    if found != tuple(layout.counts):
        parts.append(f"blocks per stage {'/'.join(map(str, found))} in the checkpoint, "
                     f"{'/'.join(map(str, layout.counts))} in {layout.model_name}")
    if missing:
        parts.append(f"missing keys: {_listing(missing)}")
    if extra:
        parts.append(f"unexpected keys: {_listing(extra)}")
    if wrong:
        parts.append(f"shape mismatches: {_listing(wrong)}")
    raise ValueError(
        f"{source} does not match {layout.describe()} ({layout.model_name}, {len(expected)} tensors expected, "
        f"{len(state)} found): " + "; ".join(parts) + "."
    )


# --------------------------------------------------------------------------- mapping


def keras_weights(state: Mapping[str, np.ndarray], layout: Layout) -> dict[str, list[np.ndarray]]:
    """`{our layer name: [arrays in Keras order]}` for a checked state dict of `layout`."""
    out = {}
    for m in modules(layout):
        if m.kind == "conv":
            w = state[f"{m.prefix}.weight"].transpose(2, 3, 1, 0)       # OIHW -> HWIO
            if m.in_perm is not None:
                w = w[:, :, m.in_perm, :]
            if m.out_perm is not None:
                w = w[:, :, :, m.out_perm]
            out[m.layer] = [np.ascontiguousarray(w)]
        elif m.kind == "bn":
            params = [state[f"{m.prefix}.{p}"] for p in BN_PARAMS]    # gamma, beta, moving mean, variance
            out[m.layer] = [p[m.out_perm] if m.out_perm is not None else p for p in params]
        else:
            w = state[f"{m.prefix}.weight"].T                          # (out, in) -> (in, out)
            if m.in_perm is not None:
                w = w[m.in_perm, :]
            out[m.layer] = [np.ascontiguousarray(w), state[f"{m.prefix}.bias"]]
    return out
