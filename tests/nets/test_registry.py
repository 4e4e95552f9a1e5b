"""keras_resnet.registry: the one source of names and depths, light enough for the CLI (no TensorFlow)."""

import subprocess
import sys

import numpy as np
import pytest

from keras_resnet import registry as R

from conftest import ROOT


# --------------------------------------------------------------------------- depths


@pytest.mark.parametrize("depth", [8, 14, 20, 26, 32, 44, 50, 56, 110, 152, 1202, np.int64(56)])
def test_cifar_depths_are_6n_plus_2(depth):
    assert R.is_cifar_depth(depth)
    assert R.check_depth(depth, "cifar") == int(depth) and type(R.check_depth(depth, "cifar")) is int
    assert 6 * R.cifar_blocks(depth) + 2 == depth


@pytest.mark.parametrize("depth", [2, 7, 9, 18, 21, 34, 101, 0, -4, 20.0, "20", True, None])
def test_other_depths_are_not_cifar_depths(depth):
    assert not R.is_cifar_depth(depth)
    with pytest.raises(ValueError, match=r"CIFAR ResNet depth must be 6n\+2 for an integer n >= 1 .*got "):
        R.check_depth(depth, "cifar")
    with pytest.raises(ValueError, match=r"6n\+2"):
        R.cifar_blocks(depth)


def test_imagenet_depths_are_table_1():
    assert R.IMAGENET_DEPTHS == (18, 34, 50, 101, 152)
    assert {d: b for d, (b, _) in R.IMAGENET_SPECS.items()} == {
        18: "basic", 34: "basic", 50: "bottleneck", 101: "bottleneck", 152: "bottleneck"}
    assert R.IMAGENET_SPECS[50][1] == (3, 4, 6, 3) and R.IMAGENET_SPECS[152][1] == (3, 8, 36, 3)
    for d in R.IMAGENET_DEPTHS:
        assert R.check_depth(d, "imagenet") == d
    for bad in (20, 56, 200, "50"):
        with pytest.raises(ValueError, match=r"ImageNet ResNet depth must be one of \[18, 34, 50, 101, 152\] \(Table 1\), got"):
            R.check_depth(bad, "imagenet")
    with pytest.raises(ValueError, match="family must be cifar or imagenet"):
        R.check_depth(20, "toy")


def test_net_specs_are_section_4_2_and_table_1():
    cifar = R.net_spec("cifar", 56)
    assert cifar.stem == R.StemSpec(16, 3, 1, False) and cifar.downsampling == 4
    assert cifar.stages == tuple(R.StageSpec("basic", f, 9, s) for f, s in [(16, 1), (32, 2), (64, 2)])
    imagenet = R.net_spec("imagenet", 152)
    assert imagenet.stem == R.StemSpec(64, 7, 2, True) and imagenet.downsampling == 32
    assert [(s.block, s.filters, s.blocks, s.strides) for s in imagenet.stages] == [
        ("bottleneck", 64, 3, 1), ("bottleneck", 128, 8, 2), ("bottleneck", 256, 36, 2), ("bottleneck", 512, 3, 2)]
    assert R.net_spec("cifar", 50).stages[0].blocks == 8     # cifar_resnet50: n = 8
    with pytest.raises(ValueError, match=r"6n\+2"):
        R.net_spec("cifar", 21)
    with pytest.raises(ValueError, match="family must be cifar or imagenet"):
        R.net_spec("toy", 2)


@pytest.mark.parametrize("text, family, depth", [
    ("56", "cifar", 56), (" resnet56 ", "cifar", 56), ("plain20", "cifar", 20), ("ResNet-110", "cifar", 110),
    (8, "cifar", 8), ("50", "imagenet", 50), ("resnet152", "imagenet", 152), (np.int32(18), "imagenet", 18),
])
def test_parse_depth(text, family, depth):
    assert R.parse_depth(text, family) == depth


@pytest.mark.parametrize("text, family, message", [
    ("deep", "cifar", "depth must be an integer number of layers, got 'deep'"),
    (56.5, "cifar", "depth must be an integer number of layers"),
    ("21", "cifar", r"6n\+2.*got 21"),
    ("56", "imagenet", r"ImageNet ResNet depth must be one of \[18, 34, 50, 101, 152\]"),
])
def test_parse_depth_refuses(text, family, message):
    with pytest.raises(ValueError, match=message):
        R.parse_depth(text, family)


# --------------------------------------------------------------------------- model names


@pytest.mark.parametrize("name, family, kind, depth", [
    ("resnet56", "cifar", "resnet", 56),
    ("plain20", "cifar", "plain", 20),
    ("resnet8", "cifar", "resnet", 8),
    ("resnet1202", "cifar", "resnet", 1202),
    ("cifar_resnet50", "cifar", "resnet", 50),
    ("cifar_plain152", "cifar", "plain", 152),
    ("resnet50", "imagenet", "resnet", 50),          # an ImageNet depth wins over a CIFAR one
    ("ResNet-18", "imagenet", "resnet", 18),
    ("plain34", "imagenet", "plain", 34),
    ("toy_skip", "toy", "toy", None),
])
def test_parse_model_name(name, family, kind, depth):
    parsed = R.parse_model_name(name)
    assert (parsed.family, parsed.kind, parsed.depth) == (family, kind, depth)


@pytest.mark.parametrize("name, message", [
    ("resnet21", r"Unknown model name 'resnet21': depth 21 is neither an ImageNet depth \(18, 34, 50, 101, 152\) "
                 r"nor a CIFAR depth 6n\+2.*Allowed: resnet20, "),
    ("resnet7", r"Unknown model name 'resnet7'.*6n\+2"),
    ("cifar_resnet18", r"'cifar_resnet18': cifar_ asks for the CIFAR family, whose depth must be 6n\+2.*got 18"),
    ("vgg16", r"Unknown model name 'vgg16'\. Allowed: .*resnet<D>/plain<D> for any CIFAR depth D = 6n\+2"),
    ("resnet", r"Unknown model name 'resnet'"),
    (56, r"Model name must be a string, got 56\. Allowed:"),
])
def test_parse_model_name_refuses_with_what_is_allowed(name, message):
    with pytest.raises(ValueError, match=message):
        R.parse_model_name(name)


def test_model_name_round_trips():
    assert R.model_name("cifar", 56) == "resnet56"
    assert R.model_name("cifar", 20, plain=True) == "plain20"
    assert R.model_name("cifar", 50) == "cifar_resnet50"       # the CIFAR net, not ImageNet's ResNet-50
    assert R.model_name("imagenet", 50) == "resnet50"
    for family, depth, plain in (("cifar", 8, False), ("cifar", 152, True), ("imagenet", 101, True)):
        parsed = R.parse_model_name(R.model_name(family, depth, plain))
        assert (parsed.family, parsed.depth, parsed.kind == "plain") == (family, depth, plain)
    with pytest.raises(ValueError, match=r"6n\+2"):
        R.model_name("cifar", 21)


def test_model_depth():
    assert [R.model_depth(n) for n in ("resnet110", "cifar_resnet152", "plain20", "toy_skip", "nonsense")] == \
        [110, 152, 20, 0, 0]


def test_list_models_and_enumerations():
    rows = R.list_models()
    names = [r["name"] for r in rows]
    assert len(names) == len(set(names)) == 2 * (6 + 5) + 1
    for r in rows:
        if r["family"] != "toy":
            assert R.parse_model_name(r["name"]).family == r["family"]
    assert R.SHORTCUTS == ("A", "B", "C") and R.VERSIONS == ("v1", "v1.5", "v2")
    assert R.RECIPES == ("paper", "cosine", "onecycle", "imagenet", "torchvision")
    assert set(R.IMAGENET_RECIPES) < set(R.RECIPES)
    assert R.TUNERS == ("random", "bayesian", "hyperband", "grid")
    assert set(R.EXPORT_FORMAT_ALIASES.values()) <= set(R.EXPORT_FORMATS)
    assert set(R.DEFAULT_EXPORT_FORMATS) <= set(R.EXPORT_FORMATS)


def test_the_library_reads_the_registry():
    """The enumerations the library and the CLI use are the registry's own objects (no copies to drift)."""
    import importlib

    from keras_resnet.cli import parser
    from keras_resnet.nets import blocks, builders
    from keras_resnet.search import hypermodel, space
    from keras_resnet.training import recipes

    assert builders.IMAGENET_SPECS is R.IMAGENET_SPECS and builders.list_models is R.list_models
    assert blocks.SHORTCUTS is R.SHORTCUTS and blocks.VERSIONS is R.VERSIONS
    assert recipes.RECIPES is R.RECIPES and hypermodel.TUNERS is R.TUNERS
    export = importlib.import_module("keras_resnet.deploy.export")   # the package exports a function `export`
    assert space.VERSIONS is R.FAMILY_VERSIONS and export.FORMATS is R.EXPORT_FORMATS
    sub = next(a for a in parser()._actions if a.dest == "command").choices
    choices = {(cmd, a.dest): tuple(a.choices) for cmd, p in sub.items() for a in p._actions if a.choices}
    assert choices[("train", "recipe")] == choices[("tune", "recipe")] == R.RECIPES
    assert choices[("train", "shortcut")] == choices[("summary", "shortcut")] == R.SHORTCUTS
    assert choices[("train", "version")] == R.VERSIONS and choices[("tune", "tuner")] == R.TUNERS
    assert choices[("tune", "family")] == R.SEARCH_FAMILIES
    assert choices[("predict", "backend")] == R.PREDICTOR_BACKENDS


def test_importing_the_registry_imports_no_tensorflow():
    code = ("import sys, keras_resnet.registry as r; r.parse_model_name('resnet56'); "
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'keras_tuner', "
            "'gradio', 'matplotlib')); print(heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout
