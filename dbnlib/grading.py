"""Checks for the graded exercises.

Two people use this module:

* the **learner**, whose check cell is one line, ``grading.check("1.1")``. It
  reads that exercise's visible check from ``checks.json`` next to the
  notebook, runs it on the learner's functions, prints one line such as

      Exercise 1.1 (sigmoid): PASS 3/3

  and, when something is wrong, says what (a shape, the first differing value,
  an exception, an input changed in place, a call to the dbnlib function the
  exercise re-implements) and raises ``ExerciseFailed`` so that the cell fails
  in JupyterLab and in ``pytest --nbval-lax``. It returns ``None``: nothing is
  shown under the line.
* the **instructor's grader** (``dbnlib.grade``), which sends this file's source
  into the learner's kernel as a fresh module, after the learner's cells ran,
  and calls ``_grade_exercise``: the checks come from the instructor's manifest
  (hidden ones included), run in a namespace of their own, and the results go
  to a file whose name the learner's code never saw. Nothing the notebook
  printed, kept or redefined counts.

Each test case is worth one point; a part of an exercise scores the cases that
passed (partial credit), and the line says so: ``FAIL 2/3 - case 3: ...``.

The inputs are drawn from a generator seeded by the exercise number: they are
not the examples shown in the notebook, but they are the same every time.

This module depends on NumPy and the standard library only, so that the grader
can load it from its source text.
"""

import copy
import importlib
import inspect
import json
import os
import re
import sys
import zlib

import numpy as np

__all__ = ["ExerciseFailed", "LINE", "assert_close", "check", "check_function", "check_tests", "forbidden"]

# The line every check prints.
LINE = re.compile(r"^Exercise (?P<id>[\w.]+) \((?P<title>.*)\): (?P<status>PASS|FAIL) (?P<got>\d+)/(?P<total>\d+)")

# Set by the grader (in its own copy of this module): a list that receives one
# dict per check run. ``None`` in a learner's session.
_RECORDER = None
# The module object the checks call: this one, or the grader's private copy.
_THIS = None


class ExerciseFailed(AssertionError):
    """A graded check did not pass; the message says why."""


def _rng(exercise):
    return np.random.default_rng(zlib.crc32(str(exercise).encode()))


def _record(exercise, title, passed, total, message):
    line = f"Exercise {exercise} ({title}): {'PASS' if passed == total else 'FAIL'} {passed}/{total}"
    if message:
        line += f" - {message}"
    if _RECORDER is not None:
        _RECORDER.append(dict(id=str(exercise), title=title, passed=passed, total=total, message=message, line=line))
    print(line)
    if passed != total:
        raise ExerciseFailed(line)


def check_tests(exercise, title, tests):
    """Run ``tests`` for one exercise, print the verdict line, raise on failure.

    Parameters
    ----------
    exercise : str
        The exercise number, e.g. ``"1.2"``.
    title : str
        A few words that name the exercise.
    tests : list of callables
        Each takes no argument and raises ``AssertionError`` (with a readable
        message) when the learner's answer is wrong; each is worth one point.
        Any other exception is reported as an error in the learner's code.
        A test calls the learner's function inside ``with forbidden(names):``
        to fail an answer that calls the dbnlib function it re-implements.

    Returns
    -------
    None
        The verdict is the printed line; a failure raises ``ExerciseFailed``.
    """
    passed, first_problem = 0, None
    for i, test in enumerate(tests, start=1):
        try:
            test()
            passed += 1
        except NotImplementedError:
            first_problem = first_problem or "not done yet: the function still raises NotImplementedError"
        except AssertionError as exc:
            first_problem = first_problem or f"case {i}: {exc}"
        except FloatingPointError as exc:
            first_problem = first_problem or (
                f"case {i}: your code overflowed or divided by zero ({exc}); it must stay finite on large inputs"
            )
        except Exception as exc:  # the learner's code crashed
            if _KEY_MARK in str(exc):
                first_problem = first_problem or f"case {i}: {str(exc)[str(exc).index(_KEY_MARK):]}"
                continue
            first_problem = first_problem or f"case {i}: your code raised {exc.__class__.__name__}: {exc}"
    _record(exercise, title, passed, len(tests), first_problem)


def _describe(x):
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of length {len(x)}"
    a = np.asarray(x)
    return f"shape {a.shape}" if a.ndim else f"the scalar {a.item()!r}"


def _to_numpy(x):
    # CuPy arrays (and anything else with .get()) come back to the host.
    return x.get() if hasattr(x, "get") and not isinstance(x, (dict, np.ndarray)) else x


def assert_close(got, expected, rtol=1e-6, atol=1e-8, what="your answer"):
    """Assert that ``got`` matches ``expected`` in type of container, shape and value."""
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            raise AssertionError(f"{what} should be a sequence of {len(expected)} arrays, got {_describe(got)}")
        for k, (g, e) in enumerate(zip(got, expected)):
            assert_close(g, e, rtol, atol, what=f"{what}[{k}]")
        return
    if got is None:
        raise AssertionError(f"{what} is None: did you forget to return it?")
    try:
        g = np.asarray(_to_numpy(got), dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be a number or an array of numbers, got {type(got).__name__}") from None
    e = np.asarray(_to_numpy(expected), dtype=float)
    if g.shape != e.shape:
        raise AssertionError(f"{what} has {_describe(g)}, expected shape {e.shape}")
    if not np.all(np.isfinite(g)) and np.all(np.isfinite(e)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(g))[0])
        raise AssertionError(f"{what} contains {g[idx]} at index {idx}; expected finite values")
    bad = ~np.isclose(g, e, rtol=rtol, atol=atol)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        at = f" at index {idx}" if idx else ""
        raise AssertionError(
            f"{what} differs{at}: got {g[idx]:.6g}, expected {e[idx]:.6g} ({int(bad.sum())} of {bad.size} values differ)"
        )


def _same(a, b):
    """True when ``a`` still equals its earlier deep copy ``b`` (arrays, lists, tuples, dicts)."""
    if isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(b, (list, tuple)):
        return isinstance(a, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in b)
    return True  # numbers, functions and objects: not compared


def _argument_names(fn, n):
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    return [names[k] if k < len(names) else f"#{k + 1}" for k in range(n)]


def check_function(exercise, title, learner, reference, make_inputs, n_cases=3, rtol=1e-6, atol=1e-8,
                   reimplements=(), allow_mutation=False, strict=True):  # fmt: skip
    """Compare ``learner(*args)`` with ``reference(*args)`` on random inputs.

    Parameters
    ----------
    exercise, title : str
        As in ``check_tests``.
    learner : callable
        The learner's function.
    reference : callable
        dbnlib's function with the same signature (it never sees the learner's
        copy of the inputs).
    make_inputs : callable
        ``make_inputs(rng, case)`` returns a tuple of arguments; ``rng`` is a
        seeded NumPy generator and ``case`` counts from 0.
    n_cases : int
        Number of random cases, one point each.
    rtol, atol : float
        Tolerances of the comparison (``numpy.isclose``).
    reimplements : sequence of str
        Dotted names of the dbnlib functions the exercise re-implements; an
        answer that calls one of them fails the case with a message that says so.
    allow_mutation : bool
        When False (the default), an answer that changes an array it was given
        fails the case.
    strict : bool
        When True (the default), the learner's code runs under
        ``numpy.errstate(over="raise", divide="raise", invalid="raise")``: an
        overflow is an error, not a warning.

    Returns
    -------
    None
        The verdict is the printed line; a failure raises ``ExerciseFailed``.
    """
    if not callable(learner):
        raise TypeError(f"learner must be a function, got {type(learner).__name__}")
    rng = _rng(exercise)
    cases = [make_inputs(rng, c) for c in range(n_cases)]
    # The references run first, on their own copies, before anything is forbidden.
    expected = [reference(*copy.deepcopy(args)) for args in cases]

    def make_test(args, want):
        def test():
            given = copy.deepcopy(args)
            with forbidden(reimplements), np.errstate(**(_STRICT if strict else {})):
                got = learner(*given)
            if not allow_mutation:
                names = _argument_names(learner, len(args))
                for name, before, after in zip(names, args, given):
                    if not _same(after, before):
                        raise AssertionError(
                            f"your function changed its argument {name} in place; leave the inputs as you found "
                            "them and return new arrays"
                        )
            assert_close(got, want, rtol=rtol, atol=atol)

        return test

    check_tests(exercise, title, [make_test(a, e) for a, e in zip(cases, expected)])


_STRICT = dict(over="raise", divide="raise", invalid="raise")


# --- forbidding the answer key -------------------------------------------------------

_KEY_MARK = "your answer calls "


def _raiser(*args, **kwargs):
    # Only builtins: this code object runs with the globals of the function it replaces.
    raise RuntimeError("__MESSAGE__")


class forbidden:
    """While active, the named functions raise ``RuntimeError`` wherever they are called from.

    Parameters
    ----------
    names : sequence of str
        Dotted names such as ``"dbnlib.sigmoid"`` or ``"dbnlib.MLP.layer_gradient_norms"``.

    A plain Python function gets the raiser's code object, which reaches every
    alias of it (``from dbnlib import sigmoid as s`` included); anything else
    is replaced in the modules that hold it.
    """

    def __init__(self, names):
        self.names = list(names)
        self.undo = []

    def __enter__(self):
        for name in self.names:
            target = _resolve(name)
            message = f"{_KEY_MARK}{name}, the function this exercise asks you to write yourself"
            code = _raiser.__code__.replace(co_consts=tuple(message if c == "__MESSAGE__" else c
                                                            for c in _raiser.__code__.co_consts))
            fn = getattr(target, "__func__", target)
            if inspect.isfunction(fn) and not fn.__code__.co_freevars:
                self.undo.append((fn, "__code__", fn.__code__))
                fn.__code__ = code
                continue
            stand_in = _raiser.__class__(code, {"__builtins__": __builtins__}, getattr(fn, "__name__", "f"))
            for mod in list(sys.modules.values()):
                if getattr(mod, "__name__", "").split(".")[0] != name.split(".")[0]:
                    continue
                for attr, value in list(vars(mod).items()):
                    if value is target:
                        self.undo.append((mod, attr, value))
                        setattr(mod, attr, stand_in)
        return self

    def __exit__(self, *exc):
        while self.undo:
            obj, attr, value = self.undo.pop()
            setattr(obj, attr, value)
        return False


def _resolve(dotted):
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        for attr in parts[k:]:
            obj = getattr(obj, attr)
        return obj
    raise ValueError(f"reimplements names {dotted!r}, which cannot be imported")


# --- the learner's check cell --------------------------------------------------------

CHECKS_FILE = "checks.json"


def _load_checks(path=None):
    path = path or os.environ.get("DBNLIB_CHECKS") or CHECKS_FILE
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} not found in {os.getcwd()}: open the notebook from its folder (as `make lab` does), "
            "where checks.json sits next to it"
        ) from None


def _namespace(notebook, user_ns):
    """A fresh namespace for a check: the learner's answers, then the instructor's set-up code."""
    ns = {"__name__": "__grading__", "__builtins__": __builtins__}
    for name in notebook["answers"]:
        if name in user_ns:
            ns[name] = user_ns[name]
    exec(compile(notebook["setup"], "<check set-up>", "exec"), ns)
    ns["grading"] = _THIS or sys.modules[__name__]
    return ns


def _missing(exercise, user_ns):
    return [name for name in exercise["answers"] if name not in user_ns]


def check(exercise, path=None):
    """Run the visible check of one exercise on the learner's functions.

    Parameters
    ----------
    exercise : str
        The exercise number, e.g. ``"1.1"``.
    path : str, optional
        The checks file (default: ``checks.json`` in the working folder, which
        is the notebook's folder in JupyterLab and under nbval).

    Returns
    -------
    None
        Prints the verdict line; raises ``ExerciseFailed`` when an answer is wrong.
    """
    if os.environ.get("DBNLIB_GRADING") == "1":
        return None  # the grader runs the instructor's checks itself
    checks = _load_checks(path)
    found = [(nb, ex) for nb in checks["notebooks"] for ex in nb["exercises"] if ex["id"] == str(exercise)]
    if not found:
        raise ValueError(f"exercise must be one of the exercises in {path or CHECKS_FILE}, got {exercise!r}")
    notebook, entry = found[0]
    user_ns = inspect.currentframe().f_back.f_globals
    missing = _missing(entry, user_ns)
    if missing:
        _record(exercise, entry["title"], 0, entry["points"],
                f"not answered: {', '.join(missing)} is not defined (run the answer cell above)")
    for part in entry["parts"]:
        if part.get("hidden"):
            continue
        ns = _namespace(notebook, user_ns)
        exec(compile(part["code"], f"<check {exercise}>", "exec"), ns)
    return None


# --- the grader's entry point (runs in its own copy of this module) --------------------

_WATCHED = ("dbnlib", "numpy")
# The learner's own copy of the grading modules: replacing them changes nothing.
_UNWATCHED = ("dbnlib.grading", "dbnlib.grade", "dbnlib.grading_manifest")


def _fingerprint():
    """The identity of every function and class that dbnlib's and NumPy's modules hold.

    The grader takes it before the learner's cells run and again with each
    exercise: an answer that replaced ``dbnlib.sigmoid`` (so that the reference
    agrees with it) or ``numpy.isclose`` changes it.
    """
    out = {}
    for name, mod in list(sys.modules.items()):
        if mod is None or name.split(".")[0] not in _WATCHED or name in _UNWATCHED:
            continue
        for attr, value in list(getattr(mod, "__dict__", {}).items()):
            if callable(value) and not attr.startswith("__"):
                out[f"{name}.{attr}"] = id(value)
    return out


def _write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def _baseline(path):
    """Import dbnlib (and the modules it loads), then write their fingerprint to ``path``.

    The grader calls it before any learner code runs.
    """
    importlib.import_module("dbnlib")
    _write_json(path, _fingerprint())

def _grade_exercise(notebook, exercise, user_ns, result_path, nonce):
    """Run every part of one exercise, visible and hidden, and write the results to ``result_path``."""
    global _RECORDER
    results = []
    missing = _missing(exercise, user_ns)
    for part in exercise["parts"]:
        _RECORDER = []
        message = None
        if missing:
            message = f"not answered: {', '.join(missing)} is not defined (the answer cell is missing or failed)"
        else:
            try:
                ns = _namespace(notebook, user_ns)
                exec(compile(part["code"], f"<check {exercise['id']}>", "exec"), ns)
            except ExerciseFailed:
                pass
            except Exception as exc:
                message = f"the check could not run: {exc.__class__.__name__}: {exc}"
        recorded = [r for r in _RECORDER if r["id"] == exercise["id"]]
        _RECORDER = None
        if recorded and message is None:
            r = recorded[-1]
            results.append(dict(hidden=bool(part.get("hidden")), passed=r["passed"], total=r["total"],
                                message=r["message"]))
        else:
            results.append(dict(hidden=bool(part.get("hidden")), passed=0, total=part["points"],
                                message=message or "the check reported nothing"))
    _write_json(result_path, {"nonce": nonce, "parts": results, "fingerprint": _fingerprint()})
