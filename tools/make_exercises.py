"""Make everything the exercises need from solutions/*.ipynb (the single source).

Writes

* ``grading/manifest.json``: the instructor's key (every check, hidden ones
  included), what ``make grade`` and ``dbnlib-grade --class`` score with;
* ``exercises/*.ipynb``: the learner's notebooks (stubs, one-line check cells,
  no outputs) and ``exercises/checks.json``, the visible checks they call;
* ``.github/classroom/autograding.json``: one GitHub Classroom test per exercise;
* the table of exercises in ``exercises.md``.

A learner's notebook is never overwritten: a notebook in exercises/ that
differs from what this script wrote last (``grading/generated.json`` keeps its
hash) holds someone's answers, and is left alone with a message.

    python tools/make_exercises.py                 # write all of the above
    python tools/make_exercises.py --check         # exit 1 if any of it is stale
    python tools/make_exercises.py --release DIR   # the notebooks and checks.json for a class, in DIR
"""

import argparse
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def _load_format():
    # By path: the generator needs nbformat only, not dbnlib and its dependencies.
    spec = importlib.util.spec_from_file_location("dbnlib_grading_manifest", ROOT / "dbnlib" / "grading_manifest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_fmt = _load_format()
BEGIN, END, ManifestError, stub = _fmt.BEGIN, _fmt.END, _fmt.ManifestError, _fmt.stub
exercise_notebook, notebook_manifest = _fmt.exercise_notebook, _fmt.notebook_manifest
visible_manifest = _fmt.visible_manifest

__all__ = ["BEGIN", "END", "build", "make_exercise", "stub"]

MANIFEST = Path("grading") / "manifest.json"
RECORD = Path("grading") / "generated.json"
CHECKS = Path("exercises") / "checks.json"
AUTOGRADING = Path(".github") / "classroom" / "autograding.json"
TABLE_START = "<!-- The table below is written by tools/make_exercises.py from solutions/; do not edit it. -->"
TABLE_END = "<!-- end of the generated table -->"


def _sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _dumps(obj):
    return json.dumps(obj, indent=1, ensure_ascii=False) + "\n"


def make_exercise(solution_nb):
    """Return the learner's notebook generated from a solution notebook."""
    return exercise_notebook(solution_nb)


def _autograding(manifest):
    tests = []
    for nb in manifest["notebooks"]:
        for ex in nb["exercises"]:
            tests.append({
                "name": f"Exercise {ex['id']} ({ex['title']})",
                "setup": "python -m pip install --quiet -e ." if not tests else "",
                "run": f"dbnlib-grade exercises/{nb['notebook']} --only {ex['id']} --require-full --no-report",
                "input": "",
                "output": "",
                "comparison": "included",
                "timeout": 10,
                "points": ex["points"],
            })
    return {"tests": tests}


def _table(manifest):
    rows = ["| Notebook | Exercises (points) |", "|---|---|"]
    for nb in manifest["notebooks"]:
        items = ", ".join(f"{ex['id']} {ex['heading']} ({ex['points']})" for ex in nb["exercises"])
        rows.append(f"| `exercises/{nb['notebook']}` | {items} |")
    total = sum(ex["points"] for nb in manifest["notebooks"] for ex in nb["exercises"])
    count = sum(len(nb["exercises"]) for nb in manifest["notebooks"])
    rows.append("")
    rows.append(f"{count} exercises, {total} points in all.")
    return "\n".join(rows)


def _with_table(text, table):
    if TABLE_START not in text or TABLE_END not in text:
        raise ManifestError(f"exercises.md must hold the markers {TABLE_START!r} and {TABLE_END!r}")
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}"


def build(root=ROOT):
    """Every generated file's text, keyed by its path relative to ``root``."""
    solutions = sorted((root / "solutions").glob("*.ipynb"))
    if not solutions:
        raise ManifestError(f"no solution notebooks in {root / 'solutions'}")
    manifest = {"version": 1, "notebooks": []}
    files = {}
    for src in solutions:
        nb = nbformat.read(src, as_version=4)
        manifest["notebooks"].append(notebook_manifest(nb, src.name))
        files[Path("exercises") / src.name] = nbformat.writes(make_exercise(nb)) + "\n"
    files[MANIFEST] = _dumps(manifest)
    files[CHECKS] = _dumps(visible_manifest(manifest))
    files[AUTOGRADING] = _dumps(_autograding(manifest))
    files[Path("exercises.md")] = _with_table((root / "exercises.md").read_text(), _table(manifest))
    return files


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _is_learner_work(dst, record):
    """A notebook that exists and is not what the generator wrote last."""
    return dst.exists() and record.get(str(dst.relative_to(ROOT))) != _sha(dst.read_text())


def main(argv=None):
    parser = argparse.ArgumentParser(description="Generate the exercises, checks and manifest from solutions/.")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a generated file is stale")
    parser.add_argument("--release", metavar="DIR", help="write the learner's notebooks and checks.json into DIR")
    parser.add_argument("--force", action="store_true", help="overwrite notebooks that hold someone's answers")
    args = parser.parse_args(argv)
    try:
        files = build()
    except ManifestError as exc:
        print(f"make_exercises: {exc}", file=sys.stderr)
        return 1
    record_path = ROOT / RECORD
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    notebooks = {p: t for p, t in files.items() if p.suffix == ".ipynb"}

    if args.release:
        dest = Path(args.release)
        kept = []
        for rel, text in {**notebooks, CHECKS: files[CHECKS]}.items():
            dst = dest / rel.name
            if dst.exists() and dst.read_text() != text and rel.suffix == ".ipynb" and not args.force:
                kept.append(str(dst))
                continue
            _write(dst, text)
        print(f"release written to {dest}: {len(notebooks)} notebooks and checks.json")
        if kept:
            print("left alone (they differ from this release; --force overwrites):", *kept, sep="\n  ")
            return 1
        return 0

    stale, learner = [], []
    for rel, text in files.items():
        dst = ROOT / rel
        if dst.exists() and dst.read_text() == text:
            continue
        if rel.suffix == ".ipynb" and _is_learner_work(dst, record) and not args.force:
            learner.append(str(rel))
            continue
        stale.append(str(rel))
        if not args.check:
            _write(dst, text)
    new_record = {str(rel): _sha(t) for rel, t in notebooks.items()}
    if args.check:
        if record != new_record:
            stale.append(str(RECORD))
        if learner:
            print("these notebooks hold your own answers, so they are not compared:", *learner, sep="\n  ")
        if stale:
            print("not what solutions/ generates (an instructor runs `make exercises`):", *stale, sep="\n  ")
            return 1
        print("generated files are up to date")
        return 0
    if record != new_record:
        _write(record_path, _dumps(new_record))
        stale.append(str(RECORD))
    print("written: " + (", ".join(stale) or "nothing"))
    if learner:
        print("left alone, because they differ from what was generated last (your answers?):", *learner, sep="\n  ")
        print("move them away to get fresh copies, or pass --force to overwrite them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
