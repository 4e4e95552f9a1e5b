"""`keras-resnet train MODEL --dataset SRC` and `keras-resnet evaluate RUN_DIR_OR_MODEL --dataset SRC`."""

import argparse
import shlex

from .. import registry
from .._compat import parser_actions
from ._args import add_backend_option, add_model_options, model_kwargs


def count_or_fraction(text):
    """--validation-split (train, tune): '5000' -> 5000 (a count), '0.1' -> 0.1 (a fraction)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count such as 5000 or a fraction such as 0.1, got {text!r}") from None
    return int(v) if v >= 1 and v == int(v) else v


def register(sub):
    _add_train_parser(sub)
    _add_evaluate_parser(sub)


def _add_train_parser(sub):
    """`keras-resnet train`: the options in the order `_command` writes them back."""
    p = sub.add_parser(
        "train", help="train a model of the zoo on a dataset (the paper's CIFAR recipe by default)",
        description="Train MODEL on a dataset and write a run directory (config.json, history.csv, tensorboard/, "
                    "backup/, model.keras, curves.png, model_card.json). Re-running the same command resumes.")
    p.add_argument("model", help="a model name from `keras-resnet list`, e.g. resnet20, resnet8, plain20")
    p.add_argument("--dataset", required=True,
                   help="a tfds name (cifar10, fashion_mnist, ...), a CIFAR python-batches folder, an IDX folder, "
                        "a folder with one sub-folder per class, or an .npz (x_train, y_train, x_test, y_test)")
    p.add_argument("--data-dir", help="tfds data_dir holding already prepared data")
    p.add_argument("--run-dir", help="where the run goes (default runs/MODEL-DATASET)")
    _add_schedule_options(p)
    p.add_argument("--validation-split", type=count_or_fraction,
                   help="hold out the END of the train split for validation: a count (paper: 5000) or a fraction")
    aug = p.add_mutually_exclusive_group()
    aug.add_argument("--augment", dest="augment", action="store_true", default=None,
                     help="4-pixel pad + random crop + flip (default: on for 32x32 colour data)")
    aug.add_argument("--no-augment", dest="augment", action="store_false")
    p.add_argument("--skip-bad-images", action="store_true",
                   help="ImageNet recipes: skip unreadable images (counted, listed at the end) instead of stopping")
    p.add_argument("--cache-budget", type=float, metavar="GB",
                   help="ImageNet recipes: cache decoded images only when they fit this many GB (default 1)")
    p.add_argument("--mixed-precision", action="store_true",
                   help="bfloat16 compute (CPUs, GPUs of compute capability >= 8.0), float16 with loss scaling on "
                        "older GPUs; the model card says which")
    p.add_argument("--jit-compile", action="store_true", help="compile the training step with XLA")
    p.add_argument("--steps-per-execution", type=int, default=None, help="training steps per tf.function call")
    p.add_argument("--devices", help="comma-separated devices: MirroredStrategy on TensorFlow (/gpu:0,/gpu:1), "
                                     "keras.distribution.DataParallel on JAX (gpu:0,gpu:1)")
    p.add_argument("--sync-bn", action="store_true", help="synchronized BatchNorm across replicas")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory with a different config")
    p.add_argument("--quiet", action="store_true", help="one line per epoch instead of progress bars")
    add_model_options(p)
    add_backend_option(p)
    p.set_defaults(func=run_train, parser=p)


def _add_schedule_options(p):
    """--recipe, the run's length and the optimiser (SGD) options of `train`."""
    p.add_argument("--recipe", choices=registry.RECIPES,
                   help="training recipe (default: imagenet for resnet18..152 on ImageNet-like photos, else paper). "
                        "paper: He et al. 4.2 CIFAR, 0.1 /10 at 50%% and 75%% of the run, batch 128; imagenet: "
                        "He et al. 3.4, scale augmentation [256, 480], 224 crops + flip, PCA lighting, batch 256, "
                        "0.1 /10 at epochs 30 and 60 of 90; torchvision: random-resized crop, label smoothing 0.1, "
                        "cosine, 90 epochs; cosine, onecycle: CIFAR input with those schedules")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, help="length of the run in epochs")
    length.add_argument("--iterations", type=int, help="length of the run in optimizer steps (default: the paper's 64000)")
    p.add_argument("--batch-size", type=int,
                   help="global batch size, split over the replicas (default: the recipe's, 128 or 256)")
    p.add_argument("--lr", type=float, help="peak learning rate (default 0.1 x batch/128)")
    p.add_argument("--warmup", type=int, metavar="N",
                   help="N iterations of linear warm-up from lr/10 to lr (0: none; default: 400 for ResNet-110 and "
                        "deeper, none below, onecycle 30%% of the run; the paper (4.2) holds 0.01 constant instead)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="weight decay on the kernels (default 1e-4)")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    p.add_argument("--label-smoothing", type=float, help="label smoothing (default: the recipe's, 0 or 0.1)")


def _add_evaluate_parser(sub):
    """`keras-resnet evaluate`."""
    p = sub.add_parser("evaluate", help="top-1/top-5 error and a confusion matrix of a trained model on a dataset",
                       description="Evaluate a run directory (its model.keras) or a .keras file on a dataset's test split.")
    p.add_argument("model", help="a run directory or a .keras file")
    p.add_argument("--dataset", required=True, help="the dataset (as for `train`)")
    p.add_argument("--data-dir", help="tfds data_dir holding already prepared data")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--ten-crop", action="store_true",
                   help="the paper's 10-crop testing (3.4): 4 corners + centre of the image resized to shorter side "
                        "256 (at 224 crops) and their flips, probabilities averaged (ImageNet-like data)")
    p.add_argument("--skip-bad-images", action="store_true", help="skip unreadable images (counted) instead of stopping")
    p.add_argument("--output", help="confusion-matrix PNG (default: confusion.png next to the model)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing confusion-matrix PNG")
    add_backend_option(p)
    p.set_defaults(func=run_evaluate)


def _command(args):
    """The command line that reproduces `args` (non-default options only, in the parser's order)."""
    words = ["keras-resnet", "train", args.model]
    implied = getattr(args, "implied", {})      # what the model, dataset and recipe choose when left out
    for action in parser_actions(args.parser):
        if not action.option_strings or action.dest in ("help", "model"):
            continue
        value = getattr(args, action.dest, None)
        if value is None or value == action.default or (action.dest in implied and value == implied[action.dest]):
            continue
        flag = action.option_strings[0]
        if action.nargs == 0:          # store_true / store_false: the flag that gave this value
            if value == action.const:
                words.append(flag)
        else:
            words += [flag, ",".join(map(str, value)) if isinstance(value, tuple) else str(value)]
    return shlex.join(words)


def _recipe_defaults(args):
    """--recipe, --batch-size, --label-smoothing left out: the recipe's (imagenet for an ImageNet net on photos)."""
    from ..training.recipes import recipe_defaults

    auto = "paper"
    if registry.parse_model_name(args.model).family == "imagenet":
        from ..data.streaming import is_imagenet_like

        auto = "imagenet" if is_imagenet_like(args.dataset) else "paper"
    args.recipe = args.recipe or auto
    defaults = recipe_defaults(args.recipe)
    args.implied = {"recipe": auto, "batch_size": defaults["batch_size"],
                    "label_smoothing": defaults["label_smoothing"]}
    for key in ("batch_size", "label_smoothing"):
        if getattr(args, key) is None:
            setattr(args, key, defaults[key])
    if args.recipe in registry.IMAGENET_RECIPES and args.epochs is None and args.iterations is None:
        args.epochs = defaults["epochs"]
        args.implied["epochs"] = defaults["epochs"]


def run_train(args):
    from ..training import TrainConfig, train

    _recipe_defaults(args)

    kw = dict(model=args.model, model_kwargs=model_kwargs(args), dataset=args.dataset, data_dir=args.data_dir,
              run_dir=args.run_dir, recipe=args.recipe, epochs=args.epochs, iterations=args.iterations,
              batch_size=args.batch_size, lr=args.lr, warmup=args.warmup, weight_decay=args.weight_decay,
              momentum=args.momentum,
              label_smoothing=args.label_smoothing, validation_split=args.validation_split, augment=args.augment,
              mixed_precision=args.mixed_precision, jit_compile=args.jit_compile, sync_bn=args.sync_bn,
              seed=args.seed, overwrite=args.overwrite, verbose=2 if args.quiet else "auto",
              devices=args.devices.split(",") if args.devices else None, skip_bad_images=args.skip_bad_images,
              cache_budget=None if args.cache_budget is None else int(args.cache_budget * 2 ** 30),
              command=_command(args))
    if args.steps_per_execution is not None:
        kw["steps_per_execution"] = args.steps_per_execution
    result = train(TrainConfig(**kw))
    m = result.metrics
    if result.run_dir is not None:
        print(f"test top-1 error {100 * m['test_top1_error']:.2f}%  top-5 error {100 * m['test_top5_error']:.2f}%  "
              f"({m['test_examples']} images)  run: {result.run_dir}")


def run_evaluate(args):
    import pathlib

    from .. import data as data_lib
    from ..training.card import CARD_FILE, read_card

    src = pathlib.Path(args.model)
    path = src / "model.keras" if src.is_dir() else src
    if not path.exists():
        raise FileNotFoundError(f"{str(path)!r} does not exist; give a run directory holding model.keras or a .keras file.")
    if path.suffix != ".keras":
        raise ValueError(f"{str(path)!r} is not a .keras file; give a run directory or a .keras file.")
    out = pathlib.Path(args.output) if args.output else path.with_name("confusion.png")
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{str(out)!r} exists; pass --overwrite to replace it or --output for another path.")
    card_path = path.with_name(CARD_FILE)
    card = read_card(card_path) if card_path.is_file() else None     # a broken card fails before any work
    with data_lib.naming_undecodable_images(args.dataset):
        _evaluate_and_plot(args, path, out, card)


def _evaluate_and_plot(args, path, out, card):
    from .. import data as data_lib
    from ..deploy.predictors import check_card_matches, load_keras_model
    from ..training import evaluate
    from ..training.card import CARD_FILE
    from ..training.fit import check_fit
    from ..training.rundir import plot_confusion

    model = load_keras_model(path)
    recipe = ((card or {}).get("training") or {}).get("recipe")
    streaming = args.ten_crop or recipe in registry.IMAGENET_RECIPES     # photos: centre crop or 10-crop views
    if streaming:
        from ..data.streaming import load_streaming, reporting_bad_images

        crop = (int(model.input_shape[1] or 224), int(model.input_shape[2] or 224))
        data: data_lib.ImageData = load_streaming(args.dataset, data_dir=args.data_dir, crop=crop, skip_bad_images=args.skip_bad_images,
                              recipe=recipe if recipe in registry.IMAGENET_RECIPES else "imagenet", stats="imagenet")
    else:
        data = data_lib.load(args.dataset, data_dir=args.data_dir)
    if card:
        check_card_matches(card, path.with_name(CARD_FILE), model.input_shape[1:], model.output_shape[-1], path)
    check_fit(model.input_shape[1:], model.output_shape[-1], data.image_shape, class_names=data.class_names,
              model=f"model {str(path)!r}", data=f"dataset {args.dataset!r}",
              fix="evaluate a model trained on this kind of data")
    if streaming:
        with reporting_bad_images(data):
            m = evaluate(model, data, batch_size=args.batch_size, ten_crop=args.ten_crop)
    else:
        m = evaluate(model, data_lib.pipeline(data.test, batch_size=args.batch_size, training=False))
    names = card["class_names"] if card else data.class_names
    plot_confusion(m["confusion"], names, out, title=f"{path.parent.name or path.stem} on {data.name}: "
                                                    f"top-1 error {100 * m['top1_error']:.2f}%")
    views = " (10-crop)" if args.ten_crop else " (centre crop)" if streaming else ""
    print(f"top-1 error {100 * m['top1_error']:.2f}%  top-5 error {100 * m['top5_error']:.2f}%  "
          f"({m['examples']} test images of {data.name}{views})")
    print(f"confusion matrix: {out}")
