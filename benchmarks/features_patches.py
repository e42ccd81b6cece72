"""Benchmark maximally activating patches: time over 10,000 shapes, memory at 2,000 vs 20,000.

Run it from a clone of the repository::

    python benchmarks/features_patches.py                  # the issue's figures
    python benchmarks/features_patches.py --n 2000 --layers relu4_2 --rounds 1

Targets (issue 11): ``top_patches`` over 10,000 shapes images for every
channel of ``tiny``'s last conv block (relu4_1 and relu4_2, 64 channels
each) in under 60 s on 2 cores; peak memory independent of the number of
images. Every measurement runs in a fresh process (one BLAS thread, as the
project's timings are taken) and reports its wall time and its peak resident
memory (``ru_maxrss``); on a shared machine take the median of the rounds.
Printed per run: images, layers, seconds for the search alone (the streaming
pass, ``shards.scan``) and for all of ``top_patches`` (the search again, then
the patches and the projections), each as wall time and as the process's CPU
time (with one BLAS thread, the CPU time is what the wall time would be on
an idle machine), and the peak memory in MB.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(n, layers, workers, batch_size):
    """One run in this process; prints a JSON line."""
    import resource

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from minicnn import models
    from vis.features.patches import top_patches
    from vis.features.shards import scan
    from vis.features.sources import ShapesSource

    net = models.load("tiny")
    t0, c0 = time.perf_counter(), time.process_time()
    scan(net, ShapesSource(n), layers, k=9, batch_size=batch_size, workers=workers,
         progress=False)
    t1, c1 = time.perf_counter(), time.process_time()
    r = top_patches(net, ShapesSource(n), layers, k=9, batch_size=batch_size, workers=workers,
                    progress=False)
    t2, c2 = time.perf_counter(), time.process_time()
    print(json.dumps({"n": n, "search_s": t1 - t0, "top_patches_s": t2 - t1,
                      "search_cpu_s": c1 - c0, "top_patches_cpu_s": c2 - c1,
                      "channels": sum(len(v.channels) for v in r.values()),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run(n, layers, workers, batch_size):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--worker", "--n", str(n), "--layers", *layers,
           "--workers", str(workers), "--batch-size", str(batch_size)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="*", default=[10000, 2000, 20000])
    p.add_argument("--layers", nargs="*", default=["relu4_1", "relu4_2"])
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        return worker(a.n[0], a.layers, a.workers, a.batch_size)
    for n in a.n:
        runs = [run(n, a.layers, a.workers, a.batch_size) for _ in range(a.rounds)]
        search = statistics.median(r["search_s"] for r in runs)
        full = statistics.median(r["top_patches_s"] for r in runs)
        peak = statistics.median(r["peak_mb"] for r in runs)
        cpu = statistics.median(r["top_patches_cpu_s"] for r in runs)
        cpu_search = statistics.median(r["search_cpu_s"] for r in runs)
        print(f"n={n:>6}  {' + '.join(a.layers)} ({runs[0]['channels']} channels, one pass): "
              f"search {search:5.1f} s (CPU {cpu_search:5.1f} s); top_patches (search, "
              f"patches, deconvnet and guided projections) {full:5.1f} s (CPU {cpu:5.1f} s); "
              f"peak memory {peak:4.0f} MB (workers={a.workers})", flush=True)


if __name__ == "__main__":
    main()
