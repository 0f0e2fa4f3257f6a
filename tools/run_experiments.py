"""Run the long experiments whose results the chapters read from chapters/results/.

    python tools/run_experiments.py                 every tools/experiments/*.py
    python tools/run_experiments.py ch07_dbn        only the ones named (with or without .py)

Each script runs as its own subprocess, in turn, with the NumPy backend and one
BLAS thread (the chapters quote runtimes measured that way), followed by its
follow-up commands (``FOLLOW_UPS``: results that a script adds to its own file
after its main run, which would otherwise be lost when the main run rewrites
that file). The runner stops at the first command that fails and exits with
its status.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "tools" / "experiments"


# scripts that read another script's results run after all the others
RUN_LAST = ("ch07_accuracy",)  # reads the recipe ch07_recipe chose
# commands that add to a script's results after its main run (chapter 7 reads all of them)
FOLLOW_UPS = {"ch07_comparison": (["seeds"], ["longer"])}


def scripts(names):
    if not names:
        return sorted(EXPERIMENTS.glob("*.py"), key=lambda p: (p.stem in RUN_LAST, p.name))
    found = []
    for name in names:
        path = EXPERIMENTS / (Path(name).stem + ".py")
        if not path.exists():
            sys.exit(f"run_experiments: no experiment {name!r} in {EXPERIMENTS}")
        found.append(path)
    return found


def main(names):
    env = dict(os.environ, DBNLIB_BACKEND="numpy", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")  # fmt: skip
    for path in scripts(names):
        for args in ([], *FOLLOW_UPS.get(path.stem, ())):
            command = " ".join([str(path.relative_to(ROOT)), *args])
            print(f"== {command}", flush=True)
            started = time.time()
            rc = subprocess.call([sys.executable, str(path), *args], cwd=ROOT, env=env)
            print(f"== {command}: exit {rc} after {time.time() - started:.0f} s", flush=True)
            if rc:
                return rc
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
