"""Winograd F(2x2, 3x3) and F(4x4, 3x3) against im2col and row shifts, layer by layer.

Run it from a clone of the repository::

    python benchmarks/winograd_layers.py                  # VGG16 at batch 1, tiny at batch 400
    python benchmarks/winograd_layers.py --batch 8 --repeat 7 --only vgg16

For every distinct 3x3 conv of VGG16 at 224x224 and of the ``tiny`` model at
64x64, in float32 with the BLAS limited to 2 threads (``threadpoolctl``), it
times

* ``direct``: the paths ``Conv2d`` took before Winograd, rebuilt here from
  the public routines so that the baseline stays put. Forward:
  ``conv2d_row_shifts`` on maps of 200x200 or more, else im2col and one
  matrix product. Input gradient: the flipped-kernel convolution
  ``conv_transpose_stride1`` over that forward when F <= C, else col2im;
* ``m=2`` and ``m=4``: ``winograd_conv3x3`` and ``winograd_conv3x3_transpose``
  with the filter transform U precomputed, as a layer that caches it would
  run; ``U2`` and ``U4`` are that transform alone (``winograd_filter_transform``
  of W, or of the flipped kernels for dx), to add when U is not cached.

The methods run in interleaved rounds (direct, m=2, m=4, U2, U4, direct, …)
so that the noise of a shared machine falls on all of them; each figure is the
median over the rounds (wall clock; ``--clock cpu`` takes the process's CPU
time instead, steadier on a busy machine, fair with ``--threads 1``). ``err``
is max |out - ref| / max |ref| against the same conv in float64. Inputs are
ReLU-like (non-negative; the first layer's are signed, like a preprocessed
image), weights He-scaled (VGG) or the stored ones (tiny), ``dout`` standard
normal.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "minicnn" / "__init__.py").is_file() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))   # run from a clone: use its minicnn
from minicnn import models  # noqa: E402
from minicnn.layers import Conv2d, col2im, im2col  # noqa: E402
from minicnn.layers.conv_fast import conv2d_row_shifts, conv_transpose_stride1  # noqa: E402
from minicnn.layers.winograd import (winograd_conv3x3, winograd_conv3x3_transpose,  # noqa: E402
                                     winograd_filter_transform)

#: (name, C, F, map size, how many such convs) of VGG16 at 224
#: (Simonyan & Zisserman 2015, Table 1, column D).
VGG16 = [("conv1_1", 3, 64, 224, 1), ("conv1_2", 64, 64, 224, 1),
         ("conv2_1", 64, 128, 112, 1), ("conv2_2", 128, 128, 112, 1),
         ("conv3_1", 128, 256, 56, 1), ("conv3_2-3", 256, 256, 56, 2),
         ("conv4_1", 256, 512, 28, 1), ("conv4_2-3", 512, 512, 28, 2),
         ("conv5_1-3", 512, 512, 14, 3)]


def tiny_convs():
    """(name, C, F, map size, 1, W) of every conv of the ``tiny`` model at 64x64."""
    net = models.load("tiny")
    shape, rows = (3, 64, 64), []
    for layer in net.layers:
        if isinstance(layer, Conv2d):
            rows.append((layer.name, layer.in_channels, layer.out_channels, shape[1], 1,
                         layer.params["W"].astype(np.float32)))
        shape = layer.output_shape(shape)
    return rows


def direct(x, W, pad):
    """Forward before Winograd: row shifts on maps of 200x200 or more, else im2col."""
    if x.shape[2] * x.shape[3] >= 200 * 200:
        return conv2d_row_shifts(x, W, pad)
    N, F = x.shape[0], W.shape[0]
    Ho, Wo = x.shape[2] + 2 * pad[0] - 2, x.shape[3] + 2 * pad[1] - 2
    return (W.reshape(F, -1) @ im2col(x, 3, 3, (1, 1), pad)).reshape(N, F, Ho, Wo)


def direct_dx(dout, W, pad, x_shape):
    """Input gradient before Winograd: flipped-kernel conv when F <= C, else col2im."""
    N, F, Ho, Wo = dout.shape
    if F <= W.shape[1]:
        return conv_transpose_stride1(dout, W, pad, convolve=direct)
    dcols = W.reshape(F, -1).T @ dout.reshape(N, F, Ho * Wo)
    return col2im(dcols, x_shape, 3, 3, (1, 1), pad)


def measure(C, F, size, batch, W, repeat, rng, clock):
    """Median ms and float32 error of each method, forward and input gradient."""
    pad = (1, 1)
    x = rng.standard_normal((batch, C, size, size)).astype(np.float32)
    x = x if C == 3 else np.maximum(x, 0)
    dout = rng.standard_normal((batch, F, size, size)).astype(np.float32)
    W64, x64, d64 = W.astype(np.float64), x.astype(np.float64), dout.astype(np.float64)
    ref, ref_dx = direct(x64, W64, pad), direct_dx(d64, W64, pad, x.shape)
    W_t = np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    U = {m: winograd_filter_transform(W, m) for m in (2, 4)}
    U_t = {m: winograd_filter_transform(W_t, m) for m in (2, 4)}
    fwd = {"direct": lambda: direct(x, W, pad),
           "m=2": lambda: winograd_conv3x3(x, W, pad, 2, U[2]),
           "m=4": lambda: winograd_conv3x3(x, W, pad, 4, U[4]),
           "U2": lambda: winograd_filter_transform(W, 2),
           "U4": lambda: winograd_filter_transform(W, 4)}
    bwd = {"direct": lambda: direct_dx(dout, W, pad, x.shape),
           "m=2": lambda: winograd_conv3x3_transpose(dout, W, pad, 2, U_t[2]),
           "m=4": lambda: winograd_conv3x3_transpose(dout, W, pad, 4, U_t[4]),
           "U2": lambda: winograd_filter_transform(W_t, 2),
           "U4": lambda: winograd_filter_transform(W_t, 4)}
    result = {}
    for direction, methods, reference in (("forward", fwd, ref), ("dx", bwd, ref_dx)):
        err = {k: float(np.abs(f() - reference).max() / np.abs(reference).max())
               for k, f in methods.items() if k[0] != "U"}    # also the warm-up
        times = {k: [] for k in methods}
        for _ in range(repeat):
            for k, f in methods.items():
                t = clock()
                f()
                times[k].append(clock() - t)
        result[direction] = ({k: 1e3 * statistics.median(v) for k, v in times.items()}, err)
    return result


def table(title, rows, batch, repeat, rng, clock):
    """Print one table per direction; return the rows' measurements."""
    measured = [(name, C, F, size, count, measure(C, F, size, batch, W, repeat, rng, clock))
                for name, C, F, size, count, W in rows]
    for direction, what in (("forward", "forward"), ("dx", "input gradient (dx)")):
        print(f"\n{title}, batch {batch}: {what}. Median ms of {repeat} rounds; "
              f"err = max|out - float64| / max|float64|")
        print(f"{'layer':10s} {'C->F':>9s} {'map':>4s} {'n':>2s} | {'direct':>8s} {'m=2':>8s} "
              f"{'m=4':>8s} {'U2':>6s} {'U4':>6s} | {'best':>7s} {'speedup':>7s} | "
              f"{'err dir':>8s} {'err m=2':>8s} {'err m=4':>8s}")
        totals = dict.fromkeys(("direct", "m=2", "m=4", "best"), 0.0)
        for name, C, F, size, count, result in measured:
            ms, err = result[direction]
            best = min(("direct", "m=2", "m=4"), key=ms.get)
            for k in ("direct", "m=2", "m=4"):
                totals[k] += count * ms[k]
            totals["best"] += count * ms[best]
            print(f"{name:10s} {f'{C}->{F}':>9s} {size:4d} {count:2d} | {ms['direct']:8.2f} "
                  f"{ms['m=2']:8.2f} {ms['m=4']:8.2f} {ms['U2']:6.2f} {ms['U4']:6.2f} | {best:>7s} "
                  f"{ms['direct'] / ms[best]:6.2f}x | {err['direct']:8.1e} {err['m=2']:8.1e} "
                  f"{err['m=4']:8.1e}")
        print(f"{'total (x n)':28s} | {totals['direct']:8.1f} {totals['m=2']:8.1f} "
              f"{totals['m=4']:8.1f} {'':13s} | {'best':>7s} "
              f"{totals['direct'] / totals['best']:6.2f}x")
    return measured


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=1, help="VGG16 batch size (default 1)")
    parser.add_argument("--tiny-batch", type=int, default=400, help="tiny batch size (default 400)")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    parser.add_argument("--only", choices=("vgg16", "tiny"), help="one model only")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall clock (default) or the process's CPU time")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"float32, {args.threads} BLAS threads, {args.clock} clock, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start")
    with threadpool_limits(args.threads):
        if args.only in (None, "vgg16"):
            rows = [(name, C, F, size, count,
                     (rng.standard_normal((F, C, 3, 3)) * np.sqrt(2 / (9 * C))).astype(np.float32))
                    for name, C, F, size, count in VGG16]
            table("VGG16 at 224", rows, args.batch, args.repeat, rng, clock)
        if args.only in (None, "tiny"):
            table("tiny at 64x64", tiny_convs(), args.tiny_batch, args.repeat, rng, clock)


if __name__ == "__main__":
    main()
