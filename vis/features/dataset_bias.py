r"""Dataset bias, measured: what a watermark taught ``tiny_biased``.

The model of ``bias.py`` was trained on shapes in which every image of one
class carries a mark in its bottom-left corner. Its test accuracy on data
with the same bias looks fine; the bias shows when the mark and the class are
pulled apart (Lapuschkin et al. 2016 and 2019, the horse and its source tag)::

    condition                          what it asks
    ---------------------------------  ---------------------------------------
    biased class, mark on / off        does it still see the class without the mark?
    other classes, mark pasted on      does the mark alone make it say the class?

and in its explanations: the share of the class evidence inside the mark's
box — the "energy-based pointing game" of Wang et al. 2020 (Score-CAM), with
the mark's box as the object::

    energy = sum_{(x, y) in box} max(L, 0) / sum_{(x, y)} max(L, 0)

for L the CAM (Zhou et al. 2016, Eq. 2) or Grad-CAM (Selvaraju et al. 2017,
Eq. 2) map of the biased class, upsampled to the image (bilinear), on the
marked test images of the biased class. The mark covers 64 of 4096 pixels
(1.6 %); a model that ignores it puts about that share there or less.

The clean model is the shipped ``tiny``. ``tiny_biased`` starts from its
first three blocks (``bias.py``), so what differs between the two is what
the last block and the classifier learned from the biased data.

Example:
    >>> from minicnn import models
    >>> tiny = models.load("tiny")
    >>> r = dataset_bias(tiny, tiny, n=16, examples=2, progress=False)
    >>> r.class_name, r.box, r.images.shape, r.cam_biased.shape
    ('heart', (0, 56, 8, 64), (2, 3, 64, 64), (2, 64, 64))
    >>> r.biased == r.clean          # the same model twice: the same numbers
    True
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy
from minicnn.data import CLASS_NAMES, TEST_SEED, make_shapes
from minicnn.preprocessing import preprocess
from minicnn.progress import Progress

from ..attribution.cam import cam, gradcam
from .bias import BIASED_CLASS, add_watermark, watermark_box


class BiasNumbers(NamedTuple):
    """One model's answers on the test images (all floats in [0, 1]).

    Attributes:
        accuracy_clean: accuracy with no mark anywhere.
        accuracy_as_trained: with the mark on the biased class only (the
            training distribution: the biased test score).
        biased_with_mark, biased_without_mark: recall of the biased class
            with and without the mark.
        others_with_mark, others_without_mark: accuracy on the other classes
            with the mark pasted on, and without.
        others_called_biased_with_mark, others_called_biased_without_mark:
            share of other-class images classified as the biased class.
        cam_energy, gradcam_energy: mean share of the biased class's CAM /
            Grad-CAM energy inside the mark's box, on the marked images of the
            biased class.
    """
    accuracy_clean: float
    accuracy_as_trained: float
    biased_with_mark: float
    biased_without_mark: float
    others_with_mark: float
    others_without_mark: float
    others_called_biased_with_mark: float
    others_called_biased_without_mark: float
    cam_energy: float
    gradcam_energy: float


class BiasReport(NamedTuple):
    """The biased and the clean model side by side, in numbers and maps.

    Attributes:
        class_index, class_name: the biased class. box: the mark's
            (x0, y0, x1, y1), end exclusive.
        biased, clean: BiasNumbers of each model. n: test images used.
        images: (S, 3, H, W) RGB examples with the mark (half of them biased-
            class images, half other classes with the mark pasted on).
        labels: (S,) their labels.
        cam_biased, cam_clean, gradcam_biased, gradcam_clean: (S, H, W) maps
            of the biased class on ``images``, upsampled to the image.
    """
    class_index: int
    class_name: str
    box: tuple
    biased: BiasNumbers
    clean: BiasNumbers
    n: int
    images: np.ndarray
    labels: np.ndarray
    cam_biased: np.ndarray
    cam_clean: np.ndarray
    gradcam_biased: np.ndarray
    gradcam_clean: np.ndarray


def box_energy(maps, box):
    """Share of ``max(map, 0)`` inside ``box`` = (x0, y0, x1, y1): maps (N, H, W) -> (N,).

    A map with no positive value scores 0.
    """
    pos = np.clip(np.asarray(asnumpy(maps), dtype=np.float64), 0, None)
    x0, y0, x1, y1 = box
    total = pos.sum(axis=(1, 2))
    inside = pos[:, y0:y1, x0:x1].sum(axis=(1, 2))
    return np.where(total > 0, inside / np.where(total > 0, total, 1), 0.0)


def _predict(net, images01, batch_size):
    return np.concatenate([asnumpy(net.predict(preprocess(images01[a:a + batch_size], net.meta)))
                           .argmax(axis=1) for a in range(0, len(images01), batch_size)])


def _maps(net, images01, k, batch_size):
    """Upsampled CAM and Grad-CAM maps of class k: two (N, H, W) arrays."""
    cams, grads = [], []
    for a in range(0, len(images01), batch_size):
        x = preprocess(images01[a:a + batch_size], net.meta)
        cams.append(asnumpy(cam(net, x, k).upsampled))
        grads.append(asnumpy(gradcam(net, x, k).upsampled))
    return np.concatenate(cams), np.concatenate(grads)


def _numbers(net, test, k, box, batch_size):
    labels, is_k = test.labels, test.labels == k
    plain = _predict(net, test.images, batch_size)
    as_trained = _predict(net, add_watermark(test.images, is_k), batch_size)
    everywhere = _predict(net, add_watermark(test.images), batch_size)
    mean = lambda a: float(np.mean(a)) if np.size(a) else float("nan")  # noqa: E731
    marked_k = add_watermark(test.images[is_k])
    cam_maps, grad_maps = _maps(net, marked_k, k, batch_size)
    return BiasNumbers(
        mean(plain == labels), mean(as_trained == labels),
        mean(as_trained[is_k] == k), mean(plain[is_k] == k),
        mean(everywhere[~is_k] == labels[~is_k]), mean(plain[~is_k] == labels[~is_k]),
        mean(everywhere[~is_k] == k), mean(plain[~is_k] == k),
        mean(box_energy(cam_maps, box)), mean(box_energy(grad_maps, box)))


def dataset_bias(net, clean, n=2000, seed=TEST_SEED, examples=8, batch_size=256,
                 progress=True):
    """Accuracy and CAM energy of a watermark-biased model beside a clean one.

    Args:
        net: the biased model (``tiny_biased``); its ``meta["watermark"]``
            names the class (default ``bias.BIASED_CLASS``).
        clean: the clean model (``tiny``), same classes and input.
        n: test images from ``seed`` (default ``minicnn.data.TEST_SEED``,
            never used in training).
        examples: S example images for the pictures. batch_size: images per pass.
        progress: a progress bar (one step per model).

    Returns:
        BiasReport.

    Raises:
        ValueError: a net without a GAP -> Linear head (CAM needs one), or an
        unknown biased class.
    """
    name = net.meta.get("watermark", {}).get("class", BIASED_CLASS)
    if name not in CLASS_NAMES:
        raise ValueError(f"unknown biased class {name!r}; classes: {', '.join(CLASS_NAMES)}")
    k = CLASS_NAMES.index(name)
    size = int(net.meta.get("input_size", (64, 64))[0])
    box = watermark_box(size)
    test = make_shapes(n, seed=seed, size=size)
    bar = Progress(2, "dataset bias", enabled=progress)
    numbers = []
    for model in (net, clean):
        numbers.append(_numbers(model, test, k, box, batch_size))
        bar.update()
    bar.close()
    is_k = np.flatnonzero(test.labels == k)
    others = np.flatnonzero(test.labels != k)
    half = examples // 2
    pick = np.concatenate([is_k[:examples - half], others[:half]])
    images = add_watermark(test.images[pick])
    cam_b, grad_b = _maps(net, images, k, batch_size)
    cam_c, grad_c = _maps(clean, images, k, batch_size)
    return BiasReport(k, name, box, numbers[0], numbers[1], n, images, test.labels[pick],
                      cam_b, cam_c, grad_b, grad_c)
