"""Which convolution routine is fastest on the GPU, layer by layer (VGG16 at 224).

Run it from a clone of the repository, on a machine with CuPy and a CUDA device::

    python benchmarks/gpu_layers.py                 # batches 8 and 1, 10 timed calls
    python benchmarks/gpu_layers.py --batch 8 --repeat 20

For every distinct 3x3 conv of VGG16 (Simonyan & Zisserman 2015, Table 1, D)
it times, in float32 on the GPU, each routine ``Conv2d`` could take:

* forward: ``im2col`` (one batched matrix product), ``winograd``
  (F(4x4, 3x3), with the filter transform, as a layer computes it per call)
  and ``row shifts``;
* input gradient: ``col2im`` (W^T dout, then KH*KW strided adds), the
  flipped-kernel convolution by im2col (``T im2col``) and by Winograd
  (``T winograd``).

Each figure is the median of ``--repeat`` calls after one warm-up, the GPU
synchronized after every call (CUDA runs asynchronously). ``conv_paths``
takes the result on the GPU: see the comment there.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "minicnn" / "__init__.py").is_file() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))   # run from a clone: use its minicnn
from minicnn import backend  # noqa: E402
from minicnn.layers import Conv2d  # noqa: E402
from minicnn.layers.conv import conv2d_im2col  # noqa: E402
from minicnn.layers.conv_fast import conv2d_row_shifts, conv_transpose_stride1  # noqa: E402
from minicnn.layers.winograd import winograd_conv3x3, winograd_conv3x3_transpose  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))   # timing.py, when loaded by path
from timing import median_ms  # noqa: E402

#: (name, C, F, map size) of VGG16's distinct 3x3 convs at 224.
VGG16 = [("conv1_1", 3, 64, 224), ("conv1_2", 64, 64, 224), ("conv2_1", 64, 128, 112),
         ("conv2_2", 128, 128, 112), ("conv3_1", 128, 256, 56), ("conv3_2", 256, 256, 56),
         ("conv4_1", 256, 512, 28), ("conv4_2", 512, 512, 28), ("conv5_1", 512, 512, 14)]


def routines(conv, pad=(1, 1)):
    """{name: f(x, dout)} of every forward and input-gradient routine."""
    W = conv.params["W"]

    def by_im2col(x, K, p):
        return conv2d_im2col(x, K, (1, 1), p)

    return {
        "im2col": lambda x, d: conv2d_im2col(x, W, (1, 1), pad),
        "winograd": lambda x, d: winograd_conv3x3(x, W, pad),
        "row shifts": lambda x, d: conv2d_row_shifts(x, W, pad),
        "col2im": lambda x, d: conv._input_grad(d),
        "T im2col": lambda x, d: conv_transpose_stride1(d, W, pad, by_im2col),
        "T winograd": lambda x, d: winograd_conv3x3_transpose(d, W, pad),
    }


def table(batch, repeat, rng):
    wait = backend._import_cupy().cuda.Device().synchronize
    names = list(routines(Conv2d("c", 1, 1, 3)))
    print(f"\nVGG16 224, batch {batch}, float32 on the GPU, ms (median of {repeat})")
    print(f"{'layer':<9}" + "".join(f"{n:>12}" for n in names))
    total = dict.fromkeys(names, 0.0)
    for name, C, F, size in VGG16:
        conv = Conv2d(name, C, F, 3, padding=1, rng=rng)
        conv.params = {k: backend.to_device(v, "gpu") for k, v in conv.params.items()}
        x = backend.to_device(np.abs(rng.standard_normal((batch, C, size, size),
                                                          dtype=np.float32)), "gpu")
        d = backend.to_device(rng.standard_normal((batch, F, size, size), dtype=np.float32),
                              "gpu")
        conv.x_shape = tuple(x.shape)
        row = {n: median_ms(lambda f=f: (f(x, d), wait()), repeat)   # CUDA is asynchronous
               for n, f in routines(conv).items()}
        for n in names:
            total[n] += row[n] * (2 if name in ("conv3_2", "conv4_2") else
                                  3 if name == "conv5_1" else 1)
        print(f"{name:<9}" + "".join(f"{row[n]:>12.2f}" for n in names), flush=True)
    print(f"{'all 13':<9}" + "".join(f"{total[n]:>12.2f}" for n in names))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, nargs="+", default=[8, 1], help="batch sizes")
    p.add_argument("--repeat", type=int, default=10, help="timed calls per routine")
    args = p.parse_args(argv)
    if min(args.batch + [args.repeat]) < 1:
        p.error("--batch and --repeat must be at least 1")
    try:
        backend.require_gpu()
    except RuntimeError as e:
        p.error(str(e))
    rng = np.random.default_rng(0)
    for batch in args.batch:
        table(batch, args.repeat, rng)


if __name__ == "__main__":
    main()
