"""ImageNet-like data streamed from folders the tests make (issue 24): photos of mixed sizes and odd formats
(grayscale PNG, CMYK JPEG) and one corrupt file; the recipes' schedules; the cache decision; 10-crop testing."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_resnet.cli import main
from keras_resnet.data import imagenet, streaming
from keras_resnet.data.streaming import cache_decision, is_imagenet_like, load_streaming, reporting_bad_images
from keras_resnet.training import evaluate, recipes

CLASSES = ("ant", "bee", "cat")


def photo_tree(root, rng, per_class=5, val=2, corrupt=True):
    """train/ + val/ of 3 classes: JPEGs of 60-140 px sides, one grayscale PNG and one CMYK JPEG per class, and
    (corrupt) one file that is not a decodable JPEG in train/bee."""
    for split, n in (("train", per_class), ("val", val)):
        for k, c in enumerate(CLASSES):
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(n):
                h, w = (int(s) for s in rng.integers(60, 141, 2))
                a = np.clip(rng.normal(60 + 70 * k, 30, (h, w, 3)), 0, 255).astype(np.uint8)
                img = Image.fromarray(a)
                if i == 0:
                    img.convert("L").save(d / f"{i}.png")
                elif i == 1:
                    img.convert("CMYK").save(d / f"{i}.jpg", "JPEG")
                else:
                    img.save(d / f"{i}.jpg", "JPEG", quality=90)
    bad = root / "train" / "bee" / "broken.jpg"
    if corrupt:
        bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    return root, bad


@pytest.fixture
def tree(tmp_path, rng):
    return photo_tree(tmp_path / "photos", rng)


# --------------------------------------------------------------------------- training and evaluation, CLI


def test_imagenet_recipe_trains_at_64_from_mixed_sizes_then_centre_and_ten_crop(tree, tmp_path, capsys):
    root, bad = tree
    run = tmp_path / "run"
    train = ["train", "resnet18", "--width", "0.125", "--input-shape", "64,64,3", "--dataset", str(root),
             "--iterations", "2", "--batch-size", "8", "--run-dir", str(run), "--quiet"]
    assert main(train) == 2                                   # the corrupt file stops it, named, no traceback
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-resnet train: error: image ") and str(bad) in err and "Traceback" not in err
    assert "--skip-bad-images" in err and not run.exists()

    assert main([*train, "--skip-bad-images"]) == 0
    out, err = capsys.readouterr()
    assert "skipped 1 unreadable image(s)" in err and str(bad) in err
    import json

    card = json.loads((run / "model_card.json").read_text())
    config = json.loads((run / "config.json").read_text())
    assert card["input_shape"] == [64, 64, 3] and config["recipe"] == "imagenet"      # chosen for resnet18 on photos
    assert "--recipe" not in config["command"] and card["metrics"]["test_examples"] == 6
    assert card["dataset"]["num_train"] == 15 + 1             # listed (the broken one too), never pre-decoded

    assert main(["evaluate", str(run), "--dataset", str(root)]) == 0
    assert "(6 test images of photos (centre crop))" in capsys.readouterr().out
    assert main(["evaluate", str(run), "--dataset", str(root), "--ten-crop", "--overwrite"]) == 0
    assert "(6 test images of photos (10-crop))" in capsys.readouterr().out


# --------------------------------------------------------------------------- the views


def test_ten_crop_averages_the_probabilities_of_ten_views(tmp_path):
    """At an 8x8 crop the evaluation size is 9 (256 x 8/224), so a 9x12 image is cut, not resized: the views are
    known. Columns 0-1 and 10-11 are white: the corner views see them, the centre view does not. The model says
    class 1 when a view's mean is above 30: the centre crop alone says class 0, the mean of the ten says 1."""
    image = np.zeros((9, 12, 3), np.uint8)
    image[:, [0, 1, 10, 11]] = 255
    for split in ("train", "val"):
        for c in ("c0", "c1"):
            (tmp_path / "t" / split / c).mkdir(parents=True)
            Image.fromarray(image).save(tmp_path / "t" / split / c / "x.png")
    data = load_streaming(tmp_path / "t", crop=(8, 8), stats="imagenet")

    views = imagenet.ten_crop(tf.constant(image), (8, 8)).numpy()
    by_hand = [image[:8, :8], image[:8, 4:], image[1:, :8], image[1:, 4:], image[:8, 2:10]]
    by_hand += [v[:, ::-1] for v in by_hand]
    np.testing.assert_allclose(views, np.stack(by_hand).astype(np.float32), atol=1e-3)
    np.testing.assert_allclose(imagenet.center_crop(tf.constant(image), (8, 8)).numpy(), image[:8, 2:10], atol=1e-3)

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, activation="softmax")])
    model.layers[-1].set_weights([np.array([[0, 1 / 3]] * 3, np.float32), np.array([0, -30], np.float32)])
    means = [v.mean() for v in by_hand]                       # 63.75 at the corners, 0 at the centre
    expected = np.mean([1 / (1 + np.exp(-(m - 30))) for m in means])
    assert expected == pytest.approx(0.8, abs=1e-6)
    # the val split holds the image once as c0 (label 0) and once as c1 (label 1)
    centre = evaluate(model, data, batch_size=4)
    ten = evaluate(model, data, batch_size=4, ten_crop=True)
    assert centre["examples"] == ten["examples"] == 2
    assert centre["confusion"].tolist() == [[1, 0], [1, 0]]   # the centre view: class 0 for both
    assert ten["confusion"].tolist() == [[0, 1], [0, 1]]      # the mean of ten (0.8 for class 1): class 1
    batch = next(iter(data.batches("test", batch_size=2, views="ten_crop")))[0]
    p = model(tf.reshape(batch, (-1, 8, 8, 3))).numpy().reshape(2, 10, 2).mean(1)
    np.testing.assert_allclose(p[:, 1], [expected, expected], atol=1e-5)


def test_training_transform_gives_crops_of_the_model_size_with_lighting(tree):
    root, _ = tree
    data = load_streaming(root, crop=(32, 32), skip_bad_images=True)
    x, y = next(iter(data.batches("train", batch_size=6, training=True, seed=1)))
    assert x.shape == (6, 32, 32, 3) and x.dtype == tf.float32 and y.shape == (6,)
    assert imagenet.scaled(256, 32) == 37 and imagenet.scaled(480, 32) == 69 and imagenet.scaled(256, 224) == 256
    # PCA lighting: one RGB shift per image, eigvec @ (alpha * eigval) x 255
    flat = tf.zeros((4, 2, 2, 3))
    lit = imagenet.lighting(flat, tf.constant([1, 2], tf.int64)).numpy()
    alpha = tf.random.stateless_normal([4, 3], tf.constant([1, 2], tf.int64), stddev=0.1).numpy()
    shift = 255 * (np.array(imagenet.PCA_EIGVEC) @ (alpha * np.array(imagenet.PCA_EIGVAL)).T).T
    np.testing.assert_allclose(lit[:, 0, 0], shift, rtol=1e-5, atol=1e-4)
    assert np.all(lit == lit[:, :1, :1])
    crop = imagenet.random_resized_crop(tf.zeros((50, 70, 3), tf.uint8), tf.constant([3, 4], tf.int64), (16, 16))
    assert crop.shape == (16, 16, 3)


# --------------------------------------------------------------------------- schedules


def test_imagenet_and_torchvision_schedules():
    assert recipes.total_steps(100, recipe="imagenet") == (90, 9000)          # 90 epochs unless told
    assert recipes.total_steps(100, iterations=600_000, recipe="imagenet") == (6000, 600_000)
    assert recipes.default_lr("imagenet", 256) == pytest.approx(0.1) and recipes.default_lr("imagenet", 64) == 0.025
    assert recipes.default_lr("paper", 128) == pytest.approx(0.1)
    s = recipes.schedule("imagenet", lr=0.1, steps=9000)                     # /10 at epochs 30 and 60 of 90
    assert float(s(2999)) == pytest.approx(0.1) and float(s(3001)) == pytest.approx(0.01)
    assert float(s(5999)) == pytest.approx(0.01) and float(s(6001)) == pytest.approx(0.001)
    assert recipes.resolve_warmup("imagenet", "resnet152", 9000) == 0      # the ResNet-110 warm-up is CIFAR's
    c = recipes.schedule("torchvision", lr=0.1, steps=9000)
    assert float(c(0)) == pytest.approx(0.1) and float(c(4500)) == pytest.approx(0.05, abs=1e-6)
    assert float(c(9000)) == pytest.approx(0.0, abs=1e-7)
    assert recipes.recipe_defaults("torchvision")["label_smoothing"] == 0.1
    assert recipes.recipe_defaults("imagenet") == {"batch_size": 256, "weight_decay": 1e-4, "label_smoothing": 0.0,
                                                   "epochs": 90}


# --------------------------------------------------------------------------- the cache decision


def test_cache_only_within_the_budget_and_never_for_imagenet(tree, monkeypatch):
    root, _ = tree
    assert cache_decision(10, 10) and not cache_decision(11, 10)
    data = load_streaming(root, crop=(16, 16), skip_bad_images=True)
    plan = data.cache_plan()
    assert plan["train"][0] and plan["test"] == (True, 6 * 16 * 16 * 3)
    assert 60 * 60 * 3 * 16 <= plan["train"][1] <= 140 * 140 * 3 * 16      # count x mean decoded size of photos
    imagenet_like = load_streaming(root, crop=(224, 224), skip_bad_images=True)
    imagenet_like.splits["train"].count = 1_281_167                             # ImageNet's training split
    imagenet_like.splits["test"].count = 50_000
    big = imagenet_like.cache_plan()
    assert big["train"][0] is False and big["train"][1] > 1_281_167 * 60 * 60 * 3
    assert big["test"] == (False, 50_000 * 224 * 224 * 3)                       # 7.5 GB > 1 GiB

    calls = []
    real = streaming._decode_one
    monkeypatch.setattr(streaming, "_decode_one", lambda *a: calls.append(a[0]) or real(*a))

    def decodes_over_two_epochs(budget):
        d = load_streaming(root, crop=(16, 16), skip_bad_images=True, cache_budget=budget)
        ds = d.batches("train", batch_size=8, training=True, seed=0)
        calls.clear()
        for _ in range(2):
            assert sum(int(x.shape[0]) for x, _ in ds) == 15
        return len(calls)

    assert decodes_over_two_epochs(streaming.CACHE_BUDGET) == 16               # decoded once, then the cache
    assert decodes_over_two_epochs(1000) == 32                                  # over the budget: read every epoch


# --------------------------------------------------------------------------- unreadable images


def test_a_corrupt_file_is_named_or_skipped_and_counted(tree):
    root, bad = tree
    data = load_streaming(root, crop=(16, 16))
    with pytest.raises(ValueError, match="cannot be read") as e:
        with reporting_bad_images(data):
            for _ in data.batches("train", batch_size=4, training=True, seed=0):
                pass
    assert str(bad) in str(e.value) and "--skip-bad-images" in str(e.value)

    data = load_streaming(root, crop=(16, 16), skip_bad_images=True)
    with reporting_bad_images(data) as seen:
        labels = np.concatenate([y.numpy() for _, y in data.batches("train", batch_size=4, training=True, seed=0)])
    assert len(labels) == 15 and list(seen.seen) == [str(bad)]
    assert "Invalid JPEG" in seen.seen[str(bad)] or "JPEG" in seen.seen[str(bad)]


def test_the_pixel_limit_holds_when_streaming(tree, monkeypatch):
    import keras_resnet.io

    root, _ = tree
    monkeypatch.setattr(keras_resnet.io, "MAX_IMAGE_PIXELS", 100 * 100)
    data = load_streaming(root, crop=(16, 16), skip_bad_images=True)
    with reporting_bad_images(data) as seen:
        n = sum(int(x.shape[0]) for x, _ in data.batches("train", batch_size=8))
    big = [name for name, why in seen.seen.items() if "more than the limit of 10,000 pixels" in why]
    assert big and n == 15 - len(big)


# --------------------------------------------------------------------------- other sources, detection


def test_tfrecord_shards_counted_from_headers_and_read(tmp_path, rng):
    def example(label):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(buf, "JPEG")
        feats = {"image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[buf.getvalue()])),
                 "image/class/label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))}
        return tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString()

    for name, n in (("train-00000-of-00002", 5), ("train-00001-of-00002", 4), ("validation-00000-of-00001", 3)):
        with tf.io.TFRecordWriter(str(tmp_path / name)) as w:
            for i in range(n):
                w.write(example(i % 2))
    with pytest.raises(ValueError, match="class_names.txt"):
        load_streaming(tmp_path, crop=(16, 16))
    (tmp_path / "class_names.txt").write_text("even\nodd\n")
    data = load_streaming(tmp_path, crop=(16, 16))
    assert (data.num_train, data.num_test, data.class_names) == (9, 3, ["even", "odd"])
    assert is_imagenet_like(tmp_path)
    ys = np.concatenate([y.numpy() for _, y in data.batches("train", batch_size=4, training=True, seed=0)])
    assert sorted(ys.tolist()) == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    with open(tmp_path / "validation-00000-of-00001", "ab") as f:
        f.write(b"\x09\x00\x00\x00\x00\x00\x00\x00")
    with pytest.raises(ValueError, match="truncated"):
        load_streaming(tmp_path, crop=(16, 16))


def test_which_data_the_imagenet_recipe_is_for(tree, tmp_path, rng):
    root, _ = tree
    assert is_imagenet_like(root) and is_imagenet_like("imagenet2012") and not is_imagenet_like("cifar10")
    small = tmp_path / "small" / "a"
    small.mkdir(parents=True)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(small / f"{i}.png")
    assert not is_imagenet_like(tmp_path / "small")
    np.savez(tmp_path / "d.npz", x_train=np.zeros((2, 8, 8, 3), np.uint8), y_train=[0, 1],
             x_test=np.zeros((2, 8, 8, 3), np.uint8), y_test=[0, 1])
    assert not is_imagenet_like(tmp_path / "d.npz")
    with pytest.raises(ValueError, match="in-memory"):
        load_streaming(tmp_path / "d.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_streaming(tmp_path / "nowhere")


def test_tfds_imagenet2012_streams_with_the_imagenet_constants():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=6):     # encoded images, as a prepared imagenet2012 holds them
        data = load_streaming("imagenet2012", crop=(16, 16))
        assert (data.num_train, data.num_test, len(data.class_names)) == (6, 6, 1000)
        x, _ = next(iter(data.batches("train", batch_size=3, training=True, seed=0)))
        assert x.shape == (3, 16, 16, 3)
        assert next(iter(data.batches("test", batch_size=2, views="ten_crop")))[0].shape == (2, 10, 16, 16, 3)
        assert data.compute_stats()["mean"] == list(imagenet.IMAGENET_MEAN)      # no sample needed
