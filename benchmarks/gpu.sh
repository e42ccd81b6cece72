#!/bin/sh
# The GPU checks behind the README's GPU figures, in one go:
#   1. every device-parametrized test with CuPy on the GPU (every layer, rule and
#      convolution path; the visualization methods), against the CPU's numbers;
#   2. VGG16 at 224, batches 1 and 8, forward and forward + input gradient, against
#      PyTorch CUDA in alternating processes (benchmarks/bench.py --device gpu).
# Needs CuPy, a CUDA device and PyTorch built with CUDA. Run from a clone:
#   sh benchmarks/gpu.sh [OUTDIR]        (default gpu-results; logs and bench_gpu.json)
set -u
out=${1:-gpu-results}
mkdir -p "$out" || exit 1
python3 -c "import cupy, numpy, torch
print('cupy', cupy.__version__, '| numpy', numpy.__version__, '| torch', torch.__version__,
      '|', cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())" || exit 1
python3 -m pytest -q -rfE -p no:cacheprovider -k gpu \
    tests/minicnn/test_devices.py tests/minicnn/test_backend.py tests/vis/test_devices.py \
    2>&1 | tee "$out/gpu_tests.log"
python3 benchmarks/bench.py --device gpu --rows vgg16 --rounds 3 --repeat 10 \
    --json "$out/bench_gpu.json" 2>&1 | tee "$out/bench_gpu.log"
