# %% [markdown]
# # 15 · Adversarial examples and the one-pixel attack
#
# **FGSM** (Goodfellow et al. 2015, Sec. 3): a linear model's output moves
# by `epsilon * ||w||_1` when every input moves by epsilon in the direction
# of `sign(w)`; for a network, linearise the loss J around x:
#
#     x_adv = x + epsilon * sign(grad_x J(theta, x, y))
#
# **PGD** (Kurakin et al. 2017, Sec. 2.2; Madry et al. 2018, Sec. 2) repeats
# small steps of the same kind and projects back into the L-inf ball of
# radius epsilon. Epsilon is in [0, 1] pixel units whatever the
# preprocessing: 8/255 is eight grey levels. **The one-pixel attack** (Su et
# al. 2019, Sec. 3) changes one pixel only, `||e||_0 <= 1`, found by
# differential evolution over (row, column, r, g, b) without any gradient.
# The code is `vis/adversarial/`.
#
# Writes into `--out`: `robustness.png` (accuracy against epsilon) and
# `one_pixel.png` (clean image | attacked image, one pair per image).

# %%
import argparse
import sys
from pathlib import Path

import numpy as np

from minicnn import models
from minicnn.data import TEST_SEED, make_shapes
from minicnn.preprocessing import preprocess
from vis import draw, pictures
from vis.adversarial import fgsm, one_pixel, pgd, robustness_curve
from vis.image import save_png

parser = argparse.ArgumentParser(description="FGSM, PGD and the one-pixel attack on tiny")
parser.add_argument("--out", type=Path, default=Path("out/examples/15_adversarial_one_pixel"),
                    help="folder for the pictures (default: %(default)s)")
parser.add_argument("--force", action="store_true", help="write into a folder that is not empty")
args = parser.parse_known_args()[0]          # a notebook kernel passes arguments of its own
taken = args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir()))
if taken and not args.force:
    sys.exit(f"{args.out} exists and is not an empty folder: use --force, or another --out")
args.out.mkdir(parents=True, exist_ok=True)


def save(name, picture, title):
    """One PNG with a title strip into --out."""
    save_png(args.out / name, draw.titled(picture, title), force=args.force)
    print(f"wrote {args.out / name}")


# %% [markdown]
# ## Accuracy against epsilon
#
# 50 test images of the shapes dataset. FGSM takes one step of size
# epsilon; PGD takes 10 steps of 1/255 each (Kurakin et al. 2017, Sec. 2.2),
# each projected back into the ball, so it can reach the ball's corners
# only when 10/255 >= epsilon. PGD is the
# stronger attack: at each epsilon its accuracy is at most FGSM's (up to
# the images where one linear step happens to be luckier).

# %%
net = models.load("tiny")
data = make_shapes(50, seed=TEST_SEED)
x = preprocess(data.images, net)
epsilons = np.array([0, 1, 2, 4, 8, 16]) / 255
curves = {"FGSM": robustness_curve(net, x, data.labels, fgsm, epsilons),
          "PGD, 10 steps": robustness_curve(net, x, data.labels, pgd, epsilons, steps=10)}
print("epsilon (grey levels):  " + "  ".join(f"{e * 255:5.0f}" for e in epsilons))
for name, c in curves.items():
    print(f"{name + ' accuracy:':23s} " + "  ".join(f"{a:5.2f}" for a in c.accuracy))
save("robustness.png", pictures.curve(list(epsilons * 255), {k: c.accuracy for k, c in
                                                              curves.items()},
                                      "epsilon (grey levels of 255)", "accuracy",
                                      "tiny on 50 shapes test images"),
     "FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018)")

# %% [markdown]
# ## One pixel
#
# Four test images, a reduced budget (population 100, 10 generations; the
# paper uses 400 and 100). The numbers: for each image its class before and
# after, and the changed pixel. Every attacked image differs from the clean
# one in exactly one pixel position.

# %%
n = 4
r = one_pixel(net, x[:n], data.labels[:n], popsize=100, maxiter=10, seed=0)
changed = (np.abs(np.asarray(r.delta)).max(axis=1) > 1e-6).reshape(n, -1)
for k in range(n):
    print(f"image {k}: {data.class_names[int(r.clean_pred[k])]} -> "
          f"{data.class_names[int(r.pred[k])]} ({'fooled' if r.success[k] else 'not fooled'}), "
          f"{int(changed[k].sum())} pixel(s) changed, confidence {float(r.confidence[k]):.2f}")
print(f"one-pixel success rate {np.mean(r.success):.2f} on {n} images")
pairs = [draw.side_by_side([data.images[k], r.image[k]], factor=2) for k in range(n)]
save("one_pixel.png", np.concatenate([np.pad(p, ((0, 4), (0, 0), (0, 0)), constant_values=255)
                                      for p in pairs])[:-4],
     "one-pixel attack (Su et al. 2019), popsize 100, 10 generations: clean | attacked")
