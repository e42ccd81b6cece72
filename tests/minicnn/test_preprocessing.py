"""preprocess / deprocess: the recipes, one image or a batch, a meta or a Net, one input rule."""

import numpy as np
import pytest

from minicnn import models
from minicnn.preprocessing import deprocess, preprocess

CAFFE = {"preprocess": dict(models.CAFFE_BGR)}


@pytest.fixture
def images(rng):
    return rng.random((2, 3, 5, 7))


def test_caffe_recipe_by_hand(images):
    x = preprocess(images, CAFFE)
    mean = np.array(models.CAFFE_BGR["mean"])
    for c_net, c_rgb in enumerate((2, 1, 0)):        # BGR: the network's channel 0 is blue
        np.testing.assert_allclose(x[:, c_net], images[:, c_rgb] * 255 - mean[c_net],
                                   rtol=1e-6, atol=1e-4)
    assert x.dtype == np.float32 and x.flags.c_contiguous


@pytest.mark.parametrize("recipe", [models.CAFFE_BGR, models.TORCHVISION_RGB,
                                    models.SHAPES_RGB, models.HED_BGR])
def test_deprocess_inverts_preprocess(images, recipe):
    meta = {"preprocess": dict(recipe)}
    x = preprocess(images, meta, dtype=np.float64)
    assert x.dtype == np.float64
    np.testing.assert_allclose(deprocess(x, meta), images, rtol=0, atol=1e-12)


def test_one_image_in_one_image_out_and_a_net_works_as_meta(images):
    net = models.tiny()
    one = preprocess(images[1], net)
    assert one.shape == (3, 5, 7)
    np.testing.assert_array_equal(one, preprocess(images, net.meta)[1])
    back = deprocess(one, net)
    assert back.shape == (3, 5, 7)
    np.testing.assert_allclose(back, images[1], atol=1e-6)


def test_integer_images_are_converted_to_float_not_computed_in_integers():
    """An int 0/1 image is valid RGB; uint8 arithmetic would wrap (0 - 104 = 152)."""
    ints = np.array([0, 1, 1, 0] * 3, dtype=np.uint8).reshape(3, 2, 2)
    x = preprocess(ints, CAFFE)
    np.testing.assert_allclose(x, preprocess(ints.astype(np.float64), CAFFE))
    assert x.dtype == np.float32 and x.min() < 0          # 0 - mean, no wrap-around
    assert preprocess(ints.astype(np.int64), CAFFE).dtype == np.float32
    assert preprocess(ints.astype(bool), CAFFE).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32])
def test_a_0_255_image_is_refused_never_rescaled(dtype):
    img = np.full((1, 3, 4, 4), 7, dtype)
    img[0, 0, 0, 0] = 255
    with pytest.raises(ValueError, match=r"images must be RGB in \[0, 1\], found values in "
                                         r"\[7, 255\]: divide a 0-255 image by 255"):
        preprocess(img, CAFFE)


def test_values_slightly_outside_are_rounding_clearly_outside_are_refused():
    img = np.full((3, 2, 2), 0.5)
    img[0, 0, 0], img[1, 0, 0] = 1 + 1e-4, -1e-4     # rounding (a resize, a blur)
    preprocess(img, CAFFE)
    img[2, 0, 0] = -0.5
    with pytest.raises(ValueError, match=r"RGB in \[0, 1\], found values in \[-0.5, 1.0001\]$"):
        preprocess(img, CAFFE)


def test_shape_and_recipe_errors(images):
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\), got shape \(2, 1, 5, 7\)"):
        preprocess(images[:, :1], CAFFE)
    with pytest.raises(ValueError, match="meta dict .* or a Net, got list"):
        preprocess(images, [1, 2])
    with pytest.raises(ValueError, match="unknown channel_order 'GBR'"):
        preprocess(images, {"preprocess": {"channel_order": "GBR"}})
