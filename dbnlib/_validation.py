"""Input checks for the public edge of every model.

Each check raises ``ValueError`` (or ``TypeError``) that names the method, the
argument, what was expected and what came, e.g.
``RBM.fit: X has 783 columns, the model has n_visible=784``.
Private helpers trust their inputs; only public methods call these.
"""

import numpy as np

from .backend import to_numpy, xp

__all__ = ["check_X", "check_labels", "check_finite_loss", "TrainingDiverged"]


class TrainingDiverged(FloatingPointError):
    """Training produced NaN or inf; the message says which knob to turn."""


def check_X(X, where, n_features=None, binary=False, unit_interval=False, dtype=None, min_rows=1):
    """Validate a 2-D data matrix and return it on the active backend.

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
    """
    m = xp()
    try:
        A = m.asarray(X)
    except Exception as exc:
        raise TypeError(f"{where}: X must be an array of numbers, got {type(X).__name__}") from exc
    if A.dtype == object or not (m.issubdtype(A.dtype, m.number) or A.dtype == bool):
        raise TypeError(f"{where}: X must hold numbers, got dtype {A.dtype}")
    if A.ndim == 1:
        raise ValueError(
            f"{where}: X must be 2-D of shape (n_samples, n_features), got a 1-D array of "
            f"length {A.shape[0]}; use X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample"
        )
    if A.ndim != 2:
        raise ValueError(f"{where}: X must be 2-D of shape (n_samples, n_features), got shape {tuple(A.shape)}")
    if A.shape[0] < min_rows:
        raise ValueError(f"{where}: X has {A.shape[0]} rows, need at least {min_rows}")
    if n_features is not None and A.shape[1] != n_features:
        raise ValueError(f"{where}: X has {A.shape[1]} columns, the model expects {n_features}")
    if dtype is not None:
        A = A.astype(dtype, copy=False)
    elif not m.issubdtype(A.dtype, m.floating):
        A = A.astype(m.float64)
    finite = m.isfinite(A)
    if not bool(finite.all()):
        bad = to_numpy(m.argwhere(~finite)[0])
        raise ValueError(
            f"{where}: X contains NaN or inf (first at row {int(bad[0])}, column {int(bad[1])}); "
            "clean or impute the data first"
        )
    if binary:
        ok = (A == 0) | (A == 1)
        if not bool(ok.all()):
            r, c = (int(i) for i in to_numpy(m.argwhere(~ok)[0]))
            raise ValueError(
                f"{where}: X must be binary (0 or 1), found {float(A[r, c]):g} at row {r}, column {c}; "
                "binarize it first, e.g. (X > 0.5)"
            )
    if unit_interval:
        lo, hi = float(A.min()), float(A.max())
        if lo < 0 or hi > 1:
            raise ValueError(
                f"{where}: X must lie in [0, 1] for binary units, got values in [{lo:g}, {hi:g}]; "
                "scale it (e.g. X / 255) or use GaussianBernoulliRBM for real-valued data"
            )
    return A


def check_labels(y, where, n_samples, classes=None):
    """Validate a label vector; return it as a 1-D NumPy integer array.

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


def check_finite_loss(value, where, epoch, hint="lower the learning rate"):
    """Raise ``TrainingDiverged`` when a training loss is NaN or inf."""
    if not np.isfinite(value):
        raise TrainingDiverged(
            f"{where}: training diverged at epoch {epoch} (loss is {value}); {hint} "
            "and fit again"
        )
