"""Re-run notebooks in place and save their outputs and widget state.

    python tools/execute_notebooks.py chapters/*.ipynb solutions/*.ipynb
    python tools/execute_notebooks.py --force chapters/05_rbm.ipynb

Each notebook runs in a fresh kernel from its own folder, with the NumPy
backend and one BLAS thread, as in `make test`, so that the saved outputs are
the ones CI (which has no GPU) checks. The saved widget state lets the static
website draw each widget as it was.

The saved file is byte-stable: running a notebook twice writes the same bytes,
so `git diff` shows only what an edit changed.

- Figures are PNGs without the "Software" text chunk (matplotlib writes no
  date into a PNG), so an upgrade of matplotlib that draws the same pixels
  changes nothing.
- Consecutive prints to the same stream are merged into one output, as
  Jupyter Book shows them (nb_merge_streams).
- Widget model ids, random UUIDs in the kernel, are renamed in a fixed order
  (outputs first, then the models they refer to), so the same widgets get the
  same ids on every run.
- Execution timings are dropped from the cell metadata.

A notebook is re-run only when something it depends on changed: its cells'
sources and tags, dbnlib's sources, the files in a ``results/`` folder next to
it (what `make experiments` writes), the folders listed in the notebook's
metadata under ``course.reads`` (repository-relative; chapter 8 lists
``benchmarks/results``), constraints.txt and this script. Their
SHA-256 is stored in the notebook's metadata under ``course.inputs_sha256``;
``--force`` re-runs regardless.
"""

import argparse
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

# The inline backend's savefig arguments: its default (a tight bounding box)
# plus no "Software" chunk in the PNG.
# exec_lines run before the first cell without taking an execution count.
KERNEL_ARGS = [
    "--IPKernelApp.exec_lines=%config InlineBackend.print_figure_kwargs = "
    "{'bbox_inches': 'tight', 'metadata': {'Software': None}}",
]


def _files_hash(h, paths, base):
    for p in sorted(paths):
        h.update(p.relative_to(base).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")


def inputs_sha256(path, nb):
    """SHA-256 of everything a notebook's outputs depend on (see the module docstring)."""
    h = hashlib.sha256()
    for cell in nb.cells:
        tags = sorted(cell.get("metadata", {}).get("tags", []))
        h.update(json.dumps([cell.cell_type, cell.source, tags]).encode() + b"\0")
    deps = list((ROOT / "dbnlib").rglob("*.py"))
    deps += [p for p in (ROOT / "constraints.txt", Path(__file__).resolve()) if p.exists()]
    _files_hash(h, deps, ROOT)
    results = path.resolve().parent / "results"
    if results.is_dir():
        _files_hash(h, [p for p in results.rglob("*") if p.is_file()], results)
    for folder in nb.metadata.get("course", {}).get("reads", []):  # more inputs the notebook declares
        extra = ROOT / folder
        if extra.is_dir():
            _files_hash(h, [p for p in extra.rglob("*") if p.is_file()], extra)
    return h.hexdigest()


def merge_streams(cell):
    """One output per run of consecutive prints to the same stream."""
    merged = []
    for out in cell.get("outputs", []):
        if (
            out.output_type == "stream"
            and merged
            and merged[-1].output_type == "stream"
            and merged[-1].name == out.name
        ):
            merged[-1].text += out.text
        else:
            merged.append(out)
    cell.outputs = merged


def stable_widget_ids(nb, stem):
    """Rename widget model ids in a fixed order, so a re-run writes the same ids."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        return
    order, seen = [], set()

    def visit(model_id):
        if model_id in seen or model_id not in state:
            return
        seen.add(model_id)
        order.append(model_id)
        text = json.dumps(state[model_id].get("state", {}), sort_keys=True)
        # children ("IPY_MODEL_<id>") and the views an Output widget holds ("model_id")
        for ref in re.findall(r'(?:IPY_MODEL_|"model_id": ")([0-9a-f]{32})', text):
            visit(ref)

    for cell in nb.cells:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view:
                visit(view["model_id"])
    # Models no output shows (closed or orphaned ones), in an order set by their content.
    rest = sorted(
        set(state) - seen, key=lambda m: re.sub(r"[0-9a-f]{32}", "", json.dumps(state[m], sort_keys=True))
    )
    order += rest
    new = {old: hashlib.sha256(f"{stem}:{i}".encode()).hexdigest()[:32] for i, old in enumerate(order)}

    def rename(text):
        return re.sub(r"[0-9a-f]{32}", lambda m: new.get(m.group(0), m.group(0)), text)

    for cell in nb.cells:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view:
                view["model_id"] = new.get(view["model_id"], view["model_id"])
    renamed = json.loads(rename(json.dumps(state)))
    nb.metadata["widgets"][WIDGET_STATE]["state"] = {k: renamed[k] for k in (new[m] for m in order)}


def execute(path, timeout=1800, force=False):
    """Run one notebook in place; return the seconds it took, or None if it was up to date."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    digest = inputs_sha256(path, nb)
    if not force and nb.metadata.get("course", {}).get("inputs_sha256") == digest:
        return None
    started = time.time()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        extra_arguments=KERNEL_ARGS,
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    ).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            merge_streams(cell)
    stable_widget_ids(nb, path.stem)
    nb.metadata["course"] = dict(nb.metadata.get("course", {}), inputs_sha256=digest)  # keeps "reads"
    nbformat.write(nb, path)
    return time.time() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description="Re-run notebooks whose inputs changed and save their outputs.")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--force", action="store_true", help="re-run even when nothing the notebook depends on changed")
    args = parser.parse_args(argv)
    os.environ["DBNLIB_BACKEND"] = "numpy"
    # The same BLAS threading as `make test`, so that saved and checked outputs
    # come from the same order of floating-point sums.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    skipped = 0
    for p in args.notebooks:
        took = execute(p, force=args.force)
        if took is None:
            skipped += 1
            print(f"{p}: unchanged, not re-run", flush=True)
        else:
            print(f"{p}: {took:.1f} s", flush=True)
    if skipped:
        print(f"{skipped} notebook(s) up to date; --force (make execute FORCE=1) re-runs them anyway.")


if __name__ == "__main__":
    sys.exit(main())
