"""`keras-resnet list` and `keras-resnet summary NAME`."""

from .. import registry
from ._args import add_model_options, model_kwargs


def register(sub):
    p = sub.add_parser("list", help="list the named models (with --profile: parameters and MACs, like Table 6)")
    p.add_argument("--profile", action="store_true", help="build each model and count parameters and MACs (slow for resnet1202)")
    p.set_defaults(func=run_list, needs_tensorflow=lambda args: args.profile)   # the names alone: no TensorFlow

    p = sub.add_parser("summary", help="parameters, MACs and (with --layers) the layers of one model")
    p.add_argument("name", help="a model name from `keras-resnet list`, e.g. resnet56, plain20, resnet50")
    add_model_options(p)
    p.add_argument("--layers", action="store_true", help="also print Keras's layer-by-layer summary")
    p.set_defaults(func=run_summary)


def _table(rows, columns):
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    line = lambda vals: "  ".join(str(v).ljust(w) for v, w in zip(vals, widths)).rstrip()
    return "\n".join([line(columns), line("-" * w for w in widths)] + [line(r[c] for c in columns) for r in rows])


def _human(n):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(n)


def run_list(args):
    rows = []
    for r in registry.list_models():
        row = dict(r, input=",".join(map(str, r["input_shape"])), shortcut=r["shortcut"] or "none",
                   depth=r["depth"] or "-")
        if args.profile:
            from ..nets.builders import build
            from ..nets.profiling import profile

            p = profile(build(r["name"]))
            row.update(params=f"{p['trainable_params']:,}", MACs=_human(p["macs"]))
        rows.append(row)
    cols = ["name", "family", "depth", "block", "shortcut", "input", "classes"]
    print(_table(rows, cols + (["params", "MACs"] if args.profile else [])))
    print(f"\nAlso: {registry.MORE_NAMES}.")


def run_summary(args):
    from ..nets.builders import build
    from ..nets.profiling import profile

    model = build(args.name, **model_kwargs(args))
    shape = model.input_shape[1:]
    p = profile(model, input_shape=None if None not in shape else (32, 32, shape[-1]))
    if args.layers:
        model.summary()
    print(f"model:                {model.name}")
    print(f"input shape:          {shape}")
    print(f"output shape:         {model.output_shape[1:]}")
    print(f"trainable params:     {p['trainable_params']:,}")
    print(f"non-trainable params: {p['non_trainable_params']:,}")
    print(f"total params:         {p['total_params']:,}")
    print(f"multiply-accumulates: {p['macs']:,} ({_human(p['macs'])}) per {p['input_shape']} image")
