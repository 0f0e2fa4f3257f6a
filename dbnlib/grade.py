"""Score the exercise notebooks: ``make grade`` or ``dbnlib-grade``.

Each notebook runs in a fresh kernel, cell by cell, with a time limit per
cell. An exception or an endless loop costs the exercise it is in, never the
rest: errors are recorded and the run goes on, and a cell past its time limit
is interrupted. The exercises and their points are read from the check cells'
saved outputs (the line a correct answer prints), so an exercise whose check
never ran still appears in the report, with zero points.

Prints a table (exercise, points, total) and writes a JSON report.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from .grading import LINE

__all__ = ["grade_notebook", "main"]


def _lines(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            for line in out.get("text", "").splitlines():
                mt = LINE.match(line)
                if mt:
                    yield mt, line


def _error_of(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}"
    return None


def grade_notebook(path, timeout=60, kernel_name="python3"):
    """Run one exercise notebook and score it.

    Parameters
    ----------
    path : str or Path
        The notebook.
    timeout : int
        Seconds allowed for each cell; a slower cell is interrupted.

    Returns
    -------
    list of dict
        One entry per exercise: ``id``, ``title``, ``points``, ``total``,
        ``status`` (PASS, FAIL, ERROR or TIMEOUT) and ``message``.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    expected = {}  # exercise id -> (cell index, title, total) from saved outputs
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            for mt, _ in _lines(cell):
                expected[mt["id"]] = (i, mt["title"], int(mt["total"]))
    # The saved outputs were read above; run from clean cells.
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"cell did not finish in {timeout} s", "traceback": []},
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    try:
        client.execute()
    except Exception as exc:  # the kernel died; score what ran
        print(f"{path.name}: the kernel stopped ({exc.__class__.__name__}: {exc})", file=sys.stderr)
    results = []
    for ex_id, (i, title, total) in expected.items():
        cell = nb.cells[i]
        found = [(mt, line) for mt, line in _lines(cell) if mt["id"] == ex_id]
        if found:
            mt, line = found[-1]
            points = int(mt["got"]) if mt["status"] == "PASS" else 0
            message = line.split(" - ", 1)[1] if " - " in line else ""
            results.append(dict(id=ex_id, title=title, points=points, total=total, status=mt["status"], message=message))
            continue
        err = _error_of(cell) or "the check did not run"
        # A cell past its time limit is interrupted: the kernel reports KeyboardInterrupt.
        status = "TIMEOUT" if err.startswith(("KeyboardInterrupt", "CellTimeoutError")) else "ERROR"
        if status == "TIMEOUT":
            err = f"the check did not finish in {timeout} s (an endless loop?)"
        # An error in one of the learner's own cells above is the likelier cause.
        checks = {j for j, *_ in expected.values()}
        for j in range(i - 1, -1, -1):
            prev = nb.cells[j]
            if j in checks:
                break
            if prev.cell_type == "code" and _error_of(prev):
                err = f"{err}; the cell above failed: {_error_of(prev)}"
                break
        results.append(dict(id=ex_id, title=title, points=0, total=total, status=status, message=err))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="exercise notebooks (default: exercises/*.ipynb)")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per cell (default 60)")
    parser.add_argument("--report", default="grade_report.json", help="where to write the JSON report")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.notebooks] or sorted(Path("exercises").glob("*.ipynb"))
    if not paths:
        parser.error("no exercise notebooks found; run from the course folder or name them")
    report, started = {"notebooks": {}}, time.time()
    rows = []
    for p in paths:
        res = grade_notebook(p, timeout=args.timeout)
        report["notebooks"][str(p)] = res
        rows += res
    got, total = sum(r["points"] for r in rows), sum(r["total"] for r in rows)
    report.update(points=got, total=total, seconds=round(time.time() - started, 1))
    width = max([len(f"{r['id']} {r['title']}") for r in rows] + [20])
    print(f"{'exercise':<{width}}  {'points':>6}  {'total':>5}  status")
    for r in rows:
        name = f"{r['id']} {r['title']}"
        note = f"  {r['message'][:100]}" if r["status"] != "PASS" else ""
        print(f"{name:<{width}}  {r['points']:>6}  {r['total']:>5}  {r['status']}{note}")
    print(f"{'total':<{width}}  {got:>6}  {total:>5}  {100 * got / max(total, 1):.0f} %")
    Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    print(f"report written to {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
