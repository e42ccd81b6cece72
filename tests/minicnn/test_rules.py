"""The three backward rules: hand-computed tables and the properties that tie them.

Simonyan et al. (2014, Sec. 4): gradient, deconvnet and guided backprop differ
only at ReLUs. So (a) on a net where every ReLU input and every upstream
gradient is positive the three agree exactly, and (b) with mixed signs they
differ exactly where the table in relu.py says.
"""

import numpy as np
import pytest

from minicnn.layers import RULES, Conv2d, Linear, MaxPool2d, ReLU
from minicnn.net import Net


@pytest.mark.task("relu-rules")
def test_relu_rule_table_by_hand():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    dout = np.array([1.0, -1.0, 5.0, 4.0, -3.0, 0.5])
    relu = ReLU("relu")
    relu.forward(x)
    #                       x:  -2    -1    0     1     2     3
    expected = {"gradient":  [0.0, 0.0, 0.0, 4.0, -3.0, 0.5],
                "deconvnet": [1.0, 0.0, 5.0, 4.0, 0.0, 0.5],
                "guided":    [0.0, 0.0, 0.0, 4.0, 0.0, 0.5]}
    for rule in RULES:
        assert np.array_equal(relu.backward(dout, rule), expected[rule]), rule


def test_unknown_rule_lists_the_three():
    relu = ReLU("relu")
    relu.forward(np.ones(3))
    with pytest.raises(ValueError, match="'gradient', 'deconvnet', 'guided'"):
        relu.backward(np.ones(3), "deconv")


def test_pool_and_conv_ignore_the_rule(rng):
    conv, pool = Conv2d("c", 2, 3, 3, padding=1, rng=rng), MaxPool2d("p", 2)
    x = rng.standard_normal((1, 2, 6, 4))
    d = rng.standard_normal((1, 3, 6, 4))
    conv.forward(x)
    pool.forward(x)
    dp = rng.standard_normal((1, 2, 3, 2))
    for rule in RULES:
        assert np.array_equal(conv.backward(d, rule), conv.backward(d))
        assert np.array_equal(pool.backward(dp, rule), pool.backward(dp))


def _small_net(rng, positive):
    """conv -> relu -> pool -> conv -> relu -> flatten -> linear."""
    from minicnn.layers import Flatten
    layers = [Conv2d("conv1", 2, 3, 3, padding=1, rng=rng), ReLU("relu1"), MaxPool2d("pool1", 2),
              Conv2d("conv2", 3, 4, 3, padding=1, rng=rng), ReLU("relu2"), Flatten("flatten"),
              Linear("fc", 4 * 3 * 2, 3, rng=rng)]
    net = Net(layers).astype(np.float64)
    if positive:   # positive weights and inputs: every ReLU input and every gradient > 0
        for layer in net.layers:
            for k in layer.params:
                layer.params[k] = np.abs(layer.params[k]) + 0.01
    return net


@pytest.mark.task("relu-rules")
def test_all_rules_agree_when_everything_is_positive(rng):
    net = _small_net(rng, positive=True)
    x = np.abs(rng.standard_normal((2, 2, 6, 4))) + 0.1
    scores = net.forward(x)
    for layer in ("relu1", "relu2"):
        assert (net.outputs[layer] > 0).all()
    g = {"fc": np.ones_like(scores)}
    grads = {rule: net.backward(g, rule) for rule in RULES}
    assert np.array_equal(grads["gradient"], grads["deconvnet"])
    assert np.array_equal(grads["gradient"], grads["guided"])


@pytest.mark.task("relu-rules")
def test_rules_differ_exactly_where_the_table_says(rng):
    """Check each ReLU of a mixed-sign net: its dx under each rule obeys the table."""
    net = _small_net(rng, positive=False)
    x = rng.standard_normal((2, 2, 6, 4))
    scores = net.forward(x)
    g = {"fc": rng.standard_normal(scores.shape)}
    for rule in RULES:
        # the signal arriving at relu2 is the same under every rule (only linear layers above)
        d_relu2_out = net.backward(g, rule, until="relu2")
        d_relu2_in = net.backward(g, rule, until="conv2")
        y = net.outputs["relu2"]
        table = {"gradient": d_relu2_out * (y > 0),
                 "deconvnet": d_relu2_out * (d_relu2_out > 0),
                 "guided": d_relu2_out * (y > 0) * (d_relu2_out > 0)}
        assert np.array_equal(d_relu2_in, table[rule])
    # and the three input gradients really are different on this net
    dx = {rule: net.backward(g, rule) for rule in RULES}
    assert not np.allclose(dx["gradient"], dx["deconvnet"])
    assert not np.allclose(dx["gradient"], dx["guided"])
    assert not np.allclose(dx["deconvnet"], dx["guided"])


@pytest.mark.task("relu-rules")
def test_guided_is_nonnegative_through_relus(rng):
    """Guided backprop (and deconvnet) send back only positive signal at every ReLU."""
    net = _small_net(rng, positive=False)
    scores = net.forward(rng.standard_normal((1, 2, 6, 4)))
    g = {"fc": rng.standard_normal(scores.shape)}
    for rule in ("guided", "deconvnet"):
        assert (net.backward(g, rule, until="conv1") >= 0).all()
    assert (net.backward(g, "gradient", until="conv1") < 0).any()
