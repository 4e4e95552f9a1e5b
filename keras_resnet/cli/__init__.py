"""The `keras-resnet` command: thin wrappers over the library.

Each module in this package adds its own subcommands: it defines
`register(subparsers)`, which adds parsers whose default `func(args)` does the
work. Bad input raises ValueError / FileNotFoundError / FileExistsError in the
library; `main` prints that message on one line and exits with status 2.

Fast and quiet: building the parser imports no TensorFlow (the modules here import
the library inside their `func`, and read names from keras_resnet.registry). `main`
sets TensorFlow's start-up options before anything imports it (oneDNN on; no
TF/abseil/oneDNN/CUDA log lines unless --verbose; keras_resnet.runtime), then loads
it for the commands that need it (all but those whose `needs_tensorflow` default
says otherwise, e.g. `list` without --profile).
"""

import argparse
import importlib
import pkgutil
import sys

USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError)


def parser():
    p = argparse.ArgumentParser(
        prog="keras-resnet",
        description="Residual networks of He et al. 2016 for Keras 3: build, train, tune, export, explore.",
    )
    p.add_argument("--verbose", action="store_true",
                   help="show TensorFlow's own log lines (start-up, oneDNN, CUDA); also accepted after the command")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    for name in modules:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return p


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    end = argv.index("--") if "--" in argv else len(argv)
    verbose = "--verbose" in argv[:end]                      # global flag, accepted anywhere before "--"
    argv = [a for a in argv[:end] if a != "--verbose"] + argv[end:]
    args = parser().parse_args(argv)
    args.verbose = verbose
    try:
        select_backend(args)
        if getattr(args, "tensorflow_only", None):
            from ..runtime import require_tensorflow

            require_tensorflow(f"keras-resnet {args.command} ({args.tensorflow_only})")
        prepare_tensorflow(args)
        result = args.func(args)
    except USER_ERRORS as e:
        message = str(e).strip().strip("'\"").replace("\n", " ")
        print(f"keras-resnet {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"keras-resnet {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


def select_backend(args):
    """`--backend NAME` sets KERAS_BACKEND before Keras loads; on JAX / PyTorch, TensorFlow is not imported."""
    import importlib.util
    import os

    name = getattr(args, "keras_backend", None)
    if name:
        if "keras" in sys.modules and sys.modules["keras"].backend.backend() != name:
            raise ValueError(f"Keras is already loaded with the {sys.modules['keras'].backend.backend()} backend; "
                             f"--backend {name} must be chosen before Keras loads")
        os.environ["KERAS_BACKEND"] = name
    name = os.environ.get("KERAS_BACKEND", "tensorflow")
    if name != "tensorflow":
        if importlib.util.find_spec(name) is None:
            raise ValueError(f"the {name} backend needs the {name} package, which is not installed "
                             f"(pip install 'keras-resnet-paper[{name}]'); allowed: tensorflow, jax, torch")
        args.needs_tensorflow = False


def prepare_tensorflow(args):
    """Before TensorFlow loads: oneDNN on and its logs quiet unless --verbose (the user's environment wins);
    then load it, its load-time log lines held back (they ignore TF_CPP_MIN_LOG_LEVEL), if the command needs it."""
    from ..runtime import configure_tensorflow, import_tensorflow

    configure_tensorflow(onednn=True, verbose=args.verbose)
    needs = getattr(args, "needs_tensorflow", True)
    if callable(needs):
        needs = needs(args)
    if needs and "tensorflow" not in sys.modules:
        import_tensorflow()


if __name__ == "__main__":
    sys.exit(main())
