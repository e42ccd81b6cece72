# %% [markdown]
# # 01 · im2col and the convolution layer
#
# A convolution layer slides F filters of size C x KH x KW over the input and
# takes a dot product at every position (cross-correlation, as every deep
# learning library computes it):
#
#     out[n, f, i, j] = b[f] + sum_{c, kh, kw} W[f, c, kh, kw] * xpad[n, c, i*s + kh, j*s + kw]
#     H' = 1 + (H + 2*pad - KH) // stride
#
# **im2col** copies every receptive field into a column, so that one matrix
# product does all the multiply-adds (Chellapilla, Puri & Simard 2006, "High
# performance convolutional neural networks for document processing", their
# "unrolling convolution"; cs231n, "Convolutional Networks: Implementation as
# Matrix Multiplication"):
#
#     cols[n, (c, kh, kw), (i, j)] = xpad[n, c, i*s + kh, j*s + kw]     (N, C*KH*KW, H'*W')
#     out[n] = W.reshape(F, C*KH*KW) @ cols[n] + b[:, None]             (F, H'*W')
#
# The code is `minicnn/layers/conv.py`; its oracle, `conv2d_naive`, is the
# first equation written as four loops.
#
# Writes into `--out`: `im2col.png` (an image and its columns) and
# `conv1_1.png` (the first layer of `tiny` computed both ways).

# %%
import argparse
import sys
import time
from pathlib import Path

import numpy as np

from minicnn import models
from minicnn.data import TEST_SEED, make_shapes
from minicnn.layers import Conv2d, conv2d_naive, im2col
from minicnn.preprocessing import preprocess
from vis import draw
from vis.image import save_png, tile, to_uint8

parser = argparse.ArgumentParser(description="im2col and the convolution layer")
parser.add_argument("--out", type=Path, default=Path("out/examples/01_im2col_conv"),
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
# ## The output size
#
# A non-square input and a stride of 2 (square-only examples hide transposed
# indices): x is (N, C, H, W) = (2, 3, 5, 7), W is (F, C, KH, KW) = (4, 3, 3, 3),
# stride 2, padding 1, so H' = 1 + (5 + 2 - 3) // 2 = 3 and W' = 1 + (7 + 2 - 3) // 2 = 4.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 3, 5, 7))
W = rng.standard_normal((4, 3, 3, 3))
b = rng.standard_normal(4)
cols = im2col(x, 3, 3, stride=(2, 2), pad=(1, 1))
print("cols:", cols.shape, "= (N, C*KH*KW, H'*W')")

# %% [markdown]
# ## One matrix product equals four loops
#
# `W.reshape(F, -1) @ cols[n]` is every dot product of the first equation at
# once. `Conv2d.forward` does exactly this (plus a faster path for large maps).

# %%
out_matmul = (W.reshape(4, -1) @ cols + b[:, None]).reshape(2, 4, 3, 4)
out_naive = conv2d_naive(x, W, b, stride=2, pad=1)
layer = Conv2d("conv", 3, 4, 3, stride=2, padding=1, dtype=np.float64)
layer.params = {"W": W, "b": b}
out_layer = layer.forward(x)
print("out:", out_naive.shape, "= (N, F, H', W')")
print(f"max |im2col - naive| = {np.abs(out_matmul - out_naive).max():.1e}")
print(f"max |Conv2d - naive| = {np.abs(out_layer - out_naive).max():.1e}")

# %% [markdown]
# ## What the columns look like
#
# A shapes image (64x64) and the columns of its 3x3 neighbourhoods at stride 4
# (16x16 positions): each of the 27 rows is one offset (c, kh, kw), each column
# one position (i, j). Neighbouring rows are the image shifted by one pixel; at
# stride 1 the columns would hold every pixel KH*KW = 9 times, the memory price
# of turning a convolution into one matrix product.

# %%
data = make_shapes(1, seed=TEST_SEED)
image = data.images[0]
cols_img = im2col(image[None], 3, 3, stride=(4, 4), pad=(1, 1))[0]
print(f"{data.class_names[data.labels[0]]} image {image.shape} -> columns {cols_img.shape}")
rows = np.repeat(to_uint8(cols_img), 4, axis=0)          # (108, 256): 4 px per row
panel = np.full((128, rows.shape[1]), 255, np.uint8)
panel[:rows.shape[0]] = rows
picture = draw.side_by_side([draw.zoom(to_uint8(image), 2), panel], pad=8)
save("im2col.png", picture, "a 64x64 image | its im2col columns, 3x3 at stride 4:\n"
     "27 rows (c, kh, kw) x 256 columns (i, j)")

# %% [markdown]
# ## The first layer of `tiny`, both ways
#
# The trained model's `conv1_1` on the same image: the layer (im2col) and the
# oracle agree to float32 rounding; the loops are much slower.

# %%
net = models.load("tiny")
xt = preprocess(data.images, net)
conv = net["conv1_1"]
start = time.perf_counter()
fast = conv.forward(xt)
t_fast = time.perf_counter() - start
start = time.perf_counter()
slow = conv2d_naive(xt, conv.params["W"], conv.params["b"], stride=conv.stride, pad=conv.padding)
t_slow = time.perf_counter() - start
print(f"conv1_1: {tuple(fast.shape)}; max |layer - naive| = {np.abs(fast - slow).max():.1e}")
print(f"time: layer {t_fast * 1e3:.2f} ms, four loops {t_slow * 1e3:.0f} ms (this machine, now)")
save("conv1_1.png", tile(fast[0], ncols=8), f"tiny conv1_1: {fast.shape[1]} maps of "
     f"{fast.shape[2]}x{fast.shape[3]}, each on its own grey scale")
