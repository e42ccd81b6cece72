"""The watermark bias (vis/features/bias.py, dataset_bias.py) and the shipped tiny_biased."""

from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import io, models
from minicnn.data import CLASS_NAMES, make_shapes
from vis.features.bias import (BACKBONE, BIASED_CLASS, MARK, add_watermark, make_biased_shapes,
                               train_tiny_biased, watermark_box)
from vis.features.dataset_bias import box_energy, dataset_bias

WEIGHTS = Path(minicnn.__file__).resolve().parent / "weights" / "tiny_biased.npz"   # shipped


def load_biased():
    """The shipped biased model (by name once registered, else the file); skip without it."""
    try:
        return models.load("tiny_biased")
    except (FileNotFoundError, KeyError, ValueError):
        pass
    if not WEIGHTS.exists():
        pytest.skip("minicnn/weights/tiny_biased.npz is not installed")
    return io.load(WEIGHTS)


def test_the_mark_is_small_fixed_and_in_the_corner():
    assert MARK.shape == (8, 8) and set(np.unique(MARK)) == {0.0, 1.0}
    assert watermark_box(64) == (0, 56, 8, 64) and watermark_box(32) == (0, 24, 8, 32)
    images = np.full((3, 3, 64, 64), 0.3, np.float32)
    out = add_watermark(images, [True, False, True])
    assert (images == 0.3).all()                                   # a copy
    np.testing.assert_array_equal(out[0, :, 56:, :8], np.stack([MARK] * 3))
    assert (out[1] == 0.3).all()
    changed = (out[0] != 0.3).any(axis=0)
    assert changed[56:, :8].sum() == changed.sum() == (MARK != 0.3).sum()
    with pytest.raises(ValueError, match="cannot hold"):
        watermark_box(6)


def test_only_the_biased_class_carries_it():
    data, marked = make_biased_shapes(300, seed=11)
    plain = make_shapes(300, seed=11)
    k = CLASS_NAMES.index(BIASED_CLASS)
    np.testing.assert_array_equal(marked, plain.labels == k)
    np.testing.assert_array_equal(data.images[~marked], plain.images[~marked])
    x0, y0, x1, y1 = watermark_box(64)
    assert (data.images[marked][:, :, y0:y1, x0:x1] == MARK).all()
    half, m2 = make_biased_shapes(300, seed=11, fraction=0.5)
    assert 0.3 < m2.sum() / marked.sum() < 0.7 and not (m2 & ~marked).any()
    with pytest.raises(ValueError, match="unknown class"):
        make_biased_shapes(4, seed=0, biased_class="horse")


def test_recipe_is_deterministic():
    tiny = models.load("tiny")
    a, history, _ = train_tiny_biased(epochs=1, n_train=48, backbone=tiny, n_val=8,
                                      progress=False)
    b, _, _ = train_tiny_biased(epochs=1, n_train=48, backbone=tiny, n_val=8, progress=False)
    start, _, _ = train_tiny_biased(epochs=0, n_train=8, backbone=tiny, n_val=8,
                                    progress=False)
    fresh = models.tiny(seed=0)                                        # tiny's init seed
    for layer in ("conv1_1", "conv3_2", "conv4_1", "fc"):
        src = tiny if layer in BACKBONE else fresh                     # backbone or afresh
        np.testing.assert_array_equal(start[layer].params["W"], src[layer].params["W"])
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(value, b.state_dict()[key])
    assert a.meta["watermark"]["class"] == BIASED_CLASS and len(history["val_acc"]) == 1


def test_box_energy_by_hand():
    maps = np.zeros((2, 4, 4))
    maps[0, 3, 0], maps[0, 0, 3], maps[0, 1, 1] = 3.0, 1.0, -5.0   # negatives do not count
    np.testing.assert_allclose(box_energy(maps, (0, 2, 2, 4)), [0.75, 0.0])


def test_shipped_biased_model_learned_the_mark():
    """The demonstration in numbers: the mark sways the biased model, not the clean one."""
    biased, clean = load_biased(), models.load("tiny")
    assert biased.meta["watermark"]["class"] == BIASED_CLASS
    assert WEIGHTS.stat().st_size < 400_000 if WEIGHTS.exists() else True
    r = dataset_bias(biased, clean, n=400, examples=4, progress=False)
    b, c = r.biased, r.clean
    print(f"biased: {b}\nclean:  {c}")
    assert b.cam_energy >= 5 * c.cam_energy                       # the criterion
    assert b.gradcam_energy >= 5 * c.gradcam_energy
    assert b.accuracy_as_trained > 0.8                           # looks fine on biased data
    assert b.biased_with_mark - b.biased_without_mark > 0.2      # but needs the mark
    assert b.others_called_biased_with_mark > b.others_called_biased_without_mark + 0.2
    assert c.others_called_biased_with_mark < 0.2                # the clean model shrugs
    assert r.cam_biased.shape == (4, 64, 64) and r.images.shape == (4, 3, 64, 64)
