#!/usr/bin/env bash
# The GPU check, in one go, in at most 5 minutes on an H100/H200 (no network needed):
#   1. tests/test_gpu.py on the CuPy backend: the tests written for device arrays
#      (CPU against GPU agreement, same seed -> same initial parameters, one device
#      generator per RNG, training on the GPU). Other test files are CPU tests: they
#      compare device arrays with np.testing or assign NumPy parameters by design, and
#      their errors would bury the real signal, so they are not run here;
#   2. the benchmark (benchmarks/bench.py --gpu): CD-1 seconds per epoch at V=784,
#      H=500, B=100/1,000/10,000 on 60,000 float32 rows, the GEMM floor on the GPU,
#      and the same machine's CPU.
# Outputs: benchmarks/results/DATE-gpu-tests.txt, DATE-gpu.md and DATE-gpu.json.
#
#   bash benchmarks/gpu_check.sh              # on the GPU machine
#   bash benchmarks/gpu_check.sh --standin    # rehearsal on the CPU with tests/cupy_standin,
#                                             # tiny sizes, results to a temporary folder
#
# Needs Python with NumPy, CuPy (cupy-cuda12x or cupy-cuda13x), tqdm and pytest. Without
# network, put wheels of what is missing in a folder and pass it: WHEELS=dir bash ...
# (make it elsewhere with `pip download -d dir pytest tqdm`).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
STAMP=$(date +%Y-%m-%d)
STANDIN=0
[ "${1:-}" = "--standin" ] && STANDIN=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ "$STANDIN" = 1 ]; then
    export PYTHONPATH="$PWD/tests/cupy_standin:$PYTHONPATH"
    OUT=${OUT:-$(mktemp -d -t gpu-check-standin.XXXXXX)}
    BENCH=(--standin --out "$OUT/$STAMP-gpu.md")
else
    OUT=${OUT:-benchmarks/results}
    BENCH=(--gpu --repeat 3 --out "$OUT/$STAMP-gpu.md")
fi
mkdir -p "$OUT"
export DBNLIB_BACKEND=cupy PYTHONDONTWRITEBYTECODE=1  # BLAS threads left at the machine's default (CPU column)

if [ -n "${WHEELS:-}" ]; then
    "$PY" -m pip install --quiet --no-index --find-links "$WHEELS" pytest tqdm || echo "gpu_check: could not install from $WHEELS" >&2
fi
"$PY" - "$STANDIN" <<'PY' || { echo "gpu_check: not ready (see above); nothing was run" >&2; exit 2; }
import importlib, sys
missing = [m for m in ("numpy", "tqdm", "pytest") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"missing Python packages: {', '.join(missing)} (pip install them, or WHEELS=dir with their wheels)")
import cupy
standin = getattr(cupy, "__standin__", False)
if standin != (sys.argv[1] == "1"):
    sys.exit("the CuPy stand-in is on the path but --standin was not given" if standin
             else "--standin was given but a real CuPy was imported")
n = cupy.cuda.runtime.getDeviceCount()
assert n > 0, "CuPy sees no CUDA device"
import numpy, dbnlib
print(f"CuPy {cupy.__version__}{' (stand-in)' if standin else ''} sees {n} device(s); NumPy {numpy.__version__};",
      dbnlib.backend_info())
if dbnlib.get_backend() != "cupy":
    sys.exit("dbnlib did not take the CuPy backend")
PY

echo "== tests/test_gpu.py on the CuPy backend"
timeout 150 "$PY" -m pytest -q -rA -p no:cacheprovider -p no:xdist -p no:randomly tests/test_gpu.py 2>&1 \
    | tee "$OUT/$STAMP-gpu-tests.txt"
tests_rc=${PIPESTATUS[0]}

echo "== benchmark table"
timeout 140 "$PY" benchmarks/bench.py "${BENCH[@]}"
bench_rc=$?

echo "tests exit code: $tests_rc, benchmark exit code: $bench_rc; results in $OUT"
exit $(( tests_rc != 0 || bench_rc != 0 ))
