"""`keras-resnet tune`: search depth, shortcut option and plain/residual (and more) with keras-tuner."""

import argparse
import shlex
import sys

from .. import registry
from .train import count_or_fraction

TUNE_HELP = """\
examples:
  keras-resnet tune --dataset cifar10 --dir runs/tune --max-trials 12 --epochs 5
  keras-resnet tune --dataset data.npz --dir runs/tune --fix shortcut=A --choice depth=20,56 --range lr=0.05:0.2
  keras-resnet tune --dataset data.npz --dir runs/tune --tuner hyperband --epochs 9 --max-trials 30

hyperparameters (--fix NAME=VALUE, --choice NAME=V1,V2,..., --range NAME=LOW:HIGH):
  depth         CIFAR 6n+2 (default 20,32,44,56,110); ImageNet 18,34,50,101,152
  plain         true/false (default both); shortcut only applies when plain is false
  shortcut      A, B, C (paper section 3.3)
  version       v1, v2 (ImageNet also v1.5)
  width         filter multiplier (default 1,0.5,2)
  lr            peak learning rate (default log range 0.01:0.2)
  weight_decay  (default log range 1e-5:1e-3)

re-running the same command resumes the search; a larger --max-trials adds trials.
distributed: run the same command in each process with KERASTUNER_TUNER_ID=chief|tuner0|tuner1|...,
KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT set, sharing one --dir (workers never --overwrite).
"""


def register(sub):
    p = sub.add_parser("tune", help="search depth / shortcut / plain (and lr, width, ...) with keras-tuner",
                       epilog=TUNE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True, help="the search directory (re-use it to resume)")
    p.add_argument("--family", choices=registry.SEARCH_FAMILIES, default="cifar", help="which family of the zoo (default cifar)")
    p.add_argument("--fix", action="append", metavar="NAME=VALUE", help="fix a hyperparameter (repeatable)")
    p.add_argument("--choice", action="append", metavar="NAME=V1,V2", help="restrict a hyperparameter to these values")
    p.add_argument("--range", action="append", metavar="NAME=LOW:HIGH", help="log range of lr or weight_decay")
    p.add_argument("--tuner", choices=registry.TUNERS, default="random",
                   help="random (default), bayesian (Gaussian process), hyperband, grid (every architecture once)")
    p.add_argument("--max-trials", type=int, default=10, help="trials in all (default 10)")
    p.add_argument("--epochs", type=int, default=1, help="epochs per trial (hyperband: the most a trial trains)")
    p.add_argument("--objective", default="val_accuracy", help="metric to optimise, NAME or NAME:min|max (default val_accuracy)")
    p.add_argument("--executions-per-trial", type=int, default=1)
    p.add_argument("--hyperband-factor", type=int, default=3)
    p.add_argument("--dataset", default="cifar10", help="a tfds name or a path (.npz, CIFAR batches, IDX files, class folders)")
    p.add_argument("--data-dir", help="tfds data directory")
    p.add_argument("--validation-split", type=count_or_fraction, default=0.1,
                   help="held out from train for the objective (fraction or count; default 0.1)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--recipe", choices=registry.RECIPES, default="paper")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="pad-crop-flip augmentation (default: on for CIFAR-like data)")
    p.add_argument("--devices", help="comma-separated devices of each trial's MirroredStrategy, e.g. /gpu:0,/gpu:1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run-eagerly", action="store_true", help="no tf.function tracing (faster on tiny data)")
    p.add_argument("--no-export", action="store_true", help="do not export the best trial to DIR/best")
    p.add_argument("--overwrite", action="store_true", help="delete the search's earlier trials and start again")
    p.add_argument("--quiet", action="store_true", help="one line per epoch instead of progress bars")
    p.set_defaults(func=run_tune, tensorflow_only="the keras-tuner search trains through tf.distribute and tf.data")


def run_tune(args):
    from ..search import SearchSpace, parse_assignments, search

    space = SearchSpace(args.family, fix=parse_assignments(args.fix, kind="fix"),
                        choice=parse_assignments(args.choice, kind="choice"),
                        ranges=parse_assignments(args.range, kind="range"))
    print(f"search space ({space.size()} architectures):\n{space.describe()}", flush=True)
    devices = [d.strip() for d in args.devices.split(",") if d.strip()] if args.devices else None
    result = search(
        space, directory=args.dir, tuner=args.tuner, max_trials=args.max_trials, epochs=args.epochs,
        objective=args.objective, overwrite=args.overwrite, executions_per_trial=args.executions_per_trial,
        hyperband_factor=args.hyperband_factor, export_best=not args.no_export, run_eagerly=args.run_eagerly,
        verbose=2 if args.quiet else 1, dataset=args.dataset, data_dir=args.data_dir,
        validation_split=args.validation_split, batch_size=args.batch_size, recipe=args.recipe,
        momentum=args.momentum, label_smoothing=args.label_smoothing,
        augment=args.augment, devices=devices, seed=args.seed,
        command="keras-resnet " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
    )
    print(f"ran {len(result.trials_run)} trial(s) in this process: {', '.join(result.trials_run) or 'none'}")
    if result.rows is None:
        print("worker finished: the chief writes the results")
        return 0
    done = [r for r in result.rows if r.get("objective") is not None]
    print(f"{len(done)} of {len(result.rows)} trials finished; table: {result.directory / 'results.md'}, "
          f"{result.directory / 'results.csv'}; plot: {result.directory / 'pareto.png'}")
    if result.best_run_dir:
        print(f"best model: {result.best_run_dir / 'model.keras'} (model card: {result.best_run_dir / 'model_card.json'})")
    return 0
