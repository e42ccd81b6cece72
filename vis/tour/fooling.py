"""The tour's adversarial section: accuracy against epsilon, and a few one-pixel attacks.

On 100 shapes test images (seed ``TEST_SEED``): the accuracy of ``tiny``
under FGSM (Goodfellow et al. 2015) and 10-step PGD (Madry et al. 2018) as
epsilon grows, and the one-pixel attack (Su et al. 2019) on 4 images with a
reduced budget (popsize 100, 20 generations; ``minicnn one-pixel`` runs the
paper's 400 x 100).
"""


from minicnn.data import TEST_SEED, make_shapes
from minicnn.preprocessing import preprocess
from vis import draw, pictures
from vis.adversarial import fgsm, one_pixel, pgd, robustness_curve
from vis.registry import METHODS, SECTIONS

from . import page

EPSILONS = (0, 1 / 255, 2 / 255, 4 / 255, 8 / 255, 16 / 255)


def fooling_section(gallery):
    net, names = gallery.net, gallery.names
    data = make_shapes(100, seed=TEST_SEED)
    x = preprocess(data.images, net)
    curves = {"FGSM": robustness_curve(net, x, data.labels, fgsm, EPSILONS),
              "PGD, 10 steps": robustness_curve(net, x, data.labels, pgd, EPSILONS, steps=10)}
    grey = [e * 255 for e in EPSILONS]
    plot = pictures.curve(grey, {k: c.accuracy for k, c in curves.items()},
                          "epsilon (grey levels of 255)", "accuracy", "tiny on 100 shapes "
                          "test images")
    table = ("<table><tr><th>epsilon</th>" + "".join(f"<th>{g:g}/255</th>" for g in grey)
             + "</tr>" + "".join(f"<tr><td>{k}</td>" + "".join(f"<td>{a:.2f}</td>"
                                                                for a in c.accuracy)
                                 + "</tr>" for k, c in curves.items()) + "</table>")
    figs = [gallery.figure("robustness.png", plot, f"Accuracy against epsilon: "
                           f"{METHODS['fgsm'].title} ({METHODS['fgsm'].paper}) and "
                           f"{METHODS['pgd'].title} ({METHODS['pgd'].paper})")]
    r = one_pixel(net, x[:4], data.labels[:4], popsize=100, maxiter=20, seed=0)
    for n in range(4):
        verdict = "fooled" if bool(r.success[n]) else "not fooled"
        figs.append(gallery.figure(
            f"one_pixel_{n}.png", draw.side_by_side([data.images[n], r.image[n]],
                                                    factor=draw.auto_zoom(64, 128)),
            f"{METHODS['one-pixel'].title}: {names[int(r.clean_pred[n])]} -> "
            f"{names[int(r.pred[n])]} ({verdict}), popsize 100, 20 generations "
            f"({METHODS['one-pixel'].paper})"))
    intro = ("<p>Sizes in [0, 1] pixel units whatever the preprocessing: 8/255 is eight grey "
             "levels. Images the net already got wrong are counted apart.</p>")
    return "fooling", SECTIONS["fooling"], intro + table + page.row(figs)
