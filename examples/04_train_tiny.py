# %% [markdown]
# # 04 · Training `tiny`
#
# Training is one loop (cs231n's `Solver`; `minicnn/train.py`): shuffle with a
# seed, then for every minibatch
#
#     scores = net.forward(x_batch)
#     L, dscores = softmax_cross_entropy(scores, y_batch)    # L = -1/N sum_n log p[n, y_n]
#     net.backward({"fc": dscores}, param_grads=True)       # dL/dW for every layer
#     optimizer.step(params, grads)                          # Adam (Kingma & Ba 2015, Alg. 1)
#
# The shipped model (`minicnn train-tiny`, `minicnn/tiny.py`) runs this loop
# over 16,000 shapes images for 12 epochs: about 14 minutes on one core, 97%
# on fresh test images. A lecture has one minute, so here we take the first
# sanity check of cs231n ("Neural Networks 3: Babysitting the learning
# process"): a correct loop can **overfit a tiny training set**. We train on
# 64 images until the training accuracy is high, and then see what that
# memorising is worth on images the net has never seen.
#
# Writes into `--out`: `batch.png` (the first minibatch) and `loss.png` (the
# loss of every step and the training accuracy of every epoch).

# %%
import argparse
import sys
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from minicnn import models
from minicnn.data import CLASS_NAMES, TEST_SEED, TRAIN_SEED, make_shapes
from minicnn.optim import Adam
from minicnn.preprocessing import preprocess
from minicnn.train import accuracy, train
from vis import draw
from vis.image import save_png, tile

parser = argparse.ArgumentParser(description="training tiny: the loop, and overfitting 64 images")
parser.add_argument("--out", type=Path, default=Path("out/examples/04_train_tiny"),
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
# ## The data and the model
#
# The training images come from `TRAIN_SEED`, the test images from
# `TEST_SEED`, a seed never used in training (`minicnn/data.py`). The model is
# the architecture of the shipped one with fresh He-initialised weights
# (He et al. 2015, Eq. 10), from a seed.

# %%
N_TRAIN, EPOCHS, BATCH, SEED = 64, 30, 16, 0
train_set = make_shapes(N_TRAIN, seed=TRAIN_SEED)
test_set = make_shapes(500, seed=TEST_SEED)
net = models.tiny(seed=SEED, class_names=list(CLASS_NAMES))
x_train = preprocess(train_set.images, net)
x_test = preprocess(test_set.images, net)
print(f"{N_TRAIN} training images, {len(x_test)} test images, {net.num_params():,} parameters")
first = np.random.default_rng(SEED).permutation(N_TRAIN)[:BATCH]  # the loop's first batch
save("batch.png", draw.zoom(tile(train_set.images[first], ncols=8, pad=2, normalize=False), 2),
     "the first minibatch: " + ", ".join(CLASS_NAMES[k] for k in train_set.labels[first][:8])
     + ",\n" + ", ".join(CLASS_NAMES[k] for k in train_set.labels[first][8:]))

# %% [markdown]
# ## The same seed gives the same weights
#
# Two short runs from the same seeds (weights, shuffling) end with the same
# weights, bit for bit, on one machine with a fixed number of BLAS threads.

# %%
runs = []
for _ in range(2):
    twin = models.tiny(seed=SEED, class_names=list(CLASS_NAMES))
    train(twin, x_train, train_set.labels, epochs=1, batch_size=BATCH,
          optimizer=Adam(lr=1e-3), seed=SEED, progress=False)
    runs.append(twin.state_dict())
print("max |difference| between the two runs' weights:",
      max(float(np.abs(runs[0][k] - runs[1][k]).max()) for k in runs[0]))

# %% [markdown]
# ## Overfit 64 images
#
# Adam with its default learning rate 1e-3 (Kingma & Ba 2015, Sec. 2),
# minibatches of 16, 30 epochs: 120 steps.

# %%
history = train(net, x_train, train_set.labels, epochs=EPOCHS, batch_size=BATCH,
                optimizer=Adam(lr=1e-3), seed=SEED, progress=False)
print("training accuracy per epoch:", " ".join(f"{a:.2f}" for a in history["train_acc"]))
print(f"loss: first step {history['loss'][0]:.3f}, last step {history['loss'][-1]:.3f}")

fig = Figure(figsize=(7, 3), dpi=100)
ax1, ax2 = fig.subplots(1, 2)
ax1.plot(history["loss"], lw=1)
ax1.set_xlabel("step")
ax1.set_ylabel("cross-entropy loss")
ax1.axhline(np.log(len(CLASS_NAMES)), ls="--", c="grey", lw=1)
ax1.text(0, np.log(len(CLASS_NAMES)), " log 8: chance", va="bottom", fontsize=8)
ax2.plot(range(1, EPOCHS + 1), history["train_acc"], "o-", ms=3)
ax2.set_xlabel("epoch")
ax2.set_ylabel("training accuracy")
ax2.set_ylim(0, 1.05)
fig.tight_layout()
canvas = FigureCanvasAgg(fig)
canvas.draw()
save("loss.png", np.asarray(canvas.buffer_rgba())[..., :3].copy(),
     f"tiny on {N_TRAIN} images: loss per step, training accuracy per epoch")

# %% [markdown]
# ## Memorising is not learning
#
# The same 500 test images through the net we just trained and through the
# shipped one. Chance is 1/8 = 0.125.

# %%
print(f"test accuracy, {N_TRAIN} images for {EPOCHS} epochs: "
      f"{accuracy(net, x_test, test_set.labels):.3f}")
shipped = models.load("tiny")
print(f"test accuracy, the shipped model (16,000 images, 12 epochs): "
      f"{accuracy(shipped, x_test, test_set.labels):.3f}")
