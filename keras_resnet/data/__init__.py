"""Datasets (He et al. 2016, §4.2): every source becomes one ImageData; `pipeline` batches it for `fit`.

```python
from keras_resnet import data
d = data.load("cifar10", validation_split=5000)            # or a path: CIFAR batches, IDX, folders, .npz
train_ds = data.pipeline(d.train, batch_size=128, training=True, augment=True)
data.normalization_stats(d)                                # per-channel mean/std for the model
```

- `sources.py`: ImageData, load, from_arrays, tfds / CIFAR batches / IDX / folder trees / .npz
- `pipeline.py`: pipeline (batched augmentation), augment_batch, pad_for, normalization_stats, default_augment
- `files.py`: the file readers (.npz, CIFAR python batches, IDX) and well-known class names
- `imagenet.py`: the ImageNet transforms (§3.4): scale augmentation, crops, PCA lighting, centre / 10-crop views
- `streaming.py`: load_streaming: ImageNet-like photos (folders, TFRecords, tfds imagenet2012) read as needed
"""

from .files import (
    CIFAR10_CLASSES, FASHION_MNIST_CLASSES, IDX_FILES, find_cifar_dir, find_idx_files, known_class_names,
    read_cifar_dir, read_idx, read_idx_dir, read_npz,
)
from .pipeline import PAD, augment_batch, default_augment, normalization_stats, pad_for, pipeline
from .sources import (
    AUTOTUNE, EXAMPLE_TFDS, IMAGE_SUFFIXES, SOURCES_HELP, ImageData, from_arrays, load, naming_undecodable_images,
    undecodable_images,
)

__all__ = [
    "AUTOTUNE", "CIFAR10_CLASSES", "EXAMPLE_TFDS", "FASHION_MNIST_CLASSES", "IDX_FILES", "IMAGE_SUFFIXES", "PAD",
    "SOURCES_HELP", "ImageData", "augment_batch", "default_augment", "find_cifar_dir", "find_idx_files",
    "from_arrays", "known_class_names", "load", "naming_undecodable_images", "normalization_stats", "pad_for", "pipeline",
    "read_cifar_dir", "read_idx", "read_idx_dir", "read_npz", "undecodable_images",
]
