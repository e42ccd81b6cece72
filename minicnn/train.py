"""A plain training loop: shuffle, forward, loss, backward, step.

This is the loop of every framework with nothing hidden (cs231n's ``Solver``):
one epoch is a pass over a seeded permutation of the data in minibatches; the
backward pass is the same ``net.backward`` the visualizations use, with
``param_grads=True``. Same seed, same data -> the same weights, bit for bit
(on the CPU; BLAS with a fixed number of threads).
"""

import numpy as np

from .backend import asnumpy, get_array_module
from .losses import softmax_cross_entropy
from .optim import SGD
from .progress import Progress


def accuracy(net, x, labels, batch_size=256):
    """Fraction of ``x`` (N, C, H, W) whose top score is the label."""
    correct = 0
    was_training = any(layer.training for layer in net.layers)
    net.eval()
    for i in range(0, len(x), batch_size):
        scores = net.forward(x[i:i + batch_size])
        correct += int((asnumpy(scores).argmax(axis=1) == asnumpy(labels[i:i + batch_size])).sum())
    if was_training:
        net.train()
    return correct / max(len(x), 1)


def train(net, x, labels, epochs=1, batch_size=64, optimizer=None, seed=0,
          val=None, augment=None, lr_schedule=None, progress=True):
    """Train ``net`` on preprocessed ``x`` with softmax cross-entropy.

    Args:
        net: the Net (its last layer gives class scores).
        x: (N, C, H, W) preprocessed inputs; labels: (N,) ints.
        epochs, batch_size: the usual.
        optimizer: an object with ``step(params, grads)``; default SGD(0.01, 0.9).
        seed: seeds the shuffling (and ``augment``).
        val: optional (x_val, labels_val) evaluated after each epoch.
        augment: optional ``f(batch, rng) -> batch``.
        lr_schedule: optional ``f(epoch) -> lr`` set on the optimizer each epoch.
        progress: show a progress bar.

    Returns:
        history: dict with ``loss`` (per step), ``train_acc`` and ``val_acc``
        (per epoch).
    """
    rng = np.random.default_rng(seed)
    optimizer = optimizer or SGD(lr=0.01, momentum=0.9)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    N = len(x)
    steps = (N + batch_size - 1) // batch_size
    params = {f"{layer.name}.{k}": (layer, k) for layer in net.layers for k in layer.params}
    for epoch in range(epochs):
        if lr_schedule is not None:
            optimizer.lr = lr_schedule(epoch)
        net.train()
        order = rng.permutation(N)
        bar = Progress(steps, f"epoch {epoch + 1}/{epochs}", enabled=progress)
        correct = 0
        for s in range(steps):
            idx = order[s * batch_size:(s + 1) * batch_size]
            xb, yb = x[idx], labels[idx]
            if augment is not None:
                xb = augment(xb, rng)
            xp = get_array_module(xb)
            scores = net.forward(xb)
            loss, dscores = softmax_cross_entropy(scores, xp.asarray(yb))
            net.backward({net.layers[-1].name: dscores}, param_grads=True)
            optimizer.step({k: layer.params[p] for k, (layer, p) in params.items()},
                           {k: layer.grads[p] for k, (layer, p) in params.items()})
            correct += int((asnumpy(scores).argmax(axis=1) == asnumpy(yb)).sum())
            history["loss"].append(loss)
            bar.update(info=f"loss {loss:.3f}")
        bar.close()
        history["train_acc"].append(correct / N)
        if val is not None:
            history["val_acc"].append(accuracy(net, *val))
    net.eval()
    return history
