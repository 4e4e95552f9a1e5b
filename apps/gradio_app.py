"""The Gradio demo: classify any image with the residual networks this project trained.

A thin entry point: the app itself is the package `keras_resnet.app` (so `pip install` users have it too).

    python apps/gradio_app.py [--models-dir DIR] [--no-saved-models] [--server-name 127.0.0.1] [--port 7860] [--share]
    keras-resnet demo ...        (the same)
"""

import sys


def main(argv=None):
    from keras_resnet.cli import main as cli_main

    return cli_main(["demo", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    raise SystemExit(main())
