#!/bin/sh
# The GPU checks behind the README's GPU figures, in one go:
#   1. every device-parametrized test with CuPy on the GPU (every layer, rule and
#      convolution path; the visualization methods), against the CPU's numbers;
#   2. each convolution routine layer by layer on the GPU (gpu_layers.py);
#   3. VGG16 at 224, batches 8 and 1, forward and forward + input gradient, against
#      PyTorch CUDA when it is installed, in alternating processes, and the per-layer
#      table at batch 8 (bench.py --device gpu).
# Needs CuPy and a CUDA device (PyTorch with CUDA for the ratios). From a clone:
#   sh benchmarks/gpu.sh OUTDIR          (logs and bench_gpu.json; exit 1 if a step failed)
set -u
if [ $# -ne 1 ]; then
    echo "usage: sh benchmarks/gpu.sh OUTDIR (a new folder for the logs and bench_gpu.json)" >&2
    exit 2
fi
out=$1
here=$(dirname "$0")
if ! why=$(python3 -c "from minicnn.backend import require_gpu; require_gpu()" 2>&1); then
    echo "gpu.sh: $(printf '%s\n' "$why" | tail -n 1)" >&2
    exit 1
fi
if [ -e "$out" ]; then
    echo "gpu.sh: $out exists; choose a new folder" >&2
    exit 2
fi
mkdir -p "$out" || exit 1
failed=0
step() {    # step LOG COMMAND...: run it, keep its output in OUTDIR/LOG, show it
    log=$out/$1
    shift
    "$@" >"$log" 2>&1 || failed=1
    cat "$log"
}
python3 -c "import cupy, numpy
print('cupy', cupy.__version__, '| numpy', numpy.__version__, '|',
      cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())"
step gpu_tests.log python3 -m pytest -q -rfE -p no:cacheprovider -k gpu \
    "$here/../tests/minicnn/test_devices.py" "$here/../tests/minicnn/test_backend.py" \
    "$here/../tests/vis/test_devices.py"
step gpu_layers.log python3 "$here/gpu_layers.py"
step bench_gpu.log python3 "$here/bench.py" --device gpu --rows vgg16 layers --batch 8 1 \
    --rounds 3 --repeat 10 --json "$out/bench_gpu.json"
[ $failed -eq 0 ] || echo "gpu.sh: a step failed; see the logs in $out" >&2
exit $failed
