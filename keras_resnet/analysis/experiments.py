"""The three experiments end to end: models (trained or loaded) -> measurements -> a folder with figures, CSVs, report.md.

    run_degradation(dataset="cifar10", depths=(20, 56), out_dir="results/degradation", train_options={"epochs": 20})
    run_layer_responses(dataset=..., models=["runs/plain20", "runs/resnet20"], out_dir=...)
    run_lesion(dataset=..., resnet="runs/resnet56", plain="runs/plain56", out_dir=...)

Models are given as run directories / .keras files (loaded, never trained
again) or as names (trained with `keras_resnet.training.train` into `runs_dir/<name>`,
reused once finished), so the three experiments can share one set of runs.
"""

import pathlib

import numpy as np

from . import degradation as deg
from . import lesion as les
from . import paths as pth
from . import responses as rsp
from .report import ExperimentFolder, markdown_table
from .sources import as_arrays, check_names, family_names, images_for, input_size, obtain
from .switches import residual_blocks


def load_data(dataset, data_dir=None):
    """An ImageData: `dataset` itself, or `keras_resnet.data.load(dataset)` (no validation split)."""
    if dataset is None:
        return None
    if hasattr(dataset, "class_names"):
        return dataset
    from ..data import load

    return load(str(dataset), data_dir=data_dir)


def _runs_dir(runs_dir, out_dir):
    return pathlib.Path(runs_dir) if runs_dir else pathlib.Path(out_dir) / "runs"


def _held_out_name(trained):
    return "validation" if any(t.card.get("dataset", {}).get("num_validation") for t in trained) else "test"


def _dataset_label(data, trained):
    if data is not None:
        h, w = tuple(data.image_shape)[:2]
        return f"{data.name} ({data.num_train} training images, {h}x{w})"
    ds = trained[0].card.get("dataset", {}) if trained else {}
    return ds.get("name", "")


# --------------------------------------------------------------------------- degradation


def run_degradation(*, dataset=None, data_dir=None, models=None, depths=(20, 56), out_dir, runs_dir=None,
                    train_options=None, overwrite=False, command=None, batch_size=256):
    """He et al. Fig. 6: train (or load) plain nets and ResNets, plot error per epoch, tabulate final errors."""
    folder = ExperimentFolder(out_dir, overwrite)
    data = load_data(dataset, data_dir)
    specs = list(models) if models else family_names(depths)
    trained = obtain(specs, data=data, runs_dir=_runs_dir(runs_dir, out_dir), train_options=train_options)
    curves = deg.error_curves(trained)
    arrays = {}
    if data is not None:
        arrays = dict(zip(("x_train", "y_train"), as_arrays(data, split="train")))
        arrays.update(zip(("x_test", "y_test"), as_arrays(data, split="test")))
    final = deg.final_errors(trained, batch_size=batch_size, **arrays)
    held_out = _held_out_name(trained)
    folder.csv("curves.csv", curves)
    folder.csv("final_errors.csv", final)
    folder.figure("degradation.png", deg.plot_degradation(curves, held_out, _dataset_label(data, trained)))
    cols = ["model", "params", "epochs", "final_train_error", "train_error_eval", "test_error"]
    cols = [c for c in cols if c in final[0]]
    notes = _degradation_notes(final)
    folder.report("Degradation: plain nets vs ResNets (He et al. 2016, Fig. 6)", command, [
        f"Data: {_dataset_label(data, trained)}. Runs: "
        + ", ".join(f"`{t.run_dir}`" for t in trained if t.run_dir) + ".",
        "`final_train_error`: the last epoch's logged training error (augmented batches, as the curves); "
        "`train_error_eval`: the finished model on the un-augmented training images (inference mode); "
        f"`test_error`: the {held_out} split.",
        markdown_table(final, cols, {c: ".2%" for c in cols if "error" in c}),
        "\n".join(f"- {n}" for n in notes)])
    return dict(folder=folder.dir, trained=trained, curves=curves, final=final, notes=notes)


def _degradation_notes(final):
    """Plain-deeper-vs-shallower and ResNet-deeper-vs-shallower comparisons, stated from the numbers."""
    notes = []
    key = "train_error_eval" if "train_error_eval" in final[0] else "final_train_error"
    for kind, claim in (("plain", "the paper: the deeper plain net has HIGHER training error"),
                        ("resnet", "the paper: the deeper ResNet has LOWER training and test error")):
        rows = sorted((r for r in final if r["kind"] == kind), key=lambda r: r["depth"])
        if len(rows) < 2:
            continue
        a, b = rows[0], rows[-1]
        notes.append(f"{b['model']} vs {a['model']}: training error {b[key]:.2%} vs {a[key]:.2%}, "
                     f"test error {b['test_error']:.2%} vs {a['test_error']:.2%} ({claim}).")
    return notes


# --------------------------------------------------------------------------- layer responses


def run_layer_responses(*, dataset=None, data_dir=None, models=None, depths=(20, 56), out_dir, runs_dir=None,
                        train_options=None, overwrite=False, command=None, max_examples=None, batch_size=128,
                        progress=True):
    """He et al. Fig. 7: std of each 3x3 layer's response on the held-out images, in order and sorted."""
    folder = ExperimentFolder(out_dir, overwrite)
    data = load_data(dataset, data_dir)
    if data is None:
        raise ValueError("layer-responses needs a dataset: its held-out (test) images are measured.")
    specs = list(models) if models else family_names(depths)
    trained = obtain(specs, data=data, runs_dir=_runs_dir(runs_dir, out_dir), train_options=train_options)
    x, y = as_arrays(data, split="test", max_examples=max_examples)
    results, rows, summary = {}, [], []
    for t in trained:
        r = rsp.layer_responses(t.model, images_for(t.model, x), y, batch_size=batch_size, progress=progress)
        results[t.label] = r
        rows += [dict(model=t.label, **row) for row in r]
        std = np.array([row["std"] for row in r])
        summary.append(dict(model=t.label, input=input_size(t.model), layers=len(std), mean_std=float(std.mean()),
                            median_std=float(np.median(std)), max_std=float(std.max())))
    notes = _response_notes(summary)
    folder.csv("responses.csv", rows)
    folder.csv("summary.csv", summary)
    data_size = "x".join(map(str, tuple(data.image_shape)[:2]))
    legend = {f"{r['model']} ({r['input']} input)" if r["input"] != data_size else r["model"]: results[r["model"]]
              for r in summary}  # a model that saw resized images says so in the figure too
    folder.figure("responses.png", rsp.plot_responses(legend))
    folder.report("Layer responses (He et al. 2016, Fig. 7)", command, [
        f"Std of each 3x3 layer's output after BN, before ReLU/addition, over all elements, on {len(x)} "
        f"held-out images of {_dataset_label(data, trained)} (inference mode)."
        + (" A model whose `input` differs sees the images resized (antialiased) to its size."
           if len({r["input"] for r in summary}) > 1 else ""),
        markdown_table(summary, ["model", "input", "layers", "mean_std", "median_std", "max_std"],
                       {c: ".3f" for c in ("mean_std", "median_std", "max_std")}),
        "\n".join(f"- {n}" for n in notes)])
    return dict(folder=folder.dir, trained=trained, responses=results, summary=summary, notes=notes)


def _response_notes(summary):
    """The paper's two Fig. 7 comparisons, stated from the numbers: deeper ResNets respond less; ResNets less than
    plain nets of the same depth."""
    notes = []
    parsed = {r["model"]: deg.kind_and_depth(r["model"]) for r in summary}
    res = sorted((r for r in summary if parsed[r["model"]][0] == "resnet"), key=lambda r: parsed[r["model"]][1])
    if len(res) >= 2:
        means = [r["mean_std"] for r in res]
        trend = ("falls with every step in depth" if all(b < a for a, b in zip(means, means[1:]))
                 else "falls from the shallowest to the deepest" if means[-1] < means[0] else "does not fall")
        notes.append("ResNets by depth, mean std " + ", ".join(f"{r['model']} {r['mean_std']:.3f}" for r in res)
                     + f": it {trend} (the paper, Fig. 7: the deeper ResNet has the smaller responses).")
    for r in res:
        plain = [p for p in summary if parsed[p["model"]] == ("plain", parsed[r["model"]][1])]
        for p in plain:
            notes.append(f"{p['model']} {p['mean_std']:.3f} vs {r['model']} {r['mean_std']:.3f} mean std "
                         "(the paper: the ResNet's responses are smaller than the plain net's).")
    return notes


# --------------------------------------------------------------------------- lesion + paths


def run_lesion(*, resnet, plain=None, dataset=None, data_dir=None, out_dir, runs_dir=None, train_options=None,
               overwrite=False, command=None, draws=10, ks=None, path_samples=10, path_batch=32,
               path_lengths=None, max_examples=None, seed=0, batch_size=256, progress=True):
    """Veit et al. 2016: delete blocks at test time (Fig. 3, 5a); path lengths and path gradients (Fig. 6)."""
    folder = ExperimentFolder(out_dir, overwrite)
    data = load_data(dataset, data_dir)
    if data is None:
        raise ValueError("lesion needs a dataset: the test error of the lesioned networks is measured on it.")
    runs = _runs_dir(runs_dir, out_dir)
    if not pathlib.Path(str(resnet)).exists():  # a name: refuse a plain net before training anything
        from ..nets.builders import build

        check_names([resnet], data)
        residual_blocks(build(resnet, input_shape=tuple(data.image_shape), classes=len(data.class_names)))
    (res,) = obtain([resnet], data=data, runs_dir=runs, train_options=train_options)
    blocks = residual_blocks(res.model)  # a plain net given as the ResNet: one clear error
    trained = [res] + (obtain([plain], data=data, runs_dir=runs, train_options=train_options) if plain else [])
    x, y = as_arrays(data, split="test", max_examples=max_examples)
    single, random_rows, summaries = {}, [], {}
    for t in trained:
        is_res = t is res
        xm = images_for(t.model, x)
        single[t.label] = les.lesion_single(t.model, xm, y, require_residual=is_res, batch_size=batch_size,
                                            progress=progress)
        r = les.lesion_random(t.model, xm, y, ks=ks, draws=draws, seed=seed, require_residual=is_res,
                              batch_size=batch_size, progress=progress)
        random_rows += [dict(model=t.label, **row) for row in r]
        base = single[t.label][0]
        summaries[t.label] = [dict(k=0, mean_error=base, std_error=0.0, min_error=base, max_error=base, draws=1)] \
            + les.summarize_random(r)
    n = len(blocks)
    xt, yt = as_arrays(data, split="train", max_examples=max(path_batch * 8, 256))
    xt = images_for(res.model, xt)
    grads = pth.path_gradients(res.model, xt, yt, lengths=path_lengths, samples=path_samples,
                               batch_size=path_batch, seed=seed, progress=progress)
    gsum = pth.summarize_gradients(grads, n)
    effective = pth.effective_paths(gsum)
    stats = pth.path_length_stats(n, gsum, effective)

    folder.csv("single.csv", [dict(model=k, baseline=b, **r) for k, (b, rows) in single.items() for r in rows])
    folder.csv("random.csv", random_rows)
    folder.csv("random_summary.csv", [dict(model=k, **r) for k, rows in summaries.items() for r in rows])
    folder.csv("path_lengths.csv", pth.path_length_distribution(n))
    folder.csv("path_gradients.csv", grads)
    folder.csv("path_summary.csv", gsum)
    folder.csv("path_stats.csv", [stats])
    folder.figure("single.png", les.plot_single(single))
    folder.figure("random.png", les.plot_random(summaries))
    folder.figure("paths.png", pth.plot_paths(gsum, n, res.label, effective))
    sections = [f"Test error on {len(x)} held-out images of {_dataset_label(data, trained)}; "
                f"{draws} random draws per k; path gradients: {path_samples} samples of {path_batch} training "
                "images per length.", *_lesion_notes(single, summaries, gsum, effective, n),
                *veit_comparison(single, summaries, stats, resnet=res.label)]
    folder.report("Residual networks as ensembles: lesions and paths (Veit et al. 2016)", command, sections)
    return dict(folder=folder.dir, trained=trained, single=single, random=summaries, gradients=gsum,
                effective=effective, blocks=n, path_stats=stats)


def _lesion_notes(single, summaries, gsum, effective, n):
    rows = []
    for label, (base, r) in single.items():
        ok = [x for x in r if x["deletable"]]
        down = [x["error"] for x in ok if x["downsampling"]]
        same = [x["error"] for x in ok if not x["downsampling"]]
        rows.append(dict(model=label, intact=base, mean_one_deleted=float(np.mean(same)) if same else float("nan"),
                         worst_one_deleted=float(np.max(same)) if same else float("nan"),
                         mean_downsampling_deleted=float(np.mean(down)) if down else float("nan"),
                         deletable=f"{len(ok)}/{len(r)}"))
    cols = ["model", "intact", "mean_one_deleted", "worst_one_deleted", "mean_downsampling_deleted", "deletable"]
    out = ["## Deleting one block", "Errors with one shape-keeping block deleted (downsampling blocks apart):",
           markdown_table(rows, cols, {c: ".2%" for c in cols[1:5]})]
    down = [dict(model=label, block=x["block"], index=x["index"], error=x["error"], change=x["error"] - base)
            for label, (base, r) in single.items() for x in r if x["downsampling"] and x["deletable"]]
    if down:
        out += ["Each downsampling block deleted (`change`: against the intact net):",
                markdown_table(down, ["model", "index", "block", "error", "change"],
                               {"error": ".2%", "change": "+.2%"})]
    ks = sorted({r["k"] for rows_ in summaries.values() for r in rows_})
    table = [dict(k=k, **{lbl: next((f"{r['mean_error']:.2%} ± {r['std_error']:.2%}" for r in rows_ if r["k"] == k), "")
                          for lbl, rows_ in summaries.items()}) for k in ks]
    out += ["## Deleting k random blocks", "Mean ± std of the test error over the draws:",
            markdown_table(table, ["k", *summaries])]
    out += ["## Paths", f"{n} residual blocks: 2^{n} paths, lengths binomial({n}, 1/2) (mean {n / 2:g}).",
            markdown_table(gsum, ["length", "paths", "mean_magnitude", "share"],
                           {"mean_magnitude": ".3g", "share": ".1%"})]
    if effective:
        out.append(f"Effective paths (central 90% of C(n,k) x magnitude): lengths {effective[0]}..{effective[1]} "
                   f"of {n}.")
    return out


def veit_comparison(single, summaries, stats, resnet):
    """Markdown lines setting the measured numbers beside Veit et al.'s three findings (their Fig. 3, 5a, 6)."""
    base, rows = single[resnet]
    same = [r for r in rows if not r["downsampling"]]
    down = [r for r in rows if r["downsampling"]]
    out = ["## Compared with Veit et al. 2016"]
    if same:
        worst = max(same, key=lambda r: r["error"])
        median = float(np.median([r["error"] for r in same]))
        out.append(f"- *Deleting one block barely hurts, except at downsampling blocks* (their Fig. 3, ResNet-110): "
                   f"here {resnet}, intact {base:.2%}; {len(same)} non-downsampling blocks deleted one at a time: "
                   f"median {median:.2%} ({median - base:+.2%}), worst {worst['error']:.2%} ({worst['block']}, "
                   f"{worst['error'] - base:+.2%})" + (
                       "; downsampling blocks: " + ", ".join(f"{r['block']} {r['error']:.2%} "
                                                             f"({r['error'] - base:+.2%})" for r in down)
                       if down else "") + ".")
    rand = [r for r in summaries.get(resnet, []) if r["k"] > 0]
    if rand:
        means = [r["mean_error"] for r in summaries[resnet]]
        drops = sum(b < a for a, b in zip(means, means[1:]))
        steps = np.diff(means)
        out.append(f"- *The error grows smoothly with the number k of deleted blocks* (their Fig. 5a): here mean error "
                   + ", ".join(f"{r['mean_error']:.1%}" for r in summaries[resnet])
                   + f" for k = {', '.join(str(r['k']) for r in summaries[resnet])}; the mean falls between "
                   f"consecutive k {drops} time(s); largest step {steps.max():+.1%}, median step "
                   f"{float(np.median(steps)):+.1%}; std over draws up to {max(r['std_error'] for r in rand):.1%}.")
    if "effective_lo" in stats:
        out.append(f"- *Effective paths are short* (their Fig. 6: 5..17 of 54 blocks in ResNet-110, i.e. "
                   f"{stats['veit_effective_lo_fraction']:.0%}..{stats['veit_effective_hi_fraction']:.0%} of the "
                   f"blocks, while the typical path has 27): here {stats['effective_lo']}..{stats['effective_hi']} "
                   f"of {stats['blocks']} blocks ({stats['effective_lo_fraction']:.0%}.."
                   f"{stats['effective_hi_fraction']:.0%}); the path lengths have mean {stats['mean_length']:g} and "
                   f"std {stats['std_length']:.2f}, the gradient-weighted mean length is "
                   f"{stats['gradient_mean_length']:.1f} and the largest share of the gradient comes from paths of "
                   f"{stats['gradient_peak_length']} blocks.")
    return out
