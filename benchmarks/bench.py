"""Benchmark minicnn against PyTorch: VGG16 at 224x224, a style-transfer evaluation, tiny.

Run it from a clone of the repository (``minicnn bench`` runs this file)::

    python benchmarks/bench.py                    # 5 rounds: VGG16, style, tiny
    python benchmarks/bench.py --rows vgg16 --batch 1 --mode grad --rounds 3 --no-torch
    python benchmarks/bench.py --rows layers      # which conv path each layer takes
    python benchmarks/bench.py --json bench.json  # the figures for the README table
    python benchmarks/bench.py --device gpu       # VGG16 with CuPy against PyTorch CUDA
    python benchmarks/bench.py --help

Each measurement runs in its own process with 2 BLAS threads, and when PyTorch
is installed the same model in PyTorch runs in alternating processes
(minicnn, torch, minicnn, torch, …): NumPy's OpenBLAS and torch's thread pools
slow each other down when they share one process on 2 cores, and shared
machines are noisy, so the figure to trust is the median of the per-round
ratios minicnn/torch. The gradient pass is the one visualization needs:
rule "gradient", no weight gradients (torch: parameters with
``requires_grad=False``).

Printed per row: median milliseconds, GFLOP/s for VGG16 (multiply-adds
counted as 2 FLOPs; the input-gradient pass costs about twice the forward),
peak resident memory of the worker process, and the ratio. The rows:

* ``vgg16``: VGG16 at 224, batches 1 and 8, forward and forward + input gradient;
* ``style``: one style-transfer evaluation on the VGG16 trunk at 256x256
  (forward to relu5_1, 6 injections, backward; ``synthesis_bench.py``);
* ``tiny``: the shapes model's forward on 400 images (one generation of the
  one-pixel attack; ``adversarial_timing.py``);
* ``layers`` (minicnn only): per-layer forward and input-gradient time of
  VGG16 and the path each convolution takes (im2col, row shifts, Winograd).

The PyTorch side lives in ``torch_worker.py`` and the two workers named above,
so that the package never imports torch; this harness is not part of the
package either.
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "minicnn" / "__init__.py").is_file() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))   # run from a clone: use its minicnn
from minicnn import models  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))   # timing.py, when loaded by path
from timing import median_ms  # noqa: E402

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


def worker(batch, mode, repeat, dtype="float32", device="cpu"):
    """Time minicnn in this process; print one JSON line."""
    from minicnn import backend
    net = models.vgg16(seed=0).astype(dtype).to(device)
    x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(dtype)
    onehot = np.zeros((batch, 1000), dtype)
    onehot[:, 1] = 1
    x, onehot = backend.to_device(x, device), backend.to_device(onehot, device)
    xp = backend.get_array_module(x)
    wait = xp.cuda.Device().synchronize if device == "gpu" else (lambda: None)

    def step():
        if mode == "forward":             # scores only (torch: no_grad)
            net.predict(x)
        else:                             # what saliency and the attacks ask
            net.forward(x, keep=())
            net.backward({"fc8": onehot}, rule="gradient")
        wait()                            # the GPU runs asynchronously

    row = {"ms": median_ms(step, repeat), "rss_mb": _peak_rss_mb()}
    if device == "gpu":
        row["gpu_mb"] = xp.get_default_memory_pool().total_bytes() / 2**20
    print(json.dumps(row))


def _run(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark worker failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def configurations(args):
    """Every row to time: (label, minicnn command, torch command, FLOPs or None)."""
    here, py, rep = Path(__file__).resolve().parent, sys.executable, str(args.repeat)
    rows = []
    if "vgg16" in args.rows:
        for batch in args.batch:
            for mode in args.mode:
                rows.append((f"batch {batch} {mode}",
                             [py, str(Path(__file__).resolve()), "--worker", "minicnn",
                              "--batch", str(batch), "--mode", mode, "--repeat", rep,
                              "--device", args.device],
                             [py, str(TORCH_WORKER), str(batch), mode, rep, str(args.threads),
                              args.device],
                             vgg16_flops(batch, mode == "grad")))
    if "style" in args.rows:          # one style-transfer evaluation, VGG16 trunk, 256x256
        rows.append(("style 256 eval", [py, str(here / "synthesis_bench.py"), "--worker",
                                        "256", rep],
                     [py, str(here / "synthesis_torch_worker.py"), "256", rep,
                      str(args.threads)], None))
    if "tiny" in args.rows:           # tiny forward, 400 images (one one-pixel generation)
        worker = [py, str(here / "adversarial_timing.py"), "--repeat", rep, "--worker"]
        rows.append(("tiny 400 fwd", worker + ["full"], worker + ["torch"], None))
    return rows


def layer_table(batch=1, repeat=3, device="cpu"):
    """Per-layer milliseconds of VGG16 at 224 (forward, input gradient) and each conv's path."""
    from minicnn import backend
    from minicnn.layers import Conv2d
    from minicnn.layers.conv_fast import conv_paths
    net = models.vgg16(seed=0).to(device)
    x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32)
    x = backend.to_device(x, device)
    xp = backend.get_array_module(x)
    wait = xp.cuda.Device().synchronize if device == "gpu" else (lambda: None)
    rows = []
    print(f"\nper layer, VGG16 224 batch {batch} on the {device} (median of {repeat}), ms")
    print(f"{'layer':<10}{'forward':>9}{'backward':>10}  path (forward / input gradient)")
    for layer in net.layers:
        def fwd(inp=x):
            return layer.forward(inp)
        out = fwd()
        dout = xp.ones_like(out)
        f_ms = median_ms(lambda: (fwd(), wait()), repeat)
        b_ms = median_ms(lambda: (layer.backward(dout), wait()), repeat)
        path = " / ".join(conv_paths(layer, x.shape)) if isinstance(layer, Conv2d) else ""
        print(f"{layer.name:<10}{f_ms:>9.1f}{b_ms:>10.1f}  {path}", flush=True)
        rows.append({"layer": layer.name, "forward_ms": f_ms, "backward_ms": b_ms, "path": path})
        x = out
    return rows


def _no_nan(value):
    """NaN (a figure that does not apply) as JSON null."""
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return None if isinstance(value, float) and value != value else value


def _check_json(p, path):
    """Refuse before any timing a --json file that exists or cannot be made (its
    folder is created, as for every file this project writes)."""
    if path.exists():
        p.error(f"--json {path} exists; choose another file name")
    folder = path.parent
    while not folder.exists():               # the deepest folder that exists
        folder = folder.parent
    if not folder.is_dir():
        p.error(f"--json {path}: {folder} is a file, not a folder")


def parser(prog=None, parser_class=argparse.ArgumentParser):
    """The command line: every option with its default."""
    p = parser_class(
        prog=prog, description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rows", nargs="+", choices=["vgg16", "style", "tiny", "layers"],
                   help="vgg16: the batch x mode grid; style: one style-transfer evaluation "
                        "(256x256, 6 injections); tiny: tiny forward on 400 images; layers: "
                        "the per-layer table of VGG16 (minicnn only, in this process) "
                        "(default: vgg16 style tiny; with --device gpu: vgg16)")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 8], metavar="N",
                   help="VGG16 batch sizes to time")
    p.add_argument("--mode", nargs="+", default=["forward", "grad"], choices=["forward", "grad"],
                   help="forward: scores only; grad: forward + input gradient")
    p.add_argument("--rounds", type=int, default=5,
                   help="alternating process rounds (minicnn, torch, minicnn, ...)")
    p.add_argument("--repeat", type=int, default=5, help="timed steps per process")
    p.add_argument("--threads", type=int, default=2,
                   help="BLAS threads (OPENBLAS/OMP/MKL_NUM_THREADS, torch.set_num_threads)")
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                   help="gpu: the vgg16 rows with CuPy against PyTorch CUDA (peak GPU "
                        "memory of the pool in the JSON)")
    p.add_argument("--no-torch", action="store_true",
                   help="time minicnn only, even when PyTorch is installed")
    p.add_argument("--json", metavar="FILE",
                   help="also write the figures as JSON (for the README table); no file "
                        "when absent")
    p.add_argument("--worker", choices=["minicnn"], help=argparse.SUPPRESS)
    return p


def main(argv=None, prog=None, parser_class=argparse.ArgumentParser):
    """Run the benchmark with command-line arguments ``argv`` (default: ``sys.argv[1:]``).

    Returns:
        ``{label: {"ms", "rss_mb"[, "gflops"][, "torch_ms", "ratio"]}}``, plus
        ``"layers"``: the per-layer rows when asked. ``parser_class``: ``minicnn
        bench`` passes one whose usage errors are one line.
    """
    p = parser(prog, parser_class)
    args = p.parse_args(argv)
    for name in ("batch", "rounds", "repeat", "threads"):
        values = getattr(args, name)
        if min(values if isinstance(values, list) else [values]) < 1:
            p.error(f"--{name} must be at least 1")
    if args.worker:
        return worker(args.batch[0], args.mode[0], args.repeat, device=args.device)
    if args.rows is None:
        args.rows = ["vgg16", "style", "tiny"] if args.device == "cpu" else ["vgg16"]
    if args.device == "gpu":
        if not set(args.rows) <= {"vgg16", "layers"}:
            p.error("--device gpu times the vgg16 and layers rows only: add --rows vgg16")
        from minicnn.backend import require_gpu
        try:
            require_gpu()
        except RuntimeError as e:
            p.error(f"--device gpu: {e}")
    if args.json:
        _check_json(p, Path(args.json))

    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    with_torch = (not args.no_torch and TORCH_WORKER.exists()
                  and importlib.util.find_spec("torch") is not None)
    torch_state = "yes" if with_torch else "off" if args.no_torch else "not installed"
    if with_torch and args.device == "gpu":   # a CPU-only PyTorch: time minicnn alone
        probe = "import sys, torch; sys.exit(not torch.cuda.is_available())"
        with_torch = subprocess.run([sys.executable, "-c", probe]).returncode == 0
        torch_state = "yes" if with_torch else "installed without CUDA"
    print(f"float32, {args.device}, {args.threads} threads, {args.rounds} rounds x "
          f"{args.repeat} steps; torch: {torch_state}")
    memory = "RSS MB" if args.device == "cpu" else "GPU MB"   # peak resident / GPU pool
    key = "rss_mb" if args.device == "cpu" else "gpu_mb"
    header = f"{'config':<16}{'minicnn ms':>11}{'GFLOP/s':>9}{memory:>8}"
    if with_torch:
        header += f"{'torch ms':>10}{'GFLOP/s':>9}{memory:>8}{'ratio':>8}"
    rows = configurations(args)
    if rows:                              # (--rows layers alone prints its own table)
        print(header)
    results = {}
    for label, mine_cmd, torch_cmd, flops in rows:
        mine, theirs, ratios = [], [], []
        for _ in range(args.rounds):
            a = _run(mine_cmd, env)
            mine.append(a)
            if with_torch:
                b = _run(torch_cmd, env)
                theirs.append(b)
                ratios.append(a["ms"] / b["ms"])
        ms = statistics.median(r["ms"] for r in mine)
        rss = max(r.get(key, float("nan")) for r in mine)
        gflops = flops / ms / 1e6 if flops else float("nan")
        line = f"{label:<16}{ms:>11.1f}{gflops:>9.1f}{rss:>8.0f}"
        row = {"ms": ms, "gflops": gflops, key: rss}
        if with_torch:
            tms = statistics.median(r["ms"] for r in theirs)
            ratio = statistics.median(ratios)
            trss = max(r.get(key, float("nan")) for r in theirs)
            line += (f"{tms:>10.1f}{(flops / tms / 1e6 if flops else float('nan')):>9.1f}"
                     f"{trss:>8.0f}{ratio:>8.2f}")
            row.update({"torch_ms": tms, "torch_" + key: trss, "ratio": ratio})
            if "torch" in theirs[0]:
                row["torch_version"] = theirs[0]["torch"]
            if args.device == "gpu":      # against PyTorch's default TF32 convolutions
                row["torch_tf32_ms"] = statistics.median(r["tf32_ms"] for r in theirs)
                row["ratio_tf32"] = statistics.median(
                    a["ms"] / b["tf32_ms"] for a, b in zip(mine, theirs))
                line += f"   (TF32 torch {row['torch_tf32_ms']:.1f} ms: {row['ratio_tf32']:.2f})"
        print(line.replace("nan", "  -"), flush=True)
        results[label] = row
    if "layers" in args.rows:
        results["layers"] = layer_table(args.batch[0], device=args.device)
    if args.json:
        from minicnn.files import atomic_write
        text = json.dumps(_no_nan({"device": args.device, "threads": args.threads, "rounds": args.rounds,
                                   "repeat": args.repeat, "results": results}), indent=1)
        atomic_write(args.json, lambda f: f.write(text.encode()))
        print(f"wrote {args.json}")
    return results


if __name__ == "__main__":
    main()
