"""Numerically stable building blocks shared by every model in the book.

Each function works on the active backend (``dbnlib.backend.xp()``) and on any
float dtype, and stays finite at inputs of +-1000: no overflow warning, no NaN,
no inf. Chapter 1 explains why the naive formulas fail there.

The logistic function and its logarithm are also *relatively* precise in their
tails, where they are tiny: the sigmoid to within a few units in the last place
(below 1e-12 in float64 and 1e-5 in float32, checked against an exact
reference in ``tests/test_numerics.py``). Results that underflow to a
subnormal number or to 0 are the right answer there, so the functions below
compute them without NumPy's underflow warning.
"""

import numpy as np

from .backend import xp

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "categorical_cross_entropy",
    "categorical_cross_entropy_with_logits",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "one_hot",
    "sigmoid",
    "softmax",
    "softplus",
]


def _as_float(z):
    """``z`` as an array of the backend; integers and booleans become float64."""
    m = xp()
    z = m.asarray(z)
    if not m.issubdtype(z.dtype, m.floating):
        z = z.astype(m.float64)
    return z


def sigmoid(z, out=None):
    """The logistic function sigma(z) = 1 / (1 + exp(-z)), precise in both tails.

    The formula is split on the sign of z so that exp never overflows:
    sigma(z) = 1 / (1 + exp(-z)) for z >= 0 and exp(z) / (1 + exp(z)) for
    z < 0. Both halves are computed from one exponential, u = exp(-|z|) <= 1:
    x = u / (1 + u) is sigma(-|z|), which is sigma(z) when z < 0, and
    sigma(z) = 1 - x when z >= 0 (no cancellation there, since x <= 1/2).
    The relative error is a few units in the last place for every z whose
    sigma is a normal number (z >= -708.4 in float64, z >= -87.3 in float32);
    below that sigma(z) is subnormal and the result is the float next to it,
    down to 0 at z < -745.1 (float64).

    The form ``(1 + tanh(z / 2)) / 2`` is equal in exact arithmetic, but it
    adds 1 to a number close to -1 when z is very negative, which keeps only
    its absolute precision: in float64 it is 35 % off at z = -37 and exactly 0
    from z = -38 on, in float32 up to about 14 times too large just above
    z = -20 and 0 from there on, although sigma(z) is far above the smallest float.
    ``benchmarks/sigmoid_precision.py`` measures both forms.

    Parameters
    ----------
    z : array-like
        Any shape; integer input is computed in float64.
    out : array, optional
        Where to write the result, of ``z``'s shape and a float dtype; it may
        be ``z`` itself for an in-place update (the models' inner loops do so).

    Returns
    -------
    array of the shape of ``z``
        sigma(z), in ``z``'s float dtype (or ``out``).
    """
    m = xp()
    z = _as_float(z)
    if out is None:
        out = m.empty_like(z)  # an array even for 0-d z, so that every ufunc below can write into it
    z_nonneg = m.greater_equal(z, 0)  # before out overwrites z when out is z
    with np.errstate(under="ignore"):  # exp(-|z|) underflows for |z| > 708 (float64): 0 is right there
        m.abs(z, out=out)
        m.negative(out, out=out)
        m.exp(out, out=out)  # u = exp(-|z|), in (0, 1]
        m.divide(out, out + 1, out=out)  # x = u / (1 + u) = sigma(-|z|)
    m.subtract(z_nonneg, out, out=out)  # 1 - x for z >= 0, -x for z < 0
    m.abs(out, out=out)
    return out


def sigmoid_inplace(z):
    """sigma(z) written over the float array ``z``, in half the passes of ``sigmoid``; returns z.

    The models' inner loops (``RBM._up``, ``RBM._down``, the training monitors)
    call it on every minibatch, where ``sigmoid``'s eight passes over the
    array and its boolean temporary cost about as much as a sixth of the
    matrix products. It computes 1 / (1 + exp(-z)) in four in-place passes.
    That form is as precise as ``sigmoid`` (a few units in the last place)
    wherever sigma(z) is a normal float: exp(-z) is relatively precise, and
    adding 1 to a positive number and inverting it cancel nothing. It only
    differs where sigma(z) is subnormal (z below -87.3 in float32, -708.4 in
    float64): from -88.7 (float32) or -709.8 (float64) down, exp(-z)
    overflows to inf, without a warning, and the result is 0 instead of the
    subnormal float next to sigma(z). Which is harmless where a probability
    is compared with a uniform number or multiplied into a gradient.

    Parameters
    ----------
    z : array of float32 or float64
        Overwritten with sigma(z).

    Returns
    -------
    z
    """
    m = xp()
    with np.errstate(over="ignore", under="ignore"):  # exp(-z) is inf for z << 0 and 0 for z >> 0: both right
        m.negative(z, out=z)
        m.exp(z, out=z)
        z += 1
        m.reciprocal(z, out=z)
    return z


def softplus(z):
    """log(1 + exp(z)), stable for large |z| (it is log-sum-exp of 0 and z).

    Written max(z, 0) + log1p(exp(-|z|)): both terms are >= 0, so nothing
    cancels and the result is relatively precise for every z (about exp(z)
    for very negative z, about z for very positive z). It is the same value as
    ``logaddexp(0, z)``, about ten times faster on NumPy.
    """
    m = xp()
    z = _as_float(z)
    with np.errstate(under="ignore"):
        return m.maximum(z, 0) + m.log1p(m.exp(-m.abs(z)))


def log_sigmoid(z):
    """log sigma(z) = -softplus(-z), relatively precise for every z.

    Written min(z, 0) - log1p(exp(-|z|)): both terms are <= 0, so nothing
    cancels. For z >> 0 it is about -exp(-z), which ``log(sigmoid(z))`` would
    round to 0; for z << 0 it is about z. The losses use it (through
    ``softplus``) instead of the log of a probability.
    """
    m = xp()
    z = _as_float(z)
    with np.errstate(under="ignore"):
        return m.minimum(z, 0) - m.log1p(m.exp(-m.abs(z)))


def logsumexp(z, axis=-1, keepdims=False):
    """log sum exp(z) along ``axis``, shifting by the maximum first."""
    m = xp()
    z = m.asarray(z)
    zmax = m.max(z, axis=axis, keepdims=True)
    zmax = m.where(m.isfinite(zmax), zmax, 0)
    with np.errstate(under="ignore"):
        s = m.log(m.sum(m.exp(z - zmax), axis=axis, keepdims=True)) + zmax
    return s if keepdims else m.squeeze(s, axis=axis)


def log_softmax(z, axis=-1):
    """log softmax(z) = z - logsumexp(z), stable for large |z|."""
    m = xp()
    z = m.asarray(z)
    return z - logsumexp(z, axis=axis, keepdims=True)


def softmax(z, axis=-1):
    """softmax(z)_k = exp(z_k) / sum_j exp(z_j), shifted by max(z) first."""
    m = xp()
    z = m.asarray(z)
    with np.errstate(under="ignore"):
        e = m.exp(z - m.max(z, axis=axis, keepdims=True))
    e /= m.sum(e, axis=axis, keepdims=True)
    return e


def one_hot(y, n_classes, dtype=None):
    """Rows of the identity: ``T[n, y[n]] = 1``.

    Parameters
    ----------
    y : array-like of integers in 0..n_classes-1
        Class indices, flattened to shape (n_samples,). Floats are accepted
        when they hold whole numbers (3.0, not 2.5).
    n_classes : int
        K, the number of columns.
    dtype : dtype, optional
        Of the result; float64 by default.

    Returns
    -------
    array of shape (n_samples, n_classes)

    Raises
    ------
    ValueError
        When a label is not a whole number or lies outside 0..n_classes-1,
        naming the first such label (a label of -1 would otherwise index the
        last column, silently).
    TypeError
        When ``n_classes`` is not an integer or ``y`` is not numeric.
    """
    m = xp()
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)):
        raise TypeError(f"one_hot: n_classes must be an integer, got {n_classes!r}")
    if n_classes < 1:
        raise ValueError(f"one_hot: n_classes must be >= 1, got {n_classes}")
    y = m.asarray(y).ravel()
    if y.dtype.kind not in "biuf":
        raise TypeError(f"one_hot: y must hold integer class labels, got dtype {y.dtype}")
    bad = (y < 0) | (y >= n_classes)
    if y.dtype.kind == "f":
        bad |= y != m.floor(y)  # also catches NaN
    if bool(m.any(bad)):
        first = y[bad][0].item()
        raise ValueError(f"one_hot: y must hold integer labels in 0..{n_classes - 1} (n_classes={n_classes}), "
                         f"got {first!r}")  # fmt: skip
    y = y.astype(m.int64)
    T = m.zeros((y.shape[0], n_classes), dtype=dtype or m.float64)
    T[m.arange(y.shape[0]), y] = 1
    return T


def _same_shape(where, a_name, a, b_name, b):
    """Refuse shapes that are not equal: broadcasting (n, 1) against (n,) would give an (n, n) mean."""
    if a.shape != b.shape:
        raise ValueError(f"{where}: {a_name} and {b_name} must have the same shape, got {a_name} {tuple(a.shape)} "
                         f"and {b_name} {tuple(b.shape)}; reshape one (e.g. t.reshape({a_name}.shape))")  # fmt: skip


def _two_d(where, name, a):
    if a.ndim != 2:
        raise ValueError(f"{where}: {name} must be 2-D (n_samples, n_classes), got shape {tuple(a.shape)}; "
                         "one-hot encode integer labels with dbnlib.numerics.one_hot(y, n_classes)")  # fmt: skip


def binary_cross_entropy(p, t, eps=1e-12):
    """Mean of -[t log p + (1 - t) log(1 - p)] over all entries.

    ``p`` are probabilities; they are clipped to [eps, 1 - eps] so that a
    confident wrong answer costs a large but finite amount. In float32,
    1 - eps rounds to 1, so p = 1 against t = 0 still gives inf: pass float64
    probabilities, or better use ``binary_cross_entropy_with_logits`` when the
    logits are at hand (finite on every dtype).

    Parameters
    ----------
    p : array-like, probabilities in [0, 1]
    t : array-like of the same shape as ``p``, targets in [0, 1]
    eps : float

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When ``p`` and ``t`` differ in shape. Broadcasting would pair every
        prediction with every target: an (n, 1) ``p`` against an (n,) ``t``
        would average n * n terms and return a wrong number without a word.
    """
    m = xp()
    p = m.clip(_as_float(p), eps, 1 - eps)
    t = m.asarray(t, dtype=p.dtype)
    _same_shape("binary_cross_entropy", "p", p, "t", t)
    return float(-m.mean(t * m.log(p) + (1 - t) * m.log1p(-p)))


def binary_cross_entropy_with_logits(z, t):
    """Mean cross-entropy for p = sigma(z), computed from the logits ``z``.

    Uses -log sigma(z) = softplus(-z) and -log(1 - sigma(z)) = softplus(z),
    so it is exact and finite for any z. ``z`` and ``t`` must have the same
    shape (a ValueError otherwise, as in ``binary_cross_entropy``).
    """
    m = xp()
    z = _as_float(z)
    t = m.asarray(t, dtype=z.dtype)
    _same_shape("binary_cross_entropy_with_logits", "z", z, "t", t)
    return float(m.mean(t * softplus(-z) + (1 - t) * softplus(z)))


def categorical_cross_entropy(P, T, eps=1e-12):
    """Mean over rows of -sum_k T[n, k] log P[n, k] (P rows are probabilities).

    ``P`` and ``T`` must both be (n_samples, n_classes): integer labels are
    refused with a ValueError (one-hot encode them with ``one_hot``), because
    an (n,) label vector would broadcast against the rows of ``P``.
    """
    m = xp()
    P = m.clip(_as_float(P), eps, 1.0)
    T = m.asarray(T, dtype=P.dtype)
    _two_d("categorical_cross_entropy", "P", P)
    _same_shape("categorical_cross_entropy", "P", P, "T", T)
    return float(-m.mean(m.sum(T * m.log(P), axis=1)))


def categorical_cross_entropy_with_logits(Z, T):
    """Mean over rows of -sum_k T[n, k] log softmax(Z)[n, k], from logits.

    Shapes as in ``categorical_cross_entropy``: both (n_samples, n_classes).
    """
    m = xp()
    Z = _as_float(Z)
    T = m.asarray(T, dtype=Z.dtype)
    _two_d("categorical_cross_entropy_with_logits", "Z", Z)
    _same_shape("categorical_cross_entropy_with_logits", "Z", Z, "T", T)
    return float(-m.mean(m.sum(T * log_softmax(Z, axis=1), axis=1)))
