"""Input checks for the public edge of every model.

Each check raises ``ValueError`` (or ``TypeError``) that names the method, the
argument, what was expected and what came, e.g.
``RBM.fit: X has 783 columns, the model has n_visible=784``.
Private helpers trust their inputs; only public methods call these.

Two kinds of checks live here: data checks (``check_X``, ``check_labels``),
which cost at most one device-to-host sync per call, and hyperparameter checks
(``check_int``, ``check_real``, ``check_choice``, ``check_bool``), shared by
every model so that the same mistake gets the same message everywhere.
"""

import math
import numbers

import numpy as np

from .backend import to_numpy, xp

__all__ = [
    "TrainingDiverged",
    "check_X",
    "check_bool",
    "check_choice",
    "check_int",
    "check_labels",
    "check_real",
]


class TrainingDiverged(FloatingPointError):
    """Training produced NaN, inf or an exploding loss; the message says which knob to turn.

    The model's parameters are put back to their last good values before this is raised.
    """


# ---------------------------------------------------------------------- hyperparameters
def check_int(value, name, where, low=None, high=None, allow_none=False):
    """Return ``value`` as an ``int``; integers only (2.5 and 2.0 are refused, so is True).

    Raises ``TypeError`` for a value that is not an integer and ``ValueError``
    for one outside ``[low, high]``.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        extra = " or None" if allow_none else ""
        raise TypeError(f"{where}: {name} must be an integer{extra}, got {value!r} ({type(value).__name__})")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{where}: {name} must be an integer {_range(low, high)}, got {value}")
    return value


def check_real(value, name, where, low=None, high=None, low_open=False, high_open=False, allow_none=False):
    """Return ``value`` as a finite ``float`` in the given range.

    ``low_open=True`` excludes ``low`` itself (e.g. a learning rate must be > 0).
    Raises ``TypeError`` for anything that is not a real number (strings,
    booleans, arrays) and ``ValueError`` for NaN, inf or a value out of range.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    bad = not math.isfinite(value)
    if low is not None:
        bad = bad or value < low or (low_open and value == low)
    if high is not None:
        bad = bad or value > high or (high_open and value == high)
    if bad:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        rng = " and ".join(s for s in (lo, hi) if s)
        raise ValueError(f"{where}: {name} must be a finite number{' ' + rng if rng else ''}, got {value!r}")
    return value


def check_choice(value, name, where, valid):
    """Return ``value`` when it is one of ``valid``; else ValueError listing them."""
    if not isinstance(value, str | type(None)) or value not in valid:
        raise ValueError(f"{where}: {name} must be one of {tuple(valid)}, got {value!r}")
    return value


def check_bool(value, name, where):
    """Return ``value`` when it is True or False (NumPy booleans included)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{where}: {name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def _range(low, high):
    if low is not None and high is not None:
        return f"in [{low}, {high}]"
    return f">= {low}" if low is not None else f"<= {high}"


# ---------------------------------------------------------------------- data
def check_X(X, where, n_features=None, binary=False, unit_interval=False, dtype=None, min_rows=1, name="X",
            features_name=None):
    """Validate a 2-D data matrix and return it on the active backend.

    Costs one device-to-host sync at most: the finiteness, range and binary
    checks are reduced on the device into one small vector that is read once.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    where : str
        ``"Class.method"``, used to start every message.
    n_features : int, optional
        The number of columns the model expects.
    binary : bool
        Require every entry to be 0 or 1.
    unit_interval : bool
        Require every entry to lie in [0, 1] (probabilities are allowed).
    dtype : dtype, optional
        Convert to this float dtype (default: keep floats, ints become float64).
    min_rows : int
    name : str
        The argument's name in messages.
    features_name : str, optional
        The model's name for the column count (``"n_visible"``), used in messages.
    """
    m = xp()
    if isinstance(X, str | bytes):
        raise TypeError(f"{where}: {name} must be an array of numbers, got {type(X).__name__}")
    try:
        A = m.asarray(X)
    except Exception as exc:
        raise TypeError(f"{where}: {name} must be an array of numbers, got {type(X).__name__}") from exc
    if A.dtype == object or not (m.issubdtype(A.dtype, m.number) or A.dtype == bool):
        raise TypeError(f"{where}: {name} must hold numbers, got dtype {A.dtype}")
    if m.issubdtype(A.dtype, m.complexfloating):
        raise TypeError(f"{where}: {name} must hold real numbers, got dtype {A.dtype}")
    if A.ndim == 1:
        raise ValueError(
            f"{where}: {name} must be 2-D of shape (n_samples, n_features), got a 1-D array of "
            f"length {A.shape[0]}; use {name}.reshape(-1, 1) for one feature or {name}.reshape(1, -1) "
            "for one sample"
        )
    if A.ndim != 2:
        raise ValueError(f"{where}: {name} must be 2-D of shape (n_samples, n_features), got shape {tuple(A.shape)}")
    if A.shape[0] < min_rows:
        raise ValueError(f"{where}: {name} has {A.shape[0]} rows, need at least {min_rows}")
    if n_features is not None and A.shape[1] != n_features:
        has = f"has {features_name}={n_features}" if features_name else f"expects {n_features}"
        raise ValueError(f"{where}: {name} has {A.shape[1]} columns, the model {has}")
    if dtype is not None:
        A = A.astype(dtype, copy=False)
    elif not m.issubdtype(A.dtype, m.floating):
        A = A.astype(m.float64)
    if A.size == 0:
        return A
    # One sync: [all finite, min, max, all binary] reduced on the device, read together.
    stats = [m.isfinite(A).all(), A.min(), A.max()]
    if binary:
        stats.append(((A == 0) | (A == 1)).all())
    finite, lo, hi, *rest = (float(s) for s in to_numpy(m.stack([m.asarray(s, dtype=m.float64) for s in stats])))
    if not finite:
        bad = to_numpy(m.argwhere(~m.isfinite(A))[0])
        raise ValueError(
            f"{where}: {name} contains NaN or inf (first at row {int(bad[0])}, column {int(bad[1])}); "
            "clean or impute the data first"
        )
    if binary and not rest[0]:
        r, c = (int(i) for i in to_numpy(m.argwhere(~((A == 0) | (A == 1)))[0]))
        raise ValueError(
            f"{where}: {name} must be binary (0 or 1), found {float(A[r, c]):g} at row {r}, column {c}; "
            "binarize it first, e.g. (X > 0.5)"
        )
    if unit_interval and (lo < 0 or hi > 1):
        raise ValueError(
            f"{where}: {name} must lie in [0, 1] for binary units, got values in [{lo:g}, {hi:g}]; "
            "scale it (e.g. X / 255) or use GaussianBernoulliRBM (DBN(..., visible='gaussian')) for real-valued data"
        )
    return A


def check_labels(y, where, n_samples, classes=None):
    """Validate a label vector; return it as a 1-D NumPy array (labels live on the host).

    When ``classes`` is given, every label must be one of them (the message lists
    the unexpected ones).
    """
    y = np.asarray(to_numpy(y))
    if y.ndim == 2 and 1 in y.shape:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{where}: y must be 1-D of length n_samples, got shape {y.shape}")
    if y.shape[0] != n_samples:
        raise ValueError(f"{where}: y has {y.shape[0]} labels but X has {n_samples} rows")
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{where}: y must hold integer class labels, got dtype {y.dtype}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{where}: y contains NaN or inf")
        if not np.all(y == np.round(y)):
            raise ValueError(f"{where}: y must hold class labels (integers), got non-integer values")
    if classes is not None:
        unknown = np.setdiff1d(np.unique(y), np.asarray(classes))
        if unknown.size:
            raise ValueError(
                f"{where}: y contains labels {unknown.tolist()[:5]} that are not among the classes "
                f"{np.asarray(classes).tolist()} of the model"
            )
    return y
