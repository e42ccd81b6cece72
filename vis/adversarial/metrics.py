r"""Honest numbers for an attack over a set of images.

"The attack succeeds 90 % of the time" means little until one says over
which images, at what size of change and at what cost. :func:`attack_summary`
reports, for any result of this package:

* **already wrong, counted apart.** An image the net misclassifies before
  the attack is no success of the attack. The PyTorch FGSM tutorial skips
  such images and then divides by *all* images; here they are reported as
  ``already`` and left out of the rate::

      success_rate = #(attacked and fooled) / #(attacked)
      attacked     = clean prediction == true label   (untargeted)
                     clean prediction != target       (targeted)

* **the new class and how sure the net is of it**: the mean softmax
  confidence of the new prediction over the successes;
* **the size of the change** in pixel units, per image, averaged over the
  successes: L0 (pixels changed, any channel), L2 and L-inf of the RGB change;
* **the cost**: forward and backward passes per image (mean over the attacked).

:func:`robustness_curve` runs an attack at several epsilons and returns the
accuracy at each (the plot is the front door's): *robust accuracy*, the
fraction of all images still classified correctly, the number that the
robustness literature (Madry et al. 2018, Table 1-2) reports.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> from minicnn.data import make_shapes
    >>> from minicnn.preprocessing import preprocess
    >>> from vis.adversarial.fast_gradient import fgsm
    >>> net = models.load("tiny")
    >>> data = make_shapes(8, seed=12345)
    >>> x = preprocess(data.images, net.meta)
    >>> curve = robustness_curve(net, x, data.labels, fgsm, [0, 2 / 255, 8 / 255])
    >>> float(curve.accuracy[0]) == curve.clean_accuracy, curve.accuracy.shape
    (True, (3,))
    >>> s = attack_summary(fgsm(net, x, data.labels, 8 / 255), data.labels)
    >>> s.images, s.already + s.attacked == s.images, s.linf <= 8 / 255 + 1e-6
    (8, True, True)
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy

from .common import check_epsilon
from .pixels import change_norms


class Summary(NamedTuple):
    """What :func:`attack_summary` reports (rates in [0, 1], norms in pixel units).

    Attributes:
        images: N; already: images misclassified (or showing the target) before
        the attack, not counted; attacked: the others; fooled: successes among them.
        success_rate: fooled / attacked (nan when nothing was attacked).
        confidence: mean softmax confidence of the new class over the successes.
        l0, l2, linf: mean size of the change over the successes.
        forward, backward: mean passes per attacked image.
    """
    images: int
    already: int
    attacked: int
    fooled: int
    success_rate: float
    confidence: float
    l0: float
    l2: float
    linf: float
    forward: float
    backward: float


def _mean(a, where):
    a = np.asarray(a, dtype=np.float64)
    return float(a[where].mean()) if where.any() else float("nan")


def attack_summary(result, labels=None):
    """Success rate, confidence, size of the change and cost of one attack result.

    Args:
        result: any result of this package with the shared fields
            (``pred``, ``clean_pred``, ``delta``, ``confidence``, ``target``, ...).
        labels: (N,) true classes; default ``result.true_label``. Without
            either (a targeted FGSM/PGD), "already" means already the target.

    Returns:
        :class:`Summary`.
    """
    pred, clean = np.asarray(result.pred), np.asarray(result.clean_pred)
    N = len(pred)
    truth = result.true_label if labels is None else np.asarray(asnumpy(labels))
    if result.target is not None:
        target = np.asarray(result.target)
        attacked = clean != target
        if truth is not None:
            attacked &= (clean == truth) & (target != truth)
        fooled = attacked & (pred == target)
    else:
        if truth is None:
            raise ValueError("labels: an untargeted result needs the true labels")
        attacked = clean == truth
        fooled = attacked & (pred != truth)
    l0, l2, linf = change_norms(result.delta)
    fwd = np.broadcast_to(np.asarray(result.forward, np.float64), (N,))
    bwd = np.broadcast_to(np.asarray(result.backward, np.float64), (N,))
    n_att = int(attacked.sum())
    return Summary(images=N, already=N - n_att, attacked=n_att, fooled=int(fooled.sum()),
                   success_rate=float(fooled.sum() / n_att) if n_att else float("nan"),
                   confidence=_mean(result.confidence, fooled), l0=_mean(l0, fooled),
                   l2=_mean(l2, fooled), linf=_mean(linf, fooled),
                   forward=_mean(fwd, attacked), backward=_mean(bwd, attacked))


class RobustnessCurve(NamedTuple):
    """Accuracy against epsilon.

    Attributes:
        epsilons: (E,) pixel units; accuracy: (E,) fraction of all images still
        classified correctly; success_rate: (E,) :func:`attack_summary`'s rate;
        clean_accuracy: accuracy without attack.
    """
    epsilons: np.ndarray
    accuracy: np.ndarray
    success_rate: np.ndarray
    clean_accuracy: float


def robustness_curve(net, x, labels, attack, epsilons, batch_size=None, **options):
    """Accuracy of ``net`` under ``attack`` at each epsilon (arrays; the front door plots).

    Args:
        net: a Net; x: (N, C, H, W) preprocessed images; labels: (N,) true classes.
        attack: a function ``attack(net, x, labels, epsilon, **options)``
            returning a result with ``pred`` (e.g. ``fgsm``, ``pgd``).
        epsilons: (E,) sizes in pixel units, each finite and >= 0.
        batch_size: images per call (default: all at once).
        **options: passed to the attack (e.g. ``norm="2"``, ``steps=10``).

    Returns:
        :class:`RobustnessCurve`.

    Raises:
        ValueError: a negative or non-finite epsilon (naming it).
    """
    eps = np.array([check_epsilon(e) for e in np.atleast_1d(epsilons)], dtype=np.float64)
    labels = np.asarray(asnumpy(labels))
    N = x.shape[0]
    step = batch_size or N
    acc, rate, clean_acc = [], [], None
    for e in eps:
        preds, cleans = [], []
        for i in range(0, N, step):
            r = attack(net, x[i:i + step], labels[i:i + step], float(e), **options)
            preds.append(np.asarray(r.pred))
            cleans.append(np.asarray(r.clean_pred))
        pred, clean = np.concatenate(preds), np.concatenate(cleans)
        clean_acc = float((clean == labels).mean()) if clean_acc is None else clean_acc
        acc.append(float((pred == labels).mean()))
        attacked = clean == labels
        rate.append(float((attacked & (pred != labels)).sum() / attacked.sum())
                    if attacked.any() else float("nan"))
    return RobustnessCurve(eps, np.array(acc), np.array(rate), clean_acc)
