"""The shipped embedded model: loads safely and classifies fresh shapes."""

import numpy as np

from minicnn import models, tiny
from minicnn.data import CLASS_NAMES


def test_shipped_tiny_accuracy_on_fresh_shapes():
    net = models.load("tiny")
    assert net.meta["class_names"] == list(CLASS_NAMES)
    assert net.meta["source"]["recipe"]["train_seed"] != tiny.TEST_SEED
    acc = tiny.test_accuracy(net)            # 2,000 images from a seed never trained on
    assert acc >= 0.97


def test_shipped_tiny_is_small_and_ends_in_gap_linear():
    from pathlib import Path
    from minicnn.io import weights_dir
    assert (Path(weights_dir()) / "tiny.npz").stat().st_size < 1_000_000
    net = models.load("tiny")
    assert [type(layer).__name__ for layer in net.layers[-2:]] == ["GlobalAvgPool", "Linear"]
    assert net.num_params() < 200_000
    assert all(np.isfinite(v).all() for v in net.state_dict().values())
