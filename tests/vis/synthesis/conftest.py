"""Real weights and real images for the synthesis tests (skipped without vgg16_hed)."""

import warnings

import matplotlib.cbook as cbook
import pytest

from minicnn import models
from minicnn.preprocessing import preprocess
from vis.image import load_image


@pytest.fixture(scope="session")
def hed():
    try:
        return models.load("vgg16_hed")
    except Exception as e:                  # not installed (the error family may change)
        pytest.skip(f"vgg16_hed weights not installed: {e}")


def sample(net, name, size):
    """A matplotlib sample image, fitted to size x size and preprocessed for ``net``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)        # RGBA -> RGB
        image = load_image(cbook.get_sample_data(name, asfileobj=False), size=size)
    return preprocess(image[None], net)


@pytest.fixture(scope="session")
def images64(hed):
    """(content, style): grace_hopper.jpg and Minduka_Present_Blue_Pack.png at 64 px."""
    return (sample(hed, "grace_hopper.jpg", 64),
            sample(hed, "Minduka_Present_Blue_Pack.png", 64))
