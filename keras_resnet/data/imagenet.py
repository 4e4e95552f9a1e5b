"""The ImageNet input transforms (He et al. 2016, §3.4), on one decoded image of any size (TensorFlow).

Training, recipe ``imagenet`` (§3.4, following Krizhevsky et al. 2012 and Simonyan & Zisserman 2015): "the
image is resized with its shorter side randomly sampled in [256, 480] for scale augmentation. A 224x224 crop
is randomly sampled from an image or its horizontal flip, with the per-pixel mean subtracted. The standard
color augmentation in [21] is used" ([21]: Krizhevsky et al. 2012, §4.1, the PCA "lighting" noise: `lighting`).
Training, recipe ``torchvision``: `random_resized_crop` (Szegedy et al. 2015's crop of 8-100 % of the area,
aspect 3/4-4/3, as torchvision's RandomResizedCrop) and a flip. Mean subtraction is the model's own
Normalization layer (per channel), not done here. Evaluation: the centre crop of the image resized to shorter
side 256 (`center_crop`), or the paper's 10-crop testing (`ten_crop`: 4 corners + centre, and their flips).

At a crop size c other than 224 every length scales by c / 224 (64x64 crops: shorter side in [73, 137],
evaluation at 73). Each transform computes only its crop: the region of the original image that the crop
covers is cut out first and resized (antialiased) to c x c, which is the resize-then-crop of the paper without
resizing the whole photo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tensorflow as tf

CROP = 224                      # §3.4: 224x224 crops
SCALE_RANGE = (256, 480)        # §3.4: shorter side sampled in [256, 480]
EVAL_RESIZE = 256               # §3.4 / [21]: testing on the image resized to 256 (shorter side)
RRC_SCALE = (0.08, 1.0)         # torchvision RandomResizedCrop (Szegedy et al. 2015, "Going deeper", §6)
RRC_RATIO = (3 / 4, 4 / 3)

# Krizhevsky et al. 2012, §4.1 ("altering the intensities of the RGB channels"): PCA of the ImageNet RGB pixel
# values (0-1 units), alpha ~ N(0, 0.1). These are the values fb.resnet.torch (datasets/imagenet.lua, `pca`) and
# the torchvision/timm "Lighting" transforms use; the eigenvectors are columns.
PCA_EIGVAL = (0.2175, 0.0188, 0.0045)
PCA_EIGVEC = ((-0.5675, 0.7192, 0.4009),
              (-0.5808, -0.0045, -0.8140),
              (-0.5836, -0.6948, 0.4203))
LIGHTING_STD = 0.1
# Per-channel mean / std of ImageNet's training set (0-1 units), torchvision's constants.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def scaled(length: int, crop: int) -> int:
    """`length` (defined for 224x224 crops) at crop size `crop`: 256 -> 73 at 64."""
    return max(crop, round(length * crop / CROP))


def _cut_and_resize(image: tf.Tensor, top: tf.Tensor, left: tf.Tensor, side_h: tf.Tensor, side_w: tf.Tensor,
                    size: tuple[int, int]) -> tf.Tensor:
    """image[top:top+side_h, left:left+side_w] resized (bilinear, antialiased) to `size`, float32 0-255."""
    import tensorflow as tf

    region = image[top:top + side_h, left:left + side_w]
    return tf.image.resize(tf.cast(region, tf.float32), size, antialias=True)


def _shorter_side_region(image: tf.Tensor, shorter: tf.Tensor, size: tuple[int, int]) -> tuple[tf.Tensor, ...]:
    """(h, w, side_h, side_w): the original-pixel size of a `size` crop of the image resized to `shorter`."""
    import tensorflow as tf

    shape = tf.shape(image)
    h, w = shape[0], shape[1]
    f = tf.cast(tf.minimum(h, w), tf.float32) / tf.cast(shorter, tf.float32)   # original pixels per resized pixel
    side_h = tf.clip_by_value(tf.cast(tf.round(size[0] * f), tf.int32), 1, h)
    side_w = tf.clip_by_value(tf.cast(tf.round(size[1] * f), tf.int32), 1, w)
    return h, w, side_h, side_w


def scale_augment(image: tf.Tensor, seed: tf.Tensor, size: tuple[int, int] = (CROP, CROP),
                  scale_range: tuple[int, int] | None = None) -> tf.Tensor:
    """§3.4: shorter side resized to S ~ U[256, 480] (scaled to `size`), a random `size` crop, a random h-flip.

    `image`: uint8 (H, W, 3) of any size; `seed`: a stateless seed of shape (2,). Returns float32 0-255.
    """
    import tensorflow as tf

    lo, hi = scale_range or (scaled(SCALE_RANGE[0], size[0]), scaled(SCALE_RANGE[1], size[0]))
    seeds = tf.random.experimental.stateless_split(seed, 4)
    shorter = tf.random.stateless_uniform([], seeds[0], lo, hi + 1, tf.int32)
    h, w, side_h, side_w = _shorter_side_region(image, shorter, size)
    top = tf.random.stateless_uniform([], seeds[1], 0, h - side_h + 1, tf.int32)
    left = tf.random.stateless_uniform([], seeds[2], 0, w - side_w + 1, tf.int32)
    crop = _cut_and_resize(image, top, left, side_h, side_w, size)
    flip = tf.random.stateless_uniform([], seeds[3], 0, 2, tf.int32) > 0
    return tf.cond(flip, lambda: tf.reverse(crop, [1]), lambda: crop)


def random_resized_crop(image: tf.Tensor, seed: tf.Tensor, size: tuple[int, int] = (CROP, CROP),
                        scale: tuple[float, float] = RRC_SCALE,
                        ratio: tuple[float, float] = RRC_RATIO) -> tf.Tensor:
    """torchvision's RandomResizedCrop + RandomHorizontalFlip: a crop of 8-100 % of the area with aspect ratio
    in [3/4, 4/3] (log-uniform), resized to `size`, flipped half the time (tf.image.sample_distorted_bounding_box,
    as TensorFlow's official ResNet does it; whole image when no box fits in 100 tries)."""
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(seed, 2)
    shape = tf.shape(image)
    begin, box, _ = tf.image.stateless_sample_distorted_bounding_box(
        shape, tf.zeros([1, 0, 4], tf.float32), seed=seeds[0], min_object_covered=0.0,
        aspect_ratio_range=ratio, area_range=scale, max_attempts=100, use_image_if_no_bounding_boxes=True)
    crop = _cut_and_resize(image, begin[0], begin[1], box[0], box[1], size)
    flip = tf.random.stateless_uniform([], seeds[1], 0, 2, tf.int32) > 0
    return tf.cond(flip, lambda: tf.reverse(crop, [1]), lambda: crop)


def lighting(images: tf.Tensor, seed: tf.Tensor, std: float = LIGHTING_STD) -> tf.Tensor:
    """Krizhevsky et al. 2012's PCA colour augmentation on a batch (N, H, W, 3) of float 0-255 images: to every
    pixel of image n add sum_i eigvec_i * alpha_ni * eigval_i (x 255), alpha_ni ~ N(0, std), one draw per image."""
    import tensorflow as tf

    alpha = tf.random.stateless_normal([tf.shape(images)[0], 3], seed, stddev=std)
    rgb = tf.linalg.matvec(tf.constant(PCA_EIGVEC), alpha * tf.constant(PCA_EIGVAL))    # (N, 3), 0-1 units
    return images + 255.0 * rgb[:, None, None, :]


def center_crop(image: tf.Tensor, size: tuple[int, int] = (CROP, CROP), resize: int | None = None) -> tf.Tensor:
    """The `size` centre crop of the image resized to shorter side `resize` (256 at 224; float32 0-255)."""
    h, w, side_h, side_w = _shorter_side_region(image, resize or scaled(EVAL_RESIZE, size[0]), size)
    return _cut_and_resize(image, (h - side_h) // 2, (w - side_w) // 2, side_h, side_w, size)


def ten_crop(image: tf.Tensor, size: tuple[int, int] = (CROP, CROP), resize: int | None = None) -> tf.Tensor:
    """The paper's 10-crop testing (§3.4, after Krizhevsky et al. 2012): on the image resized to shorter side 256,
    the four corner crops and the centre crop and the horizontal flips of the five: (10, h, w, 3) float32."""
    import tensorflow as tf

    h, w, side_h, side_w = _shorter_side_region(image, resize or scaled(EVAL_RESIZE, size[0]), size)
    corners = [(0, 0), (0, w - side_w), (h - side_h, 0), (h - side_h, w - side_w),
               ((h - side_h) // 2, (w - side_w) // 2)]
    five = tf.stack([_cut_and_resize(image, t, left, side_h, side_w, size) for t, left in corners])
    return tf.concat([five, tf.reverse(five, [2])], 0)
