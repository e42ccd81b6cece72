"""PyTorch side of ``benchmarks/synthesis_bench.py``: one style-transfer evaluation.

Usage: python benchmarks/synthesis_torch_worker.py SIZE REPEAT THREADS
Prints one JSON line {"ms": median milliseconds of one evaluation}.

The evaluation is the one minicnn times: the VGG16 trunk up to relu5_1,
content loss at relu4_2, Gram losses at relu1_1 ... relu5_1 (Gatys 2016),
backward to the input, no weight gradients.
"""

import json
import sys

import torch
import torch.nn as nn

from timing import median_ms    # benchmarks/timing.py (this script's folder is on the path)

STYLE = [1, 6, 11, 18, 25]          # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1
CONTENT = 20                        # relu4_2


def trunk():
    layers, c = [], 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512]:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
            c = v
    return nn.Sequential(*layers).eval()       # ends at relu5_1 (index 25)


def outputs(model, x):
    out = {}
    for i, m in enumerate(model):
        x = m(x)
        out[i] = x
    return out


def gram(F):
    C = F.shape[1]
    F = F.reshape(C, -1)
    return F @ F.T


def main():
    size, repeat, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = trunk()
    for p in model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        ref = outputs(model, torch.randn(1, 3, size, size))
    P = ref[CONTENT]
    A = {i: gram(ref[i]) for i in STYLE}
    x0 = torch.randn(1, 3, size, size)

    def step():
        x = x0.clone().requires_grad_(True)
        out = outputs(model, x)
        loss = 0.5 * ((out[CONTENT] - P) ** 2).sum()
        for i in STYLE:
            C, M = out[i].shape[1], out[i][0, 0].numel()
            loss = loss + 1e3 * 0.2 * ((gram(out[i]) - A[i]) ** 2).sum() / (4 * C * C * M * M)
        loss.backward()

    print(json.dumps({"ms": median_ms(step, repeat)}))


if __name__ == "__main__":
    main()
