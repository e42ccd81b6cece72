"""Timing of the attacks: the one-pixel generation, its full budget, PGD on VGG16.

    OPENBLAS_NUM_THREADS=1 python benchmarks/adversarial_timing.py [--rounds 3]

0. **Where the time goes** in minicnn's full forward of 400 candidates, per
   layer, and the multiply-adds per candidate with and without the cone.
1. **One generation of the one-pixel attack on tiny**: 400 candidate images
   that differ from one test shape in one pixel, scored by
   (a) minicnn's full batched forward, (b) the receptive-field cone
   (``vis/adversarial/cone.py``), (c) PyTorch's batched forward of the same
   net (``torch.no_grad``). Each side runs in its own process, alternating
   minicnn, torch, minicnn, torch ... (NumPy's and torch's thread pools slow
   each other down in one process, and a shared machine is noisy): the
   figure to trust is the median of the per-round ratios.
2. **The paper's full budget** (400 x (100 + 1) candidates) for one image,
   with the early stop switched off, through ``one_pixel`` (cone on).
3. **PGD with 10 steps on VGG16 at 224, batch 1**, against one forward plus
   input gradient (both minicnn, one process, median of repeats).

Prints milliseconds; the thread count is that of the environment
(``OPENBLAS_NUM_THREADS``; torch is given the same).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import median_ms  # noqa: E402  (benchmarks/timing.py, this script's folder)


def _candidates(P=400, pixels=1, seed=0):
    """One test shape, and P random (row, col, colour) changes of ``pixels`` pixels each."""
    from minicnn import models
    from minicnn.data import make_shapes
    from minicnn.preprocessing import preprocess
    from minicnn.tiny import TEST_SEED
    net = models.load("tiny")
    x0 = preprocess(make_shapes(1, seed=TEST_SEED).images, net.meta)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 64, (P, pixels))
    cols = rng.integers(0, 64, (P, pixels))
    values = rng.standard_normal((P, pixels, 3)).astype(np.float32) * 2
    batch = np.repeat(x0, P, axis=0)
    for i in range(pixels):
        batch[np.arange(P), :, rows[:, i], cols[:, i]] = values[:, i]
    return net, x0, rows, cols, values, batch


def worker(kind, repeat, pixels):
    """One measurement in this process; prints one JSON line."""
    net, x0, rows, cols, values, batch = _candidates(pixels=pixels)
    if kind == "full":
        ms = median_ms(lambda: net.predict(batch), repeat)
    elif kind == "cone":
        from vis.adversarial.cone import PixelCone
        cone = PixelCone(net, x0)
        ms = median_ms(lambda: cone.scores(rows, cols, values), repeat)
    else:
        import torch
        from tests.torch_twin import twin
        torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
        model = twin(net, torch.float32)
        xt = torch.tensor(batch)

        def step():
            with torch.no_grad():
                model(xt)
        ms = median_ms(step, repeat)
    print(json.dumps({"ms": ms}))


def _run(args, env):
    out = subprocess.run([sys.executable, __file__] + args, env=env, capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])["ms"]


def generation(rounds, repeat, pixels):
    env = dict(os.environ)
    kinds = ["full", "cone", "torch"]
    got = {k: [] for k in kinds}
    for _ in range(rounds):
        for k in kinds:
            got[k].append(_run(["--worker", k, "--repeat", str(repeat), "--pixels",
                                str(pixels)], env))
    med = {k: statistics.median(v) for k, v in got.items()}
    ratio = {k: statistics.median(a / b for a, b in zip(got[k], got["torch"])) for k in kinds}
    print(f"\n1. one generation, 400 tiny candidates, {pixels} pixel(s) each "
          f"({rounds} alternating rounds x {repeat} repeats, median ms)")
    for k, name in zip(kinds, ["minicnn full forward", "minicnn cone", "PyTorch forward"]):
        print(f"   {name:<22}{med[k]:>9.1f} ms   x{ratio[k]:.2f} PyTorch")
    return med, ratio


def breakdown(repeat):
    """Where a full forward of 400 candidates spends its time, and the cone's work."""
    from minicnn.layers import Conv2d
    from vis.adversarial.cone import PixelCone
    net, x0, rows, cols, values, batch = _candidates()
    shapes = net.output_shapes()
    cone = dict(PixelCone(net, x0).windows)
    print("\n0. where a full forward of 400 tiny candidates goes (median ms per layer), and the "
          "multiply-adds per candidate, full vs cone (one pixel)")
    a = batch
    total_full = total_cone = 0
    for layer in net.layers:
        inp = a
        ms = median_ms(lambda: layer.forward(inp), repeat)
        a = layer.forward(inp)
        line = f"   {layer.name:<9}{ms:>9.1f} ms"
        if isinstance(layer, Conv2d):
            F, C, KH, KW = layer.params["W"].shape
            _, H, W = shapes[layer.name]
            h, w = cone.get(layer.name, (H, W))
            full, part = F * C * KH * KW * H * W, F * C * KH * KW * h * w
            total_full, total_cone = total_full + full, total_cone + part
            line += f"   {full / 1e6:6.2f} M MACs full, {part / 1e6:6.2f} M in the cone ({h}x{w})"
        print(line)
    print(f"   total: {total_full / 1e6:.1f} M MACs per candidate, {total_cone / 1e6:.1f} M in "
          f"the cone (x{total_full / total_cone:.1f} fewer)")


def full_budget(images=2):
    import vis.adversarial.few_pixels as op
    from minicnn import models
    from minicnn.data import make_shapes
    from minicnn.preprocessing import preprocess
    from minicnn.tiny import TEST_SEED
    net = models.load("tiny")
    data = make_shapes(images, seed=TEST_SEED)
    x = preprocess(data.images, net.meta)
    saved = op.STOP_UNTARGETED
    op.STOP_UNTARGETED = 0.0                       # no early stop: the whole budget
    try:
        t, c = time.perf_counter(), time.process_time()
        r = op.one_pixel(net, x, data.labels, popsize=400, maxiter=100, seed=0)
        s, cpu = (time.perf_counter() - t) / images, (time.process_time() - c) / images
    finally:
        op.STOP_UNTARGETED = saved
    print(f"\n2. the paper's full budget, one pixel, early stop off: {s:.1f} s per image "
          f"wall, {cpu:.1f} s CPU ({int(r.forward.mean()) - 1} candidates each, {images} images)")
    return s, cpu


def pgd_vgg16(repeat):
    from minicnn import models
    from vis.adversarial.common import loss_gradient
    from vis.adversarial.iterative import pgd
    net = models.vgg16(seed=0)
    net.meta["preprocess"] = dict(models.CAFFE_BGR)
    x = np.random.default_rng(0).uniform(-100, 100, (1, 3, 224, 224)).astype(np.float32)
    one = median_ms(lambda: loss_gradient(net, x, np.array([1])), repeat)
    ten = median_ms(lambda: pgd(net, x, 1, 8 / 255, step=2 / 255, steps=10), max(1, repeat // 2))
    print(f"\n3. VGG16 224 batch 1: forward + input gradient {one:.0f} ms; PGD 10 steps "
          f"{ten:.0f} ms = x{ten / one:.2f}")
    return one, ten


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--pixels", type=int, nargs="+", default=[1, 3, 5])
    p.add_argument("--skip", nargs="*", default=[],
                   choices=["breakdown", "generation", "budget", "pgd"])
    p.add_argument("--worker", choices=["full", "cone", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.worker, args.repeat, args.pixels[0])
    print(f"threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
          f"load average {os.getloadavg()[0]:.1f} (a shared machine: expect noise)")
    if "breakdown" not in args.skip:
        breakdown(args.repeat)
    if "generation" not in args.skip:
        for d in args.pixels:
            generation(args.rounds, args.repeat, d)
    if "budget" not in args.skip:
        full_budget()
    if "pgd" not in args.skip:
        pgd_vgg16(args.repeat)


if __name__ == "__main__":
    main()
