"""The networks of He et al. 2016 (CVPR): one spec-driven builder and the named models.

CIFAR family (§4.2): a 3x3 conv with 16 filters, then three stages of n blocks
each (conv2_x, conv3_x, conv4_x with 16/32/64 filters, feature maps 32/16/8),
global average pooling and a dense classifier: 6n + 2 weighted layers
(ResNet-20/32/44/56/110/1202 for n = 3/5/7/9/18/200).

ImageNet family (Table 1): a 7x7/2 conv with 64 filters, a 3x3/2 max pool,
four stages conv2_x ... conv5_x (64/128/256/512 filters) of basic blocks
(ResNet-18/34) or bottleneck blocks (ResNet-50/101/152), global average
pooling and a dense classifier.

Both are `resnet(spec)` for a `keras_resnet.registry.NetSpec` (the stem and the stages: filters, blocks,
strides, block type; `registry.net_spec(family, depth)`), like keras-hub's stackwise lists and timm's
`ResNet(block, layers, stem_type)`; `cifar_resnet` and `imagenet_resnet` are that for the paper's depths.

Every function returns a plain functional `keras.Model` and takes the
keras.applications arguments: `include_top`, `input_shape`, `input_tensor`,
`pooling`, `classes`, `classifier_activation`, `name`; plus `preprocessing`
(a dict with `scale`, `mean`, `std`) to put rescaling and normalization inside
the model so that it takes raw 0-255 images, and `dtype`, every layer's dtype
policy (None: Keras's default; "mixed_bfloat16" or "mixed_float16": mixed
precision with a float32 classifier). Building reads and sets no global state.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack, cast

import keras
import numpy as np

from ..registry import (  # noqa: F401  (CIFAR_DEPTHS, IMAGENET_SPECS, list_models: re-exported here)
    CIFAR_DEPTHS, DEFAULT_CLASSES, DEFAULT_INPUT_SHAPES, DEFAULT_SHORTCUTS, IMAGENET_SPECS, POOLINGS, SHORTCUTS,
    VERSIONS, NetSpec, StemSpec, list_models, net_spec, parse_model_name,
)
from .blocks import BlockOptions, bn, conv, conv_bn_relu, relu, stage
from .graph import deep_graph_recursion  # noqa: F401  (re-exported: nets.builders.deep_graph_recursion)
from .preprocessing import add_preprocessing

if TYPE_CHECKING:
    from .._typing import Preprocessing, ShapeLike, StrPath

# --------------------------------------------------------------------------- inputs and head


def _check_options(shortcut, plain, version, zero_init_residual, classes, include_top, pooling, width):
    if shortcut not in SHORTCUTS:
        raise ValueError(f"shortcut must be one of {', '.join(SHORTCUTS)} (paper §3.3), got {shortcut!r}.")
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {', '.join(VERSIONS)}, got {version!r}.")
    if plain and zero_init_residual:
        raise ValueError(
            "zero_init_residual=True needs residual shortcuts: in a plain net (plain=True) "
            "a zero-initialised branch would block the signal entirely."
        )
    if include_top and (not isinstance(classes, (int, np.integer)) or isinstance(classes, bool) or classes < 1):
        raise ValueError(f"classes must be an integer >= 1 when include_top=True, got {classes!r}.")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be None, 'avg' or 'max', got {pooling!r}.")
    if include_top and pooling not in (None, "avg"):
        raise ValueError(
            f"include_top=True uses the paper's global average pooling + dense head, so pooling must "
            f"be None or 'avg'; got {pooling!r} (use include_top=False for pooling='max')."
        )
    if not (isinstance(width, (int, float)) and width > 0):
        raise ValueError(f"width must be a positive number (a multiplier of the filters), got {width!r}.")


def _input(input_shape, input_tensor, default_shape, min_size):
    """The model's input: a new `keras.Input` or the given `input_tensor`."""
    if input_shape is None:
        input_shape = default_shape if input_tensor is None else tuple(input_tensor.shape[1:])
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}.")
    h, w, c = input_shape
    if not isinstance(c, (int, np.integer)) or c < 1:
        raise ValueError(f"input_shape needs a known number of channels >= 1, got {input_shape!r}.")
    for side in (h, w):
        if side is not None and side < min_size:
            raise ValueError(
                f"input_shape {input_shape!r} is too small: this network downsamples by {min_size}, "
                f"so height and width must be >= {min_size} (or None)."
            )
    if input_tensor is None:
        return keras.Input(shape=input_shape, name="input"), input_shape
    if not keras.backend.is_keras_tensor(input_tensor):
        return keras.Input(tensor=input_tensor, shape=input_shape, name="input"), input_shape
    return input_tensor, input_shape


def _head(x, include_top, pooling, classes, classifier_activation, weight_decay, dtype=None):
    """Global average pooling and the classifier ("average pooling, a 10-way fully-connected layer, and softmax",
    §4.2). Under a mixed-precision `dtype` both run in float32, as Keras's mixed-precision guide asks of a
    model's last layers: a bfloat16 softmax has 8 significant bits, and the loss and its gradient would be
    computed from those rounded probabilities (ResNet-20 on the subset trained up to 10 points worse so)."""
    if include_top:
        head_dtype = "float32" if _is_mixed(dtype) else dtype
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool", dtype=head_dtype)(x)
        regularizer = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
        return keras.layers.Dense(
            classes, activation=classifier_activation, kernel_regularizer=regularizer, name="predictions",
            dtype=head_dtype,
        )(x)
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="avg_pool", dtype=dtype)(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="max_pool", dtype=dtype)(x)
    return x


def _is_mixed(dtype):
    """True for a mixed-precision policy given by name ("mixed_bfloat16") or as a `keras.DTypePolicy`."""
    return str(getattr(dtype, "name", dtype)).startswith("mixed")


def _model(inputs, input_tensor, outputs, name, dtype=None):
    """The functional model; with `dtype` its own policy too (`compile` reads it: "mixed_float16" scales the loss)."""
    if input_tensor is not None:
        sources = keras.utils.get_source_inputs(input_tensor)
        inputs = sources[0] if len(sources) == 1 else sources   # one tensor: calling the model with one raises no warning
    with deep_graph_recursion():
        model = keras.Model(inputs, outputs, name=name)
    if dtype is not None:
        model.dtype_policy = dtype
    return model


def _default_name(prefix, depth, plain, version):
    base = f"{'plain' if plain else prefix}{depth}"
    return base + ("_v2" if version == "v2" else "_v1_5" if version == "v1.5" else "")


# --------------------------------------------------------------------------- the builder


class ResNetOptions(TypedDict, total=False):
    """The keyword options of `cifar_resnet`, `imagenet_resnet` and the named models; [default].

    keras.applications' arguments and `preprocessing`, `dtype` (module docstring), then the architecture: the
    shortcut option of §3.3, the plain nets of §4.1, the block version, the filters' width, zero-init residuals
    (Goyal et al. 2017), batch normalization and L2 weight decay (§3.4: 1e-4 ImageNet, §4.2: 1e-4 CIFAR).
    """

    include_top: bool                        # [True] the paper's global average pooling + dense classifier
    input_shape: ShapeLike | None            # [32x32x3 CIFAR, 224x224x3 ImageNet] (H, W, C); None sides: any size
    input_tensor: Any                        # [None] a Keras tensor to build the model on
    pooling: str | None                      # [None] None, "avg" or "max" (include_top=False)
    classes: int                             # [10 CIFAR, 1000 ImageNet]
    classifier_activation: str | Callable[..., Any] | None   # ["softmax"] None: logits
    preprocessing: Preprocessing | None      # [None] {"scale", "mean", "std"}: raw 0-255 images in
    dtype: str | keras.DTypePolicy | None    # [None] every layer's dtype policy; mixed: a float32 classifier
    name: str | None                         # ["resnet56", "plain20", "resnet50_v1_5", ...]
    shortcut: str                            # ["A" CIFAR, "B" ImageNet] §3.3
    plain: bool                              # [False] no shortcuts (the plain nets)
    version: str                             # ["v1"] "v1.5": bottleneck stride on the 3x3; "v2": pre-activation
    width: float                             # [1] multiplies every filter count
    zero_init_residual: bool                 # [False] each residual branch starts at zero
    bn_momentum: float                       # [0.9]
    bn_epsilon: float                        # [1e-5]
    sync_bn: bool                            # [False] batch statistics over all replicas
    weight_decay: float                      # [0.0] L2 on the weights: kernel_regularizer L2(weight_decay / 2)
    fused_bn: bool                           # [True] layers.FusedBatchNormalization (same results, faster)


class ModelOptions(ResNetOptions, total=False):
    """The keyword options of the named models (`ResNet20` ... `ResNet152`): `ResNetOptions` and `weights`."""

    weights: StrPath | None                  # [None] a preset ("cifar10"), a .keras / .weights.h5 file or a checkpoint


def resnet(
    spec: NetSpec,
    /,
    *,
    include_top: bool = True,
    input_shape: ShapeLike | None = None,
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int | None = None,
    classifier_activation: str | Callable[..., Any] | None = "softmax",
    preprocessing: Preprocessing | None = None,
    dtype: str | keras.DTypePolicy | None = None,
    name: str | None = None,
    shortcut: str | None = None,
    plain: bool = False,
    version: str = "v1",
    width: float = 1,
    zero_init_residual: bool = False,
    bn_momentum: float = 0.9,
    bn_epsilon: float = 1e-5,
    sync_bn: bool = False,
    weight_decay: float = 0.0,
    fused_bn: bool = True,
) -> keras.Model:
    """The ResNet that `spec` describes (the one builder of both families); the options are `ResNetOptions`.

    `classes` and `shortcut` None: the family's (10 and "A" for CIFAR, 1000 and "B" for ImageNet).
    """
    shortcut = DEFAULT_SHORTCUTS[spec.family] if shortcut is None else shortcut
    classes = DEFAULT_CLASSES[spec.family] if classes is None else classes
    _check_options(shortcut, plain, version, zero_init_residual, classes, include_top, pooling, width)
    opts = BlockOptions(shortcut=shortcut, plain=plain, version=version, zero_init_residual=zero_init_residual,
                        bn_momentum=bn_momentum, bn_epsilon=bn_epsilon, sync_bn=sync_bn, weight_decay=weight_decay,
                        fused_bn=fused_bn, dtype=dtype)
    inputs, shape = _input(input_shape, input_tensor, DEFAULT_INPUT_SHAPES[spec.family], spec.downsampling)
    x = add_preprocessing(inputs, preprocessing, shape[-1], dtype)
    x = _stem(x, spec.stem, width, opts)
    for index, st in enumerate(spec.stages, start=2):    # conv2_x, conv3_x, ...
        x = stage(x, st.block, _scaled(st.filters, width), st.blocks, st.strides, index, opts)
    if version == "v2":
        x = relu(bn(x, "post", opts), "post_relu", opts)
    x = _head(x, include_top, pooling, classes, classifier_activation, weight_decay, dtype)
    return _model(inputs, input_tensor, x, name or _default_name("resnet", spec.depth, plain, version), dtype)


def _scaled(filters: int, width: float) -> int:
    return max(1, int(round(filters * width)))


def _stem(x: keras.KerasTensor, stem: StemSpec, width: float, opts: BlockOptions) -> keras.KerasTensor:
    """conv1 (v2: a bare convolution, its BN and ReLU are the first block's pre-activation), then pool1."""
    filters = _scaled(stem.filters, width)
    if opts.version == "v2":
        x = conv(x, filters, stem.kernel, stem.strides, "conv1", opts)
    else:
        x = conv_bn_relu(x, filters, stem.kernel, stem.strides, "conv1", opts)
    if stem.max_pool:
        x = keras.layers.ZeroPadding2D(1, name="pool1_pad", dtype=opts.dtype)(x)
        x = keras.layers.MaxPooling2D(3, strides=2, name="pool1_pool", dtype=opts.dtype)(x)
    return x


# --------------------------------------------------------------------------- the two families


def cifar_resnet(depth: int = 20, **options: Unpack[ResNetOptions]) -> keras.Model:
    """The CIFAR ResNet of §4.2 with 6n + 2 layers (n >= 1), default input 32x32x3, option A, 10 classes.

    Option A, ResNet-20 has 269,722 trainable parameters (paper Table 6: 0.27M).
    `width` multiplies the 16/32/64 filters. Options: `ResNetOptions`.
    """
    return resnet(net_spec("cifar", depth), **options)


def imagenet_resnet(depth: int = 50, **options: Unpack[ResNetOptions]) -> keras.Model:
    """The ImageNet ResNet of Table 1 (depth 18, 34, 50, 101 or 152), default input 224x224x3, option B.

    Option B, 1000 classes: ResNet-50 has 25,557,032 trainable parameters and
    about 3.8 G multiply-adds (v1) or 4.1 G (v1.5) per 224x224 image. Options: `ResNetOptions`.
    """
    return resnet(net_spec("imagenet", depth), **options)


def toy_skip_net(
    *,
    blocks: int = 2,
    filters: int = 64,
    include_top: bool = True,
    input_shape: ShapeLike | None = None,
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 10,
    classifier_activation: str | Callable[..., Any] | None = "softmax",
    preprocessing: Preprocessing | None = None,
    dtype: str | keras.DTypePolicy | None = None,
    name: str = "toy_skip",
) -> keras.Model:
    """The seed project's toy skip-connection classifier.

    A 1x1 conv to `filters` channels, then `blocks` blocks of two 3x3 convs
    (ReLU between) whose output is added to the block's input and passed
    through a ReLU, then flatten + dense. No batch normalization. Needs a
    fixed input size (the flatten); default 32x32x3.
    """
    _check_options("A", False, "v1", False, classes, include_top, pooling, 1)
    if not isinstance(blocks, (int, np.integer)) or blocks < 1:
        raise ValueError(f"toy_skip_net blocks must be an integer >= 1, got {blocks!r}.")
    inputs, shape = _input(input_shape, input_tensor, (32, 32, 3), min_size=1)
    if include_top and None in shape[:2]:
        raise ValueError(f"toy_skip_net flattens its features, so input_shape needs a fixed size, got {shape!r}.")
    x = add_preprocessing(inputs, preprocessing, shape[-1], dtype)
    x = keras.layers.Conv2D(filters, 1, name="conv1_conv", dtype=dtype)(x)
    for i in range(1, blocks + 1):
        y = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{i}_1_conv", dtype=dtype)(x)
        y = keras.layers.Conv2D(filters, 3, padding="same", name=f"block{i}_2_conv", dtype=dtype)(y)
        out = keras.layers.ReLU(name=f"block{i}_out", dtype=dtype)
        x = out(keras.layers.Add(name=f"block{i}_add", dtype=dtype)([x, y]))
    if include_top:
        x = keras.layers.Flatten(name="flatten", dtype=dtype)(x)
        x = keras.layers.Dense(classes, activation=classifier_activation, name="predictions", dtype=dtype)(x)
    else:
        x = _head(x, False, pooling, classes, classifier_activation, 0.0, dtype)
    return _model(inputs, input_tensor, x, name, dtype)


# --------------------------------------------------------------------------- by name (names: keras_resnet.registry)


def build(name: str, /, **kwargs: Any) -> keras.Model:
    """Build a model by name: `build("resnet56")`, `build("plain20")`, `build("resnet50", version="v1.5")`.

    ImageNet depths (18/34/50/101/152) win over CIFAR ones for `resnet<D>`;
    `cifar_resnet<D>` forces the CIFAR family. `plain<D>` is `resnet<D>` with
    `plain=True`. Keyword arguments go to `resnet` (`ResNetOptions`) or
    `toy_skip_net`. The names are parsed by `keras_resnet.registry.parse_model_name`.
    `weights=`: None, a path, or a preset such as "cifar10" (`keras_resnet.nets.weights`).
    """
    if kwargs.get("weights") is not None:   # pretrained weights: nets/weights.py
        from .weights import build_with_weights
        return build_with_weights(build, name, kwargs.pop("weights"), kwargs)
    kwargs.pop("weights", None)
    parsed = parse_model_name(name)
    if parsed.family == "toy" or parsed.depth is None:   # toy_skip, the one name without a depth
        return toy_skip_net(**kwargs)
    if parsed.kind == "plain":
        if kwargs.get("plain") is False:
            raise ValueError(f"{name!r} is a plain net; plain=False contradicts it (use 'resnet{parsed.depth}').")
        kwargs["plain"] = True
    return resnet(net_spec(parsed.family, parsed.depth), **kwargs)


def _model_signature(**options: Unpack[ModelOptions]) -> keras.Model:
    """The named models' signature, for type checkers and IDEs (`_named` gives it to each)."""
    raise NotImplementedError


_Builder = TypeVar("_Builder", bound=Callable[..., Any])
_WITH_WEIGHTS = inspect.Signature([
    inspect.Parameter("weights", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="StrPath | None"),
    *list(inspect.signature(resnet).parameters.values())[1:]])   # resnet's keyword options


# Where the paper has each named model (its docstring): Table 6 for CIFAR, Tables 1-3 for ImageNet (GFLOPs: Table 1's
# multiply-adds per 224x224 image; top-1: 10-crop validation error, option B for ResNet-34).
_PAPER = {
    "resnet20": "CIFAR ResNet-20 (§4.2, n = 3): 0.27M parameters, 8.75 % CIFAR-10 error (Table 6).",
    "resnet32": "CIFAR ResNet-32 (§4.2, n = 5): 0.46M parameters, 7.51 % error (Table 6).",
    "resnet44": "CIFAR ResNet-44 (§4.2, n = 7): 0.66M parameters, 7.17 % error (Table 6).",
    "resnet56": "CIFAR ResNet-56 (§4.2, n = 9): 0.85M parameters, 6.97 % error (Table 6).",
    "resnet110": "CIFAR ResNet-110 (§4.2, n = 18): 1.7M parameters, 6.43 % error (Table 6).",
    "resnet1202": "CIFAR ResNet-1202 (§4.2, n = 200): 19.4M parameters, 7.93 % error (Table 6).",
    "resnet18": "ImageNet ResNet-18 (Table 1): basic [2, 2, 2, 2], 1.8 GFLOPs; 27.88 % top-1 (Table 2).",
    "resnet34": "ImageNet ResNet-34 (Table 1): basic [3, 4, 6, 3], 3.6 GFLOPs; 24.52 % top-1 (Table 3).",
    "resnet50": "ImageNet ResNet-50 (Table 1): bottleneck [3, 4, 6, 3], 3.8 GFLOPs; 22.85 % top-1 (Table 3).",
    "resnet101": "ImageNet ResNet-101 (Table 1): bottleneck [3, 4, 23, 3], 7.6 GFLOPs; 21.75 % top-1 (Table 3).",
    "resnet152": "ImageNet ResNet-152 (Table 1): bottleneck [3, 8, 36, 3], 11.3 GFLOPs; 21.43 % top-1 (Table 3).",
}


def _named(name: str, signature: _Builder) -> _Builder:
    """The named model `build(name, **options)`, typed as `signature` (its options visible to mypy and IDEs)."""
    def fn(**options: Any) -> keras.Model:
        return build(name, **options)

    fn.__name__ = fn.__qualname__ = name.replace("resnet", "ResNet")
    fn.__doc__ = f"{_PAPER[name]}\n\nOptions: `ModelOptions` (keras.applications' arguments, `weights=`, the net)."
    fn.__signature__ = _WITH_WEIGHTS   # type: ignore[attr-defined]  # help() and IDEs: every keyword and its default
    return cast(_Builder, fn)


ResNet20 = _named("resnet20", _model_signature)
ResNet32 = _named("resnet32", _model_signature)
ResNet44 = _named("resnet44", _model_signature)
ResNet56 = _named("resnet56", _model_signature)
ResNet110 = _named("resnet110", _model_signature)
ResNet1202 = _named("resnet1202", _model_signature)
ResNet18 = _named("resnet18", _model_signature)
ResNet34 = _named("resnet34", _model_signature)
ResNet50 = _named("resnet50", _model_signature)
ResNet101 = _named("resnet101", _model_signature)
ResNet152 = _named("resnet152", _model_signature)
