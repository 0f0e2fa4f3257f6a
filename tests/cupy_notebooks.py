"""Run a course notebook on the CuPy stand-in: DBNLIB_BACKEND=cupy, fresh kernel, outputs not compared.

Used by ``test_cupy_notebooks_a.py`` (chapters 1-3 and the solutions) and
``test_cupy_notebooks_b.py`` (chapters 4-8): two files of about equal cost (4-5
minutes each on one CI core), so that ``make test``'s ``-n 2 --dist loadfile``
runs them on both workers; with ``--dist load`` each notebook is its own test. A cell that raises fails
the test, so a host/device slip anywhere in a chapter (``np.asarray`` of a
device array, a NumPy operand in a device operation, ``W[...] = numpy_array``)
fails CI although CI has no GPU. A last cell checks that the notebook really
ran on the device backend (a ``set_backend("numpy")`` would hide every slip).
"""

import os
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
STANDIN = Path(__file__).resolve().parent / "cupy_standin"

# Slips known when this harness was written (issue 11); each is an xfail(strict=False)
# that turns into a pass once the notebook is fixed. Keys: notebook path from the root.
_SET_WEIGHTS = "NumPy values assigned into device parameters with W[...] = ...; use the model's set_weights"
KNOWN_SLIPS = {
}

_FIRST = """\
import cupy, dbnlib
assert getattr(cupy, "__standin__", False), "the CuPy stand-in is not the cupy module here"
assert dbnlib.get_backend() == "cupy", dbnlib.backend_info()
cupy.reset_counts()"""

_LAST = """\
import cupy, dbnlib
assert dbnlib.get_backend() == "cupy", (
    "the notebook left the CuPy backend (set_backend('numpy')?), so its GPU path was never run: "
    + str(dbnlib.backend_info()))
print("stand-in counts:", cupy.counts())"""


def notebooks(folder, first=1, last=99):
    """pytest params, one per notebook ``NN_*.ipynb`` in ``folder`` with ``first <= NN <= last``,
    with the known slips as non-strict xfails."""
    params = []
    for path in sorted((ROOT / folder).glob("*.ipynb")):
        if not first <= int(path.name.split("_")[0]) <= last:
            continue
        rel = path.relative_to(ROOT).as_posix()
        marks = [pytest.mark.slow]
        if rel in KNOWN_SLIPS:
            marks.append(pytest.mark.xfail(reason=KNOWN_SLIPS[rel], strict=False))
        params.append(pytest.param(rel, id=f"{folder}/{path.stem}", marks=marks))
    return params


def _slip_line(traceback):
    """The deepest traceback line outside the stand-in: where the host/device slip happened."""
    frame, last = "", ""
    for line in (ln.strip() for t in traceback for ln in t.splitlines()):
        if line.startswith(("File ", "Cell In")):
            frame = line
        elif line.startswith("---->") and "cupy_standin" not in frame:
            last = f"{frame.split(',')[0]}: {line[5:].strip()}"
    return f" at {last[:200]!r}" if last else ""


def describe_error(rel, nb):
    """One line: the notebook, the first cell whose output is an error (numbered as in the file), the error."""
    for i, cell in enumerate(nb.cells):
        err = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        if cell.cell_type == "code" and err is not None:
            where = "the stand-in check" if i == 0 else "the backend check" if i == len(nb.cells) - 1 else f"cell {i - 1}"
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            tb = [re.sub(r"\x1b\[[0-9;]*m", "", t) for t in err.get("traceback", [])]
            at = _slip_line(tb)
            return f"{rel}, {where} ({first[:60]!r}){at}: {err['ename']}: {err['evalue'][:400]}"
    return f"{rel}: the kernel failed without a cell error"


def run_on_standin(rel, monkeypatch, timeout=600):
    """Execute notebook ``rel`` in a fresh kernel on the stand-in; fail with the cell and its error."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = ROOT / rel
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(_FIRST))
    nb.cells.append(nbformat.v4.new_code_cell(_LAST))
    monkeypatch.setenv("DBNLIB_BACKEND", "cupy")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(STANDIN), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
    try:
        client.execute()
        failed = False
    except CellExecutionError:
        failed = True  # reported below, outside the handler, so the message is not buried under the traceback
    if failed:
        pytest.fail(describe_error(rel, nb), pytrace=False)
    return nb.cells[-1].outputs
