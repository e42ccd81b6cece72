"""Synthesis: speed against PyTorch, wall times, and the measured outcomes.

    python benchmarks/synthesis_bench.py                  # everything (~10 min on 2 cores)
    python benchmarks/synthesis_bench.py --only speed     # or: times, outcomes

**speed** — one style-transfer evaluation on the VGG16 trunk at 256x256:
forward to relu5_1, content loss at relu4_2, Gram losses at relu1_1 ...
relu5_1, backward with the 6 injections, no weight gradients. minicnn and
PyTorch (``benchmarks/synthesis_torch_worker.py``) run in alternating separate
processes with 2 BLAS threads, as ``minicnn bench`` does; the figure is the
median of the per-round ratios. Target: ratio <= 1.25.

**times** — wall time of style transfer at 128 px for 100 L-BFGS-B
evaluations and of DeepDream, 3 octaves at 224 px (10 steps each), on
``vgg16_hed``. Target: each under 90 s on 2 cores.

**outcomes** — the numbers the README reports: class models on ``tiny`` (per
class: target score at the start and end, class of the score-only image,
posterior of the probability image); style transfer at 128 px (style loss
ratio start/end from a content start in 100 evaluations; content loss of the
result and of the style image itself); texture from noise at 128 px (Gram
loss ratio); inversion at 128 px (feature and image error per depth).
Real images: ``grace_hopper.jpg`` (content) and
``Minduka_Present_Blue_Pack.png`` (style, texture) from matplotlib's sample data.

Run with ``OPENBLAS_NUM_THREADS=2`` (the in-process parts use it); timings on a
shared machine are noisy: run it on a quiet one.
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
TORCH_WORKER = ROOT / "benchmarks" / "synthesis_torch_worker.py"
STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


def worker(size, repeat):
    """Time one minicnn style-transfer evaluation in this process; print one JSON line."""
    from minicnn import models
    from vis.objectives import content, gram_matrix, style
    from vis.optimize import evaluate
    net = models.vgg16_hed(seed=0)
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((1, 3, size, size)).astype(np.float32)
    net.forward(ref, until="relu5_1")
    P = net.outputs["relu4_2"].copy()
    A = [gram_matrix(net.outputs[n])[0] for n in STYLE]
    goal = -(content("relu4_2", P) + 1e3 * style(STYLE, A))
    x = rng.standard_normal((1, 3, size, size)).astype(np.float32)
    evaluate(net, goal, x)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        evaluate(net, goal, x)
        times.append(time.perf_counter() - t)
    print(json.dumps({"ms": 1e3 * statistics.median(times)}))


def _run(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"worker failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def speed(rounds, repeat, threads, size=256):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    mine, theirs, ratios = [], [], []
    for _ in range(rounds):
        a = _run([sys.executable, __file__, "--worker", str(size), str(repeat)], env)["ms"]
        b = _run([sys.executable, str(TORCH_WORKER), str(size), str(repeat), str(threads)],
                 env)["ms"]
        mine.append(a)
        theirs.append(b)
        ratios.append(a / b)
        print(f"  round: minicnn {a:.0f} ms, torch {b:.0f} ms, ratio {a / b:.2f}", flush=True)
    print(f"style evaluation {size}x{size}: minicnn {statistics.median(mine):.0f} ms, torch "
          f"{statistics.median(theirs):.0f} ms, ratio {statistics.median(ratios):.2f} "
          f"(target <= 1.25)", flush=True)


def images(net, size):
    import warnings

    import matplotlib.cbook as cbook

    from minicnn.preprocessing import preprocess
    from vis.image import load_image
    get = lambda name: cbook.get_sample_data(name, asfileobj=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)      # RGBA -> RGB
        content = preprocess(load_image(get("grace_hopper.jpg"), size=size)[None], net)
        style = preprocess(load_image(get("Minduka_Present_Blue_Pack.png"), size=size)[None], net)
    return content, style


def times():
    from minicnn import models
    from vis.synthesis import deepdream, style_transfer
    net = models.load("vgg16_hed")
    content, style = images(net, 128)
    t = time.perf_counter()
    style_transfer(net, content, style, init="content", steps=100, progress=False)
    print(f"style transfer 128 px, 100 evaluations: {time.perf_counter() - t:.1f} s "
          f"(target < 90 s)", flush=True)
    content, _ = images(net, 224)
    t = time.perf_counter()
    deepdream(net, content, octaves=3, progress=False)
    print(f"DeepDream 3 octaves at 224 px: {time.perf_counter() - t:.1f} s (target < 90 s)",
          flush=True)


def outcomes():
    from minicnn import models
    from vis.synthesis import class_model, invert, style_transfer, texture
    tiny = models.load("tiny")
    names = tiny.meta["class_names"]
    k = np.arange(8)
    s = class_model(tiny, list(k), "score", progress=False)
    p = class_model(tiny, list(k), "probability", progress=False)
    print("class models on tiny (100 Adam steps from the mean image):")
    print(f"  {'class':<9}{'score start':>12}{'score end':>11}  {'score image is':<15}"
          f"{'p(class) of probability image':>30}")
    for c in k:
        print(f"  {names[c]:<9}{s.info['scores_start'][c, c]:>12.2f}{s.info['scores'][c, c]:>11.1f}"
              f"  {names[s.info['predicted'][c]]:<15}{p.info['probabilities'][c, c]:>30.4f}")
    net = models.load("vgg16_hed")
    content, style = images(net, 128)
    r = style_transfer(net, content, style, init="content", steps=100, progress=False)
    s0, s1 = r.history["style"][0, 0], r.final["style"][0]
    print(f"style transfer 128 px (gatys2016, content start, 100 L-BFGS-B evaluations): style "
          f"loss {s0:.4g} -> {s1:.4g} ({s0 / s1:.1f}x lower); content loss "
          f"{r.final['content relu4_2'][0]:.4g} vs the style image's own "
          f"{r.info['style_content_loss']:.4g}", flush=True)
    t = texture(net, style, steps=200, progress=False)
    g0, g1 = t.history["style"][0, 0], t.final["style"][0]
    print(f"texture 128 px from noise (200 evaluations): Gram loss {g0:.4g} -> {g1:.4g} "
          f"({g0 / g1:.0f}x lower)", flush=True)
    for layer in ("relu1_2", "relu3_3", "relu5_3"):
        inv = invert(net, content, layer, progress=False)
        print(f"inversion {layer} ({inv.info['depth']}): feature error "
              f"{inv.info['feature_error'][0]:.3f}, image error (RMS, [0,1] RGB) "
              f"{inv.info['image_error'][0]:.3f}, pixel correlation "
              f"{inv.info['image_correlation'][0]:.3f}", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["speed", "times", "outcomes"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(*args.worker)
    if args.only in (None, "speed"):
        speed(args.rounds, args.repeat, args.threads)
    if args.only in (None, "times"):
        times()
    if args.only in (None, "outcomes"):
        outcomes()


if __name__ == "__main__":
    main()
