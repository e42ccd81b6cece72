"""Net.forward / Net.backward: injections, until, repetition, errors, summary, RF."""

import numpy as np
import pytest

from minicnn import models
from minicnn.gradcheck import directional_check, rel_error
from minicnn.layers import Conv2d, Flatten, GlobalAvgPool, Linear, MaxPool2d, ReLU
from minicnn.net import Net, ReceptiveField


@pytest.fixture
def net():
    return models.tiny(num_classes=5, width=(4, 6, 8), seed=1).astype(np.float64)


@pytest.fixture
def x(rng):
    return rng.standard_normal((2, 3, 20, 28))


def test_whole_net_gradient_matches_finite_differences(net, x, rng):
    r = rng.standard_normal((2, 5))
    net.forward(x)
    dx = net.backward({"fc": r})

    def f(z):
        return float(np.sum(net.forward(z) * r))
    err, _, _ = directional_check(f, x.copy(), dx, seed=3)
    assert err < 1e-7


def test_injection_at_two_layers_is_the_sum_of_two_backwards(net, x, rng):
    net.forward(x)
    g1 = rng.standard_normal(net.outputs["fc"].shape)
    g2 = rng.standard_normal(net.outputs["relu2_2"].shape)
    both = net.backward({"fc": g1, "relu2_2": g2})
    separate = net.backward({"fc": g1}) + net.backward({"relu2_2": g2})
    assert rel_error(both, separate) < 1e-12


def test_until_returns_gradient_at_that_layer(net, x, rng):
    net.forward(x)
    g = rng.standard_normal(net.outputs["fc"].shape)
    d_conv = net.backward({"fc": g}, until="relu3_2")
    # By hand: fc backward then gap backward.
    W = net["fc"].params["W"]
    H, Wd = net.outputs["relu3_2"].shape[2:]
    expected = np.broadcast_to((g @ W)[:, :, None, None] / (H * Wd), d_conv.shape)
    assert rel_error(d_conv, expected) < 1e-12
    # The chain continues from there to the input.
    assert rel_error(net.backward({"relu3_2": d_conv}), net.backward({"fc": g})) < 1e-12


def test_repeated_backward_after_one_forward_is_identical(net, x, rng):
    net.forward(x)
    g = {"fc": rng.standard_normal((2, 5))}
    first = net.backward(g, "guided").copy()
    net.backward(g, "deconvnet")
    net.backward(g, "gradient", param_grads=True)
    assert np.array_equal(net.backward(g, "guided"), first)


def test_forward_until_stops_and_backward_respects_it(net, x):
    out = net.forward(x, until="pool1")
    assert list(net.outputs)[-1] == "pool1" and out.shape == (2, 4, 10, 14)
    with pytest.raises(KeyError, match="not run"):
        net.backward({"fc": np.ones((2, 5))})


def test_bad_inputs_give_clear_errors(net, x):
    with pytest.raises(RuntimeError, match="before forward"):
        models.tiny().backward({"fc": np.ones((1, 8))})
    with pytest.raises(ValueError, match=r"conv1_1.*\(N, 3, H, W\).*\(N, 1, 20, 28\)"):
        net.forward(x[:, :1])
    with pytest.raises(ValueError, match="expected input \\(N, C, H, W\\)"):
        net.forward(x[0])
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        net.forward(bad)
    net.forward(bad, check_finite=False)     # allowed on request
    net.forward(x)
    with pytest.raises(KeyError, match="conv1_1"):
        net.backward({"conv1_l": np.ones((2, 4, 20, 28))})
    with pytest.raises(KeyError, match="did you mean"):
        net.forward(x, until="relu3_3")
    with pytest.raises(ValueError, match="'gradient', 'deconvnet', 'guided'"):
        net.backward({"fc": np.ones((2, 5))}, rule="guided_backprop")
    with pytest.raises(ValueError, match="fc: gradient shape \\(2, 4\\)"):
        net.backward({"fc": np.ones((2, 4))})
    with pytest.raises(ValueError, match="before until"):
        net.backward({"conv1_1": np.ones((2, 4, 20, 28))}, until="fc")
    with pytest.raises(ValueError, match="duplicate layer names: a"):
        Net([ReLU("a"), ReLU("a")])


def test_summary_counts_parameters():
    vgg = models.vgg16()
    text = vgg.summary()
    assert "Total params: 138,357,544" in text           # the paper's count
    assert "conv5_3 (Conv2d)" in text and "(None, 512, 14, 14)" in text
    assert models.vgg19().num_params() == 143_667_240
    assert models.alexnet().num_params() == 61_100_840      # torchvision's count
    assert models.alexnet_caffe().num_params() == 60_965_224  # Caffe bvlc_alexnet


@pytest.mark.task("receptive-field")
def test_receptive_fields_of_vgg16():
    vgg = models.vgg16()
    # Known values: conv1_2 sees 5x5, pool1 6x6 with stride 2, conv5_3 196, pool5 212.
    assert vgg.receptive_field("conv1_1") == ((3, 3), (1, 1), (-1, -1))
    assert vgg.receptive_field("conv1_2").size == (5, 5)
    assert vgg.receptive_field("pool1")[:2] == ((6, 6), (2, 2))
    assert vgg.receptive_field("conv5_3")[:2] == ((196, 196), (16, 16))
    assert vgg.receptive_field("pool5")[:2] == ((212, 212), (32, 32))
    with pytest.raises(ValueError, match="whole input"):
        vgg.receptive_field("fc6")


@pytest.mark.task("receptive-field")
def test_receptive_field_box_is_exactly_what_the_unit_sees(rng):
    """Perturb the input pixel by pixel: a unit changes iff the pixel is in its box."""
    layers = [Conv2d("c1", 1, 2, (3, 2), stride=(1, 2), padding=(1, 0), rng=rng), ReLU("r1"),
              MaxPool2d("p1", 3, 2), Conv2d("c2", 2, 1, 2, padding=1, rng=rng)]
    net = Net(layers).astype(np.float64)
    for layer in layers:                      # positive weights: no unit goes dead
        for k in layer.params:
            layer.params[k] = np.abs(layer.params[k]) + 0.1
    H, W = 15, 17
    x = rng.permutation(H * W).reshape(1, 1, H, W).astype(np.float64)  # no pooling ties
    rf = net.receptive_field("c2")
    out = net.forward(x)
    i, j = 2, 1
    x0, y0, x1, y1 = rf.box(i, j)            # (x0, y0, x1, y1), like every box
    inside = np.zeros((H, W), bool)
    inside[max(y0, 0):y1, max(x0, 0):x1] = True
    dx = net.backward({"c2": np.eye(1, out[0, 0].size, out.shape[3] * i + j).reshape(out.shape)})
    assert not (dx[0, 0][~inside] != 0).any()     # nothing outside the box matters
    assert (dx[0, 0] != 0).any()


@pytest.mark.task("receptive-field")
def test_receptive_field_is_a_named_tuple_with_xy_boxes():
    rf = models.vgg16(seed=None).receptive_field("pool1")
    assert isinstance(rf, tuple) and rf._fields == ("size", "stride", "offset")
    assert rf == ReceptiveField(size=(6, 6), stride=(2, 2), offset=(-2, -2))
    # Non-square by hand: rows see 5 from -1 in steps of 2, columns 3 from 0 in steps of 4.
    rf = ReceptiveField(size=(5, 3), stride=(2, 4), offset=(-1, 0))
    assert rf.box(3, 1) == (4, 5, 7, 10)            # (x0, y0, x1, y1)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, bool])
def test_forward_refuses_integer_input_naming_the_dtype(net, dtype):
    x = np.ones((1, 3, 20, 28), dtype=dtype)
    name = np.dtype(dtype).name
    message = (rf"x has dtype {name}; the network computes in float32/float64: "
               r"convert it \(x\.astype\(np\.float32\)\)")
    with pytest.raises(ValueError, match=message):
        net.forward(x)
    assert net.forward(x.astype(np.float32)).shape == (1, 5)


def test_state_dict_round_trip_and_shape_error(rng):
    a, b = models.tiny(seed=1), models.tiny(seed=2)
    b.load_state_dict(a.state_dict())
    x = rng.standard_normal((1, 3, 64, 64)).astype(np.float32)
    assert np.array_equal(a.forward(x), b.forward(x))
    bad = dict(a.state_dict())
    bad["conv2_1.W"] = np.zeros((16, 8, 5, 5), np.float32)
    with pytest.raises(ValueError, match=r"conv2_1: parameter W has shape \(16, 8, 5, 5\).*\(16, 8, 3, 3\)"):
        b.load_state_dict(bad)
    with pytest.raises(KeyError, match="missing.*fc.W"):
        b.load_state_dict({k: v for k, v in a.state_dict().items() if k != "fc.W"})


def test_train_eval_switch_dropout(rng):
    vgg = models.alexnet()
    assert not any(layer.training for layer in vgg.layers)
    vgg.train()
    assert vgg["drop6"].training
    vgg.eval()
    assert not vgg["drop6"].training


def test_tiny_gap_net_shapes():
    t = models.tiny()
    assert isinstance(t["gap"], GlobalAvgPool) and isinstance(t["fc"], Linear)
    assert t.output_shapes()["relu4_2"] == (64, 8, 8)
    assert isinstance(models.vgg16()["flatten"], Flatten)


@pytest.mark.parametrize("rule", ["gradient", "deconvnet", "guided"])
def test_keep_holds_only_the_named_outputs_and_gives_the_same_input_gradient(net, x, rng, rule):
    g = {"fc": rng.standard_normal((2, 5)), "relu2_2": rng.standard_normal((2, 6, 10, 14))}
    net.forward(x)
    full = net.backward(g, rule)
    scores = net.forward(x, keep=["relu2_2", "conv1_2"])
    assert set(net.outputs) == {"relu2_2", "conv1_2", "fc"} and net.outputs["fc"] is scores
    assert net.shapes["conv1_1"] == (2, 4, 20, 28)      # every shape is still known
    assert all(layer.x is None for layer in net if isinstance(layer, Conv2d))
    assert np.array_equal(net.backward(g, rule), full)


def test_keep_refuses_unknown_layers_and_weight_gradients_without_input(net, x):
    with pytest.raises(KeyError, match="unknown layer in keep 'relu2_3'.*relu2_2"):
        net.forward(x, keep="relu2_3")
    net.forward(x, keep="relu2_2")
    with pytest.raises(RuntimeError, match="conv3_2: weight gradients need the input"):
        net.backward({"fc": np.ones((2, 5))}, param_grads=True)


@pytest.mark.parametrize("stride,pad,C,F", [(1, 1, 3, 5), (1, 1, 6, 2), (2, 1, 3, 4), (1, 0, 4, 4)])
def test_conv_in_chunks_equals_the_whole_batch(rng, monkeypatch, stride, pad, C, F):
    """CHUNK_BYTES so small that every image is its own chunk: the same numbers."""
    from minicnn.layers import conv_fast
    conv = Conv2d("c", C, F, 3, stride=stride, padding=pad, rng=rng, dtype=np.float64)
    x = rng.standard_normal((5, C, 9, 11))
    out = conv.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = conv.backward(dout)
    calls = []
    real = conv_fast._in_chunks
    monkeypatch.setattr(conv_fast, "CHUNK_BYTES", 1)
    monkeypatch.setattr("minicnn.layers.conv._in_chunks",
                        lambda f, a, *rest: calls.append(len(a)) or real(f, a, *rest))
    assert np.array_equal(conv.forward(x), out)
    assert np.array_equal(conv.backward(dout), dx)
    assert calls == [5, 5]


def test_backward_refuses_an_array_instead_of_a_dict(net, x):
    net.forward(x)
    with pytest.raises(TypeError, match="grads must be a dict .*'fc': g.*got ndarray"):
        net.backward(np.ones((2, 5)))
