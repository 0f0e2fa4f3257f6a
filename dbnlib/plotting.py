"""Figures the chapters draw more than once.

Every function takes NumPy or backend arrays (converted here, at the edge) and
a Matplotlib ``Axes`` to draw on, and returns that ``Axes``.
"""

import numpy as np

from .backend import to_numpy

__all__ = ["decision_boundary", "function_fit", "image_grid", "loss_curves"]


def decision_boundary(ax, predict_proba, X, y, grid=200, margin=0.5, title=None):
    """Shade p(y = 1 | x) over the plane and mark the 0.5 contour.

    Parameters
    ----------
    ax : matplotlib Axes
    predict_proba : callable
        Maps an array of shape (n, 2) to probabilities, shape (n,) or (n, 2)
        (then the second column, p(y = 1 | x), is used).
    X : array of shape (n_samples, 2)
    y : array of shape (n_samples,), labels 0/1
    """
    X, y = np.asarray(to_numpy(X)), np.asarray(to_numpy(y))
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    P = np.asarray(to_numpy(predict_proba(np.c_[g0.ravel(), g1.ravel()])))
    P = (P[:, 1] if P.ndim == 2 else P).reshape(g0.shape)
    ax.contourf(g0, g1, P, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    ax.contour(g0, g1, P, levels=[0.5], colors="k", linewidths=1.5)
    for label, marker, color in ((0, "o", "tab:blue"), (1, "s", "tab:red")):
        pts = X[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], marker=marker, c=color, edgecolors="k", s=30, label=f"y = {label}")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def loss_curves(ax, curves, xlabel="epoch", ylabel="training loss", logy=False):
    """Plot several loss curves; ``curves`` maps a label to a sequence of values."""
    for label, values in curves.items():
        values = np.asarray(to_numpy(values), dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if len(curves) > 1:
        ax.legend()
    return ax


def function_fit(ax, model, x, target, show_units=True, title=None):
    """Draw a 1-D target, a one-hidden-layer network's fit, and each hidden unit's share.

    The network (an ``MLP`` of sizes ``(1, M, 1)`` with an identity output)
    computes ``y(x) = c + sum_j v_j a_j(x)``; with ``show_units`` each term
    ``v_j a_j(x)`` is drawn as a thin line, so the fit can be seen as a sum of
    shifted, scaled copies of the activation function (chapter 2).

    Parameters
    ----------
    ax : matplotlib Axes
    model : MLP with ``layer_sizes == (1, M, 1)``
    x : array of shape (n,) or (n, 1)
    target : array of shape (n,) or (n, 1), the function's values at ``x``
    """
    x = np.asarray(to_numpy(x), dtype=float).reshape(-1, 1)
    target = np.asarray(to_numpy(target), dtype=float).ravel()
    acts = [np.asarray(to_numpy(a)) for a in model.forward(x)]
    if show_units and len(acts) == 3:
        v = np.asarray(to_numpy(model.params[1][0]))[:, 0]
        shares = acts[1] * v
        for j in range(shares.shape[1]):
            ax.plot(x[:, 0], shares[:, j], color="grey", lw=0.6, alpha=0.7, label="one unit's share" if j == 0 else None)
    ax.plot(x[:, 0], target, color="k", lw=2, label="target")
    ax.plot(x[:, 0], acts[-1][:, 0], color="tab:red", lw=1.5, ls="--", label="network")
    # The view follows the target; large shares that cancel each other run off it.
    lo, hi = target.min(), target.max()
    pad = 0.25 * (hi - lo) if hi > lo else 1.0
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("x")
    if title:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return ax


def image_grid(ax, images, shape, n_cols=10, cmap="gray_r", pad=1, vmin=None, vmax=None):
    """Draw rows of ``images`` (each a flattened ``shape`` picture) as one tiled image.

    Each tile is scaled to its own range unless ``vmin`` is given (then
    ``vmin``/``vmax``, default 1, are one scale for all tiles),
    which suits weight filters (chapter 6) as well as pixels.
    """
    images = np.asarray(to_numpy(images), dtype=float)
    n = images.shape[0]
    n_rows = int(np.ceil(n / n_cols))
    h, w = shape
    canvas = np.full((n_rows * (h + pad) + pad, n_cols * (w + pad) + pad), np.nan)
    for k in range(n):
        img = images[k].reshape(shape)
        if vmin is None:
            span = img.max() - img.min()
            img = (img - img.min()) / span if span > 0 else img * 0
        r, c = divmod(k, n_cols)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = img
    ax.imshow(canvas, cmap=cmap, vmin=0 if vmin is None else vmin, vmax=1 if vmax is None else vmax)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
