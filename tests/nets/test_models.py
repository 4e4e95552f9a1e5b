"""The model zoo (issue 2): exact parameter counts, MACs, shortcut options, variants, saving, errors.

Every option is run through nets_harness.run_net_test on a tiny net; the full-size nets are built once per module
(`zoo`), ResNet-152 and ResNet-1202 marked slow.
"""

import keras
import numpy as np
import pytest
from nets_harness import run_net_test, tiny_net

import keras_resnet as kr

CIFAR_PARAMS = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962, 1202: 19_421_274}
IMAGENET_PARAMS = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808}
OPTION_B_EXTRA = 2_752  # two 1x1 projections + BN: 16*32 + 64 + 32*64 + 128


def trainable(model):
    return kr.profile(model)["trainable_params"]


def sub_model(model, layer_names):
    return keras.Model(model.input, [model.get_layer(n).output for n in layer_names])


@pytest.fixture(scope="module")
def zoo():
    """`zoo(name, **options)`: `kr.build(name, **options)`, built once per module (for tests that only read it)."""
    built = {}

    def get(name, **options):
        key = repr((name, sorted(options.items())))
        if key not in built:
            built[key] = kr.build(name, **options)
        return built[key]

    return get


# --------------------------------------------------------------------------- exact counts


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110, pytest.param(1202, marks=pytest.mark.slow)])
def test_cifar_option_a_params_match_paper(depth, zoo):
    assert trainable(zoo(f"resnet{depth}")) == CIFAR_PARAMS[depth]


@pytest.mark.parametrize("depth", [20, 56, 110])
def test_cifar_option_b_adds_two_projections(depth, zoo):
    assert trainable(zoo(f"resnet{depth}", shortcut="B")) == CIFAR_PARAMS[depth] + OPTION_B_EXTRA


@pytest.mark.parametrize("depth", [20, 56])
def test_plain_net_has_the_same_count_as_its_resnet(depth, zoo):
    plain = zoo(f"plain{depth}")
    assert trainable(plain) == CIFAR_PARAMS[depth]
    assert not any(isinstance(layer, (keras.layers.Add, kr.ZeroPadShortcut)) for layer in plain.layers)


@pytest.mark.parametrize("depth", [18, 34, 50, 101, pytest.param(152, marks=pytest.mark.slow)])
def test_imagenet_params_match_torchvision(depth, zoo):
    assert trainable(zoo(f"resnet{depth}")) == IMAGENET_PARAMS[depth]


def test_option_c_projects_every_block(zoo):
    model = zoo("resnet20", shortcut="C")
    projections = [l.name for l in model.layers if l.name.endswith("_0_conv")]
    assert len(projections) == 9  # one per block, 3 stages x n=3
    extra = 3 * (16 * 16 + 32) + (16 * 32 + 64) + 2 * (32 * 32 + 64) + (32 * 64 + 128) + 2 * (64 * 64 + 128)
    assert trainable(model) == CIFAR_PARAMS[20] + extra


def test_generic_depth_6n_plus_2(zoo):
    model = kr.build("resnet8")
    assert len([l for l in model.layers if isinstance(l, keras.layers.Conv2D)]) == 7  # 6n+1 convs + 1 dense
    assert kr.cifar_resnet(50).count_params() != zoo("resnet50").count_params()  # CIFAR-50 vs ImageNet-50
    assert kr.build("cifar_resnet50").input_shape == (None, 32, 32, 3)


# --------------------------------------------------------------------------- multiply-accumulates


def test_macs_match_the_paper(zoo):
    assert kr.profile(zoo("resnet20"))["macs"] == pytest.approx(40.8e6, rel=0.01)
    assert kr.profile(zoo("resnet50"))["macs"] == pytest.approx(3.8e9, rel=0.03)
    assert kr.profile(kr.ResNet50(version="v1.5"))["macs"] == pytest.approx(4.1e9, rel=0.03)


def test_profile_needs_a_size_for_undefined_inputs(zoo):
    model = kr.ResNet20(input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="input_shape"):
        kr.profile(model)
    assert kr.profile(model, input_shape=(32, 32, 3))["macs"] == kr.profile(zoo("resnet20"))["macs"]
    assert kr.profile(model, input_shape=(64, 64, 3))["macs"] > 3.9 * kr.profile(zoo("resnet20"))["macs"]


# --------------------------------------------------------------------------- shortcut option A and variants


def test_zero_pad_shortcut_layer(rng):
    x = rng.normal(size=(2, 8, 8, 4)).astype("float32")
    y = keras.ops.convert_to_numpy(kr.ZeroPadShortcut(2, 10)(x))
    assert y.shape == (2, 4, 4, 10)
    np.testing.assert_array_equal(y[..., :4], x[:, ::2, ::2, :])
    assert not y[..., 4:].any()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("size", [(8, 8), (7, 9), (1, 2)])
def test_subsample_is_the_strided_slice_forward_and_backward(rng, dtype, size):
    """layers.subsample (a 1x1 pooling, fast on CPU) equals x[:, ::s, ::s] bit for bit, its gradient too, at odd
    sizes and in bfloat16; option A and SubsamplingConv2D rely on it."""
    import tensorflow as tf

    from keras_resnet.nets.layers import subsample

    x = tf.cast(tf.constant(rng.normal(size=(3, *size, 5)).astype("float32") * 1e3), dtype)
    w = tf.cast(tf.constant(rng.normal(size=(3, -(-size[0] // 2), -(-size[1] // 2), 5)).astype("float32")), dtype)
    grads = []
    for f in (lambda t: subsample(t, 2), lambda t: t[:, ::2, ::2, :]):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
            loss = tf.reduce_sum(tf.cast(y * w, "float32"))
        grads.append((y.numpy().astype("float32"), tape.gradient(loss, x).numpy().astype("float32")))
    for ours, ref in zip(*grads):
        np.testing.assert_array_equal(ours, ref)


def _bn_step(layer, x, weights):
    """One training-mode call under a tape: output, d(loss)/d(x, gamma, beta), moving mean and variance."""
    import tensorflow as tf

    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(tf.sin(tf.cast(y, x.dtype)) * weights)
    grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return [np.asarray(t, dtype="float64") for t in [y, *grads, layer.moving_mean, layer.moving_variance]]


@pytest.mark.parametrize("shape", [(16, 6, 6, 5), (2, 1, 1, 3), (64, 8, 8, 16)])
def test_fused_batch_norm_matches_keras_batch_norm(rng, shape):
    """Same output, gradients and moving statistics as keras.layers.BatchNormalization (float64 reference)."""
    x = rng.normal(3.0, 2.0, shape)
    weights = rng.uniform(-1, 1, shape)
    init = dict(momentum=0.9, epsilon=1e-5, gamma_initializer="random_normal", beta_initializer="random_normal")
    reference = keras.layers.BatchNormalization(**init, dtype="float64")
    reference.build(shape)
    fused = kr.FusedBatchNormalization(**init)
    fused.build(shape)
    fused.set_weights(reference.get_weights())
    expected = _bn_step(reference, x, weights)
    got = _bn_step(fused, x.astype("float32"), weights.astype("float32"))
    for name, e, g in zip(["output", "dx", "dgamma", "dbeta", "moving_mean", "moving_variance"], expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(e).max()), err_msg=name)
    # inference uses the moving statistics, exactly like Keras (the Keras code path)
    np.testing.assert_allclose(np.asarray(fused(x.astype("float32"), training=False)),
                               np.asarray(reference(x, training=False)), rtol=1e-5, atol=1e-5)


def test_fused_batch_norm_in_mixed_precision(rng):
    x = rng.normal(1.0, 2.0, (8, 4, 4, 6)).astype("float32")
    weights = rng.uniform(-1, 1, x.shape).astype("float32")
    results = []
    for cls in (keras.layers.BatchNormalization, kr.FusedBatchNormalization):
        layer = cls(dtype="mixed_bfloat16")
        layer.build(x.shape)
        results.append(_bn_step(layer, x, weights))
        assert layer.moving_mean.dtype == "float32" and layer.compute_dtype == "bfloat16"
    for e, g in zip(*results):
        np.testing.assert_allclose(g, e, rtol=2e-2, atol=2e-2 * max(1.0, np.abs(e).max()))


def test_models_use_fused_batch_norm_unless_asked_not_to(rng):
    """A whole ResNet-8 training step is the same with either BN layer (fused_bn=False: Keras's).

    The initial weights are seeded. Unseeded, Keras draws each initializer's seed from Python's `random`, seeded
    from os.urandom per process, so every run trained other weights: two SGD steps at lr 0.1 amplify the float32
    rounding of the two BN implementations differently per draw, and 5 of 50 seeds exceeded this bound
    (max |a - b| / (1e-4 + 1e-3 |b|) up to 2.6; seed 0: 0.46). Both layers are as far from a float64 model
    (seed 1: fused 1.46, Keras 0.85; seed 4: 0.26 vs 0.87): float32 noise, not a fused-BN error. The failure
    seen 'without LANG' (issue 23) was this roughly 1-in-10 draw, not the locale.
    """
    keras.utils.set_random_seed(0)
    models = [kr.build("resnet8", fused_bn=fused) for fused in (True, False)]
    kinds = [{type(l) for l in m.layers if isinstance(l, keras.layers.BatchNormalization)} for m in models]
    assert kinds == [{kr.FusedBatchNormalization}, {keras.layers.BatchNormalization}]
    models[1].set_weights(models[0].get_weights())
    x = rng.uniform(0, 1, (32, 32, 32, 3)).astype("float32")
    y = np.arange(32) % 10
    for m in models:
        m.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
        m.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(*(m.get_weights() for m in models)):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def test_dtype_goes_to_every_layer_and_the_global_policy_is_left_alone():
    """Mixed precision by `dtype=` (issue 25): the classifier in float32, the model's own policy set (compile reads
    it), Keras's global policy untouched."""
    model = kr.build("resnet8", width=0.25, dtype="mixed_bfloat16")
    assert keras.config.dtype_policy().name == "float32"
    head = ("avg_pool", "predictions")
    body = {l.dtype_policy.name for l in model.layers
            if l.name not in head and not isinstance(l, keras.layers.InputLayer)}
    assert body == {"mixed_bfloat16"} and [model.get_layer(n).dtype_policy.name for n in head] == ["float32"] * 2
    assert model.dtype_policy.name == "mixed_bfloat16" and model.output.dtype == "float32"
    assert {l.dtype_policy.name for l in kr.build("resnet8", width=0.25).layers} == {"float32"}


def test_option_a_shortcut_inside_the_model_subsamples_even_positions(rng, zoo):
    model = zoo("resnet20")
    block_in = model.get_layer("conv2_block3_out").output
    probe = keras.Model(model.input, [block_in, model.get_layer("conv3_block1_shortcut").output])
    x_in, short = [np.asarray(o) for o in probe(rng.uniform(0, 1, (2, 32, 32, 3)), training=False)]
    assert short.shape == (2, 16, 16, 32)
    np.testing.assert_array_equal(short[..., :16], x_in[:, ::2, ::2, :])
    assert not short[..., 16:].any()
    assert model.get_layer("conv3_block1_shortcut").count_params() == 0


@pytest.mark.parametrize("version", ["v1", "v1.5"])
def test_bottleneck_stride_placement(version):
    model = kr.build("resnet50", version=version, width=0.25, input_shape=(64, 64, 3), classes=10)
    first, middle = model.get_layer("conv3_block1_1_conv"), model.get_layer("conv3_block1_2_conv")
    assert (first.strides, middle.strides) == (((2, 2), (1, 1)) if version == "v1" else ((1, 1), (2, 2)))


def test_v2_is_pre_activation(zoo):
    model = zoo("resnet20", version="v2")
    names = [l.name for l in model.layers]
    assert "conv2_block1_preact_bn" in names and "post_bn" in names
    assert not any(n.endswith("_out") for n in names)  # no ReLU after the addition
    # the stem is a bare conv; its BN/ReLU come from the first block's pre-activation
    assert "conv1_bn" not in names


@pytest.mark.parametrize(
    "name,kwargs,branch_ends",
    [
        ("resnet20", {}, "_2_bn"),
        ("resnet20", {"shortcut": "B"}, "_2_bn"),
        ("resnet50", {"width": 0.25, "input_shape": (32, 32, 3), "classes": 10}, "_3_bn"),
        ("resnet20", {"version": "v2"}, "_2_conv"),
    ],
)
def test_zero_init_makes_every_block_an_identity(rng, name, kwargs, branch_ends):
    model = kr.build(name, zero_init_residual=True, **kwargs)
    adds = [l for l in model.layers if l.name.endswith("_add")]
    branches = [model.get_layer(a.name.replace("_add", branch_ends)).output for a in adds]
    shortcuts = [a.input[0] for a in adds]
    probe = keras.Model(model.input, branches + shortcuts + [a.output for a in adds])
    outs = [np.asarray(o) for o in probe(rng.uniform(0, 1, (2,) + model.input_shape[1:]), training=False)]
    n = len(adds)
    for branch in outs[:n]:
        assert not np.any(branch), "a zero-init residual branch must output zeros"
    for short, added in zip(outs[n:2 * n], outs[2 * n:]):
        np.testing.assert_array_equal(added, short)  # F(x) + x == x


def test_zero_init_block_output_equals_relu_of_its_shortcut(rng):
    model = kr.build("resnet20", zero_init_residual=True)
    x = rng.uniform(0, 1, (2, 32, 32, 3))
    block_in, block_out, short = [np.asarray(o) for o in sub_model(
        model, ["conv2_block3_out", "conv3_block1_out", "conv3_block1_shortcut"])(x, training=False)]
    np.testing.assert_allclose(block_out, np.maximum(short, 0), atol=1e-6)
    np.testing.assert_allclose(short[..., :16], block_in[:, ::2, ::2], atol=1e-6)


def test_named_models_take_every_option_by_keyword_and_cite_the_paper():
    """ModelOptions (what mypy and IDEs see for ResNet20 ...) is exactly the builder's options plus `weights`."""
    import inspect

    from keras_resnet.nets import builders

    options = set(inspect.signature(builders.resnet).parameters) - {"spec"}
    assert builders.ResNetOptions.__optional_keys__ == options and not builders.ResNetOptions.__required_keys__
    assert builders.ModelOptions.__optional_keys__ == options | {"weights"}
    for fn, table in [(kr.ResNet20, "Table 6"), (kr.ResNet1202, "Table 6"), (kr.ResNet18, "Table 1"),
                      (kr.ResNet152, "Table 3")]:
        assert fn.__name__ == fn.__qualname__ == f"ResNet{fn.__name__[6:]}" and table in fn.__doc__
    model = kr.ResNet20(include_top=False, pooling="max", width=0.5, shortcut="B", dtype="float32", name="r20")
    assert model.name == "r20" and model.output_shape == (None, 32)
    shown = inspect.signature(kr.ResNet20).parameters    # help() and IDEs at run time: every keyword and default
    assert list(shown)[0] == "weights" and set(shown) == options | {"weights"} and shown["version"].default == "v1"


def test_one_builder_from_stage_specs():
    """cifar_resnet / imagenet_resnet are `resnet(net_spec(...))`; any other stem and stages build the same way."""
    from keras_resnet.nets.builders import resnet
    from keras_resnet.registry import NetSpec, StageSpec, StemSpec, net_spec

    spec = net_spec("imagenet", 50)
    assert resnet(spec, width=0.25).count_params() == kr.imagenet_resnet(50, width=0.25).count_params()
    stages = (StageSpec("bottleneck", 4, 1, 1), StageSpec("basic", 32, 2, 2))
    tiny = NetSpec("cifar", 0, StemSpec(8, 3, 2, True), stages)
    assert tiny.downsampling == 8
    model = resnet(tiny, name="tiny", input_shape=(16, 16, 3))
    names = [l.name for l in model.layers]
    assert {"pool1_pool", "conv2_block1_3_conv", "conv3_block2_2_conv", "conv3_block1_shortcut"} <= set(names)
    assert model.get_layer("conv2_block1_3_conv").filters == 16 and model.output_shape == (None, 10)
    with pytest.raises(ValueError, match=r"too small.*>= 8"):
        resnet(tiny, input_shape=(4, 4, 3))


# --------------------------------------------------------------------------- keras.applications arguments


def test_include_top_false_and_pooling():
    assert kr.ResNet20(include_top=False).output_shape == (None, 8, 8, 64)
    assert kr.ResNet20(include_top=False, pooling="avg").output_shape == (None, 64)
    assert kr.ResNet20(include_top=False, pooling="max").output_shape == (None, 64)
    assert kr.ResNet18(include_top=False, pooling="avg", input_shape=(64, 64, 3)).output_shape == (None, 512)


def test_any_input_size_and_grayscale(rng):
    model = kr.ResNet20(input_shape=(None, None, 1), classes=5)
    for size in (28, 40):
        assert model(rng.uniform(0, 255, (3, size, size, 1)), training=False).shape == (3, 5)


def test_input_tensor_name_and_classifier_activation(rng):
    inp = keras.Input((32, 32, 3))
    model = kr.ResNet20(input_tensor=inp, classes=7, classifier_activation=None, name="mine")
    assert model.name == "mine" and model.inputs[0] is inp
    logits = np.asarray(model(rng.uniform(0, 1, (4, 32, 32, 3)), training=False))
    assert logits.shape == (4, 7) and not np.allclose(logits.sum(axis=1), 1.0)
    probs = np.asarray(kr.ResNet20(classes=7)(rng.uniform(0, 1, (4, 32, 32, 3)), training=False))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_preprocessing_inside_the_model(rng):
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
    model = kr.ResNet20(preprocessing={"scale": 1 / 255, "mean": mean, "std": std})
    x = rng.integers(0, 256, (2, 32, 32, 3)).astype("uint8")
    normalized = np.asarray(keras.Model(model.input, model.get_layer("normalize").output)(x))
    np.testing.assert_allclose(normalized, (x / 255.0 - mean) / std, rtol=1e-4, atol=1e-5)


def test_toy_skip_net():
    model = kr.build("toy_skip", input_shape=(28, 28, 1))
    assert model.get_layer("conv1_conv").kernel.shape == (1, 1, 1, 64)
    assert model.get_layer("block2_2_conv").kernel.shape == (3, 3, 64, 64)
    assert isinstance(model.get_layer("flatten"), keras.layers.Flatten)
    assert model.output_shape == (None, 10)


def test_list_models_names_build():
    rows = kr.list_models()
    names = {r["name"] for r in rows}
    assert {"resnet20", "resnet1202", "resnet50", "plain56", "plain34", "toy_skip"} <= names
    assert {r["family"] for r in rows} == {"cifar", "imagenet", "toy"}


# --------------------------------------------------------------------------- saving


SAVE_CASES = [
    ("resnet20", {}),
    ("resnet20", {"shortcut": "B"}),
    ("resnet20", {"shortcut": "C"}),
    ("plain20", {}),
    ("resnet20", {"version": "v2", "zero_init_residual": True}),
    ("resnet8", {"preprocessing": {"scale": 1 / 255, "mean": [0.5] * 3, "std": [0.25] * 3}}),
    ("resnet18", {"input_shape": (32, 32, 3), "classes": 10, "width": 0.25}),
    ("resnet50", {"input_shape": (32, 32, 3), "classes": 10, "width": 0.25, "version": "v1.5", "shortcut": "A"}),
    ("resnet50", {"input_shape": (32, 32, 3), "classes": 10, "width": 0.25, "version": "v2"}),
    ("toy_skip", {}),
]


@pytest.mark.parametrize("name,kwargs", SAVE_CASES, ids=[f"{n}-{k}" for n, k in SAVE_CASES])
def test_keras_file_round_trip_in_safe_mode(tmp_path, rng, name, kwargs, zoo):
    run_net_test(zoo(name, **kwargs), rng, tmp_path, batch=3)   # same outputs and layer names after loading


PP = {"scale": 1 / 255, "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3]}
TINY_CASES = [   # (family, depth: block type and stages, options): every option of the builder, on tiny nets
    ("cifar", 8, {}),
    ("cifar", 8, {"shortcut": "B", "zero_init_residual": True}),
    ("cifar", 8, {"shortcut": "C", "version": "v2", "zero_init_residual": True}),
    ("cifar", 8, {"plain": True, "width": 1, "preprocessing": PP}),
    ("cifar", 8, {"include_top": False, "preprocessing": {"scale": 1 / 255}, "input_shape": (None, None, 1)}),
    ("cifar", 8, {"include_top": False, "pooling": "max", "fused_bn": False, "weight_decay": 1e-4,
                  "bn_momentum": 0.8, "bn_epsilon": 1e-3, "sync_bn": True}),
    ("cifar", 8, {"classes": 3, "classifier_activation": None, "name": "logits", "dtype": "mixed_bfloat16"}),
    ("imagenet", 18, {"version": "v2", "shortcut": "A"}),
    ("imagenet", 50, {}),
    ("imagenet", 50, {"version": "v1.5", "shortcut": "C", "zero_init_residual": True}),
    ("imagenet", 50, {"version": "v2", "plain": True, "include_top": False, "pooling": "avg"}),
    ("imagenet", 50, {"shortcut": "A", "dtype": "mixed_bfloat16", "preprocessing": PP}),
]


@pytest.mark.parametrize("family,depth,options", TINY_CASES, ids=[f"{f}{d}-{o}" for f, d, o in TINY_CASES])
def test_every_option_on_a_tiny_net(tmp_path, rng, family, depth, options):
    run_net_test(tiny_net(family, depth, **options), rng, tmp_path)


def test_no_lambda_layers_anywhere(zoo):
    for name in ("resnet20", "plain20", "resnet18"):
        assert not any(isinstance(l, keras.layers.Lambda) for l in zoo(name).layers)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: kr.build("resnet21"), r"Unknown model name 'resnet21'.*Allowed"),
        (lambda: kr.build("vgg16"), r"Unknown model name 'vgg16'"),
        (lambda: kr.cifar_resnet(21), r"6n\+2.*got 21"),
        (lambda: kr.imagenet_resnet(20), r"one of \[18, 34, 50, 101, 152\].*got 20"),
        (lambda: kr.build("resnet20", shortcut="D"), r"shortcut must be one of A, B, C.*'D'"),
        (lambda: kr.build("resnet20", version="v3"), r"version must be one of v1, v1.5, v2"),
        (lambda: kr.build("resnet20", input_shape=(2, 2, 3)), r"too small.*>= 4"),
        (lambda: kr.build("resnet18", input_shape=(16, 16, 3)), r"too small.*>= 32"),
        (lambda: kr.build("resnet20", input_shape=(32, 32)), r"\(height, width, channels\)"),
        (lambda: kr.build("resnet20", classes=0), r"classes must be an integer >= 1.*0"),
        (lambda: kr.build("resnet20", pooling="max"), r"include_top=True.*pooling must be None or 'avg'"),
        (lambda: kr.build("resnet20", include_top=False, pooling="mean"), r"pooling must be None, 'avg' or 'max'"),
        (lambda: kr.build("plain20", zero_init_residual=True), r"zero_init_residual=True needs residual"),
        (lambda: kr.build("plain20", plain=False), r"plain net"),
        (lambda: kr.build("resnet20", width=0), r"width must be a positive number"),
    ],
)
def test_bad_input_gets_one_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
