"""Honest metrics: the already-wrong counted apart, norms, and accuracy against epsilon."""

import numpy as np
import pytest

from vis.adversarial.fast_gradient import fgsm
from vis.adversarial.metrics import attack_summary, robustness_curve
from vis.adversarial.iterative import pgd


def test_summary_counts_the_already_misclassified_apart(tiny, batch):
    x, y = batch
    labels = y.copy()
    labels[:3] = (y[:3] + 1) % 8                     # three images the net now "gets wrong"
    r = fgsm(tiny, x, labels, 4 / 255)
    s = attack_summary(r)
    clean_ok = r.clean_pred == labels
    assert s.images == 8 and s.already == int((~clean_ok).sum()) >= 3
    fooled = clean_ok & (r.pred != labels)
    assert s.attacked == int(clean_ok.sum()) and s.fooled == int(fooled.sum())
    assert s.success_rate == fooled.sum() / clean_ok.sum()
    # the PyTorch tutorial's number would count the already-wrong as fooled
    assert r.success.sum() == s.fooled + s.already
    d = r.delta[fooled].reshape(int(fooled.sum()), -1)
    assert np.isclose(s.linf, np.abs(d).max(axis=1).mean())
    assert np.isclose(s.l2, np.sqrt((d ** 2).sum(axis=1)).mean())
    assert np.isclose(s.confidence, r.confidence[fooled].mean())
    assert s.forward == 2 and s.backward == 1


def test_summary_of_a_targeted_attack(tiny, batch):
    x, y = batch
    t = (y + 2) % 8
    r = pgd(tiny, x, t, 8 / 255, targeted=True)
    s = attack_summary(r, labels=y)
    assert s.attacked == int(((r.clean_pred == y) & (r.clean_pred != t)).sum())
    assert s.fooled == int(((r.clean_pred == y) & (r.pred == t)).sum())
    with pytest.raises(ValueError, match="labels"):
        attack_summary(fgsm(tiny, x, y, 0.01)._replace(true_label=None))


def test_robustness_curve(tiny, batch):
    x, y = batch
    eps = [0, 1 / 255, 4 / 255]
    c = robustness_curve(tiny, x, y, fgsm, eps, batch_size=3)
    assert c.accuracy[0] == c.clean_accuracy == (np.asarray(tiny.forward(x)).argmax(1) == y).mean()
    direct = (fgsm(tiny, x, y, 4 / 255).pred == y).mean()
    assert c.accuracy[2] == direct and np.array_equal(c.epsilons, eps)
    p = robustness_curve(tiny, x, y, pgd, eps, norm="inf", steps=3)
    assert (p.accuracy <= c.accuracy + 1 / 8).all() and p.accuracy[0] == c.clean_accuracy
    with pytest.raises(ValueError, match="epsilon"):
        robustness_curve(tiny, x, y, fgsm, [0.1, -0.1])
