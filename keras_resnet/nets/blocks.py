"""Residual blocks of He et al. 2016 (CVPR), Fig. 2 and Fig. 5, and their variants.

A residual block computes (paper Eq. 1 and 2)

    y = F(x, {W_i}) + x            (identity shortcut, Eq. 1)
    y = F(x, {W_i}) + W_s x        (projection shortcut, Eq. 2)

followed by a ReLU. `F` is two 3x3 convolutions (the *basic* block, Fig. 5
left) or 1x1 -> 3x3 -> 1x1 (the *bottleneck*, Fig. 5 right), each followed by
batch normalization.

Shortcut options (§3.3, Table 3):
    "A": identity; where the shape changes, stride-2 subsampling plus zero
         channels (`layers.ZeroPadShortcut`, no parameters).
    "B": identity; a 1x1 projection + BN only where the shape changes.
    "C": a 1x1 projection + BN on every block.
`plain=True` drops the shortcut (the paper's plain nets: the same layers).

Versions:
    "v1":   the paper; a strided bottleneck has its stride on the first 1x1.
    "v1.5": the stride on the bottleneck's 3x3 (torchvision, NVIDIA).
            Basic blocks are the same in v1 and v1.5.
    "v2":   pre-activation, BN -> ReLU -> conv (He et al. 2016, "Identity
            Mappings in Deep Residual Networks", Fig. 4e); the shortcut and
            the sum are left clean, no ReLU after the addition.

`zero_init_residual` (Goyal et al. 2017, §5.1) starts the last BN gamma of each
residual branch at 0 (v1/v1.5), or the last conv kernel of the branch (v2, whose
branch ends in a convolution), so every block starts as the identity.

Layer names follow keras.applications: `conv{stage}_block{i}_{j}_conv`,
`..._{j}_bn`, `..._{j}_relu`, the projection `..._0_conv` / `..._0_bn`, the
option-A shortcut `..._shortcut`, the sum `..._add` and the output `..._out`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import keras

from ..registry import SHORTCUTS, VERSIONS  # noqa: F401  (re-exported: keras_resnet.nets.SHORTCUTS)
from .layers import FusedBatchNormalization, SubsamplingConv2D, ZeroPadShortcut


@dataclasses.dataclass(frozen=True)
class BlockOptions:
    """How every block of a network is built (validated by the model builder)."""

    shortcut: str = "A"
    plain: bool = False
    version: str = "v1"
    zero_init_residual: bool = False
    bn_momentum: float = 0.9
    bn_epsilon: float = 1e-5
    sync_bn: bool = False
    weight_decay: float = 0.0
    fused_bn: bool = True
    dtype: Any = None        # every layer's dtype policy (None: Keras's default), e.g. "mixed_bfloat16"


def conv(x: keras.KerasTensor, filters: int, kernel: int, strides: int, prefix: str, opts: BlockOptions,
         zero: bool = False) -> keras.KerasTensor:
    """A bias-free convolution named `{prefix}_conv`, He-normal initialised.

    A strided convolution larger than 1x1 pads explicitly by kernel // 2 on
    every side (as Caffe, Torch and PyTorch do) so that its outputs are centred
    on the even input positions, the same positions option A samples. A
    strided 1x1 is a `SubsamplingConv2D` (equal to Conv2D, oneDNN-safe).
    """
    padding = "same"
    if strides > 1 and kernel > 1:
        x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{prefix}_pad", dtype=opts.dtype)(x)
        padding = "valid"
    regularizer = keras.regularizers.L2(opts.weight_decay / 2) if opts.weight_decay else None
    # A strided 1x1 (projection shortcut, v1 bottleneck) subsamples first: same result, and it
    # avoids a oneDNN crash in that kernel's gradient (layers.SubsamplingConv2D).
    layer = SubsamplingConv2D if kernel == 1 and strides > 1 else keras.layers.Conv2D
    return layer(
        filters,
        kernel,
        strides=strides,
        padding=padding,
        use_bias=False,
        kernel_initializer="zeros" if zero else "he_normal",
        kernel_regularizer=regularizer,
        name=f"{prefix}_conv",
        dtype=opts.dtype,
    )(x)


def bn(x: keras.KerasTensor, prefix: str, opts: BlockOptions, zero_gamma: bool = False,
       suffix: str = "bn") -> keras.KerasTensor:
    """Batch normalization named `{prefix}_{suffix}` (gamma 0 if `zero_gamma`).

    `layers.FusedBatchNormalization` (same results, one fused op per training
    step) unless `opts.fused_bn` is False.
    """
    layer = FusedBatchNormalization if opts.fused_bn else keras.layers.BatchNormalization
    return layer(
        momentum=opts.bn_momentum,
        epsilon=opts.bn_epsilon,
        synchronized=opts.sync_bn,
        gamma_initializer="zeros" if zero_gamma else "ones",
        name=f"{prefix}_{suffix}",
        dtype=opts.dtype,
    )(x)


def relu(x: keras.KerasTensor, name: str, opts: BlockOptions) -> keras.KerasTensor:
    return keras.layers.ReLU(name=name, dtype=opts.dtype)(x)


def conv_bn_relu(x: keras.KerasTensor, filters: int, kernel: int, strides: int, prefix: str, opts: BlockOptions,
                 activate: bool = True, zero_gamma: bool = False) -> keras.KerasTensor:
    """conv -> BN (-> ReLU): one weighted layer of a v1 network."""
    x = conv(x, filters, kernel, strides, prefix, opts)
    x = bn(x, prefix, opts, zero_gamma=zero_gamma)
    return relu(x, f"{prefix}_relu", opts) if activate else x


def shortcut(x: keras.KerasTensor, source: keras.KerasTensor, out_channels: int, strides: int, prefix: str,
             opts: BlockOptions) -> keras.KerasTensor | None:
    """The shortcut of one block (§3.3), or None for a plain block.

    `x` is the block's input; `source` is what a projection reads (`x` in v1,
    the pre-activated input in v2). Projections are followed by BN in v1 only.
    """
    if opts.plain:
        return None
    changes = strides != 1 or x.shape[-1] != out_channels
    if opts.shortcut == "C" or (opts.shortcut == "B" and changes):
        s = conv(source, out_channels, 1, strides, f"{prefix}_0", opts)
        return s if opts.version == "v2" else bn(s, f"{prefix}_0", opts)
    if changes:
        return ZeroPadShortcut(strides, out_channels, name=f"{prefix}_shortcut", dtype=opts.dtype)(x)
    return x


def merge(branch: keras.KerasTensor, short: keras.KerasTensor | None, prefix: str,
          opts: BlockOptions) -> keras.KerasTensor:
    """y = F(x) + shortcut, then ReLU in v1 (Fig. 2); no ReLU in v2."""
    y = branch if short is None else keras.layers.Add(name=f"{prefix}_add", dtype=opts.dtype)([short, branch])
    if opts.version == "v2":
        return y
    return relu(y, f"{prefix}_out", opts)


def residual_block(x: keras.KerasTensor, branch: Sequence[tuple[int, int, int]], out_channels: int, strides: int,
                   prefix: str, opts: BlockOptions) -> keras.KerasTensor:
    """One block of any kind: the residual branch's layers `branch`, (kernel, filters, stride) each, then the sum.

    v1 / v1.5: conv -> BN (-> ReLU) per layer, the last without ReLU (its BN gamma 0 with zero_init_residual),
    then the sum and a ReLU (Fig. 2). v2: BN -> ReLU on the block's input first (it also feeds a projection),
    bare convolutions (the last one zero with zero_init_residual), no ReLU after the sum (Identity Mappings, Fig. 4e).
    """
    v2 = opts.version == "v2"
    pre = relu(bn(x, prefix, opts, suffix="preact_bn"), f"{prefix}_preact_relu", opts) if v2 else x
    short = shortcut(x, pre, out_channels, strides, prefix, opts)
    y = pre
    *inner, (kernel, filters, stride) = branch
    for j, (k, f, s) in enumerate(inner, start=1):
        y = conv_bn_relu(y, f, k, s, f"{prefix}_{j}", opts)
    last = f"{prefix}_{len(branch)}"
    if v2:
        y = conv(y, filters, kernel, stride, last, opts, zero=opts.zero_init_residual)
    else:
        y = conv_bn_relu(y, filters, kernel, stride, last, opts, activate=False,
                         zero_gamma=opts.zero_init_residual and not opts.plain)
    return merge(y, short, prefix, opts)


def basic_block(x: keras.KerasTensor, filters: int, strides: int, prefix: str, opts: BlockOptions) -> keras.KerasTensor:
    """Two 3x3 layers (Fig. 5 left), `filters` output channels."""
    return residual_block(x, [(3, filters, strides), (3, filters, 1)], filters, strides, prefix, opts)


def bottleneck_block(x: keras.KerasTensor, filters: int, strides: int, prefix: str, opts: BlockOptions,
                     expansion: int = 4) -> keras.KerasTensor:
    """1x1 (`filters`) -> 3x3 (`filters`) -> 1x1 (`expansion * filters`), Fig. 5 right.

    v1 puts the stride on the first 1x1, v1.5 and v2 on the 3x3.
    """
    out = expansion * filters
    s1, s3 = (strides, 1) if opts.version == "v1" else (1, strides)
    return residual_block(x, [(1, filters, s1), (3, filters, s3), (1, out, 1)], out, strides, prefix, opts)


BLOCKS: dict[str, Callable[..., keras.KerasTensor]] = {"basic": basic_block, "bottleneck": bottleneck_block}


def stage(x: keras.KerasTensor, block: str, filters: int, blocks: int, strides: int, stage_index: int,
          opts: BlockOptions) -> keras.KerasTensor:
    """`blocks` blocks named conv{stage_index}_block1 ..., the first with `strides`."""
    fn = BLOCKS[block]
    for i in range(1, blocks + 1):
        x = fn(x, filters, strides if i == 1 else 1, f"conv{stage_index}_block{i}", opts)
    return x
