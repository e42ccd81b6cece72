"""The gradient family: saliency, deconvnet, guided backprop, SmoothGrad, IG, targets.

Hand-computed cases on nets small enough to do on paper, properties (rules
agree on an all-positive net, completeness of integrated gradients), and, with
torch installed, saliency and guided backprop on VGG16 at 224 against autograd.
"""

import numpy as np
import pytest

from minicnn import models
from minicnn.gradcheck import rel_error
from minicnn.layers import Flatten, Linear, ReLU, Softmax
from minicnn.net import Net
from vis.targets import injection
from vis.attribution import (deconvnet, gradients, guided_backprop, integrated_gradients,
                             saliency, smoothgrad)


def linear_net(rng, C=3, H=4, W=5, K=6):
    net = Net([Flatten("flatten"), Linear("fc", C * H * W, K, rng=rng)]).astype(np.float64)
    net["fc"].params["b"] = rng.standard_normal(K)
    return net


@pytest.fixture
def tiny64():
    return models.tiny(seed=1).astype(np.float64)


@pytest.mark.task("saliency")
def test_saliency_of_a_linear_net_is_abs_weights_max_over_channels(rng):
    net = linear_net(rng)
    x = rng.standard_normal((2, 3, 4, 5))
    w = np.abs(net["fc"].params["W"][[4, 1]].reshape(2, 3, 4, 5))
    assert np.array_equal(saliency(net, x, target=[4, 1]), w.max(axis=1))
    assert np.allclose(saliency(net, x, target=[4, 1], grayscale=True), w.sum(axis=1))


@pytest.mark.task("saliency")
def test_saliency_default_target_is_the_top_class(rng):
    net = linear_net(rng)
    x = rng.standard_normal((3, 3, 4, 5))
    top = net.forward(x).argmax(axis=1)
    assert np.array_equal(saliency(net, x), saliency(net, x, target=top))


def hand_net():
    """x (2 pixels) -> fc1 (4 units) -> ReLU -> fc2 (2 classes), weights by hand."""
    net = Net([Flatten("flatten"), Linear("fc1", 2, 4), ReLU("relu"), Linear("fc2", 4, 2)])
    net.astype(np.float64)
    net["fc1"].params.update(W=np.array([[1.0, -1], [1, 1], [-1, 0], [0, 1]]), b=np.zeros(4))
    net["fc2"].params.update(W=np.array([[2.0, 1, 3, -1], [1, 1, 1, 1]]), b=np.zeros(2))
    return net


@pytest.mark.task("relu-rules")
def test_rules_by_hand():
    # x = (1, 2): relu input z = W1 x = (-1, 3, -1, 2); upstream dout = W2[0] = (2, 1, 3, -1)
    #   gradient:  dout * (z > 0)             = (0, 1, 0, -1) -> W1.T @ . = (1, 0)
    #   deconvnet: dout * (dout > 0)          = (2, 1, 3, 0)  -> W1.T @ . = (0, -1)
    #   guided:    dout * (z > 0) * (dout > 0) = (0, 1, 0, 0)  -> W1.T @ . = (1, 1)
    net = hand_net()
    x = np.array([1.0, 2.0]).reshape(1, 1, 1, 2)
    assert np.array_equal(gradients(net, x, 0).ravel(), [1, 0])
    assert np.array_equal(deconvnet(net, x, 0).ravel(), [0, -1])
    assert np.array_equal(guided_backprop(net, x, 0).ravel(), [1, 1])


def test_all_rules_coincide_when_everything_is_positive(rng):
    net = models.tiny(seed=2).astype(np.float64)
    for layer in net.layers:
        for k in layer.params:
            layer.params[k] = np.abs(layer.params[k]) + 0.01
    x = np.abs(rng.standard_normal((2, 3, 24, 32))) + 0.1
    g = gradients(net, x, 3)
    assert all(net[n].active.all() for n in net.layer_names if n.startswith("relu"))
    assert (g > 0).any() and np.array_equal(g, deconvnet(net, x, 3))
    assert np.array_equal(g, guided_backprop(net, x, 3))


def test_unit_projection_injects_the_activation_itself(tiny64, rng):
    """Zeiler & Fergus: keep one activation (its value), zero the rest of the layer."""
    x = rng.standard_normal((2, 3, 32, 32))
    got = deconvnet(tiny64, x, ("relu2_2", 5))
    a = tiny64.forward(x, until="relu2_2")
    g = np.zeros_like(a)
    for n in range(2):
        i, j = np.unravel_index(a[n, 5].argmax(), a[n, 5].shape)
        g[n, 5, i, j] = a[n, 5, i, j]
        assert a[n, 5, i, j] > 0
        one = deconvnet(tiny64, x[n:n + 1], ("relu2_2", 5, int(i), int(j)))
        assert np.array_equal(one[0], got[n])
    tiny64.forward(x, until="relu2_2")
    assert np.array_equal(got, tiny64.backward({"relu2_2": g}, "deconvnet"))


def test_score_is_taken_before_the_softmax(rng):
    net = linear_net(rng)
    soft = Net(net.layers + [Softmax("prob")])
    x = rng.standard_normal((2, 3, 4, 5))
    assert np.array_equal(gradients(soft, x, 2), gradients(net, x, 2))


def test_smoothgrad_seeded_and_degenerate_cases(tiny64, rng):
    x = rng.standard_normal((2, 3, 16, 16))
    a = smoothgrad(tiny64, x, 1, n=5, seed=7)
    assert np.array_equal(a, smoothgrad(tiny64, x, 1, n=5, seed=7))
    assert not np.allclose(a, smoothgrad(tiny64, x, 1, n=5, seed=8))
    assert np.allclose(a, smoothgrad(tiny64, x, 1, n=5, seed=7, batch_size=2), atol=1e-12)
    assert np.array_equal(smoothgrad(tiny64, x, 1, n=1, sigma=0.0), gradients(tiny64, x, 1))


def test_smoothgrad_of_a_linear_net_is_its_gradient(rng):
    net = linear_net(rng)
    x = rng.standard_normal((2, 3, 4, 5))
    assert np.allclose(smoothgrad(net, x, 3, n=7, sigma=0.5), gradients(net, x, 3))


def test_smoothgrad_keeps_the_clean_top_class(tiny64, rng):
    """The target is fixed on the clean input, even if noise changes the top class."""
    x = rng.standard_normal((1, 3, 16, 16))
    top = int(tiny64.forward(x).argmax())
    assert np.array_equal(smoothgrad(tiny64, x, None, n=4, sigma=2.0),
                          smoothgrad(tiny64, x, top, n=4, sigma=2.0))


def test_integrated_gradients_completeness(tiny64, rng):
    """sum(IG) -> S(x) - S(b) as the steps grow (biases set, so the net is not homogeneous)."""
    for layer in tiny64.layers:
        if "b" in layer.params:
            layer.params["b"] = 0.1 * rng.standard_normal(layer.params["b"].shape)
    x = rng.standard_normal((2, 3, 16, 16))
    coarse = integrated_gradients(tiny64, x, steps=4)
    fine = integrated_gradients(tiny64, x, steps=256, batch_size=128)
    assert np.array_equal(fine.target, tiny64.forward(x).argmax(axis=1))
    assert np.all(np.abs(fine.score_diff) > 0.1)
    rel = np.abs(fine.gap) / np.abs(fine.score_diff)
    assert rel.max() < 2e-3
    assert rel.max() < (np.abs(coarse.gap) / np.abs(coarse.score_diff)).max() / 10


def test_integrated_gradients_is_exact_on_a_bias_free_net_from_zero(tiny64, rng):
    """Without biases the net is positively homogeneous: S(a x) = a S(x), so the
    gradient is constant along the path from 0 and the midpoint rule is exact
    (the trapezoid rule would evaluate the degenerate gradient at x = 0)."""
    x = rng.standard_normal((2, 3, 16, 16))
    r = integrated_gradients(tiny64, x, steps=3)
    assert np.abs(r.gap).max() < 1e-10 * np.abs(r.score_diff).max()


def test_integrated_gradients_of_a_linear_net_is_exact(rng):
    net = linear_net(rng)
    x, b = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((3, 4, 5))
    r = integrated_gradients(net, x, 5, baseline=b, steps=3)
    w = net["fc"].params["W"][5].reshape(3, 4, 5)
    assert np.allclose(r.attribution, (x - b) * w)
    assert np.abs(r.gap).max() < 1e-12


def test_target_validation(tiny64, rng):
    x = rng.standard_normal((2, 3, 16, 16))
    with pytest.raises(ValueError, match=r"8 classes, 0 \.\. 7"):
        saliency(tiny64, x, 8)
    with pytest.raises(ValueError, match=r"0 \.\. 7"):
        saliency(tiny64, x, [0, -1])
    with pytest.raises(ValueError, match="2 class indices for a batch of 3"):
        saliency(tiny64, x[[0, 1, 0]], [0, 1])
    with pytest.raises(KeyError, match="relu2_2"):
        guided_backprop(tiny64, x, ("relu2_3", 0))
    with pytest.raises(ValueError, match=r"16 channels, 0 \.\. 15"):
        deconvnet(tiny64, x, ("relu2_2", 16))
    with pytest.raises(ValueError, match="outside"):
        deconvnet(tiny64, x, ("relu2_2", 0, 8, 0))
    with pytest.raises(ValueError, match="class index"):
        integrated_gradients(tiny64, x, ("relu2_2", 0))
    with pytest.raises(ValueError, match="unknown class 'cat'"):
        saliency(tiny64, x, "cat")
    with pytest.raises(ValueError, match="target must be"):
        saliency(tiny64, x, 2.5)


def test_class_names_and_top_units_as_targets(rng):
    """A class name is its index; a shared name is refused listing every index;
    ("layer", "top") is each sample's most active channel at its peak."""
    net = models.tiny(width=(4, 8), class_names=["a", "b", "crane", "crane"] + ["e"] * 0
                      + ["f", "g", "h", "i"])
    x = rng.standard_normal((2, 3, 16, 16))
    np.testing.assert_array_equal(gradients(net, x, "b"), gradients(net, x, 1))
    np.testing.assert_array_equal(gradients(net, x, ["g", 0]), gradients(net, x, [5, 0]))
    with pytest.raises(ValueError, match="ambiguous.*2, 3"):
        saliency(net, x, "Crane")
    out = net.forward(x, until="relu2_2")
    _, used = injection(net, x, ("relu2_2", "top"))
    for n, (layer, k, i, j) in enumerate(used):
        assert out[n, k, i, j] == out[n].max()
    np.testing.assert_array_equal(gradients(net, x[:1], ("relu2_2", "top")),
                                  gradients(net, x[:1], ("relu2_2",) + used[0][1:]))


# Float32 and kinks (tests/test_torch_oracle.py): a ReLU input within rounding
# of 0, or two max-pool inputs within rounding of each other, can fall either
# way in two correct float32 implementations and change a whole subtree of the
# gradient (input seed 105 has such a pool tie in float32). So in float32 we
# first check that the ReLU patterns and pool switches differ only at such
# ties, then give torch minicnn's. Float64 needs neither and is the real test.
ORACLE_TOLERANCE = {"float64": (np.float64, 1e-5), "float32": (np.float32, 1e-4)}


def vgg16_twin(net, x):
    """Torch copy of ``net``; in float32 it shares minicnn's ReLU masks and pool switches."""
    from tests.torch_twin import shared_twin
    net.forward(x)
    return shared_twin(net, x)


@pytest.fixture(scope="module", params=sorted(ORACLE_TOLERANCE))
def vgg_reference(request):
    """VGG16 (random weights, 224x224) and torch's input gradients of its top class."""
    torch = pytest.importorskip("torch")
    from tests.torch_twin import set_rule
    dtype, tol = ORACLE_TOLERANCE[request.param]
    net = models.vgg16(seed=5).astype(dtype)
    x = np.random.default_rng(105).standard_normal((1, 3, 224, 224)).astype(dtype)
    model, ref = vgg16_twin(net, x), {}
    for rule in ("gradient", "guided"):                  # hooks added for the second pass
        xt = torch.tensor(x, requires_grad=True)
        scores = set_rule(model, rule)(xt)
        c = int(scores.argmax())
        scores[0, c].backward()
        ref[rule] = xt.grad.numpy()
    return net, x, c, ref, tol


def test_saliency_matches_torch_autograd(vgg_reference):
    net, x, c, ref, tol = vgg_reference
    assert rel_error(saliency(net, x), np.abs(ref["gradient"]).max(axis=1)) < tol


def test_guided_backprop_matches_torch_relu_hooks(vgg_reference):
    net, x, c, ref, tol = vgg_reference
    assert rel_error(guided_backprop(net, x, c), ref["guided"]) < tol
