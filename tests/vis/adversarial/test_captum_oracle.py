"""FGSM and L-inf PGD against Captum on PyTorch twins, in float64.

Captum works in its model's input space with scalar bounds; the twin here
takes RGB pixels in [0, 1] and applies the net's preprocessing itself, so
Captum's epsilon, step and bounds are the same pixel units as ours. Captum's
``FGSM`` leaves values with ``|g| <= 1e-6`` unmoved; its ``zero_thresh`` is set
to 0 to match ``sign(0) = 0``. The VGG16 twin is its conv trunk (13 convs,
5 pools) on 32x32 inputs with a GAP + Linear head and Caffe's BGR/255
preprocessing, random weights; tiny is the shipped model, attacked on test
shapes (on noise its logits lie hundreds apart and autograd's softmax
gradient loses a term: the last test).
"""

import numpy as np
import pytest

from minicnn import models
from minicnn.data import make_shapes
from minicnn.layers import GlobalAvgPool, Linear
from minicnn.models import CAFFE_BGR
from minicnn.net import Net
from minicnn.tiny import TEST_SEED
from vis.adversarial.fast_gradient import fgsm
from vis.adversarial.iterative import pgd

from .conftest import images_for, prep

torch = pytest.importorskip("torch")
robust = pytest.importorskip("captum.robust")


def _vgg16_trunk():
    trunk = models.vgg16(include_top=False, seed=0)
    rng = np.random.default_rng(1)
    net = Net(trunk.layers + [GlobalAvgPool("gap"), Linear("fc", 512, 10, rng=rng)],
              {"arch": "vgg16-trunk", "input_size": [32, 32], "in_channels": 3,
               "preprocess": dict(CAFFE_BGR), "class_names": None})
    return net.astype(np.float64)


def _tiny():
    return models.load("tiny").astype(np.float64)


def _inputs(net, n, seed):
    """(RGB images, x): test shapes for tiny, uniform noise for the VGG16 trunk."""
    if net.meta["arch"] == "tiny":
        img = make_shapes(n + seed, seed=TEST_SEED).images[seed:].astype(np.float64)
        return img, prep(img, net.meta)
    return images_for(net, n, seed=seed)


def _pixel_twin(net):
    from tests.torch_twin import twin
    pre = net.meta["preprocess"]
    mean = torch.tensor(pre["mean"], dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(pre["std"], dtype=torch.float64).view(1, 3, 1, 1)
    bgr = pre.get("channel_order", "RGB").upper() == "BGR"
    body = twin(net, torch.float64)

    class Pixels(torch.nn.Module):
        def forward(self, img):
            img = img.flip(1) if bgr else img
            return body((img * pre["scale"] - mean) / std)
    return Pixels().eval()


def _loss(out, y):
    return torch.nn.functional.cross_entropy(out, y, reduction="none")


@pytest.mark.parametrize("make", [_tiny, _vgg16_trunk], ids=["tiny", "vgg16"])
@pytest.mark.parametrize("targeted", [False, True])
def test_fgsm_equals_captum(make, targeted):
    net = make()
    img, x = _inputs(net, 2, seed=2)
    y = np.array([1, 6])
    ours = fgsm(net, x, y, 3 / 255, targeted=targeted)
    attack = robust.FGSM(_pixel_twin(net), _loss, lower_bound=0.0, upper_bound=1.0)
    attack.zero_thresh = 0.0
    theirs = attack.perturb(torch.tensor(img, requires_grad=True), 3 / 255, torch.tensor(y),
                            targeted=targeted)
    assert np.allclose(ours.image, theirs.detach().numpy(), atol=1e-10, rtol=0)
    assert np.abs(ours.delta).max() > 0


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
@pytest.mark.parametrize("make", [_tiny, _vgg16_trunk], ids=["tiny", "vgg16"])
def test_linf_pgd_equals_captum(make):
    net = make()
    img, x = _inputs(net, 2, seed=4)
    y = np.array([3, 5])
    ours = pgd(net, x, y, 6 / 255, step=2 / 255, steps=3)
    attack = robust.PGD(_pixel_twin(net), _loss, lower_bound=0.0, upper_bound=1.0)
    attack.fgsm.zero_thresh = 0.0
    theirs = attack.perturb(torch.tensor(img), radius=6 / 255, step_size=2 / 255,
                            step_num=3, target=torch.tensor(y), norm="Linf")
    assert np.allclose(ours.image, theirs.detach().numpy(), atol=1e-10, rtol=0)


def test_saturated_softmax_keeps_the_exact_direction():
    """On the shipped tiny, noise images get logits hundreds apart: p_y is 1.0 in
    float64, so autograd's ``p - onehot(y)`` drops the ``-(1 - p_y) dS_y`` term and
    Captum steps along the wrong direction. The exact gradient is
    ``sum_{j != y} p_j (dS_j - dS_y)``, whose direction torch computes without
    underflow as the gradient of ``sum_{j != y} w_j (S_j - S_y)``,
    ``w_j = exp(S_j - max_{i != y} S_i)``; ours (common.py) equals it."""
    net = models.load("tiny").astype(np.float64)
    img, x = images_for(net, 4, seed=2)
    y = net.forward(x).argmax(axis=1)                # the net's own, confident, answer
    ours = fgsm(net, x, y, 8 / 255)
    n = int(np.argmin(ours.loss))
    assert ours.loss[n] == 0.0                       # p_y rounds to 1
    model = _pixel_twin(net)
    t = torch.tensor(img[n:n + 1], requires_grad=True)
    S = model(t)[0]
    others = torch.ones(S.shape[0], dtype=torch.bool)
    others[int(y[n])] = False
    w = torch.exp(S[others] - S[others].max()).detach()
    (w * (S[others] - S[int(y[n])])).sum().backward()
    exact = np.clip(img[n:n + 1] + 8 / 255 * np.sign(t.grad.numpy()), 0, 1)
    assert np.allclose(ours.image[n:n + 1], exact, atol=1e-10, rtol=0)
    attack = robust.FGSM(model, _loss, lower_bound=0.0, upper_bound=1.0)
    attack.zero_thresh = 0.0
    theirs = attack.perturb(torch.tensor(img[n:n + 1], requires_grad=True), 8 / 255,
                            torch.tensor(y[n:n + 1]))
    assert not np.allclose(theirs.detach().numpy(), exact, atol=1e-10, rtol=0)
