"""Objectives: every gradient against central differences, hand-computed Gram and
content normalisations, the algebra, bad input, and (with torch) content, style
and TV against PyTorch autograd on VGG16 with random weights."""

import numpy as np
import pytest

from minicnn import models
from minicnn.gradcheck import numerical_gradient, rel_error
from vis import objectives as O
from vis.optimize import evaluate


@pytest.fixture(scope="module")
def small():
    """A two-block VGG-like net in float64, with a GAP -> Linear head."""
    net = models.tiny(width=(4, 6), seed=3, num_classes=5).astype(np.float64)
    rng = np.random.default_rng(4)
    for layer in net.layers:                         # biases away from zero
        if "b" in layer.params:
            layer.params["b"] = rng.uniform(-0.2, 0.2, layer.params["b"].shape)
    return net


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(5).standard_normal((2, 3, 10, 8))   # non-square


def check(net, objective, x, tol=1e-6):
    """Relative error between the analytic input gradient and central differences."""
    layers = objective.layers(net)
    until = max(layers, key=net.index) if layers else None

    def f(z):
        if until:
            net.forward(z, until=until)
        return float(np.sum(objective(net, z).value))

    _, g = evaluate(net, objective, x.copy())
    err = rel_error(g, numerical_gradient(f, x.copy(), h=1e-5))
    assert err < tol, err
    return g


def targets(net, x, layers, normalize):
    other = np.random.default_rng(9).standard_normal(x.shape)
    net.forward(other)
    return [O.gram_matrix(net.outputs[name], normalize)[0] for name in layers]


@pytest.mark.parametrize("make", [
    lambda net, x: O.class_score([1, 3]),
    lambda net, x: O.class_probability(2),
    lambda net, x: O.channel("relu2_1", [0, 4]),
    lambda net, x: O.neuron("conv2_2", 1),
    lambda net, x: O.neuron("conv1_1", [2, 3], 1, 6),
    lambda net, x: O.deepdream("relu1_2"),
    lambda net, x: O.l2(),
    lambda net, x: O.alpha_norm(6),
    pytest.param(lambda net, x: O.total_variation(2), id="tv2",
                 marks=pytest.mark.task("total-variation")),
    pytest.param(lambda net, x: O.total_variation(1.5), id="tv1.5",
                 marks=pytest.mark.task("total-variation")),
], ids=["score", "log-p", "channel", "neuron", "neuron-ij", "dream", "l2", "alpha6", "tv2",
        "tv1.5"])
def test_gradient_matches_central_differences(small, x, make):
    g = check(small, make(small, x), x)
    assert np.abs(g).max() > 0


@pytest.mark.parametrize("normalize", list(O.CONTENT_NORMALIZATIONS))
def test_content_gradient(small, x, normalize):
    P = small.forward(np.random.default_rng(7).standard_normal(x.shape), until="relu2_2")
    check(small, O.content("relu2_2", P.copy(), normalize), x)      # one target per image
    check(small, O.content("relu1_2", small.forward(x[:1], until="relu1_2") * 0.5, normalize), x)


@pytest.mark.task("gram-style")
@pytest.mark.parametrize("normalize", list(O.STYLE_NORMALIZATIONS))
def test_style_gradient(small, x, normalize):
    layers = ["relu1_1", "pool1", "relu2_2"]
    check(small, O.style(layers, targets(small, x, layers, normalize), [0.5, 2, 1], normalize), x)


def test_a_weighted_sum_has_the_weighted_gradient_and_keeps_each_term(small, x):
    P = small.forward(x * 0.3, until="relu2_2").copy()
    a, b, c = O.class_score(0), O.content("relu2_2", P), O.total_variation()
    objective = a - 0.1 * b + 2 * c / 4
    check(small, objective, x)
    small.forward(x)
    ev = objective(small, x)
    parts = {k: ev.terms[k] for k in ("score", "content relu2_2", "tv")}
    expected = parts["score"] - 0.1 * parts["content relu2_2"] + 0.5 * parts["tv"]
    assert np.allclose(ev.value, expected)
    assert np.allclose((-a)(small, x).value, -parts["score"])
    assert sum([a, c])(small, x).terms.keys() == {"score", "tv"}
    lam = O.l2(0.5)(small, x)
    assert np.allclose(lam.value, 0.5 * lam.terms["l2"])
    assert np.allclose(lam.terms["l2"], (x ** 2).sum((1, 2, 3)))


@pytest.mark.task("gram-style")
def test_style_records_the_sum_and_each_layer(small, x):
    layers = ["relu1_1", "relu2_2"]
    s = O.style(layers, targets(small, x, layers, "gatys"), [0.25, 4.0])
    small.forward(x)
    t = (1e3 * s)(small, x).terms
    assert set(t) == {"style", "style relu1_1", "style relu2_2"}
    assert np.allclose(t["style"], 0.25 * t["style relu1_1"] + 4 * t["style relu2_2"])


def test_two_terms_of_one_name_are_both_kept(small, x):
    small.forward(x)
    t = (O.class_score(0) + O.class_score(1))(small, x).terms
    assert set(t) == {"score", "score #2"} and not np.allclose(t["score"], t["score #2"])


@pytest.mark.task("gram-style")
def test_gram_matrix_and_style_normalisations_by_hand():
    # F: C = 2 channels of 2x2 (M = 4): rows (1, 2, 3, 4) and (0, 1, 1, 0).
    F = np.array([[[[1.0, 2], [3, 4]], [[0, 1], [1, 0]]]])
    FFt = np.array([[30.0, 5], [5, 2]])                 # sum of squares 954
    expected_gram = {"gatys": FFt, "gatys-code": FFt / 4, "pytorch": FFt / 8, "cs231n": FFt / 8}
    # E against a zero target: sum(G^2) / loss divisor
    expected_E = {"gatys": 954 / (4 * 4 * 16), "gatys-code": 954 / 16 / 4,
                  "pytorch": 954 / 64 / 4, "cs231n": 954 / 64}
    for name in O.STYLE_NORMALIZATIONS:
        assert np.allclose(O.gram_matrix(F, name)[0], expected_gram[name]), name
        value, _ = O.style(["l"], [np.zeros((2, 2))], normalize=name).parts[0][1].fn(F)
        assert np.isclose(value[0], expected_E[name]), name


def test_content_normalisations_by_hand():
    F = np.array([1.0, 2, 3]).reshape(1, 3, 1, 1)
    P = np.array([1.0, 0, 1]).reshape(3, 1, 1)           # D = (0, 2, 2), sum D^2 = 8
    expected = {"gatys": 4.0, "sum": 8.0, "mse": 8 / 3, "mahendran": 8 / 2}
    for name, value in expected.items():
        assert np.isclose(O.content("l", P, name).fn(F)[0][0], value), name


@pytest.mark.task("total-variation")
def test_tv_and_alpha_by_hand():
    x = np.array([[0.0, 1], [3, 1]]).reshape(1, 1, 2, 2)
    # pixel (0,0): dh 1, dv 3 -> 10; (0,1): dv 0 -> 0; (1,0): dh -2 -> 4; (1,1): 0
    assert O.total_variation(2).fn(x)[0][0] == 14
    assert np.isclose(O.total_variation(1).fn(x)[0][0], np.sqrt(10) + 2)
    assert O.alpha_norm(6).fn(x)[0][0] == 1 + 729 + 1


def test_log_probability_is_the_log_softmax(small, x):
    S = small.forward(x)
    value, _ = O.class_probability(2).fn(S)
    p = np.exp(S - S.max(1, keepdims=True))
    assert np.allclose(value, np.log(p[:, 2] / p.sum(1)))


def test_bad_input(small, x):
    small.forward(x)
    with pytest.raises(KeyError, match="gatys, gatys-code, pytorch, cs231n"):
        O.style(["relu1_1"], [np.eye(4)], normalize="gram")
    with pytest.raises(KeyError, match="gatys, mahendran, mse, sum"):
        O.content("relu1_1", x, "l1")
    with pytest.raises(ValueError, match="relu2_2: target of shape"):
        O.content("relu2_2", np.zeros((6, 3, 3)))(small, x)
    with pytest.raises(ValueError, match="class index 7 out of range"):
        O.class_score(7)(small, x)
    with pytest.raises(ValueError, match="channel .* out of range"):
        O.channel("relu1_1", 9)(small, x)
    with pytest.raises(KeyError, match="conv9_9"):
        O.deepdream("conv9_9").layers(small)
    with pytest.raises(ValueError, match="2 layers, 1 targets"):
        O.style(["relu1_1", "pool1"], [np.eye(4)])
    small.forward(x, until="relu1_1")
    with pytest.raises(KeyError, match="did not reach"):
        O.deepdream("relu2_2")(small, x)


def test_content_style_tv_equal_pytorch_autograd_on_vgg16():
    torch = pytest.importorskip("torch")
    from tests.torch_twin import twin
    net = models.vgg16(include_top=False, seed=0).astype(np.float64)
    rng = np.random.default_rng(0)
    x, other = rng.standard_normal((2, 1, 3, 32, 48))
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    upto = net.index("relu5_1") + 1
    model = twin(net)[:upto]
    net.forward(other)
    P = net.outputs["relu4_2"].copy()
    feats = {n: net.outputs[n].copy() for n in layers}

    def torch_terms(xt, normalize, cnorm):
        outs, h = {}, xt
        for i, m in enumerate(model):
            h = m(h)
            outs[net.layers[i].name] = h
        D = outs["relu4_2"] - torch.tensor(P)
        c = {"gatys": 0.5 * (D ** 2).sum(), "sum": (D ** 2).sum(), "mse": (D ** 2).mean(),
             "mahendran": (D ** 2).sum() / (torch.tensor(P) ** 2).sum()}[cnorm]
        s = 0
        for n in layers:
            _, gdiv, ldiv = O.STYLE_NORMALIZATIONS[normalize]
            F, T = outs[n].flatten(2)[0], torch.tensor(feats[n]).flatten(2)[0]
            C, M = F.shape
            G, A = F @ F.T / gdiv(C, M), T @ T.T / gdiv(C, M)
            s = s + ((G - A) ** 2).sum() / ldiv(C, M) / 5
        dh = xt[..., :, 1:] - xt[..., :, :-1]
        dv = xt[..., 1:, :] - xt[..., :-1, :]
        return c, s, (dh ** 2).sum() + (dv ** 2).sum()

    for normalize, cnorm in [("gatys", "gatys"), ("gatys-code", "mse"),
                             ("pytorch", "mahendran"), ("cs231n", "sum")]:
        A = [O.gram_matrix(feats[n], normalize)[0] for n in layers]
        xt = torch.tensor(x, requires_grad=True)
        refs = torch_terms(xt, normalize, cnorm)
        w = [1 / r.item() for r in refs]                 # all three terms count alike
        (w[0] * refs[0] + w[1] * refs[1] + w[2] * refs[2]).backward()
        objective = (w[0] * O.content("relu4_2", P, cnorm)
                     + w[1] * O.style(layers, A, None, normalize) + w[2] * O.total_variation(2))
        ev, g = evaluate(net, objective, x.copy())
        for name, ref in zip(["content relu4_2", "style", "tv"], refs):
            assert rel_error(ev.terms[name], ref.item()) < 1e-8, (normalize, name)
        assert rel_error(g, xt.grad.numpy()) < 1e-8, normalize
