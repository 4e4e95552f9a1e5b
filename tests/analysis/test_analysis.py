"""The paper's experiments on tiny nets and tiny data (keras_resnet.analysis, `keras-resnet experiment`)."""

import csv
import itertools
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_resnet import analysis as A
from keras_resnet import build
from keras_resnet.cli import main
from keras_resnet.data import from_arrays

SHAPE = (16, 16, 3)
TINY = dict(width=0.25, input_shape=SHAPE)


def stripes(n, seed):
    """4 classes of 16x16 colour images: horizontal, vertical, diagonal stripes, checkerboard (random phase, colour, noise)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    i, j = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
    x = np.empty((n, 16, 16, 3), "float32")
    for t in range(n):
        ph = rng.integers(0, 4)
        pat = [(i + ph) // 2 % 2, (j + ph) // 2 % 2, (i + j + ph) // 2 % 2, ((i + ph) // 2 + (j + ph) // 2) % 2][y[t]]
        x[t] = pat[..., None] * rng.uniform(0.3, 1, 3) * 200 + rng.normal(0, 20, (16, 16, 3))
    return np.clip(x, 0, 255).astype("uint8"), y


@pytest.fixture(scope="module")
def toy():
    (xtr, ytr), (xte, yte) = stripes(256, 0), stripes(96, 1)
    return from_arrays(xtr, ytr, xte, yte, class_names=["horizontal", "vertical", "diagonal", "checker"], name="stripes")


@pytest.fixture(scope="module")
def toy_runs(toy, tmp_path_factory):
    """plain14 and resnet14 trained on the toy, each written as a run directory (model.keras + history.csv)."""
    root = tmp_path_factory.mktemp("runs")
    x, y = A.as_arrays(toy, split="train")
    xv, yv = A.as_arrays(toy, split="test")
    runs = {}
    for name in ("plain14", "resnet14"):
        keras.utils.set_random_seed(0)
        model = build(name, classes=4, preprocessing={"scale": 1 / 255}, **TINY)
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy",
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="top1")])
        run = root / name
        run.mkdir()
        model.fit(x, y, batch_size=32, epochs=4, validation_data=(xv, yv), verbose=0,
                  callbacks=[keras.callbacks.CSVLogger(str(run / "history.csv"))])
        model.save(run / "model.keras")
        runs[name] = run
    return runs


# --------------------------------------------------------------------------- blocks and switches


def test_find_blocks_names_residual_plain_and_downsampling_blocks():
    blocks = A.find_blocks(build("resnet14", **TINY))
    assert [b.name for b in blocks] == [f"conv{s}_block{i}" for s in (2, 3, 4) for i in (1, 2)]
    assert all(b.residual and b.deletable for b in blocks)
    assert [b.name for b in blocks if b.downsampling] == ["conv3_block1", "conv4_block1"]
    plain = A.find_blocks(build("plain14", **TINY))
    assert not any(b.residual for b in plain)
    assert [b.name for b in plain if not b.deletable] == ["conv3_block1", "conv4_block1"]
    with pytest.raises(ValueError, match="no residual blocks"):
        A.residual_blocks(build("plain14", **TINY))


def test_deleting_a_block_of_a_zero_init_resnet_changes_nothing(rng):
    x = rng.uniform(0, 1, (4, *SHAPE)).astype("float32")
    zero = build("resnet8", zero_init_residual=True, **TINY)  # blocks: identity, downsampling, downsampling
    net, blocks = A.instrument(zero)
    for i, block in enumerate(blocks):
        np.testing.assert_allclose(A.delete_blocks(zero, [block.name])(x), zero(x), atol=1e-6)
        A.set_kept(blocks, [i])
        np.testing.assert_allclose(net(x), zero(x), atol=1e-6)
    # ... while in a normally initialised ResNet every deletion changes the output
    normal = build("resnet8", **TINY)
    for block in A.find_blocks(normal):
        assert np.abs(A.delete_blocks(normal, [block.name])(x) - normal(x)).max() > 1e-4


def test_delete_blocks_drops_the_branch_from_the_graph_and_matches_the_switch(rng):
    x = rng.uniform(0, 255, (4, *SHAPE)).astype("float32")
    model = build("resnet14", **TINY)
    gone = A.delete_blocks(model, ["conv2_block2", "conv3_block1"])  # an identity and a downsampling block
    names = {layer.name for layer in gone.layers}
    assert "conv2_block2_1_conv" not in names and "conv3_block1_2_bn" not in names
    assert "conv3_block1_shortcut" in names and gone.output_shape == model.output_shape
    net, blocks = A.instrument(model)
    A.set_kept(blocks, ["conv2_block2", "conv3_block1"])
    np.testing.assert_allclose(net(x), gone(x), atol=1e-5)
    A.set_kept(blocks)
    np.testing.assert_allclose(net(x), model(x), atol=1e-5)
    with pytest.raises(ValueError, match="cannot be deleted"):
        A.delete_blocks(build("plain14", **TINY), ["conv3_block1"])
    with pytest.raises(ValueError, match="no block 'conv9_block1'"):
        A.delete_blocks(model, ["conv9_block1"])


# --------------------------------------------------------------------------- paths


def test_path_counts_are_binomial_n_one_half():
    for n in (0, 1, 3, 10):
        lengths = [sum(p) for p in itertools.product((0, 1), repeat=n)]  # every path: branch (1) or shortcut (0)
        assert A.path_counts(n) == [lengths.count(k) for k in range(n + 1)]
    dist = A.path_length_distribution(54)  # ResNet-110 (Veit et al. Fig. 6a)
    assert sum(d["paths"] for d in dist) == 2**54
    assert max(dist, key=lambda d: d["fraction"])["length"] == 27
    assert math.isclose(sum(d["fraction"] for d in dist), 1.0)
    with pytest.raises(ValueError):
        A.path_counts(-1)


def _input_gradient(model, x, y):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = keras.losses.sparse_categorical_crossentropy(y, model(x, training=False))
    return tape.gradient(loss, x).numpy()


def test_routed_gradients_of_all_paths_sum_to_the_full_gradient(rng):
    """The backward pass is linear, so the 2^n single-path gradients add up to the true one (Veit et al. §3)."""
    model = build("resnet8", **TINY)  # 3 blocks: 8 paths
    x = rng.uniform(0, 1, (2, *SHAPE)).astype("float32")
    y = np.array([1, 7])
    routed, blocks = A.instrument(model, routed=True)
    np.testing.assert_allclose(routed(x), model(x), atol=1e-6)  # routing leaves the forward pass alone
    total = 0
    for route in itertools.product((0.0, 1.0), repeat=len(blocks)):
        for block, r in zip(blocks, route):
            block.switch.route.assign(r)
        total = total + _input_gradient(routed, x, y)
    full = _input_gradient(model, x, y)
    assert np.abs(full).max() > 0
    np.testing.assert_allclose(total, full, rtol=1e-4, atol=1e-6 * np.abs(full).max())


def test_path_gradients_shapes_and_zero_init_branches_pass_no_gradient(rng):
    x = rng.uniform(0, 255, (8, *SHAPE)).astype("float32")
    y = rng.integers(0, 10, 8)
    rows = A.path_gradients(build("resnet8", zero_init_residual=True, **TINY), x, y, samples=2, batch_size=4,
                            progress=False)
    assert [(r["length"], r["sample"]) for r in rows] == [(k, s) for k in range(4) for s in range(2)]
    assert all(len(r["blocks"].split()) == r["length"] for r in rows if r["length"])
    # a zero-initialised branch (BN gamma = 0) blocks the gradient: only the all-shortcut path carries any
    assert all(r["magnitude"] > 0 for r in rows if r["length"] == 0)
    assert all(r["magnitude"] == 0 for r in rows if r["length"] > 0)
    summary = A.summarize_gradients(rows, 3)
    assert [s["paths"] for s in summary] == [1, 3, 3, 1] and math.isclose(summary[0]["share"], 1.0)
    assert A.effective_paths(summary) == (0, 0)
    with pytest.raises(ValueError, match="no residual blocks"):
        A.path_gradients(build("plain8", **TINY), x, y, progress=False)
    with pytest.raises(ValueError, match=r"path lengths must be in 0\.\.3"):
        A.path_gradients(build("resnet8", **TINY), x, y, lengths=[5], progress=False)


# --------------------------------------------------------------------------- layer responses


def test_layer_responses_take_the_bn_after_each_3x3_conv(rng):
    model = build("resnet14", **TINY)
    names = A.response_layers(model)
    assert names == ["conv1_bn"] + [f"conv{s}_block{i}_{j}_bn" for s in (2, 3, 4) for i in (1, 2) for j in (1, 2)]
    v2 = A.response_layers(build("resnet8", version="v2", **TINY))  # pre-activation: the branch ends in a conv
    assert "conv2_block1_2_conv" in v2 and "conv2_block1_1_bn" in v2
    x = rng.uniform(0, 255, (10, *SHAPE)).astype("float32")
    rows = A.layer_responses(model, x, batch_size=4, progress=False)  # batches of 4, 4, 2: pooled moments
    assert [r["layer"] for r in rows] == names and [r["index"] for r in rows] == list(range(1, 14))
    probe = keras.Model(model.input, model.get_layer("conv3_block2_1_bn").output)
    expected = np.asarray(probe(x, training=False)).std()
    assert math.isclose(rows[names.index("conv3_block2_1_bn")]["std"], expected, rel_tol=1e-4)


# --------------------------------------------------------------------------- lesion


def test_lesion_of_a_trained_plain_net_is_worse_than_of_the_resnet(toy, toy_runs):
    x, y = A.as_arrays(toy)
    res = A.load_model(toy_runs["resnet14"])
    plain = A.load_model(toy_runs["plain14"])
    base_r, rows_r = A.lesion_single(res, x, y, progress=False)
    base_p, rows_p = A.lesion_single(plain, x, y, require_residual=False, progress=False)
    assert base_r < 0.25 and base_p < 0.4  # both learned the toy
    assert [r["error"] != r["error"] for r in rows_p] == [not r["deletable"] for r in rows_p]  # NaN where impossible
    same_r = [r["error"] for r in rows_r if not r["downsampling"]]
    same_p = [r["error"] for r in rows_p if r["deletable"]]
    assert np.mean(same_p) > np.mean(same_r) + 0.1, (same_p, same_r)
    rows = A.lesion_random(res, x, y, ks=[1, 3], draws=2, progress=False)
    assert [(r["k"], len(r["deleted"].split())) for r in rows] == [(1, 1)] * 2 + [(3, 3)] * 2
    with pytest.raises(ValueError, match="no residual blocks"):
        A.lesion_single(plain, x, y, progress=False)
    with pytest.raises(ValueError, match=r"k must be in 0\.\.4"):
        A.lesion_random(plain, x, y, ks=[5], require_residual=False, progress=False)


def test_a_dataset_the_model_does_not_fit_is_refused(toy_runs, rng):
    model = A.load_model(toy_runs["resnet14"])
    with pytest.raises(ValueError, match=r"does not fit.*\(8, 8, 1\)"):
        A.lesion_single(model, rng.uniform(0, 1, (4, 8, 8, 1)), np.zeros(4, int), progress=False)
    with pytest.raises(ValueError, match="labels run from 0 to 9 but the model has 4 outputs"):
        A.layer_responses(model, rng.uniform(0, 1, (4, *SHAPE)), np.arange(10)[-4:] * 0 + [0, 1, 2, 9],
                          progress=False)


# --------------------------------------------------------------------------- the experiments, end to end


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_experiments_write_their_folders_training_only_what_is_missing(toy, toy_runs, tmp_path):
    runs = [str(toy_runs["plain14"]), str(toy_runs["resnet14"])]
    train_options = dict(epochs=1, batch_size=64, model_kwargs={"width": 0.25}, verbose=0)
    deg = A.run_degradation(dataset=toy, models=runs + ["resnet8"], out_dir=tmp_path / "deg",
                            train_options=train_options, command="test degradation")
    assert [r["model"] for r in deg["final"]] == ["plain14", "resnet8", "resnet14"]
    assert len(_rows(tmp_path / "deg" / "curves.csv")) == 2 * 4 + 1  # 2 runs x 4 epochs + 1 trained here
    assert "test degradation" in (tmp_path / "deg" / "report.md").read_text()
    trained = tmp_path / "deg" / "runs" / "resnet8"  # written by keras_resnet.training.train
    assert (trained / "model_card.json").exists()
    stamp = (trained / "model.keras").stat().st_mtime_ns
    (again,) = A.obtain(["resnet8"], data=toy, runs_dir=tmp_path / "deg" / "runs", train_options=train_options)
    assert (trained / "model.keras").stat().st_mtime_ns == stamp and again.label == "resnet8"  # reused, not retrained
    A.run_layer_responses(dataset=toy, models=runs, out_dir=tmp_path / "resp", max_examples=32)
    assert len(_rows(tmp_path / "resp" / "responses.csv")) == 2 * 13
    les = A.run_lesion(dataset=toy, resnet=runs[1], plain=runs[0], out_dir=tmp_path / "les", draws=1, ks=[1],
                       path_samples=1, path_batch=8, path_lengths=[0, 1], max_examples=32, progress=False)
    assert les["blocks"] == 6 and len(_rows(tmp_path / "les" / "path_lengths.csv")) == 7
    assert les["path_stats"]["blocks"] == 6 and _rows(tmp_path / "les" / "path_stats.csv")[0]["mean_length"] == "3"
    assert "## Compared with Veit et al. 2016" in (tmp_path / "les" / "report.md").read_text()
    for folder, files in (("deg", ["degradation.png", "final_errors.csv"]), ("resp", ["responses.png", "summary.csv"]),
                          ("les", ["single.png", "random.png", "paths.png", "single.csv", "path_summary.csv"])):
        for f in files + ["report.md"]:
            assert (tmp_path / folder / f).stat().st_size > 0, (folder, f)
        assert (tmp_path / folder / files[0]).read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(FileExistsError, match="already holds an experiment"):
        A.run_layer_responses(dataset=toy, models=runs, out_dir=tmp_path / "resp")
    with pytest.raises(ValueError, match="no residual blocks"):
        A.run_lesion(dataset=toy, resnet=runs[0], out_dir=tmp_path / "les2", progress=False)
    with pytest.raises(ValueError, match="no residual blocks"):
        A.run_lesion(dataset=toy, resnet="plain8", out_dir=tmp_path / "les3", progress=False)
    assert not (tmp_path / "les3" / "runs").exists()  # refused before training anything
    with pytest.raises(ValueError, match="6n\\+2"):
        A.run_degradation(dataset=toy, depths=[20, 21], out_dir=tmp_path / "deg2")


def test_models_of_another_input_size_see_the_images_resized(toy, toy_runs, tmp_path, rng):
    """Fig. 7 with the converted 32x32 ResNets beside plain nets trained here at 16x16: each model gets the held-out
    images at its own size (resized as data.load does) and the report names the size."""
    x = rng.uniform(0, 255, (3, *SHAPE)).astype("float32")
    small = build("resnet8", classes=4, width=0.25, input_shape=(8, 8, 3))
    assert A.images_for(keras.models.load_model(toy_runs["resnet14"] / "model.keras", safe_mode=True), x) is x
    got = A.images_for(small, x)
    want = np.clip(np.round(tf.image.resize(x, (8, 8), antialias=True).numpy()), 0, 255)
    assert got.shape == (3, 8, 8, 3) and np.array_equal(got, want)
    small.save(tmp_path / "small8.keras")
    out = A.run_layer_responses(dataset=toy, models=[str(toy_runs["plain14"]), str(tmp_path / "small8.keras")],
                                out_dir=tmp_path / "resp", max_examples=16, progress=False)
    assert [(r["model"], r["input"]) for r in out["summary"]] == [("plain14", "16x16"), ("small8", "8x8")]
    assert "resized (antialiased) to its size" in (tmp_path / "resp" / "report.md").read_text()
    les = A.run_lesion(dataset=toy, resnet=str(tmp_path / "small8.keras"), plain=str(toy_runs["plain14"]),
                       out_dir=tmp_path / "les", draws=1, ks=[1], path_samples=1, path_batch=8, path_lengths=[0, 1],
                       max_examples=16, progress=False)   # lesion and path gradients at 8x8, the plain net at 16x16
    assert les["blocks"] == 3


def test_cli_experiment(toy, toy_runs, tmp_path, capsys):
    npz = tmp_path / "toy.npz"
    xtr, ytr = A.as_arrays(toy, split="train")
    xte, yte = A.as_arrays(toy, split="test")
    np.savez(npz, x_train=xtr.astype("uint8"), y_train=ytr, x_test=xte.astype("uint8"), y_test=yte)
    argv = ["experiment", "layer-responses", "--dataset", str(npz), "--model", str(toy_runs["plain14"]),
            str(toy_runs["resnet14"]), "--out", str(tmp_path / "r"), "--max-examples", "16", "--quiet"]
    assert main(argv) == 0
    assert "resnet14: mean std" in capsys.readouterr().out
    assert "keras-resnet experiment layer-responses --dataset" in (tmp_path / "r" / "report.md").read_text()
    assert main(argv) == 2
    assert "already holds an experiment" in capsys.readouterr().err
    assert main(["experiment", "lesion", "--dataset", str(npz), "--resnet", str(toy_runs["resnet14"]), "--no-plain",
                 "--draws", "2", "--k", "1", "2", "--path-samples", "1", "--path-batch", "4", "--max-examples", "16",
                 "--out", str(tmp_path / "les"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "resnet14: intact" in out and "(downsampling)" in out and "k=2" in out and "paths: 6 blocks" in out
    assert main(["experiment", "lesion", "--dataset", str(npz), "--depths", "21", "--out", str(tmp_path / "l")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-resnet experiment: error: depths must be CIFAR depths 6n+2") and err.count("\n") == 1


def test_cli_experiment_training_flags_reach_train_and_the_report():
    """--augment/--no-augment and --warmup 0 reach the training options and the report's command line (a 0 or a
    False once dropped out of it)."""
    from keras_resnet.cli import experiment, parser

    args = parser().parse_args(["experiment", "degradation", "--dataset", "x.npz", "--out", "o", "--warmup", "0",
                                "--no-augment", "--iterations", "40"])
    assert experiment._train_options(args) == {"iterations": 40, "warmup": 0, "augment": False, "verbose": "auto"}
    command = experiment._command(args)
    assert "--warmup 0" in command and "--no-augment" in command and "--augment " not in command
    on = parser().parse_args(["experiment", "degradation", "--dataset", "x.npz", "--out", "o", "--augment"])
    assert experiment._train_options(on)["augment"] is True and "--augment" in experiment._command(on)
    default = parser().parse_args(["experiment", "degradation", "--dataset", "x.npz", "--out", "o"])
    assert "augment" not in experiment._train_options(default) and "augment" not in experiment._command(default)


# --------------------------------------------------------------------------- summaries and figures (issue 15)


def test_path_length_stats_beside_veit():
    st = A.path_length_stats(54)  # ResNet-110
    assert st["paths"] == 2**54 and st["mean_length"] == 27 and st["most_common_length"] == 27
    assert math.isclose(st["std_length"], math.sqrt(54) / 2)
    assert (st["veit_effective_lo"], st["veit_effective_hi"], st["veit_blocks"]) == (5, 17, 54)
    rows = [dict(length=k, magnitude=10.0 ** -k, sample=0) for k in range(4)]
    summary = A.summarize_gradients(rows, 3)   # totals 1, 0.3, 0.03, 0.001: the short paths carry the gradient
    st = A.path_length_stats(3, summary, A.effective_paths(summary))
    assert st["gradient_peak_length"] == 0 and 0 < st["gradient_mean_length"] < 0.5
    assert (st["effective_lo"], st["effective_hi"]) == (0, 1) and st["effective_hi_fraction"] == pytest.approx(1 / 3)


def _single(errors, down=(), base=0.1):
    rows = [dict(index=i + 1, block=f"conv{2 + i // 3}_block{i % 3 + 1}", stage="", downsampling=i + 1 in down,
                 deletable=True, error=e) for i, e in enumerate(errors)]
    return base, rows


def test_veit_comparison_states_the_numbers():
    single = {"resnet14": _single([0.12, 0.11, 0.3, 0.13, 0.12, 0.25], down=(4,))}
    summaries = {"resnet14": [dict(k=0, mean_error=0.1, std_error=0.0, min_error=0.1, max_error=0.1, draws=1),
                              dict(k=1, mean_error=0.15, std_error=0.02, min_error=0.11, max_error=0.3, draws=20),
                              dict(k=2, mean_error=0.14, std_error=0.03, min_error=0.1, max_error=0.35, draws=20)]}
    st = dict(A.path_length_stats(6), effective_lo=1, effective_hi=3, effective_lo_fraction=1 / 6,
              effective_hi_fraction=0.5, gradient_mean_length=1.8, gradient_peak_length=2)
    text = "\n".join(A.experiments.veit_comparison(single, summaries, st, resnet="resnet14"))
    assert "intact 10.00%" in text and "worst 30.00% (conv2_block3, +20.00%)" in text
    assert "conv3_block1 13.00% (+3.00%)" in text            # the downsampling block, named with its change
    assert "10.0%, 15.0%, 14.0% for k = 0, 1, 2" in text and "falls between consecutive k 1 time(s)" in text
    assert "1..3 of 6 blocks (17%..50%)" in text and "5..17 of 54" in text


def test_plots_mark_downsampling_blocks_and_show_error_bars():
    fig = A.plot_single({"resnet14": _single([0.12, 0.11, 0.3, 0.13, 0.12, 0.25], down=(4,))})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["conv3_block1\n13.0%"]
    assert any("downsampling block deleted" in t.get_text() for t in ax.get_legend().get_texts())
    assert ax.get_ylim()[1] < 0.5                             # scaled to the errors, not to 100%
    rows = [dict(k=0, mean_error=0.1, std_error=0.0, min_error=0.1, max_error=0.1, draws=1),
            dict(k=1, mean_error=0.2, std_error=0.05, min_error=0.1, max_error=0.3, draws=20)]
    ax = A.plot_random({"resnet14": rows}).axes[0]
    assert ax.containers and any("mean ± std over 20 draws" in t.get_text() for t in ax.get_legend().get_texts())


def test_response_notes_compare_depths_and_plain_nets():
    summary = [dict(model="plain20", mean_std=1.2), dict(model="resnet56", mean_std=0.5),
               dict(model="resnet20", mean_std=0.8), dict(model="resnet32", mean_std=0.6)]
    notes = A.experiments._response_notes(summary)
    assert notes[0].startswith("ResNets by depth, mean std resnet20 0.800, resnet32 0.600, resnet56 0.500: it falls "
                               "with every step in depth")
    assert notes[1].startswith("plain20 1.200 vs resnet20 0.800")
