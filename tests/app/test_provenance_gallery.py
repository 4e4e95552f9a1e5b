"""The demo says what each model is (trained here or converted, trained on / evaluated on apart) and shows
real test images of the selected model's dataset with their true classes (issue 23)."""

import json
import pathlib

import numpy as np
import pytest
from PIL import Image

from keras_resnet.app import folders, gallery, provenance

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "saved_models"


def _shipped():
    models, _ = folders.discover_models([SHIPPED]) if SHIPPED.is_dir() else ({}, [])
    return models


def _entry(name, card):
    return folders.ModelEntry(name, pathlib.Path("/nonexistent") / name, card, ("Keras",))


CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def test_a_converted_card_says_source_licence_and_separates_trained_on_from_evaluated_on():
    card = {"dataset": {"name": "cifar10-subset", "num_train": 50000, "num_test": 1017,
                        "note": "trained (by the source) on the full training set; tested here on the first 1,017 images"},
            "metrics": {"test_top1_accuracy": 0.9341, "test_examples": 1017, "reported_test_error_full_test_set": 0.069,
                        "reported_by": "the source's README"},
            "training": {"by": "Someone", "dataset": "the full CIFAR-10 training set (50,000 images)"},
            "provenance": {"converted_from": "https://github.com/owner/repo (commit abc1234) net.th",
                           "licence": "BSD-2-Clause"},
            "class_names": CLASSES, "input_shape": [32, 32, 3], "command": "keras-resnet convert net.th -o m.keras"}
    o = provenance.origin(_entry("net", card))
    assert o.kind == provenance.CONVERTED and o.licence == "BSD-2-Clause" and o.trained_by == "Someone"
    assert o.trained_on == "the full CIFAR-10 training set (50,000 images)"
    assert o.evaluated_on == "1,017 held-out test images of cifar10-subset: the first 1,017 images"
    assert o.source == "https://github.com/owner/repo" and o.source_detail == "commit abc1234, net.th"
    assert "6.90 % error" in o.reported
    assert provenance.picker_label(_entry("net", card)) == "net — converted from owner (BSD-2-Clause) · 93.41 % top-1"


def test_a_model_trained_here_names_its_command_and_data_and_an_unknown_one_says_so():
    card = {"dataset": {"name": "fashion-mnist", "num_train": 60000, "num_validation": 0, "num_test": 10000},
            "metrics": {"test_top1_accuracy": 0.9305, "test_examples": 10000},
            "training": {"command": "keras-resnet train resnet20 --dataset x"}, "command": "keras-resnet train resnet20 --dataset x",
            "class_names": CLASSES, "input_shape": [28, 28, 1]}
    o = provenance.origin(_entry("f", card))
    assert o.kind == provenance.TRAINED_HERE and o.command.startswith("keras-resnet train")
    assert o.trained_on == "<b>fashion-mnist</b>: 60,000 training images"
    assert o.evaluated_on == "10,000 held-out test images of fashion-mnist"
    assert provenance.picker_label(_entry("f", card)) == "f — trained here · 93.05 % top-1"
    unknown = dict(card, training={}, command="(untrained test fixture)", metrics={})
    assert provenance.origin(_entry("u", unknown)).kind == provenance.UNKNOWN
    assert provenance.picker_label(_entry("u", unknown)) == "u — origin not recorded"
    intro = provenance.intro_markdown({"f": _entry("f", card), "u": _entry("u", unknown)})
    assert "**Trained here**: f (on fashion-mnist, 60,000 training images)" in intro
    assert "Origin not recorded** (u)" in intro and "Converted" not in intro


@pytest.mark.skipif(not _shipped(), reason="no saved_models/ in this checkout")
def test_the_shipped_models_header_menu_and_cards_say_what_they_are():
    from keras_resnet.app.ui import card_markdown

    models = _shipped()
    intro = provenance.intro_markdown(models)
    assert "built and trained from scratch" not in intro
    for name, entry in models.items():
        card = json.loads((entry.folder / "model_card.json").read_text())
        label, page = provenance.picker_label(entry), card_markdown(entry)
        acc = f"{100 * card['metrics']['test_top1_accuracy']:.2f} %"
        assert label.startswith(f"{name} — ") and label.endswith(f"{acc} top-1") and acc in page
        assert "<th>Trained on</th>" in page and "<th>Evaluated on</th>" in page and "<th>Dataset</th>" not in page
        n_test = f"{card['metrics']['test_examples']:,} held-out test images"
        evaluated = page.split("<th>Evaluated on</th><td>")[1].split("</td>")[0]
        trained = page.split("<th>Trained on</th><td>")[1].split("</td>")[0]
        assert n_test in evaluated and n_test not in trained
        if "provenance" in card:   # converted: source, licence, trained on the source's data
            assert "converted from akamaster (BSD-2-Clause)" in label and name in intro.split("Converted")[1].split("\n")[0]
            assert card["provenance"]["licence"] in page and "pytorch_resnet_cifar10" in page
            assert card["training"]["dataset"] in trained and f"{card['dataset']['num_train']:,}" in trained
        else:                      # trained here: the command and our data
            assert "trained here" in label and card["command"] in page
            assert f"{card['dataset']['num_train']:,} training images" in trained
            assert f"{name} (on {card['dataset']['name']}, {card['dataset']['num_train']:,} training images)" in intro


@pytest.mark.parametrize("folder", sorted(p for p in gallery.EXAMPLES_DIR.iterdir() if p.is_dir()))
def test_every_examples_folder_holds_one_real_test_image_per_class_with_its_true_class(folder):
    from PIL import Image

    info = gallery.manifest(folder)
    files = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in gallery.SUFFIXES)
    assert sorted(info) == files                          # every image has its true class, nothing is missing
    real = [i for i in info.values() if not i.get("drawing")]
    assert len(info) - len(real) <= 1                     # at most one odd picture, marked as a drawing
    assert len({i["label"] for i in real}) == len(real) == 10 and all(i["split"] == "test" for i in real)
    for i in real:
        assert i["file"] == f"{i['label'].lower().replace(' ', '-').replace('/', '-')}-test{i['index']}.png"
        with Image.open(folder / i["file"]) as im:
            assert im.size == ((32, 32) if folder.name == "cifar10" else (28, 28))


def test_fashion_mnist_examples_are_the_test_split_pixels(fashion_mnist_dir):
    import gzip

    with gzip.open(fashion_mnist_dir / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(fashion_mnist_dir / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    for file, i in gallery.manifest(gallery.EXAMPLES_DIR / "fashion-mnist").items():
        np.testing.assert_array_equal(np.asarray(Image.open(gallery.EXAMPLES_DIR / "fashion-mnist" / file)),
                                      images[i["index"]])
        assert names[labels[i["index"]]] == i["label"]


def test_cifar10_examples_are_the_subset_test_split_pixels(cifar_subset_path):
    with np.load(cifar_subset_path) as d:
        x, y = d["x_test"], d["y_test"]
    for file, i in gallery.manifest(gallery.EXAMPLES_DIR / "cifar10").items():
        if not i.get("drawing"):
            np.testing.assert_array_equal(np.asarray(Image.open(gallery.EXAMPLES_DIR / "cifar10" / file)), x[i["index"]])
            assert CLASSES[y[i["index"]]] == i["label"]


def test_truth_is_found_by_pixels_whatever_the_file_and_only_for_the_models_dataset(tmp_path):
    cifar = _entry("m", {"dataset": {"name": "cifar10-subset"}, "class_names": CLASSES, "input_shape": [32, 32, 3]})
    fashion = _entry("f", {"dataset": {"name": "fashion-mnist"}, "class_names": [], "input_shape": [28, 28, 1]})
    cat = gallery.EXAMPLES_DIR / "cifar10" / "cat-test0.png"
    Image.open(cat).save(tmp_path / "renamed.png", compress_level=0)       # re-encoded, another name
    assert gallery.truth(str(tmp_path / "renamed.png"), cifar)["label"] == "cat"
    assert gallery.truth(str(cat), fashion) is None                        # not that model's dataset
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "black.png")
    assert gallery.truth(str(tmp_path / "black.png"), cifar) is None
    (tmp_path / "junk.png").write_bytes(b"not an image")
    assert gallery.truth(str(tmp_path / "junk.png"), cifar) is None
    assert gallery.verdict({"label": "cat"}, "cat") == "true: cat · predicted: cat ✓"
    assert gallery.verdict({"label": "cat"}, "dog") == "true: cat · predicted: dog ✗"
    drawn = gallery.truth(str(gallery.EXAMPLES_DIR / "cifar10" / "ship-drawn-rgba.png"), cifar)
    assert gallery.verdict(drawn, "ship") == "true: ship (a drawing, not a test photo) · predicted: ship ✓"
    assert [gallery.sample_label(p, gallery.manifest(p.parent).get(p.name)) for p in gallery.examples_for(cifar)][:2] \
        == ["airplane", "automobile"]
    assert gallery.sample_label("x/ship-drawn-rgba.png", drawn) == "ship · a drawing"
