"""Argument types shared by the subcommands."""

import argparse

from .. import registry


def shape(text):
    """'32,32,3' or 'None,None,3' -> (32, 32, 3) / (None, None, 3)."""
    try:
        return tuple(None if p.strip().lower() in ("none", "?", "") else int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected H,W,C such as 32,32,3 or None,None,3; got {text!r}") from None


def add_model_options(p):
    """The builder's options, as flags: every subcommand that builds a model takes them."""
    p.add_argument("--shortcut", choices=registry.SHORTCUTS, help="shortcut option (paper §3.3); default A for CIFAR, B for ImageNet")
    p.add_argument("--plain", action="store_true", help="no shortcuts: the paper's plain net")
    p.add_argument("--version", choices=registry.VERSIONS, default="v1", help="v1 (paper), v1.5 (stride on the 3x3), v2 (pre-activation)")
    p.add_argument("--zero-init-residual", action="store_true", help="start the last BN gamma of each residual branch at 0")
    p.add_argument("--width", type=float, default=1, help="multiplier of every stage's filters (default 1)")
    p.add_argument("--input-shape", type=shape, help="H,W,C (default 32,32,3 for CIFAR, 224,224,3 for ImageNet)")
    p.add_argument("--classes", type=int, help="number of classes (default 10 for CIFAR, 1000 for ImageNet)")


KERAS_BACKENDS = ("tensorflow", "jax", "torch")


def add_backend_option(p):
    """--backend: which Keras backend the command runs on (set before Keras loads)."""
    p.add_argument("--backend", dest="keras_backend", choices=KERAS_BACKENDS,
                   help="Keras backend (default: $KERAS_BACKEND, else tensorflow); jax and torch need no TensorFlow "
                        "(pip install 'keras-resnet-paper[jax]' / '[torch]')")


def model_kwargs(args):
    """The builder keyword arguments that the flags of `add_model_options` set."""
    kw = {}
    if args.shortcut:
        kw["shortcut"] = args.shortcut
    if args.plain:
        kw["plain"] = True
    if args.version != "v1":
        kw["version"] = args.version
    if args.zero_init_residual:
        kw["zero_init_residual"] = True
    if args.width != 1:
        kw["width"] = args.width
    if args.input_shape:
        kw["input_shape"] = args.input_shape
    if args.classes is not None:
        kw["classes"] = args.classes
    return kw
