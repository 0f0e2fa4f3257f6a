#!/usr/bin/env bash
# The GPU check, in one go (needs an NVIDIA GPU and CuPy; no network):
#   1. the dbnlib tests that matter on a GPU, with DBNLIB_BACKEND=cupy
#      (the notebook and browser tests are skipped: they are CPU/website checks),
#      including the CPU-against-GPU agreement test;
#   2. the GPU benchmark table.
# Both outputs go to benchmarks/results/. Meant to finish in under 5 minutes on an H100.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
STAMP=$(date +%Y-%m-%d)
OUT=benchmarks/results
mkdir -p "$OUT"

"$PY" - <<'PY' || { echo "gpu_check: CuPy cannot see a CUDA device; nothing to check" >&2; exit 2; }
import cupy
n = cupy.cuda.runtime.getDeviceCount()
assert n > 0
print("CuPy", cupy.__version__, "sees", n, "device(s)")
PY

echo "== tests on the CuPy backend"
DBNLIB_BACKEND=cupy timeout 180 "$PY" -m pytest -q -p no:cacheprovider \
    tests/test_backend.py tests/test_numerics.py tests/test_gpu.py tests/test_rbm.py tests/test_mlp.py \
    tests/test_logistic.py tests/test_dbn.py -m "not browser" 2>&1 | tee "$OUT/$STAMP-gpu-tests.txt"
tests_rc=${PIPESTATUS[0]}

echo "== benchmark table"
DBNLIB_BACKEND=cupy timeout 150 "$PY" benchmarks/bench.py --gpu --repeat 3
bench_rc=$?

echo "tests exit code: $tests_rc, benchmark exit code: $bench_rc"
exit $(( tests_rc != 0 || bench_rc != 0 ))
