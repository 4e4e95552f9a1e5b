"""`keras-resnet demo`: the Gradio app (keras_resnet.app) over saved_models/ and --models-dir."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def register(sub):
    p = sub.add_parser("demo", help="open the Gradio classifier on the shipped models (saved_models/)")
    p.add_argument("--models-dir", action="append", default=[], metavar="DIR",
                   help="also list the model folders in DIR (or DIR itself, a run directory); repeatable")
    p.add_argument("--no-saved-models", action="store_true", help="do not list the shipped saved_models/")
    p.add_argument("--server-name", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 to serve your network)")
    p.add_argument("--port", type=int, default=None, help="port (default: Gradio's, 7860 or the next free one)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    p.set_defaults(func=run_demo)


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
    demo = app.build_demo(dirs)
    for folder, reason in demo.skipped:
        print(f"keras-resnet demo: skipped {folder}: {reason}")
    print(f"keras-resnet demo: {len(demo.models)} model(s): {', '.join(demo.models)}")
    app.launch(demo, server_name=args.server_name, port=args.port, share=args.share)
    return 0
