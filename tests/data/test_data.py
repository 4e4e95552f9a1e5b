"""keras_resnet.data: every source on data made here, the real data when present, the paper's
augmentation, splits, normalisation statistics and bad input (each one clear error)."""

import gzip
import pickle
import struct

import numpy as np
import pytest
import tensorflow as tf

from keras_resnet import data as D

CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def arrays_of(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.stack(xs), np.array(ys)


# ------------------------------------------------------------------------------- fake sources
def write_cifar10(root, rng, per_batch=6):
    """The official CIFAR-10 python format: dicts of b'data' (N x 3072, channel-major) and b'labels'."""
    root.mkdir(parents=True, exist_ok=True)
    batches = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
             b"labels": rng.integers(0, 10, per_batch).tolist(), b"batch_label": name.encode()}
        (root / name).write_bytes(pickle.dumps(d))
        batches.append(d)
    (root / "batches.meta").write_bytes(pickle.dumps({b"label_names": [c.encode() for c in CIFAR10]}))
    return batches


def write_idx(path, array, gz):
    header = struct.pack(">I", 0x800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def write_idx_dir(root, rng, gz, n_train=12, n_test=5):
    root.mkdir(parents=True)
    arrays = {"x_train": rng.integers(0, 256, (n_train, 28, 28)), "y_train": rng.integers(0, 10, n_train),
              "x_test": rng.integers(0, 256, (n_test, 28, 28)), "y_test": rng.integers(0, 10, n_test)}
    for key, stem in D.IDX_FILES.items():
        write_idx(root / stem, arrays[key], gz)
    return arrays


def write_png_tree(root, rng, classes=("cat", "dog", "frog"), per_class=4, size=(20, 24), channels=3):
    import keras
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            img = rng.integers(0, 256, (*size, channels)).astype(np.uint8)
            keras.utils.save_img(root / c / f"{i}.png", img, scale=False)


# ----------------------------------------------------------------------------------- sources
def test_cifar10_python_batches(tmp_path, rng):
    batches = write_cifar10(tmp_path / "cifar-10-batches-py", rng)
    data = D.load(tmp_path)  # the parent of the extracted archive works too
    assert (data.name, data.class_names, data.image_shape) == ("cifar10", CIFAR10, (32, 32, 3))
    assert (data.num_train, data.num_test, data.validation) == (30, 6, None)
    x, y = arrays_of(data.train)
    assert x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(y[:6], batches[0][b"labels"])
    first = batches[0][b"data"][0]  # channel-major rows: R plane, G plane, B plane
    np.testing.assert_array_equal(x[0, 0, 1], [first[1], first[1024 + 1], first[2048 + 1]])
    np.testing.assert_array_equal(x[0, 2, 0], [first[64], first[1024 + 64], first[2048 + 64]])
    assert D.default_augment(data)


def test_cifar100_python_batches_use_fine_labels(tmp_path, rng):
    names = [f"class{i}" for i in range(100)]
    for split, n in (("train", 8), ("test", 3)):
        d = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"fine_labels": rng.integers(0, 100, n).tolist(), b"coarse_labels": [0] * n}
        (tmp_path / split).write_bytes(pickle.dumps(d))
    (tmp_path / "meta").write_bytes(pickle.dumps({b"fine_label_names": [n.encode() for n in names]}))
    data = D.load(tmp_path, validation_split=2)
    assert (data.name, data.class_names, data.num_train, data.num_validation, data.num_test) == \
        ("cifar100", names, 6, 2, 3)
    _, y = arrays_of(data.train.concatenate(data.validation))
    np.testing.assert_array_equal(y, pickle.loads((tmp_path / "train").read_bytes())[b"fine_labels"])


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_gzipped_or_not(tmp_path, rng, gz):
    arrays = write_idx_dir(tmp_path / "fashion-mnist", rng, gz)
    data = D.load(tmp_path / "fashion-mnist")
    assert data.image_shape == (28, 28, 1) and (data.num_train, data.num_test) == (12, 5)
    assert data.class_names[0] == "T-shirt/top" and data.class_names[9] == "Ankle boot"
    x, y = arrays_of(data.test)
    np.testing.assert_array_equal(x[..., 0], arrays["x_test"])
    np.testing.assert_array_equal(y, arrays["y_test"])
    assert not D.default_augment(data)


def test_idx_digits_get_digit_names(tmp_path, rng):
    write_idx_dir(tmp_path / "mnist", rng, gz=False)
    assert D.load(tmp_path / "mnist").class_names == [str(i) for i in range(10)]


def test_class_folder_tree_split(tmp_path, rng):
    write_png_tree(tmp_path / "pets", rng, per_class=5)
    data = D.load(tmp_path / "pets", validation_split=3, seed=1)
    assert data.class_names == ["cat", "dog", "frog"] and data.image_shape == (20, 24, 3)
    assert (data.num_train, data.num_validation, data.num_test) == (9, 3, 3)  # 20 % test, then 3 held out
    x, y = arrays_of(data.train.concatenate(data.validation).concatenate(data.test))
    assert x.shape == (15, 20, 24, 3) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [5, 5, 5]
    assert len({img.tobytes() for img in x}) == 15  # every image once, none lost or duplicated


def test_class_folder_tree_with_train_test_and_resize_grayscale(tmp_path, rng):
    write_png_tree(tmp_path / "t" / "train", rng, classes=("a", "b"), per_class=3, channels=1)
    write_png_tree(tmp_path / "t" / "test", rng, classes=("a", "b"), per_class=2, channels=1)
    data = D.load(tmp_path / "t", image_size=(8, 8))
    assert data.image_shape == (8, 8, 1) and (data.num_train, data.num_test) == (6, 4)
    x, y = arrays_of(data.test)
    assert x.shape == (4, 8, 8, 1) and sorted(y.tolist()) == [0, 0, 1, 1]


def test_npz_with_class_names(tmp_path, rng):
    x = rng.integers(0, 256, (10, 16, 16, 3), dtype=np.uint8)
    np.savez(tmp_path / "toy_set.npz", x_train=x, y_train=np.arange(10) % 4, x_test=x[:3],
             y_test=np.array([3, 2, 1]), class_names=np.array(["a", "b", "c", "d"]))
    data = D.load(tmp_path / "toy_set.npz", validation_split=0.2)
    assert (data.name, data.class_names, data.num_train, data.num_validation) == \
        ("toy-set", ["a", "b", "c", "d"], 8, 2)
    xv, yv = arrays_of(data.validation)  # held out from the END of train
    np.testing.assert_array_equal(xv, x[8:])
    np.testing.assert_array_equal(yv, [0, 1])
    assert data.spec["source"].endswith("toy_set.npz") and data.spec["validation_split"] == 0.2


def test_tfds_by_name_with_mock_data():
    import tensorflow_datasets as tfds
    with tfds.testing.mock_data(num_examples=12):
        data = D.load("cifar10", validation_split=4)
        assert (data.name, data.image_shape, data.num_classes) == ("cifar10", (32, 32, 3), 10)
        assert (data.num_train, data.num_validation, data.num_test) == (8, 4, 12)
        x, y = arrays_of(data.train)
        assert x.shape == (8, 32, 32, 3) and x.dtype == np.uint8 and y.dtype == np.int64
        assert y.min() >= 0 and y.max() < 10
        assert D.default_augment(data)


def test_real_fashion_mnist(fashion_mnist_dir):
    data = D.load(fashion_mnist_dir)
    assert (data.num_train, data.num_test, data.image_shape) == (60000, 10000, (28, 28, 1))
    assert data.class_names == D.FASHION_MNIST_CLASSES
    x, y = next(iter(D.pipeline(data.test, batch_size=500, training=False)))
    assert x.shape == (500, 28, 28, 1) and set(y.numpy().tolist()) == set(range(10))


def test_real_cifar_subset(cifar_subset_path):
    data = D.load(cifar_subset_path, validation_split=4085)  # a small train split keeps numpy quick
    assert (data.num_train, data.num_validation, data.num_test) == (1000, 4085, 1017)
    assert data.class_names == CIFAR10 and data.image_shape == (32, 32, 3)
    with np.load(cifar_subset_path) as f:
        x = f["x_train"][:1000] / 255.0
    stats = D.normalization_stats(data)
    np.testing.assert_allclose(stats["mean"], x.mean((0, 1, 2)), rtol=1e-9)
    np.testing.assert_allclose(stats["std"], x.std((0, 1, 2)), rtol=1e-9)
    assert 0.4 < stats["mean"][0] < 0.55 and stats["scale"] == 1 / 255


# ------------------------------------------------------------------------- pipeline and augmentation
def find_translation(out, padded, rows=9, cols=9):
    """(dy, dx, flipped) with out == crop of padded (or of its flip), else None."""
    h, w = out.shape[:2]
    for flipped, src in ((False, padded), (True, padded[:, ::-1])):
        for dy in range(rows):
            for dx in range(cols):
                if np.array_equal(src[dy:dy + h, dx:dx + w], out):
                    return dy, dx, flipped
    return None


@pytest.mark.parametrize("channels", [3, 1])
@pytest.mark.parametrize("size", [(32, 32), (16, 24)])
def test_augmentation_is_pad_crop_flip(rng, channels, size):
    """4 pixels of padding at 32x32 (the paper), the same eighth of the side at other sizes: 2 and 3 at 16x24."""
    h, w = size
    ph, pw = D.pad_for(h), D.pad_for(w)
    assert (D.pad_for(32), D.pad_for(16), D.pad_for(24), D.pad_for(3)) == (4, 2, 3, 1)
    x = rng.integers(1, 256, (400, h, w, channels), dtype=np.uint8)  # no zeros: padding is visible
    out = D.augment_batch(tf.constant(x), tf.constant([3, 4], tf.int64)).numpy()
    assert out.shape == x.shape and out.dtype == np.uint8
    found = [find_translation(o, np.pad(i, [(ph, ph), (pw, pw), (0, 0)]), 2 * ph + 1, 2 * pw + 1)
             for o, i in zip(out, x)]
    assert None not in found
    dys, dxs, flips = zip(*found)
    assert set(dys) == set(range(2 * ph + 1)) and set(dxs) == set(range(2 * pw + 1))  # every offset occurs
    assert 0.4 < np.mean(flips) < 0.6  # flipped about half the time
    assert np.mean([dy == ph and dx == pw and not f for dy, dx, f in found]) < 0.1  # mostly changed


def test_pipeline_training_and_eval(rng):
    x = rng.integers(0, 256, (50, 32, 32, 3), dtype=np.uint8)
    data = D.from_arrays(x, np.arange(50) % 10, x[:7], np.arange(7), name="toy")
    ev = list(D.pipeline(data.test, batch_size=4, training=False))
    assert [b[0].shape[0] for b in ev] == [4, 3]
    assert ev[0][0].dtype == tf.float32 and ev[0][1].dtype == tf.int64
    np.testing.assert_array_equal(ev[0][0].numpy(), x[:4])  # 0-255, in order, not augmented
    train = D.pipeline(data.train, batch_size=16, training=True, augment=True, seed=0, drop_remainder=True)
    epochs = [np.concatenate([y.numpy() for _, y in train]) for _ in range(2)]
    assert [len(e) for e in epochs] == [48, 48] and not np.array_equal(epochs[0], epochs[1])  # reshuffled
    xb, _ = next(iter(train))
    assert xb.shape == (16, 32, 32, 3) and float(tf.reduce_max(xb)) <= 255
    assert float(tf.reduce_min(xb)) == 0.0  # zero padding entered some crops
    plain = D.pipeline(data.train, batch_size=50, training=True, augment=False, seed=0)
    xs = next(iter(plain))[0].numpy()
    assert sorted(i.tobytes() for i in xs.astype(np.uint8)) == sorted(i.tobytes() for i in x)


def test_from_arrays_resizes_to_image_size(rng):
    x = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    data = D.from_arrays(x, [0, 1] * 3, x[:2], [0, 1], image_size=(32, 32))
    assert data.image_shape == (32, 32, 1)
    xs, _ = arrays_of(data.train)
    assert xs.shape == (6, 32, 32, 1) and xs.dtype == np.uint8
    assert abs(float(xs.mean()) - float(x.mean())) < 3  # a resize, not a pad


def test_grayscale_arrays_gain_a_channel_and_validation_fraction(rng):
    x = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    data = D.from_arrays(x, np.arange(20) % 2, x[:4], [0, 1, 0, 1], validation_split=0.25)
    assert data.image_shape == (28, 28, 1) and (data.num_train, data.num_validation) == (15, 5)
    assert data.class_names == ["0", "1"]
    xb, _ = next(iter(D.pipeline(data.train, batch_size=8, training=True, augment=True)))
    assert xb.shape == (8, 28, 28, 1)
    stats = D.normalization_stats(data)
    np.testing.assert_allclose(stats["mean"], [(x[:15] / 255).mean()], rtol=1e-9)
    np.testing.assert_allclose(stats["std"], [(x[:15] / 255).std()], rtol=1e-9)


# ---------------------------------------------------------------------------------- bad input
def test_unknown_dataset_name_lists_allowed():
    with pytest.raises(ValueError, match=r"unknown dataset 'cifar11'.*cifar10, cifar100, fashion_mnist"):
        D.load("cifar11")


def test_tfds_not_prepared_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'mnist' is not prepared in data_dir=.*tfds build mnist --data_dir"):
        D.load("mnist", data_dir=tmp_path)


def test_missing_path():
    with pytest.raises(FileNotFoundError, match="does not exist"):
        D.load("./no/such/data.npz")


def test_npz_bad_keys_and_corrupt(tmp_path):
    np.savez(tmp_path / "a.npz", x_train=np.zeros((2, 4, 4)), y_train=[0, 1], images=np.zeros(2))
    with pytest.raises(ValueError, match=r"missing \['x_test', 'y_test'\]; unexpected \['images'\]"):
        D.load(tmp_path / "a.npz")
    (tmp_path / "b.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="cannot read .*b.npz"):
        D.load(tmp_path / "b.npz")
    (tmp_path / "c.csv").write_text("1,2")
    with pytest.raises(ValueError, match="is not an .npz"):
        D.load(tmp_path / "c.csv")


def test_idx_truncated_corrupt_or_incomplete(tmp_path, rng):
    write_idx_dir(tmp_path / "m", rng, gz=False)
    p = tmp_path / "m" / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"truncated or corrupt: header says shape \(12, 28, 28\)"):
        D.load(tmp_path / "m")
    p.write_bytes(b"\x00\x00\x08\x01" + bytes(20))  # a labels magic where images belong
    with pytest.raises(ValueError, match="not a uint8 IDX file with 3 dimension"):
        D.load(tmp_path / "m")
    write_idx_dir(tmp_path / "g", rng, gz=True)
    g = tmp_path / "g" / "t10k-labels-idx1-ubyte.gz"
    g.write_bytes(g.read_bytes()[:15])
    with pytest.raises(ValueError, match="cannot read IDX file"):
        D.load(tmp_path / "g")
    (tmp_path / "g" / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks \['t10k-images-idx3-ubyte\[.gz\]'\]"):
        D.load(tmp_path / "g")


def test_cifar_unreadable_or_missing_batch(tmp_path, rng):
    write_cifar10(tmp_path, rng, per_batch=2)
    (tmp_path / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="cannot unpickle CIFAR batch .*data_batch_3"):
        D.load(tmp_path)
    (tmp_path / "data_batch_3").write_bytes(pickle.dumps({b"labels": [1, 2]}))
    with pytest.raises(ValueError, match="not in the official format"):
        D.load(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="lacks 'data_batch_3'"):
        D.load(tmp_path)


@pytest.mark.parametrize("y_train, y_test, kw, match", [
    ([0, 1, 2, 3], [0], {"class_names": ["a", "b"]}, r"labels must be in \[0, 2\) for 2 classes, got label 3"),
    ([0, -1, 1, 1], [0], {}, "labels must be >= 0"),
    ([0, 1, 1], [0], {}, "x_train has 4 images but y_train has 3 labels"),
    ([0.5, 1, 1, 0], [0], {}, "integer class labels"),
    ([0, 1, 1, 0], [0], {"validation_split": 4}, r"must leave 1..3 of the 4 training images"),
    ([0, 1, 1, 0], [0], {"validation_split": 1.5}, "whole count"),
])
def test_bad_arrays(y_train, y_test, kw, match):
    x = np.zeros((4, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=match):
        D.from_arrays(x, np.array(y_train), x[:1], np.array(y_test), **kw)


def test_bad_image_arrays():
    with pytest.raises(ValueError, match=r"shape \(N, H, W\) or \(N, H, W, C\).*got shape \(4, 8\)"):
        D.from_arrays(np.zeros((4, 8)), [0] * 4, np.zeros((1, 8)), [0])
    with pytest.raises(ValueError, match="pixel values 0-255"):
        D.from_arrays(np.full((2, 4, 4), 300.0), [0, 1], np.zeros((1, 4, 4)), [0])
    with pytest.raises(ValueError, match="same"):
        D.from_arrays(np.zeros((2, 4, 4)), [0, 1], np.zeros((1, 5, 5)), [0])


def test_folders_without_images(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class sub-folders"):
        D.load(tmp_path / "empty")
    for c in ("cat", "dog"):
        (tmp_path / "t" / c).mkdir(parents=True)
        (tmp_path / "t" / c / "notes.txt").write_text("no image")
    with pytest.raises(ValueError, match=r"class sub-folders \['cat', 'dog'\] but no images"):
        D.load(tmp_path / "t")
