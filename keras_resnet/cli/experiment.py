"""`keras-resnet experiment degradation | layer-responses | lesion`: the paper's experiments.

Each trains (or loads) its models, measures, and writes a folder with PNG
figures, CSV tables and report.md (keras_resnet.analysis). Models are run
directories / .keras files (never trained again) or names trained into
--runs-dir with one recipe and reused by the next experiment.
"""

import argparse
import shlex

from .. import registry
from ._args import shape

TRAIN_FLAGS = ("epochs", "iterations", "batch_size", "recipe", "lr", "warmup", "weight_decay", "augment", "seed")


def register(sub):
    p = sub.add_parser("experiment", help="the paper's experiments: degradation, layer responses, lesion (Veit et al.)")
    exp = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)

    d = exp.add_parser("degradation", help="plain vs residual nets of several depths, error per epoch (He et al. Fig. 6)")
    _common(d, default_depths=[20, 56])
    d.set_defaults(func=run_degradation)

    r = exp.add_parser("layer-responses", help="std of each 3x3 layer's response (He et al. Fig. 7)")
    _common(r, default_depths=[20, 56])
    r.add_argument("--max-examples", type=int, help="measure on the first N held-out images (default: all)")
    r.set_defaults(func=run_layer_responses)

    les = exp.add_parser("lesion", help="delete blocks at test time; path lengths and path gradients (Veit et al. 2016)")
    _common(les, default_depths=[56], models=False)
    les.add_argument("--resnet", help="the ResNet: a run directory, a .keras file or a name (default resnet<depth>)")
    les.add_argument("--plain", help="the plain net to compare: a run directory, .keras file or name (default plain<depth>)")
    les.add_argument("--no-plain", action="store_true", help="lesion the ResNet only")
    les.add_argument("--draws", type=int, default=10, help="random draws per number k of deleted blocks (default 10)")
    les.add_argument("--k", type=int, nargs="+", help="numbers of blocks to delete at random (default 1..half of them)")
    les.add_argument("--path-samples", type=int, default=10, help="sampled paths per path length (default 10)")
    les.add_argument("--path-batch", type=int, default=32, help="training images per path-gradient sample (default 32)")
    les.add_argument("--path-lengths", type=int, nargs="+", help="path lengths to measure (default 0..n)")
    les.add_argument("--max-examples", type=int, help="test on the first N held-out images (default: all)")
    les.set_defaults(func=run_lesion)


def _common(p, default_depths, models=True):
    p.add_argument("--dataset", help="a tfds name (cifar10, ...) or a path: .npz, CIFAR batches, IDX files, class folders")
    p.add_argument("--data-dir", help="tfds data directory")
    p.add_argument("--image-size", type=shape, help="H,W: resize every image (e.g. 16,16 for a quick run)")
    p.add_argument("--depths", type=int, nargs="+", default=default_depths,
                   help=f"CIFAR depths 6n+2 to train (default {' '.join(map(str, default_depths))})")
    if models:
        p.add_argument("--model", nargs="+", dest="models",
                       help="models instead of --depths: run directories, .keras files or names (plain20, resnet56, ...)")
    p.add_argument("--out", required=True, help="the experiment's output folder (figures, CSVs, report.md)")
    p.add_argument("--runs-dir", help="where named models are trained / found again (default OUT/runs)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report in --out (runs are kept)")
    g = p.add_argument_group("training (for models given by name; one recipe for all)")
    g.add_argument("--epochs", type=int, help="epochs (default: the paper's 64k iterations)")
    g.add_argument("--iterations", type=int, help="iterations instead of epochs")
    g.add_argument("--batch-size", type=int, help="global batch (default 128)")
    g.add_argument("--recipe", choices=registry.RECIPES, help="learning-rate schedule (default paper)")
    g.add_argument("--lr", type=float, help="peak learning rate (default 0.1 x batch/128)")
    g.add_argument("--warmup", type=int, metavar="N", help="iterations of linear warm-up from lr/10 (0: none; "
                   "default: 400 for ResNet-110 and deeper)")
    g.add_argument("--weight-decay", type=float, help="weight decay (default 1e-4)")
    g.add_argument("--width", type=float, help="multiplier of every stage's filters (default 1)")
    g.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="the paper's 4-pixel pad + random crop + flip (default: on for 32x32 colour data only)")
    g.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _train_options(args):
    opts = {k: getattr(args, k) for k in TRAIN_FLAGS if getattr(args, k) is not None}
    if args.width is not None and args.width != 1:
        opts["model_kwargs"] = {"width": args.width}
    opts["verbose"] = 0 if args.quiet else "auto"
    return opts


def _command(args):
    """The command line, rebuilt from the parsed arguments (for report.md)."""
    parts = ["keras-resnet", "experiment", args.experiment]
    for key, value in vars(args).items():
        if key == "augment" and value is False:
            parts.append("--no-augment")
        if key in ("func", "command", "experiment") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-").replace("models", "model")
        if value is True:
            parts.append(flag)
        elif key == "image_size":
            parts += [flag, ",".join(map(str, value))]
        elif isinstance(value, (list, tuple)):
            parts += [flag, *map(str, value)]
        else:
            parts += [flag, str(value)]
    return " ".join(shlex.quote(p) for p in parts)


def _data(args):
    from ..data import load

    if not args.dataset:
        return None
    size = tuple(args.image_size) if args.image_size else None
    return load(args.dataset, data_dir=args.data_dir, image_size=size)


def _done(result):
    print(f"wrote {result['folder']}/report.md")
    return 0


def run_degradation(args):
    from ..analysis import run_degradation as run

    result = run(dataset=_data(args), models=args.models, depths=args.depths, out_dir=args.out, runs_dir=args.runs_dir,
                 train_options=_train_options(args), overwrite=args.overwrite, command=_command(args))
    for row in result["final"]:
        print(f"{row['model']:>12}: " + ", ".join(f"{k} {row[k]:.2%}" for k in row if "error" in k))
    for note in result["notes"]:
        print(note)
    return _done(result)


def run_layer_responses(args):
    from ..analysis import run_layer_responses as run

    result = run(dataset=_data(args), models=args.models, depths=args.depths, out_dir=args.out,
                 runs_dir=args.runs_dir, train_options=_train_options(args), overwrite=args.overwrite,
                 command=_command(args), max_examples=args.max_examples, progress=not args.quiet)
    for row in result["summary"]:
        print(f"{row['model']:>12}: mean std {row['mean_std']:.3f}, median {row['median_std']:.3f} "
              f"over {row['layers']} layers")
    for note in result["notes"]:
        print(note)
    return _done(result)


def run_lesion(args):
    from ..analysis import run_lesion as run

    if len(args.depths) != 1:
        raise ValueError(f"lesion takes one depth (the ResNet and plain net to lesion), got {args.depths}.")
    from ..analysis.sources import family_names

    plain_name, resnet_name = family_names(args.depths)
    plain = None if args.no_plain else (args.plain or plain_name)
    result = run(resnet=args.resnet or resnet_name, plain=plain, dataset=_data(args), out_dir=args.out,
                 runs_dir=args.runs_dir, train_options=_train_options(args), overwrite=args.overwrite,
                 command=_command(args), draws=args.draws, ks=args.k, path_samples=args.path_samples,
                 path_batch=args.path_batch, path_lengths=args.path_lengths, max_examples=args.max_examples,
                 progress=not args.quiet)
    for label, (base, rows) in result["single"].items():
        errs = [r["error"] for r in rows if r["deletable"] and not r["downsampling"]]
        down = [r for r in rows if r["deletable"] and r["downsampling"]]
        print(f"{label:>12}: intact {base:.2%}, one block deleted: mean {sum(errs) / max(1, len(errs)):.2%}, "
              f"worst {max(errs, default=float('nan')):.2%}"
              + "".join(f"; {r['block']} (downsampling) {r['error']:.2%}" for r in down))
    for label, rows in result["random"].items():
        print(f"{label:>12}: k random blocks deleted, mean ± std error: "
              + ", ".join(f"k={r['k']} {r['mean_error']:.1%}±{r['std_error']:.1%}" for r in rows))
    st = result["path_stats"]
    print(f"paths: {st['blocks']} blocks, lengths binomial mean {st['mean_length']:g} std {st['std_length']:.2f}; "
          f"gradient-weighted mean length {st['gradient_mean_length']:.1f}, peak at {st['gradient_peak_length']}")
    if result["effective"]:
        print(f"effective paths: lengths {result['effective'][0]}..{result['effective'][1]} of {result['blocks']}")
    return _done(result)
