"""Finite-difference gradient checks (chapter 3).

Backpropagation is easy to get almost right. This file compares an analytic
gradient with central differences,

    dJ/dtheta_i  ~  (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps),

one entry at a time. That costs two evaluations of J per parameter, so it is
for small models and small batches, in float64 (in float32 a step of 1e-6 is
lost in rounding). Nothing here trains anything.
"""

import numpy as np

from .backend import to_numpy

__all__ = ["check_gradients", "numerical_gradient", "relative_error"]


def numerical_gradient(f, params, eps=1e-6):
    """Central-difference gradient of ``f`` with respect to every array in ``params``.

    Parameters
    ----------
    f : callable
        Called with no arguments; returns a float computed from the arrays in
        ``params`` (e.g. ``lambda: model.loss(X, y)``).
    params : list of arrays
        Float arrays that ``f`` reads. Each entry is moved by +-eps in place and
        put back exactly, so after the call they hold what they held before.
    eps : float
        Half the step.

    Returns
    -------
    list of numpy.ndarray
        The gradient in float64, one array per entry of ``params``, with the
        same shapes (NumPy even when ``params`` live on the GPU).
    """
    grads = []
    for p in params:
        g = np.zeros(p.shape, dtype=np.float64)
        for i in np.ndindex(*p.shape):
            old = p[i].copy()
            p[i] = old + eps
            up, f_up = p[i].copy(), f()
            p[i] = old - eps
            down, f_down = p[i].copy(), f()
            p[i] = old
            g[i] = (f_up - f_down) / float(up - down)  # the step actually stored
        grads.append(g)
    return grads


def _flat(a):
    """All entries of an array, or of a (nested) list/tuple of arrays, as one NumPy vector."""
    if isinstance(a, (list, tuple)):
        return np.concatenate([_flat(x) for x in a]) if a else np.zeros(0)
    return np.asarray(to_numpy(a), dtype=np.float64).ravel()


def relative_error(a, b):
    """``max_i |a_i - b_i| / max(max_i (|a_i| + |b_i|), tiny)``.

    Both maxima run over all entries together, so entries where both
    gradients are ~0 (dead ReLUs) cannot blow the ratio up; ``tiny`` is the
    smallest positive float64 and only guards 0 / 0.

    Parameters
    ----------
    a, b : array, or list (possibly of tuples) of arrays
        Same structure and shapes, e.g. two outputs of ``MLP.gradients``.

    Returns
    -------
    float
    """
    a, b = _flat(a), _flat(b)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: a has {a.size} entries in all, b has {b.size}")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a) + np.abs(b))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b))) / scale


def check_gradients(model, X, y, eps=1e-6):
    """Relative error between ``model.gradients(X, y)`` and finite differences of ``model.loss``.

    ``model`` needs ``params`` (a list of ``(W, b)`` pairs), ``loss(X, y)``
    and ``gradients(X, y)`` aligned with ``params``, as ``MLP`` has. A correct
    backpropagation in float64 gives about 1e-8 or less.

    Returns
    -------
    float
        ``relative_error`` over all weights and biases together.
    """
    analytic = model.gradients(X, y)
    arrays = [p for pair in model.params for p in pair]
    numeric = numerical_gradient(lambda: model.loss(X, y), arrays, eps=eps)
    return relative_error(analytic, numeric)
