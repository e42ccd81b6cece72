"""Tests for the shapes dataset (minicnn/data.py)."""
import numpy as np
import pytest

from minicnn.data import CHUNK, CLASS_NAMES, Shapes, make_shapes


@pytest.fixture(scope="module")
def data():
    return make_shapes(2000, seed=0)


def nearest_class_mean_accuracy(features, labels, n_classes):
    """Fit class means on the first half, score nearest-mean on the second."""
    half = len(labels) // 2
    feats = (features - features[:half].mean(0)) / (features[:half].std(0) + 1e-12)
    means = np.stack([feats[:half][labels[:half] == k].mean(0) for k in range(n_classes)])
    dist = ((feats[half:, None, :] - means[None]) ** 2).sum(-1)
    return (dist.argmin(1) == labels[half:]).mean()


def dilate(masks, r):
    """Binary dilation of (N, H, W) masks by a (2r+1) x (2r+1) square."""
    padded = np.pad(masks, ((0, 0), (r, r), (r, r)))
    H, W = masks.shape[1:]
    out = np.zeros_like(masks)
    for dy in range(2 * r + 1):
        for dx in range(2 * r + 1):
            out |= padded[:, dy:dy + H, dx:dx + W]
    return out


def test_class_names():
    assert 5 <= len(CLASS_NAMES) == len(set(CLASS_NAMES))
    assert {"circle", "square", "triangle", "star", "cross"} <= set(CLASS_NAMES)


def test_shapes_dtypes_ranges(data):
    assert isinstance(data, Shapes)
    assert data.images.shape == (2000, 3, 64, 64) and data.images.dtype == np.float32
    assert data.labels.shape == (2000,) and data.labels.dtype == np.int64
    assert data.masks.shape == (2000, 64, 64) and data.masks.dtype == bool
    assert data.boxes.shape == (2000, 4) and data.boxes.dtype == np.int64
    assert data.class_names == CLASS_NAMES
    assert data.images.min() >= 0 and data.images.max() <= 1
    assert data.images.std() > 0.1  # not a constant image
    assert data.labels.min() >= 0 and data.labels.max() < len(CLASS_NAMES)


@pytest.mark.parametrize("size", [16, 33, 96])
def test_other_sizes(size):
    d = make_shapes(300, seed=3, size=size)
    assert d.images.shape == (300, 3, size, size) and d.masks.shape == (300, size, size)
    assert d.masks.sum(axis=(1, 2)).min() >= 4  # even the smallest objects show
    assert not d.masks[:, [0, -1], :].any() and not d.masks[:, :, [0, -1]].any()


def test_deterministic_same_seed():
    a, b = make_shapes(300, seed=7), make_shapes(300, seed=7)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_different_seeds_differ():
    a, b = make_shapes(50, seed=0), make_shapes(50, seed=1)
    assert not np.array_equal(a.labels, b.labels)
    assert np.abs(a.images - b.images).mean() > 0.1
    assert (a.masks != b.masks).any(axis=(1, 2)).all()  # every image differs


def test_prefix_independent_of_n():
    n_big = 2 * CHUNK + 17  # crosses chunk boundaries
    big = make_shapes(n_big, seed=5)
    for k in (1, CHUNK - 1, CHUNK + 3):
        small = make_shapes(k, seed=5)
        for x, y in zip(small[:4], big[:4]):
            np.testing.assert_array_equal(x, y[:k])


def test_classes_roughly_uniform(data):
    counts = np.bincount(data.labels, minlength=len(CLASS_NAMES))
    expected = 2000 / len(CLASS_NAMES)
    assert counts.min() > 0.75 * expected and counts.max() < 1.25 * expected, counts


def test_masks_nonempty_and_inside(data):
    area = data.masks.sum(axis=(1, 2))
    assert area.min() > 20  # at least ~ a 5x5 object at size 64
    assert area.max() < 0.5 * 64 * 64
    # Fully inside: a cut-off object would touch the outermost rows/columns.
    assert not data.masks[:, [0, -1], :].any() and not data.masks[:, :, [0, -1]].any()


def test_boxes_are_mask_bounding_boxes(data):
    for mask, box in zip(data.masks[:300], data.boxes[:300]):
        ys, xs = np.nonzero(mask)
        assert tuple(box) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    x0, y0, x1, y1 = data.boxes.T
    w, h = x1 - x0, y1 - y0
    assert (w >= 3).all() and (h >= 3).all() and (w <= 42).all() and (h <= 42).all()


def test_object_contrasts_with_surrounding_background(data):
    # Ring of background pixels 2-4 px away from the object.
    ring = dilate(data.masks, 4) & ~dilate(data.masks, 1)
    img = data.images.transpose(0, 2, 3, 1)  # (N, H, W, 3)
    obj_mean = np.stack([img[i][data.masks[i]].mean(0) for i in range(500)])
    ring_mean = np.stack([img[i][ring[i]].mean(0) for i in range(500)])
    distance = np.linalg.norm(obj_mean - ring_mean, axis=1)
    assert distance.min() > 0.25, distance.min()


def test_object_colour_is_flat_plus_noise(data):
    img = data.images.transpose(0, 2, 3, 1)
    spread = np.stack([img[i][data.masks[i]].std(0) for i in range(100)])
    assert spread.max() < 0.05  # uniform noise of +-0.05 has std 0.029


def test_trivial_features_do_not_separate_classes(data):
    # Chance is 1/8. A CNN must look at the shape: area, box size, image mean
    # colour or object colour alone stay far from useful.
    K = len(CLASS_NAMES)
    img = data.images.transpose(0, 2, 3, 1)
    area = data.masks.sum(axis=(1, 2)).astype(float)[:, None]
    box_wh = (data.boxes[:, 2:] - data.boxes[:, :2]).max(1).astype(float)[:, None]
    image_colour = data.images.mean(axis=(2, 3))
    object_colour = np.stack([img[i][data.masks[i]].mean(0) for i in range(len(img))])
    for name, feature in [("area", area), ("box size", box_wh),
                          ("image colour", image_colour), ("object colour", object_colour)]:
        acc = nearest_class_mean_accuracy(feature, data.labels, K)
        assert acc < 0.3, (name, acc)


def test_class_subset():
    d = make_shapes(400, seed=2, classes=("star", "circle"))
    assert d.class_names == ("star", "circle")
    assert set(np.unique(d.labels)) == {0, 1}
    # Stars fill less of their bounding box than circles.
    box_area = np.prod(d.boxes[:, 2:] - d.boxes[:, :2], axis=1)
    fill = d.masks.sum(axis=(1, 2)) / box_area
    assert fill[d.labels == 0].mean() < fill[d.labels == 1].mean() - 0.2


def test_each_class_alone():
    for name in CLASS_NAMES:
        d = make_shapes(20, seed=4, classes=[name])
        assert (d.labels == 0).all() and d.masks.any(axis=(1, 2)).all()


@pytest.mark.parametrize("kwargs, words", [
    (dict(n=0), "n must"),
    (dict(n=-3), "n must"),
    (dict(n=10, size=15), "size must"),
    (dict(n=10, classes=["circle", "hexagon"]), "hexagon"),
    (dict(n=10, classes=[]), "empty"),
    (dict(n=10, classes=["star", "star"]), "repeated"),
    (dict(n=10, classes="circle"), "not a string"),
])
def test_bad_input_raises(kwargs, words):
    with pytest.raises(ValueError, match=words) as info:
        make_shapes(**kwargs)
    if "classes" in kwargs:
        assert all(name in str(info.value) for name in CLASS_NAMES)
