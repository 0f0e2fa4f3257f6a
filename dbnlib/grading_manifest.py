"""The grading manifest and the learner's notebook, both made from a solution notebook.

A solution notebook (``solutions/NN_name.ipynb``) holds four kinds of code cell:

* **set-up** cells the learner also gets (imports);
* **answer** cells: the solution sits between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``; the learner gets a stub in its place;
* **check-setup** cells (tag ``check-setup``): the instructor's helpers for the
  checks (reference functions, input makers). They go to the manifest only;
* **check** cells (tag ``check``): one call of ``grading.check_function`` or
  ``grading.check_tests`` whose first two arguments are the exercise number and
  title as string literals. A visible check becomes ``grading.check("N.k")`` in
  the learner's notebook; a hidden one (cell metadata ``"hidden": true``) is
  left out of it and runs only when the instructor grades.

The manifest lists, per notebook, the check set-up code, the names the answer
cells define, and per exercise its id, title, points (one per test case, read
from the check call: ``n_cases`` or the length of the list of tests) and parts
(the check code, visible or hidden). It is what ``dbnlib.grade`` scores with,
whatever the learner's notebook kept.
"""

import ast
import re

import nbformat

__all__ = ["BEGIN", "END", "ManifestError", "exercise_notebook", "notebook_manifest", "visible_manifest"]

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HEADING = re.compile(r"^##\s+Exercise\s+(?P<id>\d+\.\d+)\s*:\s*(?P<title>.*?)\s*\((?P<points>\d+) points?\b", re.M)
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
CHECK_CALLS = {"check_function", "check_tests"}


class ManifestError(ValueError):
    """A solution notebook breaks the exercise format; the message names the cell."""


def _tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


def stub(source, exercise):
    """Replace each solution block of ``source`` by a stub indented like it."""
    out, inside, indent = [], False, ""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ManifestError(f"nested {BEGIN} in:\n{source}")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f'{indent}raise NotImplementedError("Exercise {exercise}: replace this line with your code")')
        elif stripped == END:
            if not inside:
                raise ManifestError(f"{END} without {BEGIN} in:\n{source}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ManifestError(f"{BEGIN} without {END} in:\n{source}")
    return "\n".join(out)


def defined_names(source):
    """The names a cell defines at top level (functions, classes, assignments, imports)."""
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names += [n.id for n in ast.walk(t) if isinstance(n, ast.Name)]
    return names


def _check_call(source, where):
    """(id, title, points) of the check call that ends a check cell."""
    tree = ast.parse(source)
    last = tree.body[-1] if tree.body else None
    call = last.value if isinstance(last, ast.Expr) else None
    name = getattr(getattr(call, "func", None), "attr", getattr(getattr(call, "func", None), "id", None))
    if not isinstance(call, ast.Call) or name not in CHECK_CALLS:
        raise ManifestError(
            f"{where}: a check cell must end with grading.check_function(...) or grading.check_tests(...)"
        )
    try:
        ex_id, title = (ast.literal_eval(a) for a in call.args[:2])
    except (ValueError, TypeError):
        raise ManifestError(f"{where}: the check's first two arguments must be string literals (id, title)") from None
    if name == "check_tests":
        tests = call.args[2] if len(call.args) > 2 else None
        if not isinstance(tests, (ast.List, ast.Tuple)):
            raise ManifestError(f"{where}: check_tests needs a literal list of tests, so that its points are known")
        points = len(tests.elts)
    else:
        points = 3
        for kw in call.keywords:
            if kw.arg == "n_cases":
                points = ast.literal_eval(kw.value)
        if len(call.args) > 5:
            points = ast.literal_eval(call.args[5])
    return str(ex_id), title, int(points)


def notebook_manifest(solution_nb, name):
    """The manifest entry of one solution notebook.

    Parameters
    ----------
    solution_nb : nbformat.NotebookNode
        The solution notebook.
    name : str
        Its file name, e.g. ``"01_logistic_regression.ipynb"``.

    Returns
    -------
    dict
        ``notebook``, ``setup`` (the check set-up code), ``answers`` (every
        name the answer cells define) and ``exercises``: a list of dicts with
        ``id``, ``title``, ``points``, ``answers`` and ``parts`` (each part:
        ``code``, ``points``, ``hidden``).

    Raises
    ------
    ManifestError
        When a cell breaks the format, or the points in an exercise's heading
        differ from what its checks award.
    """
    setup, answers, pending, exercises = [], [], [], {}
    headings = {}
    for i, cell in enumerate(solution_nb.cells):
        where = f"{name}, cell {i}"
        if cell.cell_type == "markdown":
            for mt in HEADING.finditer(cell.source):
                headings[mt["id"]] = (int(mt["points"]), mt["title"])
            continue
        if cell.cell_type != "code":
            continue
        tags = _tags(cell)
        if "check-setup" in tags:
            setup.append(cell.source)
        elif "check" in tags:
            ex_id, title, points = _check_call(cell.source, where)
            hidden = bool(cell.metadata.get("hidden", False))
            entry = exercises.setdefault(ex_id, dict(id=ex_id, title=title, points=0, answers=[], parts=[]))
            entry["answers"] += [n for n in pending if n not in entry["answers"]]
            entry["parts"].append(dict(code=cell.source, points=points, hidden=hidden))
            entry["points"] += points
            pending = []
        elif BEGIN in cell.source:
            stub(cell.source, "?")  # balanced markers
            names = defined_names(cell.source)
            pending += names
            answers += [n for n in names if n not in answers]
    if pending:
        raise ManifestError(f"{name}: the answer cell defining {', '.join(pending)} has no check cell after it")
    if not exercises:
        raise ManifestError(f"{name}: no check cells (tag 'check')")
    for ex in exercises.values():
        if not any(not p["hidden"] for p in ex["parts"]):
            raise ManifestError(f"{name}: exercise {ex['id']} has no visible check")
        if not ex["answers"]:
            raise ManifestError(f"{name}: exercise {ex['id']} has no answer cell before its check")
        points, heading = headings.get(ex["id"], (None, None))
        ex["heading"] = heading
        if points != ex["points"]:
            raise ManifestError(
                f"{name}: exercise {ex['id']}'s heading says {points} points, its checks award "
                f"{ex['points']} (one per test case); write '## Exercise {ex['id']}: ... ({ex['points']} points)'"
            )
    return dict(notebook=name, setup="\n\n".join(setup), answers=answers, exercises=list(exercises.values()))


def visible_manifest(manifest):
    """The manifest without its hidden parts: what ``checks.json`` next to the learner's notebooks holds."""
    out = dict(manifest, notebooks=[])
    for nb in manifest["notebooks"]:
        exercises = []
        for ex in nb["exercises"]:
            parts = [p for p in ex["parts"] if not p["hidden"]]
            exercises.append(dict(ex, parts=parts, points=sum(p["points"] for p in parts)))
        out["notebooks"].append(dict(nb, exercises=exercises))
    return out


def exercise_notebook(solution_nb):
    """The learner's notebook made from a solution notebook.

    Answer cells get stubs (and the tag ``answer``), visible check cells become
    ``grading.check("N.k")`` (tag ``check``), check set-up and hidden check
    cells are left out, and no cell keeps an output. Consecutive visible checks
    of one exercise become a single ``grading.check`` cell, since that call runs
    every part of the exercise.
    """
    nb = nbformat.from_dict(solution_nb)
    cells, pending = [], []
    for cell in nb.cells:
        tags = _tags(cell)
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        if "check-setup" in tags or ("check" in tags and cell.metadata.get("hidden", False)):
            continue
        cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
        if "check" in tags:
            ex_id, _, _ = _check_call(cell.source, "check cell")
            cell.source = f'grading.check("{ex_id}")'
            if cells and "check" in _tags(cells[-1]) and cells[-1].source == cell.source:
                continue  # the same exercise's next part: the cell above already checks it
            cell.metadata = nbformat.from_dict({"tags": ["check"], "editable": False, "deletable": False})
            for answer in pending:
                answer.source = stub(answer.source, ex_id)
                answer.metadata["tags"] = ["answer"]
            pending = []
        elif BEGIN in cell.source:
            pending.append(cell)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    return nb
