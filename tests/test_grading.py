"""The grading system: checks, the exercise generator and `make grade`."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

import make_exercises
from dbnlib import grade, grading

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


# --- dbnlib.grading ------------------------------------------------------------

def test_check_function_passes_a_right_answer(capsys):
    got = grading.check_function("9.1", "square", lambda x: x**2, np.square, lambda rng, c: (rng.normal(size=(3, c + 1)),))
    assert got == 3
    assert capsys.readouterr().out == "Exercise 9.1 (square): PASS 3/3\n"


@pytest.mark.parametrize(
    "learner, words",
    [
        (lambda x: (x**2).ravel(), "has shape (6,), expected shape (3, 2)"),
        (lambda x: x**2 + (x > 1), "differs at index"),
        (lambda x: None, "is None: did you forget to return it?"),
        (lambda x: 1 / 0, "raised ZeroDivisionError"),
        (lambda x: x * np.nan, "contains nan"),
    ],
)
def test_check_function_says_what_is_wrong(capsys, learner, words):
    with pytest.raises(grading.ExerciseFailed, match="Exercise 9.2 \\(square\\): FAIL"):
        grading.check_function("9.2", "square", learner, np.square, lambda rng, c: (rng.normal(size=(3, 2)) * 3,))
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and words in out, out
    assert grading.LINE.match(out)


def test_unfinished_exercise_is_reported_as_not_done(capsys):
    def stub(x):
        raise NotImplementedError

    with pytest.raises(grading.ExerciseFailed):
        grading.check_function("9.3", "stub", stub, np.square, lambda rng, c: (rng.normal(size=2),))
    assert "FAIL 0/3 - not done yet" in capsys.readouterr().out


def test_learner_cannot_spoil_the_reference_inputs(capsys):
    def mutating(x):
        x[...] = 0
        return np.square(x)

    with pytest.raises(grading.ExerciseFailed):
        grading.check_function("9.4", "square", mutating, np.square, lambda rng, c: (rng.normal(size=3) + 5,))


# --- the generator ----------------------------------------------------------------

def test_exercises_are_exactly_what_the_generator_makes():
    assert SOLUTIONS, "no solution notebooks"
    for src in SOLUTIONS:
        expected = nbformat.writes(make_exercises.make_exercise(nbformat.read(src, as_version=4))) + "\n"
        dst = ROOT / "exercises" / src.name
        assert dst.exists(), f"{dst} is missing; run `make exercises`"
        assert dst.read_text() == expected, f"{dst} is stale; run `make exercises`"
    assert {p.name for p in (ROOT / "exercises").glob("*.ipynb")} == {p.name for p in SOLUTIONS}


def test_generator_replaces_solutions_and_keeps_check_outputs():
    for src in SOLUTIONS:
        sol = nbformat.read(src, as_version=4)
        ex = make_exercises.make_exercise(sol)
        n_blocks = sum(c.source.count(make_exercises.BEGIN) for c in sol.cells)
        assert n_blocks >= 4, f"{src.name} has fewer than 4 exercises"
        text = "\n".join(c.source for c in ex.cells)
        assert "BEGIN SOLUTION" not in text and text.count("raise NotImplementedError") == n_blocks
        kept = [c for c in ex.cells if c.cell_type == "code" and c.outputs]
        assert kept and all(make_exercises._is_check(c) for c in kept)
        assert all("PASS" in c.outputs[0]["text"] for c in kept)


def test_generator_rejects_unbalanced_markers():
    with pytest.raises(ValueError, match="without"):
        make_exercises._stub("x = 1\n### END SOLUTION", "1.1")
    with pytest.raises(ValueError, match="without"):
        make_exercises._stub("### BEGIN SOLUTION\nx = 1", "1.1")


# --- make grade and nbval on exercise notebooks -----------------------------------

def _exercise_with(tmp_path, name, replace):
    """Copy an exercise notebook, filling its stubs by ``replace(cell_source) -> source``."""
    nb = nbformat.read(ROOT / "exercises" / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = replace(cell.source)
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def _solution_sources(name):
    sol = nbformat.read(ROOT / "solutions" / name, as_version=4)
    ex = make_exercises.make_exercise(sol)
    return {e.source: s.source for s, e in zip(sol.cells, ex.cells) if e.source != s.source}


@pytest.mark.slow
def test_untouched_exercises_fail_every_check(tmp_path):
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        results = grade.grade_notebook(path, timeout=120)
        assert len(results) >= 4
        assert all(r["points"] == 0 and r["status"] != "PASS" for r in results), results


@pytest.mark.slow
def test_nbval_lax_passes_exactly_when_answers_are_right(tmp_path):
    name = "01_logistic_regression.ipynb"
    fill = _solution_sources(name)
    (tmp_path / "right").mkdir()
    right = _exercise_with(tmp_path / "right", name, lambda s: fill.get(s, s))
    untouched = ROOT / "exercises" / name

    def nbval(path):
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env", str(path)],
            capture_output=True, text=True, cwd=path.parent,
        )

    assert nbval(right).returncode == 0
    res = nbval(untouched)
    assert res.returncode != 0 and "NotImplementedError" in res.stdout


@pytest.mark.slow
def test_grade_scores_a_mixed_notebook_and_survives_errors_and_endless_loops(tmp_path):
    name = "01_logistic_regression.ipynb"
    fill = _solution_sources(name)

    def replace(src):
        if "def sigmoid" in src:  # right
            return fill[src]
        if "def cross_entropy" in src:  # wrong: the sign is flipped
            return fill[src].replace("-np.mean", "np.mean")
        if "def gradient(" in src:  # an endless loop
            return src.replace("# YOUR CODE HERE", "while True:\n        pass")
        if "def xor_features" in src:  # an exception
            return src.replace("# YOUR CODE HERE", "return X[:, 5]")
        return src

    path = _exercise_with(tmp_path, name, replace)
    report = tmp_path / "report.json"
    out = subprocess.run(
        [sys.executable, "-m", "dbnlib.grade", str(path), "--timeout", "10", "--report", str(report)],
        capture_output=True, text=True, check=True,
    ).stdout
    results = {r["id"]: r for r in json.loads(report.read_text())["notebooks"][str(path)]}
    assert results["1.1"]["points"] == 3 and results["1.1"]["status"] == "PASS"
    assert results["1.2"]["points"] == 0 and "differs" in results["1.2"]["message"]
    assert results["1.3"]["status"] == "TIMEOUT" and results["1.3"]["points"] == 0
    assert results["1.5"]["points"] == 0 and "IndexError" in results["1.5"]["message"]
    assert json.loads(report.read_text())["points"] == 3
    assert "total" in out and "1.1 sigmoid" in out
