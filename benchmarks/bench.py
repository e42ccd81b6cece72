"""Benchmark minicnn against PyTorch: VGG16 at 224x224, forward and forward + input gradient.

Run it from a clone of the repository (``minicnn bench`` runs this file)::

    python benchmarks/bench.py                    # 5 rounds, batches 1 and 8
    python benchmarks/bench.py --batch 1 --mode grad --rounds 3 --no-torch
    python benchmarks/bench.py --help

Each measurement runs in its own process with 2 BLAS threads, and when PyTorch
is installed the same model in PyTorch runs in alternating processes
(minicnn, torch, minicnn, torch, …): NumPy's OpenBLAS and torch's thread pools
slow each other down when they share one process on 2 cores, and shared
machines are noisy, so the figure to trust is the median of the per-round
ratios minicnn/torch. The gradient pass is the one visualization needs:
rule "gradient", no weight gradients (torch: parameters with
``requires_grad=False``).

Printed per configuration: median milliseconds, GFLOP/s (multiply-adds
counted as 2 FLOPs; the input-gradient pass costs about twice the forward),
peak resident memory of the worker process, and the ratio.

The PyTorch side lives in ``torch_worker.py`` beside this file, so that the
package never imports torch; this harness is not part of the package either.
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "minicnn" / "__init__.py").is_file() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))   # run from a clone: use its minicnn
from minicnn import models  # noqa: E402

TORCH_WORKER = Path(__file__).resolve().parent / "torch_worker.py"


def vgg16_flops(batch, backward):
    """Multiply-adds x 2 of VGG16 at 224 (convs and fcs); x2 with the input gradient."""
    net = models.vgg16(seed=None)
    shapes = net.output_shapes()
    flops = 0
    for layer in net.layers:
        if "W" in layer.params:
            out = shapes[layer.name]
            fan_in = int(np.prod(layer.params["W"].shape[1:]))
            flops += 2 * int(np.prod(out)) * fan_in
    return batch * flops * (2 if backward else 1)


def _peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(batch, mode, repeat, dtype="float32"):
    """Time minicnn in this process; print one JSON line."""
    net = models.vgg16(seed=0).astype(dtype)
    x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(dtype)
    onehot = np.zeros((batch, 1000), dtype)
    onehot[:, 1] = 1

    def step():
        net.forward(x, keep=())           # scores only, as saliency and the attacks ask
        if mode == "grad":
            net.backward({"fc8": onehot}, rule="gradient")

    step()                                   # warm-up: page in weights and buffers
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    print(json.dumps({"ms": 1e3 * statistics.median(times), "rss_mb": _peak_rss_mb()}))


def _run(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark worker failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def parser(prog=None):
    """The command line: every option with its default."""
    p = argparse.ArgumentParser(
        prog=prog, description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 8], metavar="N",
                   help="batch sizes to time")
    p.add_argument("--mode", nargs="+", default=["forward", "grad"], choices=["forward", "grad"],
                   help="forward: scores only; grad: forward + input gradient")
    p.add_argument("--rounds", type=int, default=5,
                   help="alternating process rounds (minicnn, torch, minicnn, ...)")
    p.add_argument("--repeat", type=int, default=5, help="timed steps per process")
    p.add_argument("--threads", type=int, default=2,
                   help="BLAS threads (OPENBLAS/OMP/MKL_NUM_THREADS, torch.set_num_threads)")
    p.add_argument("--no-torch", action="store_true",
                   help="time minicnn only, even when PyTorch is installed")
    p.add_argument("--worker", choices=["minicnn"], help=argparse.SUPPRESS)
    return p


def main(argv=None, prog=None):
    """Run the benchmark with command-line arguments ``argv`` (default: ``sys.argv[1:]``).

    Returns:
        ``{(batch, mode): {"ms", "gflops", "rss_mb"[, "torch_ms", "ratio"]}}``.
    """
    p = parser(prog)
    args = p.parse_args(argv)
    for name in ("batch", "rounds", "repeat", "threads"):
        values = getattr(args, name)
        if min(values if isinstance(values, list) else [values]) < 1:
            p.error(f"--{name} must be at least 1")
    if args.worker:
        return worker(args.batch[0], args.mode[0], args.repeat)

    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    with_torch = (not args.no_torch and TORCH_WORKER.exists()
                  and importlib.util.find_spec("torch") is not None)
    print(f"VGG16 224x224 float32, {args.threads} threads, {args.rounds} rounds x "
          f"{args.repeat} steps; torch: "
          f"{'yes' if with_torch else 'off' if args.no_torch else 'not installed'}")
    header = f"{'config':<16}{'minicnn ms':>11}{'GFLOP/s':>9}{'RSS MB':>8}"
    if with_torch:
        header += f"{'torch ms':>10}{'GFLOP/s':>9}{'RSS MB':>8}{'ratio':>8}"
    print(header)
    results = {}
    for batch in args.batch:
        for mode in args.mode:
            mine, theirs, ratios = [], [], []
            for _ in range(args.rounds):
                a = _run([sys.executable, str(Path(__file__).resolve()), "--worker", "minicnn",
                          "--batch", str(batch), "--mode", mode,
                          "--repeat", str(args.repeat)], env)
                mine.append(a)
                if with_torch:
                    b = _run([sys.executable, str(TORCH_WORKER), str(batch), mode,
                              str(args.repeat), str(args.threads)], env)
                    theirs.append(b)
                    ratios.append(a["ms"] / b["ms"])
            flops = vgg16_flops(batch, mode == "grad")
            ms = statistics.median(r["ms"] for r in mine)
            line = (f"{f'batch {batch} {mode}':<16}{ms:>11.1f}{flops / ms / 1e6:>9.1f}"
                    f"{max(r['rss_mb'] for r in mine):>8.0f}")
            row = {"ms": ms, "gflops": flops / ms / 1e6,
                   "rss_mb": max(r["rss_mb"] for r in mine)}
            if with_torch:
                tms = statistics.median(r["ms"] for r in theirs)
                ratio = statistics.median(ratios)
                line += (f"{tms:>10.1f}{flops / tms / 1e6:>9.1f}"
                         f"{max(r['rss_mb'] for r in theirs):>8.0f}{ratio:>8.2f}")
                row.update(torch_ms=tms, ratio=ratio)
            print(line, flush=True)
            results[(batch, mode)] = row
    return results


if __name__ == "__main__":
    main()
