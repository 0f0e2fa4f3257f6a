"""Checks for the graded exercises.

A check cell in an exercise notebook calls one function of this module. It
runs the learner's code on fresh random inputs, compares the answer with
dbnlib's reference, prints exactly one line,

    Exercise 1.2 (cross-entropy gradient): PASS 3/3

and, when something is wrong, says what (a shape, the first differing value, an
exception) and raises ``ExerciseFailed`` so that the cell fails in JupyterLab,
in ``pytest --nbval-lax`` and in ``make grade`` alike. Each test case is worth
one point. The line is the same on every run, so nbval can compare it.

The inputs are drawn from a generator seeded by the exercise number: they are
not the examples shown in the notebook, but they are the same every time.
"""

import re
import zlib

import numpy as np

from .backend import to_numpy

__all__ = ["ExerciseFailed", "LINE", "check", "check_function"]

# The line every check prints; ``dbnlib.grade`` parses it back.
LINE = re.compile(r"^Exercise (?P<id>[\w.]+) \((?P<title>.*)\): (?P<status>PASS|FAIL) (?P<got>\d+)/(?P<total>\d+)")


class ExerciseFailed(AssertionError):
    """A graded check did not pass; the message says why."""


def _rng(exercise):
    return np.random.default_rng(zlib.crc32(str(exercise).encode()))


def check(exercise, title, tests):
    """Run ``tests`` for one exercise, print the verdict line, raise on failure.

    Parameters
    ----------
    exercise : str
        The exercise number, e.g. ``"1.2"``.
    title : str
        A few words that name the exercise.
    tests : list of callables
        Each takes no argument and raises ``AssertionError`` (with a readable
        message) when the learner's answer is wrong. Any other exception is
        reported as an error in the learner's code.

    Returns
    -------
    int
        The points earned (only when all tests pass; otherwise it raises).
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
        except Exception as exc:  # the learner's code crashed
            first_problem = first_problem or f"case {i}: your code raised {exc.__class__.__name__}: {exc}"
    total = len(tests)
    if passed == total:
        print(f"Exercise {exercise} ({title}): PASS {passed}/{total}")
        return passed
    line = f"Exercise {exercise} ({title}): FAIL {passed}/{total} - {first_problem}"
    print(line)
    raise ExerciseFailed(line)


def _describe(x):
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of length {len(x)}"
    a = np.asarray(x)
    return f"shape {a.shape}" if a.ndim else f"the scalar {a.item()!r}"


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
        g = np.asarray(to_numpy(got), dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be a number or an array of numbers, got {type(got).__name__}") from None
    e = np.asarray(to_numpy(expected), dtype=float)
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


def check_function(exercise, title, learner, reference, make_inputs, n_cases=3, rtol=1e-6, atol=1e-8):
    """Compare ``learner(*args)`` with ``reference(*args)`` on random inputs.

    Parameters
    ----------
    exercise, title : str
        As in ``check``.
    learner : callable
        The learner's function.
    reference : callable
        dbnlib's function with the same signature.
    make_inputs : callable
        ``make_inputs(rng, case)`` returns a tuple of arguments; ``rng`` is a
        seeded NumPy generator and ``case`` counts from 0.
    n_cases : int
        Number of random cases, one point each.
    """
    rng = _rng(exercise)
    cases = [make_inputs(rng, c) for c in range(n_cases)]

    def make_test(args):
        def test():
            expected = reference(*_copy(args))
            got = learner(*_copy(args))
            assert_close(got, expected, rtol=rtol, atol=atol)

        return test

    return check(exercise, title, [make_test(a) for a in cases])


def _copy(args):
    # The learner's code must not see (or spoil) the reference's inputs.
    return tuple(a.copy() if hasattr(a, "copy") else a for a in args)
