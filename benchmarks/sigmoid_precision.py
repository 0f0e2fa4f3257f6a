"""How precise is each way of computing the sigmoid? A table for chapter 1 and issue 10.

    python benchmarks/sigmoid_precision.py

Three formulas for sigma(z) = 1 / (1 + exp(-z)), equal in exact arithmetic:

- ``naive``: ``1 / (1 + exp(-z))`` as written;
- ``tanh``: ``0.5 * (1 + tanh(z / 2))``, dbnlib's form before 1.0;
- ``dbnlib``: ``dbnlib.sigmoid``, split on the sign of z (see its docstring).

For float64 and float32 it evaluates each on a grid of z, compares with an
exact reference (Python's ``decimal`` at 50 digits, at the very float each
formula received) and prints the worst relative error where sigma(z) is a
normal float (below that it is subnormal and no float is relatively close),
the warnings each formula raised, and the point where each first returns 0.
It also times the three in place, as the models call them (timings vary with
the machine, the errors do not).
"""

import time
import warnings
from decimal import Decimal, localcontext

import numpy as np

import dbnlib


def exact_sigmoid(z):
    """sigma(z) for every float in z, at 50 significant digits (a list of Decimals)."""
    with localcontext() as ctx:
        ctx.prec = 50
        return [1 / (1 + (-Decimal(float(x))).exp()) for x in np.ravel(z)]


def relative_errors(got, exact):
    with localcontext() as ctx:
        ctx.prec = 50
        return np.array([float(abs(Decimal(float(g)) - e) / e) for g, e in zip(np.ravel(got), exact)])


FORMULAS = {
    "naive": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": lambda z: 0.5 * (1 + np.tanh(0.5 * z)),
    "dbnlib": dbnlib.sigmoid,
}


def _naive_in_place(z, out):
    np.negative(z, out=out)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def _tanh_in_place(z, out):
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


IN_PLACE = {"naive": _naive_in_place, "tanh": _tanh_in_place, "dbnlib": lambda z, out: dbnlib.sigmoid(z, out=out)}
# The grids reach the smallest normal sigma(z): about exp(-708.4) in float64, exp(-87.3) in float32.
GRIDS = {np.float64: (-708.0, 40.0, 3741), np.float32: (-87.0, 20.0, 1071)}


def run(fn, z):
    """fn(z) with every floating-point event recorded as a warning; returns (result, sorted warning texts)."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        s = fn(z)
    return s, sorted({str(w.message) for w in caught})


def first_zero(fn, dtype):
    """The largest z (on a 0.01 grid, going down from 0) where fn returns exactly 0."""
    z = -np.arange(0, 800, 0.01).astype(dtype)
    with np.errstate(all="ignore"):
        zero = np.flatnonzero(fn(z) == 0)
    return float(z[zero[0]]) if zero.size else None


def main():
    print("Worst relative error of sigma(z) against an exact reference, where sigma(z) is a normal float\n")
    print("| dtype | z range | formula | worst relative error | at z | returns 0 from z = "
          "| warnings on z in [-800, 800] |")
    print("|---|---|---|---|---|---|---|")
    for dtype, (lo, hi, n) in GRIDS.items():
        z = np.linspace(lo, hi, n).astype(dtype)
        exact = exact_sigmoid(z)
        for name, fn in FORMULAS.items():
            s, _ = run(fn, z)
            rel = relative_errors(s, exact)
            i = int(np.argmax(rel))
            _, warned = run(fn, np.linspace(-800, 800, 1601).astype(dtype))
            zero = first_zero(fn, dtype)
            print(f"| {np.dtype(dtype).name} | [{lo:g}, {hi:g}] | {name} | {rel[i]:.3g} | {float(z[i]):.4g} | "
                  f"{'-' if zero is None else f'{zero:.2f}'} | {'; '.join(warned) or 'none'} |")  # fmt: skip
    print("\nSpot values (float64): sigma(z), exact and by each formula")
    print("| z | exact | naive | tanh | dbnlib |")
    print("|---|---|---|---|---|")
    for zv in (-20.0, -37.0, -40.0, -100.0, -720.0, -745.0):
        z = np.array([zv])
        cells = [f"{float(run(fn, z)[0][0]):.4g}" for fn in FORMULAS.values()]
        print(f"| {zv:g} | {float(exact_sigmoid(z)[0]):.4g} | " + " | ".join(cells) + " |")

    print("\nTime per 10^6 values, in place into a preallocated buffer as the models call it")
    print("(10^5 values, best of 50; one thread; for scale only, it varies with the machine)")
    print("| dtype | naive | tanh | dbnlib |")
    print("|---|---|---|---|")
    rng = np.random.default_rng(0)
    for dtype in GRIDS:
        z = (rng.normal(size=10**5) * 8).astype(dtype)
        buf = np.empty_like(z)
        cells = []
        for fn in IN_PLACE.values():
            best = np.inf
            for _ in range(50):
                t0 = time.perf_counter()
                with np.errstate(all="ignore"):
                    fn(z, buf)
                best = min(best, time.perf_counter() - t0)
            cells.append(f"{best * 1e3 * 10:.2f} ms")
        print(f"| {np.dtype(dtype).name} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
