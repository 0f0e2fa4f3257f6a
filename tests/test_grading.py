"""The grading system: the checks, the generator and manifest, and the grader.

The grader tests run real kernels, so they share work: one attack notebook
carries one attack per exercise, one notebook carries the loops and the crash,
and one class run grades a right, a wrong and a tampered submission.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

import make_exercises
from dbnlib import grade, grading
from dbnlib.grading_manifest import ManifestError, notebook_manifest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
MANIFEST = json.loads((ROOT / "grading" / "manifest.json").read_text())
NB01, NB02 = "01_logistic_regression.ipynb", "02_neural_networks.ipynb"


def _entry(name):
    return next(nb for nb in MANIFEST["notebooks"] if nb["notebook"] == name)


def _points(name):
    return sum(ex["points"] for ex in _entry(name)["exercises"])


# --- dbnlib.grading ------------------------------------------------------------------

def _inputs(rng, case):
    return (rng.normal(size=(3, case + 1)),)


def test_check_function_passes_a_right_answer_and_returns_nothing(capsys):
    assert grading.check_function("9.1", "square", lambda x: x**2, np.square, _inputs) is None
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


def test_partial_credit_is_what_the_line_says(capsys):
    def half_right(x):  # right on small inputs, overflows on the third case
        return 1 / (1 + np.exp(-x))

    with pytest.raises(grading.ExerciseFailed):
        grading.check_function("9.3", "sigmoid", half_right, lambda x: 0.5 * (1 + np.tanh(x / 2)),
                               lambda rng, c: (rng.normal(0, [1, 10, 1000][c], size=20),))
    out = capsys.readouterr().out
    assert "FAIL 2/3 - case 3: your code overflowed" in out, out


def test_unfinished_exercise_is_reported_as_not_done(capsys):
    def stub(x):
        raise NotImplementedError

    with pytest.raises(grading.ExerciseFailed):
        grading.check_function("9.3", "stub", stub, np.square, lambda rng, c: (rng.normal(size=2),))
    assert "FAIL 0/3 - not done yet" in capsys.readouterr().out


def test_each_side_gets_its_own_copy_of_the_inputs(capsys):
    """The learner sees the inputs as drawn, even after the reference spoiled its copy; the learner's
    mutation is caught because the grader kept a third copy."""
    rng = grading._rng("9.4")
    drawn = [_inputs(rng, c)[0] for c in range(3)]
    seen = []

    def spoiling_reference(x):
        out = np.square(x)
        x[...] = -7.0
        return out

    def recording_learner(x):
        seen.append(x.copy())
        return np.square(x)

    grading.check_function("9.4", "square", recording_learner, spoiling_reference, _inputs)
    assert all(np.array_equal(s, d) for s, d in zip(seen, drawn))

    def mutating(x):
        x[...] = 0
        return np.square(x)

    with pytest.raises(grading.ExerciseFailed, match="changed its argument x in place"):
        grading.check_function("9.4", "square", mutating, np.square, _inputs)
    capsys.readouterr()


def test_an_answer_that_calls_the_function_it_reimplements_fails(capsys):
    import dbnlib
    from dbnlib.numerics import sigmoid as aliased

    for learner in (lambda z: dbnlib.sigmoid(z), lambda z: aliased(z)):
        with pytest.raises(grading.ExerciseFailed, match="your answer calls dbnlib.sigmoid"):
            grading.check_function("9.5", "sigmoid", learner, dbnlib.sigmoid, _inputs, reimplements=["dbnlib.sigmoid"])
    assert np.allclose(dbnlib.sigmoid(np.zeros(2)), 0.5), "the function is restored afterwards"
    capsys.readouterr()


NAIVE = {
    "5.2": "def prob_h_given_v(v, W, b):\n    return 1 / (1 + np.exp(-(v @ W + b)))",
    "5.4": "def free_energy(v, W, a, b):\n    return -(v @ a) - np.logaddexp(0.0, v @ W + b).sum(axis=1)\n\n"
           "def log_partition(W, a, b):\n    n = W.shape[0]\n"
           "    V = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)\n"
           "    return float(np.log(np.exp(-free_energy(V, W, a, b)).sum()))",
}


@pytest.mark.parametrize("exercise", sorted(NAIVE))
def test_a_naive_formula_fails_the_large_inputs(exercise, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DBNLIB_CHECKS", str(ROOT / "exercises" / "checks.json"))
    monkeypatch.delenv("DBNLIB_GRADING", raising=False)
    user = {"np": np, "grading": grading}
    exec(NAIVE[exercise], user)
    with pytest.raises(grading.ExerciseFailed):
        exec(f'grading.check("{exercise}")', user)
    assert "FAIL 2/3 - case 3: your code overflowed" in capsys.readouterr().out


def test_the_learners_check_cell_runs_the_visible_check_only(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DBNLIB_CHECKS", raising=False)
    monkeypatch.delenv("DBNLIB_GRADING", raising=False)
    shutil.copy(ROOT / "exercises" / "checks.json", tmp_path)
    user = {"np": np, "grading": grading}
    exec(_solution_cells(NB01)["def sigmoid(z):"], user)
    exec('grading.check("1.1")', user)
    assert capsys.readouterr().out == "Exercise 1.1 (sigmoid): PASS 3/3\n"
    with pytest.raises(grading.ExerciseFailed, match="not answered: cross_entropy is not defined"):
        exec('grading.check("1.2")', user)
    (tmp_path / "checks.json").unlink()
    with pytest.raises(FileNotFoundError, match="checks.json not found"):
        exec('grading.check("1.1")', user)


# --- the manifest and the generator ---------------------------------------------------

def test_generated_files_are_what_solutions_make():
    """Everything the generator writes is committed as it writes it; a notebook that holds a
    learner's answers (it differs from the recorded hash) is skipped, except on CI."""
    files = make_exercises.build()
    record = json.loads((ROOT / "grading" / "generated.json").read_text())
    assert {p.name for p in (ROOT / "exercises").glob("*.ipynb")} == {p.name for p in SOLUTIONS}
    for rel, text in files.items():
        dst = ROOT / rel
        if rel.suffix == ".ipynb":
            assert record[str(rel)] == make_exercises._sha(text), f"{rel}: run `make exercises`"
            if make_exercises._is_learner_work(dst, record) and not os.environ.get("CI"):
                continue
        assert dst.read_text() == text, f"{rel} is stale: run `make exercises`"


def test_manifest_covers_every_exercise_with_its_points():
    ids = [ex["id"] for nb in MANIFEST["notebooks"] for ex in nb["exercises"]]
    assert len(ids) == len(set(ids)) >= 31
    for nb in MANIFEST["notebooks"]:
        assert len(nb["exercises"]) >= 4
        for ex in nb["exercises"]:
            assert ex["points"] == sum(p["points"] for p in ex["parts"]) > 0 and ex["answers"]
    hidden = [ex["id"] for nb in MANIFEST["notebooks"] for ex in nb["exercises"]
              if any(p["hidden"] for p in ex["parts"])]
    assert hidden, "at least one exercise shows the hidden-check format"
    visible = json.loads((ROOT / "exercises" / "checks.json").read_text())
    assert not any(p["hidden"] for nb in visible["notebooks"] for ex in nb["exercises"] for p in ex["parts"])
    classroom = json.loads((ROOT / ".github" / "classroom" / "autograding.json").read_text())
    assert [t["points"] for t in classroom["tests"]] == [ex["points"] for nb in MANIFEST["notebooks"]
                                                          for ex in nb["exercises"]]


def test_solution_outputs_agree_with_the_manifest():
    """Each executed solution prints PASS with the manifest's points for every part."""
    for src in SOLUTIONS:
        nb = nbformat.read(src, as_version=4)
        lines = [grading.LINE.match(line) for c in nb.cells if c.cell_type == "code" for o in c.outputs
                 for line in o.get("text", "").splitlines() if grading.LINE.match(line)]
        parts = [(ex["id"], p["points"]) for ex in _entry(src.name)["exercises"] for p in ex["parts"]]
        assert [(m["id"], int(m["total"])) for m in lines] == parts, f"{src.name}: execute it again"
        assert all(m["status"] == "PASS" and m["got"] == m["total"] for m in lines)


def test_learner_notebooks_are_clean():
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3"
        text = "\n".join(c.source for c in nb.cells)
        assert "BEGIN SOLUTION" not in text and "check_function" not in text and "reference" not in text.lower()
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name
        checks = [c for c in nb.cells if "check" in c.metadata.get("tags", [])]
        assert checks and all(c.source.startswith('grading.check("') for c in checks)
        # grading.check runs every part of its exercise: one cell per exercise, or the learner sees it twice
        code = [c for c in nb.cells if c.cell_type == "code"]
        repeated = [a.source for a, b in zip(code, code[1:]) if a in checks and b in checks and a.source == b.source]
        assert not repeated, f"{path.name}: the same check twice in a row: {repeated}"


def test_a_new_exercise_is_graded_without_executing_its_solution():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("## Exercise 9.1: squares (2 points)"),
        nbformat.v4.new_code_cell("def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"),
        nbformat.v4.new_code_cell('grading.check_function("9.1", "squares", square, np.square, _in, n_cases=2)',
                                  metadata={"tags": ["check"]}),
    ]
    entry = notebook_manifest(nb, "09_new.ipynb")
    assert entry["exercises"][0]["points"] == 2 and entry["answers"] == ["square"]
    nb.cells[0].source = "## Exercise 9.1: squares (3 points)"
    with pytest.raises(ManifestError, match="heading says 3 points, its checks award 2"):
        notebook_manifest(nb, "09_new.ipynb")
    del nb.cells[2]
    with pytest.raises(ManifestError, match="has no check cell after it"):
        notebook_manifest(nb, "09_new.ipynb")


def test_generator_never_overwrites_learner_work(tmp_path, monkeypatch, capsys):
    for folder in ("solutions", "exercises", "grading", ".github/classroom"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "exercises.md", tmp_path)
    monkeypatch.setattr(make_exercises, "ROOT", tmp_path)
    monkeypatch.setattr(make_exercises, "build", lambda root=tmp_path: _build(root))
    mine = tmp_path / "exercises" / NB01
    mine.write_text(mine.read_text().replace("# YOUR CODE HERE", "# my answer"))
    before = mine.read_text()
    assert make_exercises.main(["--check"]) == 0
    assert "hold your own answers" in capsys.readouterr().out
    (tmp_path / "exercises" / NB02).unlink()
    assert make_exercises.main([]) == 0
    out = capsys.readouterr().out
    assert mine.read_text() == before and f"exercises/{NB01}" in out and "left alone" in out
    assert (tmp_path / "exercises" / NB02).exists()
    release = tmp_path / "release"
    assert make_exercises.main(["--release", str(release)]) == 0
    assert sorted(p.name for p in release.iterdir()) == sorted([p.name for p in SOLUTIONS] + ["checks.json"])
    (release / NB01).write_text(before)
    assert make_exercises.main(["--release", str(release)]) == 1
    assert (release / NB01).read_text() == before


_build = make_exercises.build


# --- the grader -----------------------------------------------------------------------

def _solution_cells(name):
    """The solution source of each answer cell, keyed by its first line."""
    nb = nbformat.read(ROOT / "solutions" / name, as_version=4)
    return {c.source.splitlines()[0]: c.source for c in nb.cells
            if c.cell_type == "code" and make_exercises.BEGIN in c.source}


def _learner_notebook(folder, name, answers=None, extra=(), drop_checks=False):
    """The exercise notebook with answers filled in: ``answers`` maps an answer cell's first line to its
    source (default: the solution); ``extra`` cells go after the set-up cell."""
    fill = {**_solution_cells(name), **(answers or {})}
    nb = nbformat.read(ROOT / "exercises" / name, as_version=4)
    for cell in nb.cells:
        if "answer" in cell.metadata.get("tags", []):
            cell.source = fill.get(cell.source.splitlines()[0], cell.source)
    if drop_checks:
        nb.cells = [c for c in nb.cells if "check" not in c.metadata.get("tags", [])]
    nb.cells[2:2] = [nbformat.v4.new_code_cell(src) for src in extra]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


TAMPERING = [
    # replacing the checker, and the dbnlib module the learner sees
    "from dbnlib import grading as g\n"
    "g.check_function = lambda *a, **k: print('Exercise 1.5 (XOR feature): PASS 2/2')\n"
    "g.check_tests = g.check_function\n"
    "g.assert_close = lambda *a, **k: None",
    # a fake PASS line, then an error
    "print('Exercise 1.2 (cross-entropy): PASS 99/3')\nraise RuntimeError('stale')",
]
ATTACKS_01 = {
    "def sigmoid(z):": "def sigmoid(z):\n    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))",  # naive
    "def cross_entropy(y, t):": "def cross_entropy(y, t):\n    print('Exercise 1.2 (cross-entropy): PASS 99/3')\n"
                                "    raise ValueError('no')",
    "def gradient(w, w0, X, t):": "import dbnlib\n\ndef gradient(w, w0, X, t):\n"
                                  "    _, dw, dw0 = dbnlib.logistic.loss_and_gradient(X, t[:, None].astype(float), "
                                  "w[:, None], np.array([w0]))\n    return dw.ravel(), float(dw0[0])",
    "def gradient_descent_step(w, w0, X, t, eta):": "def gradient_descent_step(w, w0, X, t, eta):\n"
                                                    "    y = 0.5 * (1 + np.tanh(0.5 * (X @ w + w0)))\n"
                                                    "    w -= eta * X.T @ (y - t) / len(t)\n"
                                                    "    return w, w0 - eta * float(np.mean(y - t))",
    "def xor_features(X):": "def xor_features(X):\n    raise NotImplementedError",  # behind the replaced checker
}


def _tampered_notebook(folder):
    """Notebook 1 with one attack per exercise, its check cells deleted, a stale error and a fake
    verdict saved as outputs (1.5 is left unanswered behind a replaced checker)."""
    path = _learner_notebook(folder, NB01, ATTACKS_01, extra=TAMPERING, drop_checks=True)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", text="Exercise 1.5 (XOR feature): PASS 2/2\n"),
                            nbformat.v4.new_output("error", ename="NameError", evalue="stale", traceback=[])]
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_the_grader_defeats_each_attack(tmp_path):
    rows = {r["id"]: r for r in grade.grade_notebook(_tampered_notebook(tmp_path), _entry(NB01), timeout=20)}
    assert list(rows) == [ex["id"] for ex in _entry(NB01)["exercises"]], "deleted check cells still count"
    assert sum(r["total"] for r in rows.values()) == _points(NB01)
    assert rows["1.1"]["points"] == 2 and rows["1.1"]["status"] == "PARTIAL", rows["1.1"]  # 2/3, hidden 0/1
    assert "overflowed" in rows["1.1"]["message"] and "hidden check" in rows["1.1"]["message"]
    assert rows["1.2"]["points"] == 0 and "ValueError" in rows["1.2"]["message"]
    assert rows["1.3"]["points"] == 0 and "calls dbnlib.logistic.loss_and_gradient" in rows["1.3"]["message"]
    assert rows["1.4"]["points"] == 0 and "changed its argument w in place" in rows["1.4"]["message"]
    assert rows["1.5"]["points"] == 0 and "not done yet" in rows["1.5"]["message"]
    assert all(r["points"] <= r["total"] for r in rows.values())


@pytest.mark.slow
def test_replacing_a_dbnlib_function_is_caught(tmp_path):
    """An answer that makes the reference agree with it, by replacing the reference."""
    answers = {"def cross_entropy(y, t):": "def cross_entropy(y, t):\n    return 0.0"}
    cheat = "import dbnlib\ndbnlib.binary_cross_entropy = lambda y, t: 0.0"
    path = _learner_notebook(tmp_path, NB01, answers, extra=[cheat])
    rows = grade.grade_notebook(path, _entry(NB01), timeout=20)
    assert all(r["status"] == "TAMPERED" and r["points"] == 0 for r in rows), rows
    assert "replaced dbnlib.binary_cross_entropy" in rows[1]["message"]


LOOP = ("import time\n"
        "while True:\n"
        "    try:\n"
        "        time.sleep(0.1)\n"
        "    except KeyboardInterrupt:\n"
        "        pass")


@pytest.mark.slow
def test_loops_and_a_dead_kernel_cost_only_their_exercise(tmp_path):
    indent = lambda s: "\n".join("    " + line for line in s.splitlines())  # noqa: E731
    answers = {
        "def softmax(U):": "def softmax(U):\n" + indent(LOOP),
        "def parity_weights():": "import os\n\ndef parity_weights():\n    os._exit(1)",
    }
    path = _learner_notebook(tmp_path, NB02, answers, extra=[LOOP])
    rows = {r["id"]: r for r in grade.grade_notebook(path, _entry(NB02), timeout=3)}
    assert rows["2.1"]["status"] == "PASS" and rows["2.1"]["points"] == 3
    assert rows["2.2"]["status"] == "TIMEOUT" and rows["2.2"]["points"] == 0
    assert rows["2.3"]["status"] == "ERROR" and "kernel died" in rows["2.3"]["message"]
    assert rows["2.4"]["status"] == "PASS" and rows["2.4"]["points"] == 3, rows["2.4"]


@pytest.mark.slow
def test_a_class_run(tmp_path):
    """A right, a wrong and a tampered submission; the CSV, the feedback files and the exit status."""
    subs = tmp_path / "submissions"
    for name in [p.name for p in SOLUTIONS]:
        _learner_notebook(subs / "ada_right", name)
    right = _solution_cells(NB01)["def cross_entropy(y, t):"]
    wrong = {"def cross_entropy(y, t):": right.replace("-np.mean", "np.mean")}  # the sign flipped
    _learner_notebook(subs / "bob_wrong", NB01, wrong)
    for path in SOLUTIONS[1:]:  # the rest untouched
        shutil.copy(ROOT / "exercises" / path.name, subs / "bob_wrong" / path.name)
    _tampered_notebook(subs / "eve_tampered")
    out = subprocess.run(
        [sys.executable, "-m", "dbnlib.grade", "--class", str(subs), "--csv", str(tmp_path / "grades.csv"),
         "-j", "2", "--timeout", "30", "--manifest", str(ROOT / "grading" / "manifest.json")],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "WARNING" not in out.stderr and "encryption" not in out.stdout + out.stderr, "kernel-transport noise"
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "grades.csv").open())}
    ids = [ex["id"] for nb in MANIFEST["notebooks"] for ex in nb["exercises"]]
    full = sum(ex["points"] for nb in MANIFEST["notebooks"] for ex in nb["exercises"])
    assert list(csv.reader((tmp_path / "grades.csv").open()))[0] == ["student", *ids, "total", "max", "error"]
    assert rows["ada_right"]["total"] == rows["ada_right"]["max"] == str(full)
    bob = rows["bob_wrong"]
    assert bob["1.2"] == "0" and bob["1.1"] == "4" and int(bob["total"]) == _points(NB01) - 3
    assert all(bob[i] == "0" for i in ids if not i.startswith("1.")), "untouched exercises score nothing"
    assert "NotImplementedError" in (tmp_path / "feedback" / "bob_wrong.txt").read_text()
    # 2 points for 1.1's partly right answer; exercises after 1.5 carry the solution's answers, untampered
    honest = sum(ex["points"] for ex in _entry(NB01)["exercises"] if ex["id"] not in ("1.1", "1.2", "1.3", "1.4", "1.5"))
    assert rows["eve_tampered"]["total"] == str(2 + honest) and rows["eve_tampered"]["max"] == str(full), rows["eve_tampered"]
    feedback = (tmp_path / "feedback" / "eve_tampered.txt").read_text()
    assert "Exercise 1.3 (cross-entropy gradient): FAIL 0/3 - case 1: your answer calls" in feedback
    assert "Exercise 7.4 (downward generative pass): MISSING 0/3 - notebook not submitted" in feedback
    assert not list(tmp_path.glob("*.tmp")) and not list((tmp_path / "feedback").glob(".*"))
    bad = subprocess.run([sys.executable, "-m", "dbnlib.grade", "--class", str(subs), "--manifest",
                          str(tmp_path / "none.json")], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1 and "grading failed" in bad.stderr


@pytest.mark.slow
def test_nbval_lax_and_the_classroom_command_pass_exactly_when_answers_are_right(tmp_path):
    right = _learner_notebook(tmp_path / "right", NB01)
    shutil.copy(ROOT / "exercises" / "checks.json", tmp_path / "right")
    untouched = tmp_path / "untouched" / NB01
    untouched.parent.mkdir()
    shutil.copy(ROOT / "exercises" / NB01, untouched)
    shutil.copy(ROOT / "exercises" / "checks.json", untouched.parent)

    def nbval(path):
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--nbval-lax",
             "--nbval-current-env", "--nbval-cell-timeout", "60", str(path)],
            capture_output=True, text=True, cwd=path.parent,
        )

    assert nbval(right).returncode == 0
    res = nbval(untouched)
    assert res.returncode != 0 and "not done yet" in res.stdout

    def classroom(path):
        return subprocess.run([sys.executable, "-m", "dbnlib.grade", str(path), "--only", "1.5", "--require-full",
                               "--no-report", "--manifest", str(ROOT / "grading" / "manifest.json")],
                              capture_output=True, text=True, cwd=tmp_path).returncode

    assert classroom(right) == 0 and classroom(untouched) == 3
