"""The one source of names: model families and depths, options, recipes, tuners, export formats.

Plain Python data and small functions, importing nothing heavy (no TensorFlow, no Keras, no numpy),
so the command line can offer its `choices=` and check a model name before TensorFlow is imported.
The builders (nets/), the search space (search/), the experiments (analysis/), the recipes
(training/), the converter (convert/) and the CLI (cli/) all read these; none repeats them.

Depths (He et al. 2016):
    CIFAR (§4.2)      6n + 2 weighted layers for n >= 1: three stages of n basic blocks
                      (the paper's ResNet-20/32/44/56/110/1202 are n = 3/5/7/9/18/200).
    ImageNet (Tab. 1) 18, 34 (basic blocks), 50, 101, 152 (bottleneck blocks).

Model names: `resnet<D>` / `plain<D>` (an ImageNet depth wins over a CIFAR one: resnet50 is the
ImageNet net), `cifar_resnet<D>` / `cifar_plain<D>` forces the CIFAR family, and `toy_skip`.
"""

from __future__ import annotations

import numbers
import re
from typing import Any, NamedTuple

# --------------------------------------------------------------------------- families and depths

FAMILIES = ("cifar", "imagenet", "toy")
KINDS = ("resnet", "plain")                  # residual nets and the paper's plain nets (same layers, no shortcut)

CIFAR_DEPTHS = (20, 32, 44, 56, 110, 1202)   # the named CIFAR nets (Table 6)
CIFAR_MIN_DEPTH = 8                          # n = 1
CIFAR_RULE = "6n+2 for an integer n >= 1 (8, 14, 20, 26, 32, 44, 56, 110, 1202, ...)"

# depth -> (block, blocks per stage conv2_x .. conv5_x), Table 1
IMAGENET_SPECS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
IMAGENET_DEPTHS = tuple(IMAGENET_SPECS)

DEFAULT_INPUT_SHAPES = {"cifar": (32, 32, 3), "imagenet": (224, 224, 3), "toy": (32, 32, 3)}
DEFAULT_CLASSES = {"cifar": 10, "imagenet": 1000, "toy": 10}
TOY_NAME = "toy_skip"

# --------------------------------------------------------------------------- options of the builders

SHORTCUTS = ("A", "B", "C")                  # §3.3: zero-padding identity / projections where the shape changes / everywhere
DEFAULT_SHORTCUTS = {"cifar": "A", "imagenet": "B"}
VERSIONS = ("v1", "v1.5", "v2")              # the paper, stride on the bottleneck's 3x3, pre-activation
FAMILY_VERSIONS = {"cifar": ("v1", "v2"), "imagenet": ("v1", "v1.5", "v2")}  # v1.5 differs from v1 only in bottlenecks
POOLINGS = (None, "avg", "max")

# --------------------------------------------------------------------------- training, search, deployment

RECIPES = ("paper", "cosine", "onecycle", "imagenet", "torchvision")   # §4.2 CIFAR steps; cosine; one-cycle;
IMAGENET_RECIPES = ("imagenet", "torchvision")                          # §3.4 ImageNet; torchvision's modern one
TUNERS = ("random", "bayesian", "hyperband", "grid")
SEARCH_FAMILIES = ("cifar", "imagenet")

# export format -> the file or folder written in the output directory
EXPORT_FORMATS = {
    "savedmodel": "saved_model",
    "tflite": "model.tflite",                # float32
    "tflite-fp16": "model_fp16.tflite",
    "tflite-int8": "model_int8.tflite",      # full integer: uint8 in, uint8 out, int8 weights/activations
    "onnx": "model.onnx",
}
EXPORT_FORMAT_ALIASES = {"saved-model": "savedmodel", "tf-saved-model": "savedmodel", "tflite-fp32": "tflite",
                         "fp32": "tflite", "float32": "tflite", "fp16": "tflite-fp16", "float16": "tflite-fp16",
                         "int8": "tflite-int8"}
DEFAULT_EXPORT_FORMATS = ("savedmodel", "tflite")
EXPORT_FORMATS_HELP = "savedmodel, tflite (float32), tflite-fp16, tflite-int8, onnx (needs tf2onnx)"
PREDICTOR_BACKENDS = ("keras", "savedmodel", "tflite", "onnx")

# --------------------------------------------------------------------------- depths


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_cifar_depth(depth: Any) -> bool:
    """True for a depth the CIFAR family can build: 6n + 2 with n >= 1 (an integer)."""
    return _is_integer(depth) and depth >= CIFAR_MIN_DEPTH and (depth - 2) % 6 == 0


def check_depth(depth: Any, family: str) -> int:
    """`depth` as an int if `family` ("cifar" or "imagenet") can build it; ValueError saying what is allowed."""
    if family == "cifar":
        if not is_cifar_depth(depth):
            raise ValueError(f"CIFAR ResNet depth must be {CIFAR_RULE}, got {depth!r}.")
    elif family == "imagenet":
        if not _is_integer(depth) or depth not in IMAGENET_SPECS:
            raise ValueError(f"ImageNet ResNet depth must be one of {list(IMAGENET_DEPTHS)} (Table 1), got {depth!r}.")
    else:
        raise ValueError(f"family must be cifar or imagenet to have a depth, got {family!r}.")
    return int(depth)


def cifar_blocks(depth: int) -> int:
    """n, the basic blocks per stage of the CIFAR net of `depth` = 6n + 2 (checked)."""
    return (check_depth(depth, "cifar") - 2) // 6


_DEPTH_TEXT = re.compile(r"^(?:cifar_)?(?:resnet|plain)?[-_]?(\d+)$")


def parse_depth(value: int | str, family: str) -> int:
    """A depth from a number or text ("56", "resnet56", "plain56"), checked against `family`'s depths."""
    if isinstance(value, str):
        m = _DEPTH_TEXT.match(value.strip().lower())
        if not m:
            raise ValueError(f"depth must be an integer number of layers, got {value!r}.")
        value = int(m.group(1))
    elif not _is_integer(value):
        raise ValueError(f"depth must be an integer number of layers, got {value!r}.")
    return check_depth(value, family)


# --------------------------------------------------------------------------- architecture specs (nets/builders.py)


class StemSpec(NamedTuple):
    """The layers before conv2_x: conv1, a `kernel` x `kernel` convolution of `filters` with stride `strides`,
    then pool1, a 3x3 max pool of stride 2, when `max_pool`."""

    filters: int
    kernel: int
    strides: int
    max_pool: bool


class StageSpec(NamedTuple):
    """One stage (conv2_x, conv3_x, ...): `blocks` blocks of kind `block` ("basic" or "bottleneck"), `filters`
    wide (a bottleneck outputs 4x as many channels), the first block with stride `strides`."""

    block: str
    filters: int
    blocks: int
    strides: int


class NetSpec(NamedTuple):
    """A whole network, as keras-hub's stackwise lists or timm's ResNet(block, layers, stem_type) give it:
    the family (default input shape, classes and shortcut), the depth (the default name), the stem and stages."""

    family: str
    depth: int
    stem: StemSpec
    stages: tuple[StageSpec, ...]

    @property
    def downsampling(self) -> int:
        """How many times the stem and stages subsample the input (4 CIFAR, 32 ImageNet): the smallest input side."""
        factor = self.stem.strides * (2 if self.stem.max_pool else 1)
        for stage in self.stages:
            factor *= stage.strides
        return factor


STEMS = {"cifar": StemSpec(16, 3, 1, False), "imagenet": StemSpec(64, 7, 2, True)}   # §4.2; Table 1 conv1, pool
STAGE_FILTERS = {"cifar": (16, 32, 64), "imagenet": (64, 128, 256, 512)}             # §4.2; Table 1 conv2_x ...


def net_spec(family: str, depth: int) -> NetSpec:
    """The paper's net of `family` ("cifar" or "imagenet") and `depth` (checked): its stem and stages.

    The first stage keeps the stem's resolution; each later one halves it (stride 2 in its first block).
    """
    depth = check_depth(depth, family)
    block, counts = ("basic", (cifar_blocks(depth),) * 3) if family == "cifar" else IMAGENET_SPECS[depth]
    stages = tuple(StageSpec(block, filters, n, 1 if i == 0 else 2)
                   for i, (filters, n) in enumerate(zip(STAGE_FILTERS[family], counts)))
    return NetSpec(family, depth, STEMS[family], stages)


# --------------------------------------------------------------------------- model names

class ModelName(NamedTuple):
    """A parsed model name: family ("cifar" | "imagenet" | "toy"), kind ("resnet" | "plain" | "toy"), depth."""

    name: str
    family: str
    kind: str
    depth: int | None


_NAME = re.compile(r"^(cifar_)?(resnet|plain)(\d+)$")


def model_name(family: str, depth: int, plain: bool = False) -> str:
    """The name of a zoo model: ("cifar", 56, True) -> "plain56"; ("cifar", 50) -> "cifar_resnet50"."""
    depth = check_depth(depth, family)
    prefix = "cifar_" if family == "cifar" and depth in IMAGENET_SPECS else ""
    return f"{prefix}{'plain' if plain else 'resnet'}{depth}"


def list_models() -> list[dict[str, Any]]:
    """The named models: a list of dicts with name, family, depth, block, shortcut, input_shape, classes."""
    rows = []
    for kind in KINDS:
        for d in CIFAR_DEPTHS:
            rows.append(dict(name=f"{kind}{d}", family="cifar", depth=d, block="basic",
                             shortcut=None if kind == "plain" else DEFAULT_SHORTCUTS["cifar"],
                             input_shape=DEFAULT_INPUT_SHAPES["cifar"], classes=DEFAULT_CLASSES["cifar"]))
        for d, (block, _) in IMAGENET_SPECS.items():
            rows.append(dict(name=f"{kind}{d}", family="imagenet", depth=d, block=block,
                             shortcut=None if kind == "plain" else DEFAULT_SHORTCUTS["imagenet"],
                             input_shape=DEFAULT_INPUT_SHAPES["imagenet"], classes=DEFAULT_CLASSES["imagenet"]))
    rows.append(dict(name=TOY_NAME, family="toy", depth=None, block="skip", shortcut="identity",
                     input_shape=DEFAULT_INPUT_SHAPES["toy"], classes=DEFAULT_CLASSES["toy"]))
    return rows


MORE_NAMES = ("resnet<D>/plain<D> for any CIFAR depth D = 6n+2 (e.g. resnet8), "
              "cifar_resnet<D> to force the CIFAR family (e.g. cifar_resnet50)")


def names_help() -> str:
    """What `build` takes, for error messages: every named model, then the name patterns."""
    return f"{', '.join(r['name'] for r in list_models())}; or {MORE_NAMES}"


def normalize_name(name: str) -> str:
    """The one spelling rule for model names: "ResNet-50 " -> "resnet50" (case, dashes and surrounding spaces ignored)."""
    return str(name).strip().lower().replace("-", "")


def parse_model_name(name: str) -> ModelName:
    """A model name -> ModelName; ValueError saying what was received and what is allowed.

        parse_model_name("resnet56")       -> ModelName("resnet56", "cifar", "resnet", 56)
        parse_model_name("ResNet-50")      -> ModelName("resnet50", "imagenet", "resnet", 50)
        parse_model_name("cifar_resnet50") -> ModelName("cifar_resnet50", "cifar", "resnet", 50)
        parse_model_name("plain20")        -> ModelName("plain20", "cifar", "plain", 20)
        parse_model_name("toy_skip")       -> ModelName("toy_skip", "toy", "toy", None)
    """
    if not isinstance(name, str):
        raise ValueError(f"Model name must be a string, got {name!r}. Allowed: {names_help()}.")
    key = normalize_name(name)
    if key == TOY_NAME:
        return ModelName(key, "toy", "toy", None)
    match = _NAME.match(key)
    if not match:
        raise ValueError(f"Unknown model name {name!r}. Allowed: {names_help()}.")
    force_cifar, kind, depth = match.group(1), match.group(2), int(match.group(3))
    if depth in IMAGENET_SPECS and not force_cifar:
        return ModelName(key, "imagenet", kind, depth)
    if is_cifar_depth(depth):
        return ModelName(key, "cifar", kind, depth)
    if force_cifar:
        raise ValueError(f"Unknown model name {name!r}: cifar_ asks for the CIFAR family, whose depth must be "
                         f"{CIFAR_RULE}; got {depth}. Allowed: {names_help()}.")
    raise ValueError(
        f"Unknown model name {name!r}: depth {depth} is neither an ImageNet depth "
        f"({', '.join(map(str, IMAGENET_DEPTHS))}) nor a CIFAR depth {CIFAR_RULE}. Allowed: {names_help()}."
    )


def model_depth(name: str) -> int:
    """The depth of a zoo model name ("resnet110" -> 110), or 0 for a name without one (toy_skip, unknown)."""
    try:
        return parse_model_name(name).depth or 0
    except ValueError:
        return 0
