"""Write exercises/*.ipynb from solutions/*.ipynb (the single source).

In each code cell, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION``
(the markers nbgrader uses) become a stub, indented like the solution:

    # YOUR CODE HERE
    raise NotImplementedError("Exercise 1.1: replace this line with your code")

Check cells (those whose saved output has a grading line) keep that output,
which is what a correct answer prints; every other code cell loses its outputs.

    python tools/make_exercises.py          # write exercises/
    python tools/make_exercises.py --check  # exit 1 if exercises/ is stale
"""

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
GRADE_LINE = re.compile(r"^Exercise [\w.]+ \(")
EXERCISE_ID = re.compile(r"Exercise (\d+\.\d+)")


def _stub(source, exercise):
    out, inside, indent = [], False, ""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"nested {BEGIN} in:\n{source}")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f'{indent}raise NotImplementedError("Exercise {exercise}: replace this line with your code")')
        elif stripped == END:
            if not inside:
                raise ValueError(f"{END} without {BEGIN} in:\n{source}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without {END} in:\n{source}")
    return "\n".join(out)


def _is_check(cell):
    return any(
        o.get("output_type") == "stream" and any(GRADE_LINE.match(ln) for ln in o.get("text", "").splitlines())
        for o in cell.get("outputs", [])
    )


def make_exercise(solution_nb):
    """Return the exercise notebook generated from a solution notebook."""
    nb = nbformat.from_dict(solution_nb)
    exercise = "?"
    for cell in nb.cells:
        ids = EXERCISE_ID.findall(cell.source)
        if ids:
            exercise = ids[0]
        if cell.cell_type != "code":
            continue
        if BEGIN in cell.source:
            cell.source = _stub(cell.source, exercise)
        if _is_check(cell):
            # nbval refuses saved outputs on a cell without an execution count,
            # so check cells keep theirs.
            cell.outputs = [o for o in cell.outputs if o.get("output_type") == "stream" and o.get("name") == "stdout"]
        else:
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return nb


def main(argv=None):
    parser = argparse.ArgumentParser(description="Generate exercises/ from solutions/.")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when exercises/ is stale")
    args = parser.parse_args(argv)
    stale = []
    for src in sorted((ROOT / "solutions").glob("*.ipynb")):
        dst = ROOT / "exercises" / src.name
        text = nbformat.writes(make_exercise(nbformat.read(src, as_version=4))) + "\n"
        if dst.exists() and dst.read_text() == text:
            continue
        stale.append(dst.relative_to(ROOT))
        if not args.check:
            dst.write_text(text)
    if args.check and stale:
        print("exercises/ is not what solutions/ generates; run `make exercises`:", *stale, sep="\n  ")
        return 1
    print(("stale: " if args.check else "written: ") + (", ".join(map(str, stale)) or "nothing"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
