# %% [markdown]
# # 11 · Class models and activation maximization
#
# **Class model visualisation** (Simonyan et al. 2014, Sec. 2): the image
# that the network scores highest for class c, found by gradient ascent on
# the image from the mean image,
#
#     I* = argmax_I  S_c(I) - lambda ||I||^2
#
# with `S_c` the *unnormalised* class score. The paper explains why not the
# posterior `P_c = exp S_c / sum_c' exp S_c'`: it can grow by pushing the
# other classes down. We show both: `objective="score"` (the paper) and
# `objective="probability"` (`log P_c`). **Activation maximization**
# (Erhan et al. 2009, Sec. 3.1; Yosinski et al. 2015, Sec. 3) does the same
# for one unit of a hidden layer, `x <- r(x + lr * da/dx)`, with a
# regularizer r from Yosinski et al. 2015, Table 1 (`vis/synthesis/`).
#
# Budgets are small (60 and 100 steps, the papers run hundreds), so this
# runs in seconds on `tiny`. Writes into `--out`: `class_model_score.png`,
# `class_model_probability.png` and `activation_maximization.png`.

# %%
import argparse
import sys
from pathlib import Path

import numpy as np

from minicnn import models
from minicnn.data import make_shapes
from vis import draw
from vis.image import save_png
from vis.synthesis.class_model import class_model
from vis.synthesis.maximize import activation_maximization

parser = argparse.ArgumentParser(description="class models and activation maximization")
parser.add_argument("--out", type=Path, default=Path("out/examples/11_class_models"),
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
# ## Score against log-probability
#
# One image per class, 60 Adam steps from the mean image (seeded). For each
# objective: the class the network predicts for each class model. With the
# score alone, a class whose score grows faster along the same direction can
# win (on `tiny`, star and arrow become cross); the log-probability keeps the
# other classes down.

# %%
net = models.load("tiny")
names = make_shapes(1, seed=0).class_names
classes = list(range(len(names)))
for objective in ("score", "probability"):
    r = class_model(net, classes, objective=objective, steps=60, seed=0, progress=False)
    predicted = [int(k) for k in r.info["predicted"]]
    hits = np.mean(np.array(predicted) == np.array(classes))
    p = r.info["probabilities"][np.arange(len(classes)), classes]
    print(f"objective {objective}: class model recognised as its class {hits:.2f}, "
          f"mean P_c {p.mean():.3f}")
    print("    " + ", ".join(f"{names[c]} -> {names[k]}" for c, k in zip(classes, predicted)))
    save(f"class_model_{objective}.png", draw.side_by_side(list(r.image), factor=2),
         f"tiny, class models, objective {objective}, 60 steps: " + ", ".join(names))

# %% [markdown]
# ## Activation maximization of a few channels
#
# The centre unit of four channels of `relu3_1`, with Yosinski et al. 2015,
# Table 1 row 4 (blur 0.5 every 4 steps, 90 % contribution clipping) and only
# 100 steps instead of the toolbox's 1000. The numbers: the unit's value at
# the start (noise) and at the end.

# %%
channels = [0, 1, 2, 3]
r = activation_maximization(net, "relu3_1", channels, preset="yosinski-4", steps=100, seed=0,
                            progress=False)
start, end = r.history["objective"][0], r.history["objective"][-1]
print("relu3_1 centre unit, start -> end: " + ", ".join(
    f"channel {c}: {a:.2f} -> {b:.2f}" for c, a, b in zip(channels, start, end)))
print(f"mean gain of the unit {np.mean(end - start):.2f}")
save("activation_maximization.png", draw.side_by_side(list(r.image), factor=2),
     "relu3_1 channels " + ", ".join(map(str, channels)) + ", Yosinski et al. 2015 Table 1 "
     "row 4, 100 steps")
