"""Per-step transforms on hand-made arrays; the blur against SciPy; jitter undone."""

import numpy as np
import pytest
from scipy import ndimage

from vis import transforms as T


def info(i=0, grad=None, seed=0):
    return T.StepInfo(i, np.random.default_rng(seed), grad)


def test_decay_scales_toward_zero():
    x = np.arange(8.0).reshape(1, 2, 2, 2)
    assert np.allclose(T.decay(0.3).after(x, info()), 0.7 * x)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.5])
def test_gaussian_blur_equals_scipy(sigma):
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 7))
    expected = ndimage.gaussian_filter(x, (0, 0, sigma, sigma))
    assert np.abs(T.gaussian_blur(x, sigma) - expected).max() < 1e-12
    assert T.gaussian_blur(x.astype(np.float32), sigma).dtype == np.float32


def test_blur_every_k_steps_only():
    x = np.random.default_rng(1).standard_normal((1, 3, 6, 6))
    t = T.blur_every(4, 1.0)
    blurred = [not np.array_equal(t.after(x, info(i)), x) for i in range(9)]
    assert blurred == [True, False, False, False, True, False, False, False, True]


def test_clip_small_norm_zeroes_the_weakest_pixels():
    # pixel norms over the 2 channels: (0,0) 5, (0,1) 1, (1,0) 2, (1,1) 10
    x = np.array([[[[3.0, 1], [0, 6]], [[4, 0], [2, 8]]]])
    out = T.clip_small_norm(50).after(x, info())
    assert np.array_equal(out[0, :, 0, 1], [0, 0]) and np.array_equal(out[0, :, 1, 0], [0, 0])
    assert np.array_equal(out[0, :, 0, 0], x[0, :, 0, 0])
    assert np.array_equal(out[0, :, 1, 1], x[0, :, 1, 1])


def test_clip_small_contribution_uses_x_times_gradient():
    x = np.ones((1, 2, 1, 4))
    g = np.array([[[[4.0, -1, 0.5, -3]], [[0, 0, 0, 0]]]])   # |sum_c x g| = 4, 1, 0.5, 3
    out = T.clip_small_contribution(50).after(x, info(grad=g))
    assert np.array_equal(out[0, 0, 0], [1, 0, 0, 1])


def test_percentiles_are_per_image():
    x = np.stack([np.full((1, 2, 2), 1.0), np.full((1, 2, 2), 100.0)])
    x[:, 0, 0, 0] = [0.5, 50.0]
    out = T.clip_small_norm(20).after(x, info())
    assert (out[:, 0, 0, 0] == 0).all() and (out[:, 0, 1, 1] > 0).all()


def test_project_norm():
    x = np.random.default_rng(2).standard_normal((3, 3, 4, 5))
    out = T.project_norm(7.0).after(x, info())
    assert np.allclose(np.sqrt((out ** 2).sum(axis=(1, 2, 3))), 7.0)


def test_jitter_shifts_what_the_net_sees_and_is_exactly_undone():
    x = np.random.default_rng(3).standard_normal((2, 3, 10, 12))
    t = T.jitter(4)
    seen = t.before(x, info(seed=5))
    dy, dx = np.random.default_rng(5).integers(-4, 5, size=2)
    assert np.array_equal(seen, np.roll(x, (dy, dx), axis=(2, 3)))
    assert np.array_equal(t.back(seen, info(seed=5)), x)


def test_jitter_step_equals_mordvintsevs_roll_step_unroll():
    """x_r = roll(x); x_r += s g_r / mean|g_r|; x = unroll(x_r) (make_step) is our step."""
    rng = np.random.default_rng(4)
    x, g_r = rng.standard_normal((2, 1, 3, 8, 8))
    t = T.jitter(3)
    t.before(x, info(seed=1))
    g = t.back(g_r, info(seed=1))
    ours = x + 1.5 * g / np.abs(g).mean()
    dy, dx = np.random.default_rng(1).integers(-3, 4, size=2)
    x_r = np.roll(x, (dy, dx), axis=(2, 3)) + 1.5 * g_r / np.abs(g_r).mean()
    assert np.allclose(ours, np.roll(x_r, (-dy, -dx), axis=(2, 3)), rtol=0, atol=1e-12)


def test_yosinski_table_1_rows():
    rows = [tuple(r.values()) for r in T.YOSINSKI_2015_TABLE_1]
    assert rows == [(0, 0.5, 4, 50, 0), (0.3, 0, 0, 20, 0), (0.0001, 1.0, 4, 0, 0),
                    (0, 0.5, 4, 0, 90)]
    names = [[t.name for t in T.yosinski(r)] for r in T.YOSINSKI_2015_TABLE_1]
    assert names == [["blur 0.5 every 4", "clip norm < 50%"], ["decay 0.3", "clip norm < 20%"],
                     ["decay 0.0001", "blur 1 every 4"],
                     ["blur 0.5 every 4", "clip contribution < 90%"]]


def test_octaves_round_like_scipy_zoom():
    sizes, shape = [], (224, 200)
    for _ in range(3):
        sizes.append(shape)
        shape = ndimage.zoom(np.zeros(shape), 1 / 1.4, order=1).shape
    sizes.append(shape)
    assert T.octave_sizes((224, 200), 4, 1.4) == sizes[::-1]


def test_zoom_keeps_a_constant_image_and_the_dtype():
    x = np.full((1, 3, 5, 7), 2.5, np.float32)
    out = T.zoom(x, (9, 4))
    assert out.shape == (1, 3, 9, 4) and out.dtype == np.float32 and np.allclose(out, 2.5)
