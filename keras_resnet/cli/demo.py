"""`keras-resnet demo`: the Gradio app (keras_resnet.app) over saved_models/ and --models-dir; with no model
folder there (a pip install has no saved_models/), over the presets packaged in keras_resnet/presets."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def register(sub):
    p = sub.add_parser("demo", help="open the Gradio classifier on the shipped models (saved_models/, else the "
                       "packaged presets)")
    p.add_argument("--models-dir", action="append", default=[], metavar="DIR",
                   help="also list the model folders in DIR (or DIR itself, a run directory); repeatable")
    p.add_argument("--no-saved-models", action="store_true",
                   help="do not list the shipped saved_models/ (nor fall back to the packaged presets)")
    p.add_argument("--server-name", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 to serve your network)")
    p.add_argument("--port", type=int, default=None, help="port (default: Gradio's, 7860 or the next free one)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    p.add_argument("--max-file-size", type=file_size, default="10mb", metavar="SIZE",
                   help="largest upload the server accepts, e.g. 10mb (default), 512kb, 1gb, or bytes; "
                        "larger ones are refused (HTTP 413)")
    p.set_defaults(func=run_demo)


def file_size(text):
    """'10mb' / '512kb' / '1gb' / '2048' (bytes) -> bytes (Gradio's units: 1 kb = 1024 bytes)."""
    import argparse
    import re

    m = re.fullmatch(r"\s*(\d+)\s*(b|kb|mb|gb)?\s*", str(text).lower())
    if not m or int(m.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"expected a size such as 10mb, 512kb, 1gb or a number of bytes; got {text!r}")
    return int(m.group(1)) * 1024 ** ("b", "kb", "mb", "gb").index(m.group(2) or "b")


def load_app():
    """The app package, keras_resnet.app (imported only when the demo runs: Gradio is slow to import)."""
    from .. import app

    return app


def run_demo(args):
    if args.port is not None and not 0 < args.port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")
    dirs = ([] if args.no_saved_models else [ROOT / "saved_models"]) + [pathlib.Path(d) for d in args.models_dir]
    if not dirs:
        raise ValueError("--no-saved-models needs at least one --models-dir DIR")
    app = load_app()
    demo = app.build_demo(dirs, presets=not args.no_saved_models)
    for folder, reason in demo.skipped:
        print(f"keras-resnet demo: skipped {folder}: {reason}")
    if demo.presets:
        print("keras-resnet demo: no model folder found: listing the presets packaged in keras_resnet/presets")
    print(f"keras-resnet demo: {len(demo.models)} model(s): {', '.join(demo.models)}; opens on {demo.default_model}; "
          f"uploads up to {args.max_file_size / 2**20:g} MB")
    app.launch(demo, server_name=args.server_name, port=args.port, share=args.share, max_file_size=args.max_file_size)
    return 0
