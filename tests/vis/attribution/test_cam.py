"""CAM, Grad-CAM, Guided Grad-CAM: the CAM = Grad-CAM identity, layers, errors, torch."""

import numpy as np
import pytest

from minicnn import models
from minicnn.gradcheck import rel_error
from minicnn.layers import Conv2d, Flatten, Linear, ReLU, Softmax
from minicnn.net import Net
from vis.attribution import guided_backprop
from vis.attribution.cam import cam, default_layer, gradcam, guided_gradcam
from vis.image import resize_maps


@pytest.fixture
def tiny64():
    return models.tiny(seed=3).astype(np.float64)


@pytest.mark.task("cam")
@pytest.mark.task("gradcam-weights")
def test_cam_equals_gradcam_up_to_a_positive_scale(tiny64, rng):
    """Selvaraju et al. 2017, Sec. 3: on GAP -> Linear, alpha = w / (h*w)."""
    x = rng.standard_normal((3, 3, 64, 64))
    c = cam(tiny64, x)
    g = gradcam(tiny64, x, layer="relu4_2", relu=False)
    assert c.layer == g.layer == "relu4_2" and np.array_equal(c.target, g.target)
    a, b = c.coarse.ravel(), g.coarse.ravel()
    assert np.corrcoef(a, b)[0, 1] > 0.9999
    ratio = a @ b / (b @ b)
    assert ratio > 0 and np.isclose(ratio, 8 * 8)              # Z = h*w
    relu = gradcam(tiny64, x)                                  # Eq. 2's ReLU
    assert np.allclose(relu.coarse * 64, np.maximum(c.coarse, 0))
    assert c.upsampled.shape == (3, 64, 64) and c.coarse.shape == (3, 8, 8)


@pytest.mark.task("cam")
def test_cam_is_the_class_score_averaged(tiny64, rng):
    """Zhou et al. 2016, Eq. 2: mean_{x,y} M_c = S_c - b_c."""
    tiny64["fc"].params["b"] = rng.standard_normal(8)
    x = rng.standard_normal((2, 3, 32, 48))
    c = cam(tiny64, x, target=[2, 5])
    scores = tiny64.forward(x)
    assert np.allclose(c.coarse.mean(axis=(1, 2)),
                       scores[[0, 1], [2, 5]] - tiny64["fc"].params["b"][[2, 5]])


@pytest.mark.task("cam")
def test_cam_accepts_a_trailing_softmax_and_refuses_other_heads(rng):
    tiny = models.tiny(seed=4)
    soft = Net(tiny.layers + [Softmax("prob")], tiny.meta)
    x = rng.standard_normal((1, 3, 32, 32)).astype(np.float32)
    assert np.array_equal(cam(soft, x).coarse, cam(tiny, x).coarse)
    flat = Net([Conv2d("conv", 3, 4, 3, padding=1, rng=rng), ReLU("relu"),
                Flatten("flatten"), Linear("fc", 4 * 8 * 8, 5, rng=rng)])
    with pytest.raises(ValueError, match="GlobalAvgPool -> Linear.*Grad-CAM"):
        cam(flat, x[:, :, :8, :8])
    r = gradcam(flat, x[:, :, :8, :8])                         # Grad-CAM works there
    assert r.layer == "relu" and r.coarse.shape == (1, 8, 8)
    with pytest.raises(ValueError, match="class index"):
        cam(tiny, x, ("relu4_2", 0))


def test_default_layer_is_the_relu_after_the_last_conv(rng):
    assert default_layer(models.tiny()) == "relu4_2"
    bare = Net([Conv2d("c1", 3, 2, 3, rng=rng), ReLU("r1"), Conv2d("c2", 2, 2, 3, rng=rng),
                Flatten("flatten"), Linear("fc", 2 * 4 * 4, 3, rng=rng)])
    assert default_layer(bare) == "c2"
    with pytest.raises(ValueError, match="no Conv2d"):
        default_layer(Net([Flatten("f"), Linear("fc", 4, 2)]))


@pytest.mark.task("gradcam-weights")
def test_gradcam_at_other_layers_and_errors(tiny64, rng):
    x = rng.standard_normal((2, 3, 64, 64))
    r = gradcam(tiny64, x, target=1, layer="relu2_2")
    assert r.coarse.shape == (2, 32, 32) and r.upsampled.shape == (2, 64, 64)
    assert (r.coarse >= 0).all() and list(r.target) == [1, 1]
    with pytest.raises(ValueError, match="conv-side layer"):
        gradcam(tiny64, x, layer="gap")
    with pytest.raises(KeyError, match="relu2_2"):
        gradcam(tiny64, x, layer="relu2_3")
    with pytest.raises(ValueError, match=r"0 \.\. 7"):
        gradcam(tiny64, x, target=8)


@pytest.mark.task("gradcam-weights")
def test_gradcam_of_a_unit(tiny64, rng):
    """Any differentiable activation works as y^c (Selvaraju et al., Sec. 3)."""
    x = rng.standard_normal((1, 3, 64, 64))
    r = gradcam(tiny64, x, target=("relu3_2", 7), layer="relu2_2")
    assert r.target[0][:2] == ("relu3_2", 7) and r.coarse.max() > 0


@pytest.mark.task("gradcam-weights")
def test_guided_gradcam_is_the_product(tiny64, rng):
    x = rng.standard_normal((2, 3, 64, 64))
    r = guided_gradcam(tiny64, x, target=[3, 4])
    gb = guided_backprop(tiny64, x, [3, 4])
    assert np.allclose(r.attribution, gb * r.gradcam.upsampled[:, None])
    assert r.attribution.shape == x.shape


def test_bilinear_upsampling_by_hand():
    m = np.array([[[0.0, 4.0]]])                               # (1, 1, 2)
    # output x in 0..3 samples the input at (x + 0.5) / 2 - 0.5, clamped to [0, 1]
    assert np.allclose(resize_maps(m, (1, 4)), [[[0, 1, 3, 4]]])
    assert np.allclose(resize_maps(np.ones((2, 3, 5)), (7, 11)), 1)


def test_bilinear_upsampling_matches_torch(rng):
    torch = pytest.importorskip("torch")
    m = rng.standard_normal((2, 7, 5))
    for size in [(14, 10), (64, 48), (3, 4), (7, 5)]:
        ref = torch.nn.functional.interpolate(torch.tensor(m)[:, None], size=size,
                                              mode="bilinear", align_corners=False)
        assert rel_error(resize_maps(m, size), ref[:, 0].numpy()) < 1e-12


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-5), (np.float32, 1e-4)])
def test_gradcam_matches_torch_on_vgg16(dtype, tol):
    """Torch Grad-CAM: a forward hook keeps relu5_3's output A, autograd gives dy_c/dA.
    (Float32: ReLU masks and pool switches shared, see tests/test_attribution.py.)"""
    torch = pytest.importorskip("torch")
    from tests.vis.attribution.test_attribution import vgg16_twin
    net = models.vgg16(seed=5).astype(dtype)
    x = np.random.default_rng(105).standard_normal((1, 3, 224, 224)).astype(dtype)
    model = vgg16_twin(net, x)
    kept = {}
    model[net.index("relu5_3")].register_forward_hook(lambda m, i, out: kept.update(A=out))
    scores = model(torch.tensor(x, requires_grad=True))
    A = kept["A"]
    dA, = torch.autograd.grad(scores[0, int(scores.argmax())], A)
    ref = torch.relu((dA.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1))
    got = gradcam(net, x)
    assert got.layer == "relu5_3" and got.target[0] == int(scores.argmax())
    assert rel_error(got.coarse, ref.detach().numpy()) < tol
