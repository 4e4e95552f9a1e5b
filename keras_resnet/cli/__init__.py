"""The `keras-resnet` command: thin wrappers over the library.

Each module in this package adds its own subcommands: it defines
`register(subparsers)`, which adds parsers whose default `func(args)` does the
work. Bad input raises ValueError / FileNotFoundError / FileExistsError in the
library; `main` prints that message on one line and exits with status 2.
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
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    for name in modules:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        result = args.func(args)
    except USER_ERRORS as e:
        message = str(e).strip().strip("'\"").replace("\n", " ")
        print(f"keras-resnet {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"keras-resnet {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
