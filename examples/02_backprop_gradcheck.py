# %% [markdown]
# # 02 · Backpropagation and gradient checking
#
# Backpropagation is the chain rule applied layer by layer, from the loss back
# to the input (Rumelhart, Hinton & Williams 1986). `Net.backward` is that loop
# written out (`minicnn/net.py`):
#
#     dout = dL/d(scores)
#     for layer in reversed(layers):
#         dout = layer.backward(dout)          # dL/d(input of the layer)
#     return dout                              # dL/dx
#
# Every backward is checked against **central differences** (cs231n, "Neural
# Networks 3: Gradient checks"; `minicnn/gradcheck.py`):
#
#     df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)           error O(h^2)
#     rel_error(a, b) = max |a - b| / max(|a| + |b|)
#
# In float64 with h = 1e-5 a correct backward gives a relative error around
# 1e-8 or smaller, a wrong one around 1. Inputs are kept away from the ReLU
# kink and from max-pool ties, where the function has no derivative.
#
# Writes into `--out`: `h_sweep.png` (error against the step h, float32 and
# float64) and `input_gradient.png` (dL/dx of `tiny` on one image).

# %%
import argparse
import sys
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from minicnn import models
from minicnn.data import TEST_SEED, make_shapes
from minicnn.gradcheck import check_layer, directional_check
from minicnn.layers import Conv2d, Linear, MaxPool2d, ReLU
from minicnn.losses import softmax_cross_entropy
from minicnn.preprocessing import preprocess
from vis import draw
from vis.image import save_png

parser = argparse.ArgumentParser(description="backpropagation and gradient checking")
parser.add_argument("--out", type=Path, default=Path("out/examples/02_backprop_gradcheck"),
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
# ## Each layer on its own
#
# `check_layer` uses `f(x) = sum(forward(x) * r)` for a fixed random `r`, so
# `df/d(out) = r` is the `dout` fed to backward. Non-square inputs and a
# stride of 2 (square-only checks hide transposed indices).

# %%
rng = np.random.default_rng(0)


def away_from_kinks(a, margin=0.05):
    """Push values away from 0 so that a ReLU does not sit on its kink."""
    return np.where(np.abs(a) < margin, np.sign(a) * margin + (a == 0) * margin, a)


layers = [
    (Conv2d("conv", 3, 4, (3, 2), stride=2, padding=1, rng=rng, dtype=np.float64),
     rng.standard_normal((2, 3, 7, 5))),
    (MaxPool2d("pool", 2), rng.permutation(2 * 3 * 6 * 4).reshape(2, 3, 6, 4) / 10.0),
    (ReLU("relu"), away_from_kinks(rng.standard_normal((2, 3, 4, 5)))),
    (Linear("fc", 12, 5, rng=rng, dtype=np.float64), rng.standard_normal((3, 12))),
]
for layer, x in layers:
    errors = check_layer(layer, x.astype(np.float64))
    print(f"{type(layer).__name__:9s} " + ", ".join(f"d{k}: {e:.1e}" for k, e in errors.items()))

# %% [markdown]
# ## The whole network
#
# `tiny` in float64 and the softmax cross-entropy loss of one shapes image
# (`minicnn/losses.py`: `dL/ds = (p - onehot(y)) / N`), backpropagated to the
# pixels. The trained model is sure of the true class (loss ~ 0, gradient ~ 0),
# so we take the loss of its runner-up class instead: a large loss with a large
# gradient. For 12,288 pixels a coordinate-by-coordinate check is slow, so we
# compare directional derivatives along random unit directions `u`:
#
#     (f(x + h u) - f(x - h u)) / (2h)  ~  <dL/dx, u>

# %%
net = models.load("tiny").astype(np.float64)
data = make_shapes(1, seed=TEST_SEED)
x = preprocess(data.images, net, dtype=np.float64)
label = np.argsort(net.forward(x)[0])[-2:-1]            # the runner-up class


def loss(x, net=net):
    return softmax_cross_entropy(net.forward(x), label)[0]


L, dscores = softmax_cross_entropy(net.forward(x), label)
dx = net.backward({"fc": dscores})
print(f"image of a {data.class_names[data.labels[0]]}; loss {L:.4f} for the runner-up "
      f"class {data.class_names[label[0]]}")
for seed in range(3):
    err, numeric, analytic = directional_check(loss, x, dx, seed=seed)
    print(f"direction {seed}: numeric {numeric:+.8e}, analytic {analytic:+.8e}, "
          f"rel error {err:.1e}")

# %% [markdown]
# ## How small should h be?
#
# The central difference has a truncation error ~ h^2 and a rounding error ~
# eps / h (eps: the machine epsilon, 2e-16 in float64, 1e-7 in float32). For
# a smooth function the total is smallest near h ~ eps^(1/3), about 1e-5 in
# float64; large steps also cross ReLU kinks, where the function bends. In
# float32 the best error stays far above 1e-8, and h = 1e-5 already gives
# noise: that is why every gradient check in minicnn runs in float64. The same
# loss and the same direction in both precisions:

# %%
steps = 10.0 ** -np.arange(0, 12.5, 0.5)
curves = {}
for dtype in (np.float64, np.float32):
    net_d = models.load("tiny").astype(dtype)
    xd = x.astype(dtype)
    net_d.forward(xd)
    grad = net_d.backward({"fc": softmax_cross_entropy(net_d.forward(xd), label)[1]})
    f = lambda z: loss(z.astype(dtype), net_d)     # noqa: E731
    curves[dtype.__name__] = [directional_check(f, x, grad, h=h)[0] for h in steps]
for name, errs in curves.items():
    best = int(np.argmin(errs))
    print(f"{name}: smallest rel error {errs[best]:.1e} at h = {steps[best]:.0e}")

fig = Figure(figsize=(5, 3.4), dpi=100)
ax = fig.add_subplot()
for name, errs in curves.items():
    ax.loglog(steps, np.maximum(errs, 1e-17), "o-", ms=3, label=name)
ax.set_xlabel("step h")
ax.set_ylabel("relative error")
ax.invert_xaxis()
ax.grid(True, which="major", alpha=0.3)
ax.legend()
fig.tight_layout()
canvas = FigureCanvasAgg(fig)
canvas.draw()
save("h_sweep.png", np.asarray(canvas.buffer_rgba())[..., :3].copy(),
     "central differences on tiny's loss:\nrelative error against the step h")

# %% [markdown]
# ## What the gradient looks like
#
# dL/dx as a colour image (0 = grey): the pixels where a small change moves
# the loss most. Lecture 07 turns exactly this into the saliency map.

# %%
picture = draw.side_by_side([data.images[0], draw.signed_rgb(dx[0])], factor=3)
save("input_gradient.png", picture, f"tiny: image | dL/dx, loss of the class "
     f"{data.class_names[label[0]]}")
