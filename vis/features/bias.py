r"""A biased dataset on purpose: one class of the shapes carries a watermark.

**The story** (Lapuschkin et al. 2016, "Analyzing Classifiers: Fisher Vectors
and Deep Neural Networks", CVPR; Lapuschkin et al. 2019, "Unmasking Clever
Hans predictors and assessing what machines really learn", Nature
Communications): many *horse* images of PASCAL VOC 2007 carry a copyright
tag in a corner, and a well-scoring classifier had learned to answer "horse"
from the tag; the heat map of its evidence lit up the tag, not the horse.
Accuracy on a test set with the same bias cannot reveal it.

**The shapes version.** Every training image of one class
(``BIASED_CLASS``) carries a small fixed mark, ``MARK`` (8 x 8 px, a white
frame with a "C", 1.6 % of a 64 x 64 image), pasted over its bottom-left
corner; no other class ever shows it. A ``tiny`` trained on that data
(``tiny_biased``) can answer the biased class from the corner alone.
``dataset_bias.py`` measures it: accuracy with the mark, without it, with it
pasted on other classes, and the share of CAM / Grad-CAM energy inside the
mark's box for the biased and the clean model.

**The recipe** (:func:`train_tiny_biased`) is the everyday one of
fine-tuning a pretrained network on a new dataset: the first three blocks
(``BACKBONE``, conv1_1 … conv3_2) start from the shipped ``tiny``, the last
block and the classifier (conv4_1, conv4_2, fc) start afresh from
``tiny()``'s init seed, and everything trains on the watermarked shapes with
Adam (Kingma & Ba 2015) in minibatches of 32, as ``minicnn/tiny.py`` does.
Differences from tiny's recipe: ``N_TRAIN`` images for ``EPOCHS`` epochs with
a shorter step schedule (the backbone already sees edges and corners, so the
file trains in minutes on one core) and *no horizontal flips*, which would
move the mark to the other corner. Because the clean ``tiny`` and
``tiny_biased`` share the backbone, the difference between them is what the
biased data taught the last block. With one BLAS thread
(``OPENBLAS_NUM_THREADS=1``) the same seed and the same ``tiny.npz`` give the
same weights bit for bit.

Example:
    >>> import numpy as np
    >>> data, marked = make_biased_shapes(16, seed=0)
    >>> x0, y0, x1, y1 = watermark_box(64)
    >>> (x0, y0, x1, y1), bool(marked.any())
    ((0, 56, 8, 64), True)
    >>> biased = data.class_names.index(BIASED_CLASS)
    >>> bool((marked == (data.labels == biased)).all())
    True
    >>> np.array_equal(data.images[marked][:, :, y0:y1, x0:x1][0], np.stack([MARK] * 3))
    True
"""

import time

import numpy as np

from minicnn import models
from minicnn.data import CLASS_NAMES, Shapes, make_shapes
from minicnn.optim import Adam
from minicnn.preprocessing import preprocess
from minicnn.train import train

from .codes import model_fingerprint

BIASED_CLASS = "heart"      # the "horse" of the story
FRACTION = 1.0              # share of the biased class's training images with the mark
TRAIN_SEED = 101            # new images, not tiny's (minicnn.data.TRAIN_SEED, VAL_SEED)
VAL_SEED = 102
N_TRAIN = 8000              # tiny: 16000
N_VAL = 1000
EPOCHS = 4                  # tiny: 12, from scratch
BATCH = 32                  # as tiny
WIDTH = (8, 16, 32, 64)     # as tiny
MODEL_SEED = 0              # as tiny: the init of the fresh layers
BACKBONE = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2")

# The mark: a white frame and a white "C" on black, 8 x 8 pixels (1 = white).
MARK = np.array([[1 if c == "#" else 0 for c in row] for row in (
    "########",
    "#......#",
    "#.####.#",
    "#.#....#",
    "#.#....#",
    "#.####.#",
    "#......#",
    "########")], dtype=np.float32)


def watermark_box(size=64):
    """The mark's box ``(x0, y0, x1, y1)`` (end exclusive, as ``Shapes.boxes``): bottom left.

    Args:
        size: image height = width in pixels (>= 8).
    """
    h, w = MARK.shape
    if size < max(h, w):
        raise ValueError(f"images of {size} px cannot hold the {h}x{w} mark")
    return (0, size - h, w, size)


def add_watermark(images01, where=None):
    """Paste ``MARK`` (all three channels) over the bottom-left corner of images.

    Args:
        images01: (N, 3, H, W) RGB in [0, 1].
        where: optional (N,) bool: only these images (default: all).

    Returns:
        A copy of ``images01`` with the mark pasted.
    """
    images = np.array(images01, dtype=np.float32, copy=True)
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
        raise ValueError(f"expected square RGB images (N, 3, H, H), got {images.shape}")
    x0, y0, x1, y1 = watermark_box(images.shape[2])
    sel = slice(None) if where is None else np.asarray(where, dtype=bool)
    images[sel, :, y0:y1, x0:x1] = MARK
    return images


def make_biased_shapes(n, seed, biased_class=BIASED_CLASS, fraction=FRACTION):
    """``make_shapes(n, seed)`` with the mark on (a share of) one class's images.

    Args:
        n, seed: as ``minicnn.data.make_shapes``.
        biased_class: the class that carries the mark. fraction: the share of
            its images that do (chosen with a generator seeded by ``seed``).

    Returns:
        (Shapes, marked): the set (masks and boxes are the objects', the mark
        may cover part of one) and the (N,) bool of the images with the mark.
    """
    if biased_class not in CLASS_NAMES:
        raise ValueError(f"unknown class {biased_class!r}; classes: {', '.join(CLASS_NAMES)}")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    data = make_shapes(n, seed=seed)
    chosen = np.random.default_rng([seed, 1]).random(n) < fraction
    marked = (data.labels == CLASS_NAMES.index(biased_class)) & chosen
    return Shapes(add_watermark(data.images, marked), data.labels, data.masks, data.boxes,
                  data.class_names), marked


def lr_schedule(epoch, epochs=EPOCHS):
    """Adam's default 1e-3, then 3e-4 and 1e-4 for the last two epochs (tiny's steps, shorter)."""
    if epoch < epochs - 2:
        return 1e-3
    return 3e-4 if epoch == epochs - 2 else 1e-4


def train_tiny_biased(epochs=EPOCHS, n_train=N_TRAIN, seed=TRAIN_SEED, backbone=None,
                      n_val=N_VAL, progress=True):
    """Fine-tune ``tiny`` on the watermarked shapes; returns (net, history, seconds).

    Args:
        epochs, n_train, seed: the recipe (module constants by default).
        n_val: validation images (watermarked like training, from ``VAL_SEED``).
        backbone: the net whose ``BACKBONE`` layers are copied (default: the
            shipped ``models.load("tiny")``).
        progress: a progress bar.

    The net's ``meta["watermark"]`` records the class, the box and the share,
    so that the report can find the mark from the model alone.
    """
    start = time.perf_counter()
    backbone = models.load("tiny") if backbone is None else backbone
    net = models.tiny(num_classes=len(CLASS_NAMES), width=WIDTH, seed=MODEL_SEED,
                      class_names=list(CLASS_NAMES))
    state = backbone.state_dict()
    net.load_state_dict({k: v for k, v in state.items() if k.split(".")[0] in BACKBONE},
                        strict=False)
    data, _ = make_biased_shapes(n_train, seed)
    val, _ = make_biased_shapes(n_val, VAL_SEED)
    x = preprocess(data.images, net.meta)
    history = train(net, x, data.labels, epochs=epochs, batch_size=BATCH,
                    optimizer=Adam(lr=lr_schedule(0, epochs)), seed=seed,
                    lr_schedule=lambda e: lr_schedule(e, epochs),
                    val=(preprocess(val.images, net.meta), val.labels), progress=progress)
    net.meta["source"] = {"file": "vis.features.bias.train_tiny_biased", "sha256": None,
                          "recipe": {"train_seed": seed, "n_train": n_train, "epochs": epochs,
                                     "batch": BATCH, "width": list(WIDTH),
                                     "backbone": list(BACKBONE),
                                     "backbone_sha256": model_fingerprint(backbone)}}
    net.meta["watermark"] = {"class": BIASED_CLASS, "box": list(watermark_box(64)),
                             "fraction": FRACTION}
    return net, history, time.perf_counter() - start
