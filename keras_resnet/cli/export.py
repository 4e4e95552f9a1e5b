"""`keras-resnet export MODEL --format ...` and `keras-resnet predict MODEL IMAGE...`."""

import json

from .. import registry

FORMAT_HELP = registry.EXPORT_FORMATS_HELP


def register(sub):
    p = sub.add_parser("export", help="export a trained model to SavedModel / TFLite / ONNX, checked against Keras")
    p.add_argument("model", help="a run directory, a .keras file (exports go next to it unless --output)")
    p.add_argument("--format", "-f", nargs="+", default=None, metavar="FORMAT",
                   help=f"one or more of: {FORMAT_HELP}; default: savedmodel tflite")
    p.add_argument("--output", "-o", help="output directory (default: the model's folder)")
    p.add_argument("--representative-data", metavar="DATASET",
                   help="int8 calibration images: a tfds name or a path keras_resnet.data.load reads "
                        "(default: the training set of the tfds dataset named in model_card.json; a path named "
                        "there is read only when passed here)")
    p.add_argument("--eval-data", metavar="DATASET",
                   help="held-out images for the parity check (default: the test split of the tfds dataset named "
                        "in model_card.json; a path named there is read only when passed here)")
    p.add_argument("--num-representative", type=int, default=200, help="calibration images for int8 (default 200)")
    p.add_argument("--max-eval", type=int, default=2000, help="held-out images for the parity check (default 2000)")
    p.add_argument("--top-k", type=int, default=5, help="k of the SavedModel's top_k outputs (default 5)")
    p.add_argument("--overwrite", action="store_true", help="replace exported files that already exist")
    p.add_argument("--keep-failed", action="store_true",
                   help="keep a file that misses its parity threshold (the command still exits non-zero)")
    p.add_argument("--no-check", action="store_true", help="skip the parity check (not recommended)")
    p.set_defaults(func=run_export, tensorflow_only="SavedModel and TFLite are TensorFlow formats")

    p = sub.add_parser("predict", help="top-5 classes of images with a .keras, SavedModel, .tflite or run directory")
    p.add_argument("model", help="a run directory, a .keras file, a SavedModel folder or a .tflite file")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help="image files (any mode: RGB(A), grey, palette, 16-bit, CMYK; EXIF rotation applied); an "
                        "unreadable one is reported on its own line and the others are still predicted (exit 2)")
    p.add_argument("--top-k", "-k", type=int, default=5, help="classes to show per image (default 5)")
    p.add_argument("--backend", choices=registry.PREDICTOR_BACKENDS,
                   help="override the detected backend; with a folder, use its file for that backend "
                        "(model.keras, model.tflite, model.onnx, saved_model/)")
    p.add_argument("--num-threads", type=int, help="TFLite interpreter threads")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run_predict)


def run_export(args):
    from ..deploy.export import export

    if args.num_representative < 1 or args.max_eval < 1 or args.top_k < 1:
        raise ValueError("--num-representative, --max-eval and --top-k must be at least 1")
    report = export(args.model, args.output, formats=args.format, representative_data=args.representative_data,
                    eval_data=args.eval_data, num_representative=args.num_representative,
                    max_eval=args.max_eval, top_k=args.top_k, overwrite=args.overwrite,
                    keep_failed=args.keep_failed, check=not args.no_check)
    for fmt, row in report["formats"].items():
        print(f"{fmt:12s} {row.get('path', '(not written)')}")
    if report.get("labels"):
        print(f"{'labels':12s} {report['labels']}")


def run_predict(args):
    """Every readable image is predicted; each unreadable one is one stderr line (file and reason); exit 2 if any."""
    import sys
    import warnings

    from ..deploy import open_predictor

    if args.top_k < 1:
        raise ValueError(f"--top-k must be at least 1, got {args.top_k}")
    warnings.filterwarnings("ignore", module=r"PIL\.")    # a broken file is reported once, below, not as warnings
    kwargs = {"num_threads": args.num_threads} if args.num_threads else {}
    predictor = open_predictor(args.model, backend=args.backend, **kwargs)
    rows = predictor.classify_files(args.images, k=args.top_k)

    def report(row):                      # one line on stderr per unreadable image, in the images' order
        sys.stdout.flush()
        print(f"keras-resnet predict: error: {' '.join(row['error'].split())}", file=sys.stderr, flush=True)

    if args.json:
        for row in rows:
            if "error" in row:
                report(row)
        print(json.dumps([{"image": r["image"], "error": r["error"]} if "error" in r else
                          {"image": r["image"], "top_k": [{"class": c, "probability": p} for c, p in r["top_k"]]}
                          for r in rows], indent=2))
    else:
        if any("top_k" in r for r in rows):
            print(f"model: {predictor.path} ({predictor.backend}, input {'x'.join(map(str, predictor.input_shape))})")
        for row in rows:
            if "error" in row:
                report(row)
                continue
            print(row["image"])
            for rank, (name, prob) in enumerate(row["top_k"], 1):
                print(f"  {rank}. {name:20s} {prob:.4f}")
    return 2 if any("error" in r for r in rows) else 0
