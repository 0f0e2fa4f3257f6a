"""Re-run notebooks in place and save their outputs and widget state.

    python tools/execute_notebooks.py chapters/*.ipynb solutions/*.ipynb

Each notebook runs in a fresh kernel from its own folder, with the NumPy
backend and one BLAS thread, as in `make test`, so that the saved outputs are
the ones CI (which has no GPU) checks.
The saved widget state lets the static website draw each widget as it was.
"""

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path, timeout=1800):
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    started = time.time()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    ).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return time.time() - started


def main(paths):
    os.environ["DBNLIB_BACKEND"] = "numpy"
    # The same BLAS threading as `make test`, so that saved and checked outputs
    # come from the same order of floating-point sums.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    for p in paths:
        print(f"{p}: {execute(p):.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
