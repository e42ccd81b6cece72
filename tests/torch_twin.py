"""A PyTorch copy of a minicnn Net, for cross-checking (tests only).

``twin(net)`` builds an ``nn.Sequential`` with the same layers and weights;
``set_rule(model, rule)`` makes its ReLUs follow the deconvnet or guided rule
through backward hooks, the way Captum implements GuidedBackprop/Deconvolution.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from minicnn import layers as L


class MaskedReLU(nn.Module):
    """A ReLU whose on/off pattern is given (``x * mask``): lets two float32
    implementations be compared without a unit near 0 switching sides in one only."""

    def __init__(self, mask):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, x):
        return x * self.mask


def pool_indices(layer):
    """minicnn's switches as PyTorch max-pool indices (flat positions in H*W)."""
    KW, (sh, sw), (ph, pw) = layer.kernel_size[1], layer.stride, layer.padding
    N, C, Ho, Wo = layer.switches.shape
    Wp = layer.x_shape[3]
    kh, kw = np.divmod(layer.switches.astype(np.int64), KW)
    rows = np.arange(Ho)[:, None] * sh + kh - ph
    cols = np.arange(Wo)[None, :] * sw + kw - pw
    return rows * (Wp - 2 * pw) + cols


class SwitchedMaxPool(nn.Module):
    """Max-pool that picks the given positions (``gather``): shares the switches."""

    def __init__(self, indices):
        super().__init__()
        self.register_buffer("indices", indices)

    def forward(self, x):
        N, C = x.shape[:2]
        out = x.flatten(2).gather(2, self.indices.flatten(2))
        return out.view(N, C, *self.indices.shape[2:])


def twin(net, dtype=torch.float64, relu_masks=None):
    """``relu_masks``: optional {relu name: bool array} fixing each ReLU's pattern;
    then the max-pools also take minicnn's switches."""
    mods = []
    for layer in net.layers:
        if isinstance(layer, L.Conv2d):
            m = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                          layer.stride, layer.padding, groups=layer.groups)
            m.weight.data = torch.tensor(np.asarray(layer.params["W"]))
            m.bias.data = torch.tensor(np.asarray(layer.params["b"]))
        elif isinstance(layer, L.Linear):
            m = nn.Linear(layer.in_features, layer.out_features)
            m.weight.data = torch.tensor(np.asarray(layer.params["W"]))
            m.bias.data = torch.tensor(np.asarray(layer.params["b"]))
        elif isinstance(layer, L.ReLU) and relu_masks is not None:
            m = MaskedReLU(torch.tensor(np.asarray(relu_masks[layer.name])).to(dtype))
        elif isinstance(layer, L.ReLU):
            m = nn.ReLU()
        elif isinstance(layer, L.MaxPool2d) and relu_masks is not None:
            m = SwitchedMaxPool(torch.tensor(pool_indices(layer)))
        elif isinstance(layer, L.MaxPool2d):
            m = nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding)
        elif isinstance(layer, L.GlobalAvgPool):
            m = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        elif isinstance(layer, L.Flatten):
            m = nn.Flatten()
        elif isinstance(layer, L.Dropout):
            m = nn.Dropout(layer.p)
        elif isinstance(layer, L.LRN):
            m = nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k)
        elif isinstance(layer, L.Softmax):
            m = nn.Softmax(dim=1)
        else:
            raise TypeError(type(layer))
        mods.append(m)
    model = nn.Sequential(*mods).to(dtype).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def set_rule(model, rule):
    """Hook every ReLU so that its backward follows ``rule``."""
    def guided(module, grad_input, grad_output):
        return (F.relu(grad_input[0]),)

    def deconv(module, grad_input, grad_output):
        return (F.relu(grad_output[0]),)

    for m in model.modules():
        if isinstance(m, (nn.ReLU, MaskedReLU)) and rule != "gradient":
            m.register_full_backward_hook(guided if rule == "guided" else deconv)
    return model


def input_gradient(model, x, out_grad, rule="gradient", upto=None):
    """d<out, out_grad>/dx under ``rule``; ``upto`` = number of leading modules to run."""
    model = set_rule(model, rule)
    xt = torch.tensor(x, requires_grad=True)
    seq = model if upto is None else model[:upto]
    out = seq(xt)
    out.backward(torch.tensor(out_grad))
    return out.detach().numpy(), xt.grad.numpy()


def check_kinks_only(net, x, masks, upto):
    """minicnn's float32 ReLU pattern and pool switches equal PyTorch's own, except
    where the deciding values are within float32 rounding (1e-5 of the layer's scale)."""
    model = twin(net, torch.float32)
    h = torch.tensor(x)
    with torch.no_grad():
        for i, layer in enumerate(net.layers[:upto]):
            pre = h
            scale = float(pre.abs().max())
            if isinstance(layer, L.MaxPool2d):
                h, idx = torch.nn.functional.max_pool2d(
                    pre, layer.kernel_size, layer.stride, layer.padding, return_indices=True)
                mine = torch.tensor(pool_indices(layer))
                flat = pre.flatten(2)
                gap = (flat.gather(2, idx.flatten(2)) - flat.gather(2, mine.flatten(2))).abs()
                assert (gap <= 1e-5 * scale).all(), layer.name
                continue
            h = model[i](h)
            if layer.name in masks:
                differ = (h > 0).numpy() != masks[layer.name]
                assert (np.abs(pre.numpy()[differ]) < 1e-5 * scale).all(), layer.name


def shared_twin(net, x, upto=None):
    """The PyTorch twin to compare with after ``net.forward(x)``.

    float64: a plain twin. float32: first :func:`check_kinks_only`, then a twin
    that shares minicnn's ReLU masks and pool switches (see test_torch_oracle.py).
    """
    if x.dtype == np.float64:
        return twin(net, torch.float64)
    masks = {n: net.outputs[n] > 0 for n in net.outputs if isinstance(net[n], L.ReLU)}
    check_kinks_only(net, x, masks, upto)
    return twin(net, torch.float32, masks)
