"""PyTorch side of ``minicnn bench``: the same VGG16, timed in its own process.

Usage: python benchmarks/torch_worker.py BATCH {forward,grad} REPEAT THREADS [cpu|gpu]
Prints one JSON line {"ms": median milliseconds, "rss_mb": peak RSS[, "gpu_mb", "tf32_ms"]}.
On the GPU "ms" is strict float32 (TF32 off, as minicnn computes) and "tf32_ms"
PyTorch's default, which runs convolutions in TF32 (10-bit mantissa products).
"""

import json
import resource
import sys

import torch
import torch.nn as nn

from timing import median_ms    # benchmarks/timing.py (this script's folder is on the path)


def vgg16():
    layers, c = [], 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
              512, 512, 512, "M", 512, 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
            c = v
    layers += [nn.Flatten(), nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(),
               nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 1000)]
    return nn.Sequential(*layers).eval()


def main():
    batch, mode, repeat, threads = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    gpu = sys.argv[5:] == ["gpu"]
    device = torch.device("cuda" if gpu else "cpu")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = vgg16().to(device)
    for p in model.parameters():
        p.requires_grad_(False)          # input gradient only, as minicnn's bench
    x = torch.randn(batch, 3, 224, 224).to(device)

    def step():
        if mode == "grad":
            xg = x.clone().requires_grad_(True)
            model(xg)[:, 1].sum().backward()
        else:
            with torch.no_grad():
                model(x)
        if gpu:
            torch.cuda.synchronize()     # the GPU runs asynchronously

    if gpu:   # float32 as minicnn computes it; then PyTorch's default, TF32 convolutions
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    ms = median_ms(step, repeat)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row = {"ms": ms, "rss_mb": rss, "torch": torch.__version__}
    if gpu:
        row["gpu_mb"] = torch.cuda.max_memory_reserved() / 2**20
        torch.backends.cudnn.allow_tf32 = True
        row["tf32_ms"] = median_ms(step, repeat)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
