#!/bin/sh
# The GPU checks behind the README's GPU figures, in one go:
#   1. every device-parametrized test with CuPy on the GPU (every layer, rule and
#      convolution path; the visualization methods), against the CPU's numbers;
#   2. each convolution routine layer by layer on the GPU (gpu_layers.py);
#   3. VGG16 at 224, batches 8 and 1, forward and forward + input gradient, against
#      PyTorch CUDA in alternating processes, and the per-layer table at batch 8
#      (bench.py --device gpu).
# Needs CuPy, a CUDA device and PyTorch built with CUDA. Run from a clone:
#   sh benchmarks/gpu.sh [OUTDIR]        (default gpu-results; logs and bench_gpu.json)
set -u
out=${1:-gpu-results}
here=$(dirname "$0")
mkdir -p "$out" || exit 1
python3 -c "import cupy, numpy, torch
print('cupy', cupy.__version__, '| numpy', numpy.__version__, '| torch', torch.__version__,
      '|', cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())" || exit 1
python3 -m pytest -q -rfE -p no:cacheprovider -k gpu \
    "$here/../tests/minicnn/test_devices.py" "$here/../tests/minicnn/test_backend.py" \
    "$here/../tests/vis/test_devices.py" 2>&1 | tee "$out/gpu_tests.log"
python3 "$here/gpu_layers.py" 2>&1 | tee "$out/gpu_layers.log"
python3 "$here/bench.py" --device gpu --rows vgg16 layers --batch 8 1 --rounds 3 --repeat 10 \
    --json "$out/bench_gpu.json" 2>&1 | tee "$out/bench_gpu.log"
