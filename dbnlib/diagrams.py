"""Diagrams of the course's models, drawn with Matplotlib from the models themselves.

Each function draws one picture the book talks about and returns the Axes:

- ``logistic_unit``: chapter 1's unit, inputs x_1..x_n with weights w_1..w_n and
  the bias w_0 on a constant input 1, summed and squashed by the sigmoid;
- ``feedforward_net``: a network from its layer sizes (symbols: chapter 2's
  x, h, y, w_ij, v_j, b_j, c) or from an ``MLP``'s weights (edge colour = sign,
  edge width = |w|, biases written beside the units);
- ``computational_graph``: chapter 3's 2-2-1 net as a graph of its
  intermediate quantities z_j, h_j, u, y, J, with every forward value and every
  gradient dJ/d(.) written on it (``backprop_221`` gives the same numbers);
- ``rbm_graph``: the RBM's bipartite graph, v with biases a, h with biases b,
  undirected edges W, optionally coloured by an ``RBM``'s weights;
- ``gibbs_chain``: the chain of CD-k, v^(0) -> h^(0) -> ... -> v^(k) -> h^(k),
  with the positive and the negative statistics marked;
- ``dbn_diagram``: a DBN as chapter 7 and Hinton, Osindero & Teh (2006) draw
  it, directed generative weights below, an undirected RBM on top, and
  optionally label units joined to the top;
- ``tied_weights_net``: the infinite directed net with tied weights W, W^T,
  W, ... whose upper layers are the complementary prior of chapter 7.

Left out: automatic layout of arbitrary graphs (every picture has its own
fixed layout), animation, and drawing thousands of units: layers wider than
``max_units`` are drawn as their first units, a ``...`` and the last unit.
Arrays may live on the CuPy backend; they are converted with ``to_numpy`` here.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from .backend import to_numpy

__all__ = [
    "backprop_221",
    "computational_graph",
    "dbn_diagram",
    "feedforward_net",
    "gibbs_chain",
    "logistic_unit",
    "rbm_graph",
    "tied_weights_net",
]

POSITIVE, NEGATIVE, NEUTRAL = "tab:blue", "tab:red", "0.35"
GRAD_COLOR = "tab:red"  # gradients on the computational graph
UNIT_FACE = {"input": "#e8eef7", "hidden": "#fdf1dc", "output": "#e3f2e1", "visible": "#e8eef7"}
_R = 0.32  # radius of a unit, in data units (every layout is in inches-like units)


# ---------------------------------------------------------------------- shared helpers
def _axes(ax, size):
    """The Axes to draw on: ``ax``, or a new figure of ``size`` inches."""
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    elif not hasattr(ax, "add_patch"):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _finish(ax, xlim, ylim):
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


def _fmt(x):
    """Numbers on diagrams: 4 significant digits, no trailing zeros."""
    return f"{float(x):.4g}"


def _unit(ax, xy, label, kind="hidden", r=_R, fontsize=12, gid=None):
    """A unit: a circle with its symbol inside."""
    ax.add_patch(Circle(xy, r, facecolor=UNIT_FACE.get(kind, "white"), edgecolor="k", lw=1.2, zorder=3, gid=gid))
    if label:
        ax.text(*xy, label, ha="center", va="center", fontsize=fontsize, zorder=4)


def _trim(p, q, rp, rq):
    """The segment from p to q, shortened by rp at p and rq at q (circle radii)."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    d = q - p
    u = d / np.hypot(*d)
    return p + rp * u, q - rq * u


def _weight_style(w, lw_min=0.6, lw_max=5.0):
    """Edge colours (blue positive, red negative) and widths proportional to |w|."""
    w = np.asarray(w, float).ravel()
    big = np.max(np.abs(w)) if w.size else 0.0
    widths = lw_min + (lw_max - lw_min) * (np.abs(w) / big if big > 0 else np.zeros_like(w))
    colors = [POSITIVE if x > 0 else NEGATIVE if x < 0 else NEUTRAL for x in w]
    return colors, widths


def _edges(ax, segments, weights=None, gid="weights", lw=1.0, color=NEUTRAL):
    """Draw edges as one LineCollection (one line per weight); styled by ``weights`` if given."""
    if weights is None:
        colors, widths = [color] * len(segments), [lw] * len(segments)
    else:
        colors, widths = _weight_style(weights)
    lc = LineCollection(segments, colors=colors, linewidths=widths, zorder=1, gid=gid, capstyle="round")
    ax.add_collection(lc)
    return lc


def _weight_legend(ax, x, y, symbol="w"):
    """One row at (x, y) in data units: a blue and a red line for the signs, and what width means."""
    for dx, color, text in ((0.0, POSITIVE, f"${symbol} > 0$"), (1.6, NEGATIVE, f"${symbol} < 0$")):
        ax.plot([x + dx, x + dx + 0.5], [y, y], color=color, lw=3, solid_capstyle="butt")
        ax.text(x + dx + 0.6, y, text, va="center", fontsize=9)
    ax.text(x + 3.2, y, f"width $\\propto |{symbol}|$", va="center", fontsize=9)


def _arrow(ax, p, q, *, rp=0.0, rq=0.0, style="-|>", color="k", lw=1.4, ls="-", gid=None, rad=0.0):
    """A FancyArrowPatch from p to q, trimmed by rp and rq (``style="-"`` for no head)."""
    p, q = _trim(p, q, rp, rq)
    arr = FancyArrowPatch(p, q, arrowstyle=style, mutation_scale=14, color=color, lw=lw, linestyle=ls,
                          zorder=2, gid=gid, connectionstyle=f"arc3,rad={rad}", shrinkA=0, shrinkB=0)
    ax.add_patch(arr)
    return arr


def _box(ax, center, width, height, face="white", edge="k", lw=1.2, gid=None):
    """A rounded rectangle centred at ``center``."""
    x, y = center
    patch = FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.02,rounding_size=0.12",
                           facecolor=face, edgecolor=edge, lw=lw, zorder=3, gid=gid)
    ax.add_patch(patch)
    return patch


def _shown(n, max_units):
    """Indices of the units drawn for a layer of n: all, or the first ones, None (a gap), the last."""
    if n <= max_units:
        return list(range(n))
    return list(range(max_units - 2)) + [None, n - 1]


def _positions(count, center=0.0, gap=1.0):
    """``count`` evenly spaced coordinates centred on ``center``."""
    return center + gap * (np.arange(count) - (count - 1) / 2)


def _label_on_edge(ax, p, q, text, t=0.3, fontsize=9, color="k", gid=None, rotate=True):
    """Write ``text`` on the segment p -> q at fraction t, on a white patch, along it if ``rotate``."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    xy = p + t * (q - p)
    angle = np.degrees(np.arctan2(q[1] - p[1], q[0] - p[0])) if rotate else 0.0
    if angle > 90 or angle < -90:
        angle += 180
    return ax.text(*xy, text, fontsize=fontsize, color=color, ha="center", va="center", rotation=angle,
                   rotation_mode="anchor", zorder=5, gid=gid,
                   bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none", alpha=0.9))


def _array(x, name, ndim=None, shape=None):
    """``x`` as a float NumPy array, with a clear error naming ``name`` when it is not one."""
    try:
        A = np.asarray(to_numpy(x), dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}") from exc
    if ndim is not None and A.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {A.shape}")
    if shape is not None and A.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} contains NaN or inf")
    return A


def _sizes(sizes, name, min_len=2):
    """A tuple of positive layer sizes, or a TypeError/ValueError naming ``name``."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"{name} must be a sequence of layer sizes or a model, got {type(sizes).__name__}")
    out = []
    for n in sizes:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{name} must hold integers, got {n!r} of type {type(n).__name__}")
        out.append(int(n))
    if len(out) < min_len or min(out) < 1:
        raise ValueError(f"{name} needs at least {min_len} positive sizes, got {tuple(out)}")
    return tuple(out)


def _sub(symbol, index):
    """``symbol_{index}`` in mathtext, with braces only when needed."""
    index = str(index)
    return f"{symbol}_{{{index}}}" if len(index) > 1 else f"{symbol}_{index}"


# ---------------------------------------------------------------------- chapter 1
def logistic_unit(source=2, *, bias=None, input_labels=None, ax=None):
    """Draw one logistic unit: y = sigma(w_0 + w_1 x_1 + ... + w_n x_n).

    Parameters
    ----------
    source : int, array of shape (n,), or a fitted binary ``LogisticRegression``
        The number of inputs (weights drawn as symbols w_1..w_n), or the
        weights themselves (written on the edges, coloured by sign, width by |w|).
    bias : float, optional
        The bias w_0 when ``source`` is an array of weights (ignored for a model).
    input_labels : list of str, optional
        Mathtext for the inputs, default ``x_1 .. x_n`` (e.g. ``["x_1", "x_2",
        "x_1 x_2"]`` for chapter 1's XOR feature).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The weighted edges are one LineCollection with gid ``"weights"``,
        the bias edge first, then w_1..w_n.

    Examples
    --------
    Chapter 1's hint for XOR, [w0, w1, w2, w3] = [-0.5, 1, 1, -2]:

    >>> logistic_unit([1, 1, -2], bias=-0.5, input_labels=["x_1", "x_2", "x_1 x_2"])  # doctest: +SKIP
    """
    weights = None
    if hasattr(source, "coef_") and hasattr(source, "intercept_"):
        coef = _array(source.coef_, "logistic_unit: source.coef_")
        if coef.ndim != 2 or coef.shape[1] != 1:
            raise ValueError(f"logistic_unit: needs a binary LogisticRegression (coef_ of shape (n, 1)), "
                             f"got coef_ of shape {coef.shape}")
        weights, bias = coef[:, 0], float(_array(source.intercept_, "source.intercept_").ravel()[0])
    elif isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        if source < 1:
            raise ValueError(f"logistic_unit: source (number of inputs) must be >= 1, got {source}")
        n = int(source)
    elif hasattr(source, "__len__"):
        weights = _array(source, "logistic_unit: source (the weights)", ndim=1)
        if bias is None:
            raise ValueError("logistic_unit: with weights as source, give the bias w_0 too (bias=...)")
    else:
        raise TypeError(f"logistic_unit: source must be a number of inputs, an array of weights or a "
                        f"LogisticRegression, got {type(source).__name__}")
    if weights is not None:
        n = weights.size
    labels = input_labels or [_sub("x", i) for i in range(1, n + 1)]
    if len(labels) != n:
        raise ValueError(f"logistic_unit: input_labels has {len(labels)} entries for {n} inputs")

    height = 1.1 * (n + 1)
    ax = _axes(ax, (7, max(2.8, 0.75 * height + 0.8)))
    ys = _positions(n + 1, gap=1.1)[::-1]  # the constant input 1 on top, then x_1..x_n
    unit = np.array([4.2, 0.0])
    inputs = [np.array([0.0, y]) for y in ys]
    _unit(ax, inputs[0], "$1$", "input", fontsize=11)
    for xy, lab in zip(inputs[1:], labels):
        _unit(ax, xy, f"${lab}$", "input", fontsize=11 if len(lab) < 6 else 9)
    r_unit = 0.75
    segs = [_trim(p, unit, _R, r_unit) for p in inputs]
    _edges(ax, segs, None if weights is None else np.r_[bias, weights], lw=1.3)
    if weights is not None:
        _weight_legend(ax, 0.0, ys[-1] - 0.85)
    for i, (p, q) in enumerate(segs):
        name = _sub("w", i)
        text = f"${name}$" if weights is None else f"${name} = {_fmt(np.r_[bias, weights][i])}$"
        _label_on_edge(ax, p, q, text, t=0.45, fontsize=10, gid=f"label:{name}")
    ax.add_patch(Circle(unit, r_unit, facecolor=UNIT_FACE["output"], edgecolor="k", lw=1.5, zorder=3))
    ax.plot([unit[0], unit[0]], [unit[1] - r_unit, unit[1] + r_unit], color="k", lw=0.8, zorder=4)
    ax.text(unit[0] - r_unit / 2, 0, r"$\Sigma$", ha="center", va="center", fontsize=15, zorder=5)
    ax.text(unit[0] + r_unit / 2, 0, r"$\sigma$", ha="center", va="center", fontsize=15, zorder=5)
    ax.text(unit[0], -r_unit - 0.2, rf"$z = \sum_{{i=0}}^{{{n}}} w_i x_i$, with $x_0 = 1$", ha="center", va="top",
            fontsize=9)
    out = unit + [2.2, 0]
    _arrow(ax, unit, out, rp=r_unit)
    ax.text(out[0] + 0.1, 0, r"$y = \sigma(z)$", va="center", fontsize=12)
    return _finish(ax, (-0.6, 8.0), (ys[-1] - (1.2 if weights is not None else 0.6), ys[0] + 0.6))


# ---------------------------------------------------------------------- chapters 2-4
def _mlp_weights(source):
    """Layer sizes and [(W, b), ...] as NumPy arrays from an MLP or a list of (W, b); None for sizes."""
    params = getattr(source, "params", None)
    if params is None:
        if isinstance(source, (list, tuple)) and source and all(isinstance(p, (list, tuple)) for p in source):
            params = source
        else:
            return _sizes(source, "feedforward_net: source"), None
    pairs = []
    for l, pair in enumerate(params):
        if len(pair) != 2:
            raise ValueError(f"feedforward_net: params[{l}] must be a pair (W, b), got {len(pair)} items")
        W = _array(pair[0], f"feedforward_net: params[{l}][0] (W)", ndim=2)
        b = _array(pair[1], f"feedforward_net: params[{l}][1] (b)", shape=(W.shape[1],))
        if pairs and pairs[-1][0].shape[1] != W.shape[0]:
            raise ValueError(f"feedforward_net: params[{l}][0] has {W.shape[0]} rows, the layer below has "
                             f"{pairs[-1][0].shape[1]} units")
        pairs.append((W, b))
    sizes = tuple([pairs[0][0].shape[0]] + [W.shape[1] for W, _ in pairs])
    return sizes, pairs


def _ff_names(sizes):
    """Chapter 2's symbols: units x_i, h_j (h^(l)_j when deep), y_k; their bias symbols; edge symbols."""
    L = len(sizes) - 1

    def unit(l, i):
        if l == 0:
            return _sub("x", i + 1)
        if l == L:
            return "y" if sizes[-1] == 1 else _sub("y", i + 1)
        return _sub("h", i + 1) if L == 2 else f"h^{{({l})}}_{{{i + 1}}}"

    def bias(l, i):
        if L == 2:
            return _sub("b", i + 1) if l == 1 else ("c" if sizes[-1] == 1 else _sub("c", i + 1))
        return f"b^{{({l})}}_{{{i + 1}}}"

    def edge(l, i, j):  # from unit i of layer l to unit j of layer l + 1
        if L == 2 and l == 0:
            return _sub("w", f"{i + 1}{j + 1}")
        if L == 2 and l == 1:
            return _sub("v", i + 1) if sizes[-1] == 1 else _sub("v", f"{i + 1}{j + 1}")
        return None

    return unit, bias, edge


def feedforward_net(source, *, edge_labels="auto", show_biases=True, max_units=8, ax=None):
    """Draw a feed-forward network, left (input) to right (output).

    Parameters
    ----------
    source : sequence of int, an ``MLP``, or a list of (W, b) pairs
        Layer sizes (a drawing in symbols), or the weights (edge colour = sign,
        blue positive and red negative; edge width proportional to |w|; the
        biases written beside the units they feed).
    edge_labels : {"auto", "names", "values", None}
        What to write on each edge: its symbol (``w_11``, ``v_1``), its value,
        or nothing. ``"auto"``: symbols for a symbolic net with one hidden
        layer and at most 12 weights, values for a weighted net with at most
        12 weights, otherwise nothing.
    show_biases : bool
        Write the bias (symbol or value) next to every non-input unit; on nets
        with more than 12 drawn edges only the layer's bias vector is named.
    max_units : int
        Wider layers are drawn as their first units, a gap, and the last one.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The edges are one LineCollection with gid ``"weights"``, ordered layer
        by layer and, within a layer, as ``W.ravel()`` (row i = from unit i).
    """
    sizes, pairs = _mlp_weights(source)
    if edge_labels not in ("auto", "names", "values", None):
        raise ValueError(f"feedforward_net: edge_labels must be 'auto', 'names', 'values' or None, got {edge_labels!r}")
    if edge_labels == "values" and pairs is None:
        raise ValueError("feedforward_net: edge_labels='values' needs weights (an MLP or (W, b) pairs) as source")
    L = len(sizes) - 1
    shown = [_shown(n, max_units) for n in sizes]
    n_drawn = sum(sum(i is not None for i in a) * sum(j is not None for j in b) for a, b in zip(shown, shown[1:]))
    if edge_labels == "auto":
        edge_labels = None if n_drawn > 12 else ("values" if pairs is not None else ("names" if L == 2 else None))
    unit_name, bias_name, edge_name = _ff_names(sizes)

    gap_x, gap_y = 3.2, 1.25
    tallest = max(len(s) for s in shown)
    ax = _axes(ax, (1.9 * gap_x * L / 2.2 + 2.5, 0.85 * gap_y * tallest + 1.4))
    pos = [{i: (l * gap_x, y) for i, y in zip(s, _positions(len(s), gap=gap_y)[::-1])} for l, s in enumerate(shown)]
    kinds = ["input"] + ["hidden"] * (L - 1) + ["output"]
    segs, ws, labels = [], [], []
    for l in range(L):
        for i in shown[l]:
            for j in shown[l + 1]:
                if i is None or j is None:
                    continue
                segs.append(_trim(pos[l][i], pos[l + 1][j], _R, _R))
                ws.append(pairs[l][0][i, j] if pairs is not None else 0.0)
                labels.append((l, i, j))
    _edges(ax, segs, ws if pairs is not None else None, lw=1.2)
    for (l, i, j), (p, q) in zip(labels, segs):
        text = None
        if edge_labels == "names" and edge_name(l, i, j):
            text = f"${edge_name(l, i, j)}$"
        elif edge_labels == "values":
            text = _fmt(pairs[l][0][i, j])
        if text:
            # Near the target, labels of edges into one unit are apart by 0.3 of the sources' spacing.
            _label_on_edge(ax, p, q, text, t=0.7, fontsize=9, gid=f"edge:{l}:{i}:{j}", rotate=False)
    for l, layer in enumerate(pos):
        for i, xy in layer.items():
            if i is None:
                ax.text(*xy, r"$\vdots$", ha="center", va="center", fontsize=16)
                continue
            _unit(ax, xy, f"${unit_name(l, i)}$", kinds[l], fontsize=11 if L <= 2 else 9)
            if show_biases and l > 0 and n_drawn <= 12:
                text = f"${bias_name(l, i)}$" if pairs is None else f"${bias_name(l, i)} = {_fmt(pairs[l - 1][1][i])}$"
                ax.text(xy[0], xy[1] + _R + 0.05, text, ha="center", va="bottom", fontsize=8.5, color="0.25",
                        gid=f"bias:{l}:{i}", zorder=5, bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none"))
    for l, n in enumerate(sizes):
        name = "input" if l == 0 else "output" if l == L else f"hidden {l}" if L > 2 else "hidden"
        text = f"{name}\n({n} unit{'s' * (n > 1)})"
        if show_biases and l > 0 and n_drawn > 12:
            text += f"\nbiases $b^{{({l})}}$"
        ax.text(l * gap_x, -gap_y * (tallest - 1) / 2 - 0.75, text, ha="center", va="top", fontsize=9)
    top = gap_y * (tallest - 1) / 2
    bottom = -top - (1.75 if show_biases and n_drawn > 12 else 1.45)  # below the layer captions
    if pairs is not None:
        _weight_legend(ax, -0.5, bottom - 0.3)
        bottom -= 0.55
    return _finish(ax, (-0.8, max(L * gap_x + 0.8, 4.2)), (bottom, top + 0.8))


# ---------------------------------------------------------------------- chapter 3
def _params_221(source):
    """(W (2, 2), b (2,), V (2,), c) of a 2-2-1 sigmoid net from an MLP or [(W, b), (V, c)]."""
    if hasattr(source, "params"):
        sizes = tuple(getattr(source, "layer_sizes", ()))
        if sizes != (2, 2, 1) or getattr(source, "activation", "sigmoid") != "sigmoid" \
                or getattr(source, "output", "sigmoid") != "sigmoid":
            raise ValueError("backprop_221: needs an MLP((2, 2, 1), 'sigmoid', 'sigmoid'), got "
                             f"layer_sizes={sizes}, activation={getattr(source, 'activation', None)!r}, "
                             f"output={getattr(source, 'output', None)!r}")
        params = source.params
    elif isinstance(source, (list, tuple)) and len(source) == 2:
        params = source
    else:
        raise TypeError(f"backprop_221: params must be a 2-2-1 MLP or [(W, b), (V, c)], got {type(source).__name__}")
    (W, b), (V, c) = params
    W = _array(W, "backprop_221: W", shape=(2, 2))
    b = _array(b, "backprop_221: b", shape=(2,))
    V = _array(V, "backprop_221: V").reshape(-1)
    c = _array(c, "backprop_221: c").reshape(-1)
    if V.shape != (2,) or c.shape != (1,):
        raise ValueError(f"backprop_221: V must have 2 entries and c 1, got {V.size} and {c.size}")
    return W, b, V, float(c[0])


def backprop_221(x, t, params):
    """Forward values and gradients of chapter 3's 2-2-1 net on one example, node by node.

    z_j = x_1 w_1j + x_2 w_2j + b_j,  h_j = sigma(z_j),  u = h_1 v_1 + h_2 v_2 + c,
    y = sigma(u),  J = -[t log y + (1 - t) log(1 - y)].  The backward pass is
    the chain rule applied one node at a time, from J down to the inputs.

    Parameters
    ----------
    x : array of shape (2,)
    t : float in [0, 1], the target
    params : ``MLP((2, 2, 1), "sigmoid", "sigmoid")`` or [(W, b), (V, c)]
        W of shape (2, 2) (``W[i-1, j-1]`` is w_ij), b (2,), V (2, 1) or (2,), c (1,).

    Returns
    -------
    dict
        Name -> (value, dJ/d name), names ``x_1 x_2 w_11 w_21 w_12 w_22 b_1 b_2
        z_1 z_2 h_1 h_2 v_1 v_2 c u y J`` (dJ/dJ = 1).
    """
    W, b, V, c = _params_221(params)
    x = _array(x, "backprop_221: x").reshape(-1)
    if x.shape != (2,):
        raise ValueError(f"backprop_221: x must hold 2 inputs, got shape {x.shape}")
    t = _array(t, "backprop_221: t").reshape(-1)
    if t.shape != (1,):
        raise ValueError(f"backprop_221: t must be one target, got {t.size} values")
    t = float(t[0])
    if not 0 <= t <= 1:
        raise ValueError(f"backprop_221: the target t must lie in [0, 1], got {t}")
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    z = x @ W + b
    h = sig(z)
    u = float(h @ V + c)
    y = sig(u)
    J = float(np.logaddexp(0, u) - t * u)  # the cross-entropy written through u, finite for any u
    dJ_du = y - t                             # dJ/dy * dy/du = (y - t)/(y(1 - y)) * y(1 - y)
    dJ_dy = dJ_du / (y * (1 - y))
    dJ_dh = dJ_du * V                         # u = h_1 v_1 + h_2 v_2 + c
    dJ_dz = dJ_dh * h * (1 - h)               # h_j = sigma(z_j)
    dJ_dW = np.outer(x, dJ_dz)                # z_j = sum_i x_i w_ij + b_j
    dJ_dx = W @ dJ_dz
    out = {"J": (J, 1.0), "y": (y, dJ_dy), "u": (u, dJ_du), "c": (c, dJ_du)}
    for j in range(2):
        out[f"h_{j + 1}"] = (h[j], dJ_dh[j])
        out[f"v_{j + 1}"] = (V[j], dJ_du * h[j])
        out[f"z_{j + 1}"] = (z[j], dJ_dz[j])
        out[f"b_{j + 1}"] = (b[j], dJ_dz[j])
        out[f"x_{j + 1}"] = (x[j], dJ_dx[j])
        for i in range(2):
            out[f"w_{i + 1}{j + 1}"] = (W[i, j], dJ_dW[i, j])
    return {k: (float(v), float(g)) for k, (v, g) in out.items()}


def _tex(name):
    """``w_11`` -> ``w_{11}`` for mathtext."""
    sym, _, idx = name.partition("_")
    return _sub(sym, idx) if idx else sym


def _box_edge(center, target, w, h):
    """Where the segment from a w x h box's centre towards ``target`` leaves the box."""
    c, d = np.asarray(center, float), np.asarray(target, float) - np.asarray(center, float)
    scale = min(w / 2 / abs(d[0]) if d[0] else np.inf, h / 2 / abs(d[1]) if d[1] else np.inf)
    return c + scale * d


def computational_graph(x, t, params, *, ax=None):
    """Draw chapter 3's 2-2-1 net as a computational graph with its numbers.

    Every quantity is a node: the inputs x_i, the parameters (grey: w_ij, b_j,
    v_j, c), the weighted sums z_j and u, the sigmoids h_j and y, the target t
    and the loss J. Each node shows its forward value (black) and the gradient
    of the loss with respect to it, dJ/d(node) (red), 4 significant digits;
    the numbers are ``backprop_221(x, t, params)``.

    Parameters
    ----------
    x, t, params
        As for ``backprop_221``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        Every number is a Text artist with gid ``"value:NAME"`` or
        ``"grad:NAME"`` (NAME as in ``backprop_221``, plus ``value:t``) whose
        text ends in ``= number$``.
    """
    vals = backprop_221(x, t, params)
    vals["t"] = (float(np.ravel(to_numpy(t))[0]), None)  # backprop_221 has checked it
    w, h = 2.15, 1.15
    ax = _axes(ax, (14, 8.4))
    X = {"x": 0.0, "z": 4.6, "h": 7.6, "u": 11.6, "y": 14.3, "J": 17.0}
    pos = {"u": (X["u"], 0.0), "y": (X["y"], 0.0), "J": (X["J"], 0.0), "t": (X["J"], 2.4)}
    for j, (row, prow) in {1: (2.4, 4.7), 2: (-2.4, -4.7)}.items():
        pos[f"x_{j}"], pos[f"z_{j}"], pos[f"h_{j}"] = (X["x"], row * 0.75), (X["z"], row), (X["h"], row)
        pos[f"w_1{j}"], pos[f"w_2{j}"], pos[f"b_{j}"] = ((X["z"] + dx, prow) for dx in (-2.35, 0.0, 2.35))
    pos["v_1"], pos["v_2"], pos["c"] = ((X["u"] + dx, 4.7) for dx in (-2.35, 0.0, 2.35))
    caption = {"z": "sum", "h": r"$\sigma(z)$", "u": "sum", "y": r"$\sigma(u)$", "J": "loss", "t": "target",
               "x": "input"}
    face = {"x": UNIT_FACE["input"], "h": UNIT_FACE["hidden"], "y": UNIT_FACE["output"], "J": "#fbe3e3",
            "z": "white", "u": "white"}
    for name, xy in pos.items():
        key = name.partition("_")[0]
        _box(ax, xy, w, h, face=face.get(key, "#ececec"))
        title = f"${_tex(name)}$" + (f"  {caption[key]}" if key in caption else "")
        value, grad = vals[name]
        ax.text(xy[0], xy[1] + 0.31, title, ha="center", va="center", fontsize=11, zorder=5)
        ax.text(xy[0], xy[1] - (0.0 if grad is not None else 0.12), f"$= {_fmt(value)}$", ha="center",
                va="center", fontsize=10, zorder=5, gid=f"value:{name}")
        if grad is not None:
            ax.text(xy[0], xy[1] - 0.32, rf"$\partial J/\partial {_tex(name)} = {_fmt(grad)}$", ha="center",
                    va="center", fontsize=9, color=GRAD_COLOR, zorder=5, gid=f"grad:{name}")
    links = [("w_11", "z_1"), ("w_21", "z_1"), ("b_1", "z_1"), ("w_12", "z_2"), ("w_22", "z_2"), ("b_2", "z_2"),
             ("x_1", "z_1"), ("x_2", "z_1"), ("x_1", "z_2"), ("x_2", "z_2"), ("z_1", "h_1"), ("z_2", "h_2"),
             ("h_1", "u"), ("h_2", "u"), ("v_1", "u"), ("v_2", "u"), ("c", "u"), ("u", "y"), ("y", "J"),
             ("t", "J")]
    for a, b in links:
        p, q = _box_edge(pos[a], pos[b], w, h), _box_edge(pos[b], pos[a], w, h)
        _arrow(ax, p, q, color="0.25", lw=1.2, gid=f"link:{a}:{b}")
    ax.text(X["x"] - w / 2, -5.75, r"black: the forward value;  red: $\partial J/\partial(\cdot)$, the backward pass "
            r"from $J = -[\,t \log y + (1 - t) \log(1 - y)\,]$", fontsize=10.5, va="center")
    return _finish(ax, (X["x"] - w / 2 - 0.2, X["J"] + w / 2 + 0.2), (-6.1, 5.4))



# ---------------------------------------------------------------------- chapters 5-6
def _rbm_weights(source):
    """(n_visible, n_hidden, W, a, b) from an RBM (arrays as NumPy) or a pair of sizes (None arrays)."""
    if all(hasattr(source, k) for k in ("W", "a", "b")):
        W = _array(source.W, "rbm_graph: source.W", ndim=2)
        a = _array(source.a, "rbm_graph: source.a", shape=(W.shape[0],))
        b = _array(source.b, "rbm_graph: source.b", shape=(W.shape[1],))
        return W.shape[0], W.shape[1], W, a, b
    sizes = _sizes(source, "rbm_graph: source (n_visible, n_hidden)")
    if len(sizes) != 2:
        raise ValueError(f"rbm_graph: source must be (n_visible, n_hidden) or an RBM, got {len(sizes)} sizes")
    return sizes[0], sizes[1], None, None, None


def rbm_graph(source=(4, 3), *, show_biases=True, max_units=8, ax=None):
    """Draw an RBM's bipartite graph: visible units v below, hidden units h above.

    Every visible unit v_i (bias a_i) is joined to every hidden unit h_j (bias
    b_j) by an undirected edge of weight W_ij; there are no edges within a
    layer, which is what "restricted" means.

    Parameters
    ----------
    source : (n_visible, n_hidden) or an ``RBM``
        Sizes for a drawing in symbols; an RBM colours each edge by the sign
        of W_ij (blue positive, red negative), makes its width proportional to
        |W_ij|, and writes the biases' values.
    show_biases : bool
    max_units : int
        Wider layers are drawn as their first units, a gap, and the last one.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The edges are one LineCollection with gid ``"weights"`` in the order
        of ``W.ravel()`` restricted to the units drawn.
    """
    nv, nh, W, a, b = _rbm_weights(source)
    sv, sh = _shown(nv, max_units), _shown(nh, max_units)
    gap = 1.3
    width = gap * max(len(sv), len(sh))
    ax = _axes(ax, (max(6.0, 0.8 * width + 3.2), 4.6))
    yv, yh = 0.0, 3.0
    pv = {i: (x, yv) for i, x in zip(sv, _positions(len(sv), gap=gap))}
    ph = {j: (x, yh) for j, x in zip(sh, _positions(len(sh), gap=gap))}
    segs, ws = [], []
    for i in sv:
        for j in sh:
            if i is not None and j is not None:
                segs.append(_trim(pv[i], ph[j], _R, _R))
                ws.append(0.0 if W is None else W[i, j])
    _edges(ax, segs, None if W is None else ws, lw=1.1)
    for layer, sym, bsym, bias, kind, dy, va in ((pv, "v", "a", a, "visible", -1, "top"),
                                                  (ph, "h", "b", b, "hidden", 1, "bottom")):
        for i, xy in layer.items():
            if i is None:
                ax.text(*xy, r"$\cdots$", ha="center", va="center", fontsize=16)
                continue
            _unit(ax, xy, f"${_sub(sym, i + 1)}$", kind, fontsize=11 if i < 99 else 8)
            if show_biases:
                text = f"${_sub(bsym, i + 1)}$" if bias is None else f"${_sub(bsym, i + 1)} = {_fmt(bias[i])}$"
                ax.text(xy[0], xy[1] + dy * (_R + 0.08), text, ha="center", va=va, fontsize=8.5, color="0.25",
                        gid=f"bias:{bsym}:{i}")
    left = -width / 2 - 0.2
    right = width / 2 + 0.2
    ax.text(right, yh, f"hidden $h$\n{nh} unit{'s' * (nh > 1)}, biases $b$", va="center", fontsize=10)
    ax.text(right, yv, f"visible $v$\n{nv} unit{'s' * (nv > 1)}, biases $a$", va="center", fontsize=10)
    ax.text(right, (yv + yh) / 2, f"$W$, shape ({nv}, {nh})\nedge $v_i - h_j$: $W_{{ij}}$", va="center", fontsize=10)
    if W is not None:
        _weight_legend(ax, left, yv - 1.0, symbol="W_{ij}")
    return _finish(ax, (left - 0.4, right + 2.8), (yv - (1.4 if W is not None else 1.1), yh + 0.9))


def gibbs_chain(k=1, *, max_steps=4, ax=None):
    """Draw the alternating Gibbs chain of CD-k with its two statistics.

    v^(0) is a training vector; h^(t) ~ P(h | v^(t)) and v^(t+1) ~ P(v | h^(t)).
    CD-k takes the positive statistics <v_i h_j>^(0) from the pair
    (v^(0), P(h | v^(0))) and the negative ones <v_i h_j>^(k) from
    (v^(k), P(h | v^(k))): Delta W_ij is proportional to their difference.
    (dbnlib's ``RBM.fit`` uses the probabilities P(v | h^(k-1)) instead of a
    sample for v^(k) at the last step; see ``dbnlib.training.fit``.)

    Parameters
    ----------
    k : int >= 1
        Gibbs steps.
    max_steps : int >= 3
        With more than ``max_steps`` columns (k + 1), the middle of the chain is drawn as dots.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The sampling steps are FancyArrowPatches with gid ``"up:t"`` (v^(t) to
        h^(t)) and ``"down:t"`` (h^(t) to v^(t+1)); the two statistics are
        boxes with gid ``"stat:positive"`` and ``"stat:negative"``.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"gibbs_chain: k must be an integer, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"gibbs_chain: k (Gibbs steps) must be >= 1, got {k}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 3:
        raise ValueError(f"gibbs_chain: max_steps must be an integer >= 3, got {max_steps!r}")
    steps = list(range(k + 1)) if k + 1 <= max_steps else list(range(max_steps - 2)) + [None, k]
    gap, yv, yh, w, h = 3.0, 0.0, 2.4, 1.25, 0.7
    xs = [i * gap for i in range(len(steps))]
    ymid = (yv + yh) / 2
    ax = _axes(ax, (max(7.5, 0.75 * gap * len(steps) + 2.2), 5.4))
    for n, (t, x0) in enumerate(zip(steps, xs)):
        if t is None:
            ax.text(x0, ymid, r"$\cdots$", ha="center", va="center", fontsize=22)
            continue
        for y, sym, kind in ((yv, "v", "visible"), (yh, "h", "hidden")):
            _box(ax, (x0, y), w, h, face=UNIT_FACE[kind])
            ax.text(x0, y, f"${sym}^{{({t})}}$", ha="center", va="center", fontsize=13, zorder=5)
        _arrow(ax, (x0, yv + h / 2), (x0, yh - h / 2), gid=f"up:{t}")
        ax.text(x0 + 0.08, ymid + 0.3, r"$P(h \mid v)$", fontsize=8.5, va="center", ha="left")
    for n in range(len(steps) - 1):
        t, nxt, x0, x1 = steps[n], steps[n + 1], xs[n], xs[n + 1]
        if t is None:  # out of the dots
            _arrow(ax, (x0 + 0.35, ymid - 0.1), (x1 - w / 2, yv + h / 2), color="0.4")
        elif nxt is None:  # into the dots
            _arrow(ax, (x0 + w / 2, yh - h / 2), (x1 - 0.35, ymid + 0.1), color="0.4")
        else:
            _arrow(ax, (x0 + w / 2, yh - h / 2), (x1 - w / 2, yv + h / 2), gid=f"down:{t}")
            ax.text((x0 + x1) / 2 - 0.1, ymid - 0.15, r"$P(v \mid h)$", fontsize=8.5, va="top", ha="right")
    colors = {"positive": "tab:green", "negative": "tab:orange"}
    for which, x0 in (("positive", xs[0]), ("negative", xs[-1])):
        _box(ax, (x0, ymid), w + 0.35, yh - yv + h + 0.35, face="none", edge=colors[which], lw=2.2,
             gid=f"stat:{which}").set_zorder(1)
        ax.text(x0, yh + h / 2 + 0.3, f"{which}\nstatistics", ha="center", va="bottom", fontsize=9.5,
                color=colors[which])
    ax.text(xs[0], yv - h / 2 - 0.3, "a training\nvector", ha="center", va="top", fontsize=8.5)
    lines = [(colors["positive"], r"positive:  $\langle v_i h_j \rangle^{(0)} = v^{(0)}_i\, P(h_j = 1 \mid v^{(0)})$"),
             (colors["negative"], rf"negative:  $\langle v_i h_j \rangle^{{({k})}} = v^{{({k})}}_i\, "
                                  rf"P(h_j = 1 \mid v^{{({k})}})$"),
             ("k", rf"CD-{k}:  $\Delta W_{{ij}} \propto \langle v_i h_j \rangle^{{(0)}} - "
                   rf"\langle v_i h_j \rangle^{{({k})}}$, and likewise for $a$ and $b$")]
    for n, (color, text) in enumerate(lines):
        ax.text(xs[0] - w / 2 - 0.2, yv - h / 2 - 1.2 - 0.42 * n, text, color=color, fontsize=10, va="top",
                gid=f"label:{('positive', 'negative', 'update')[n]}")
    return _finish(ax, (xs[0] - w / 2 - 0.4, max(xs[-1] + w / 2 + 0.4, xs[0] + 6.4)),
                   (yv - h / 2 - 2.6, yh + h / 2 + 1.0))



# ---------------------------------------------------------------------- chapter 7
def _layer_box(ax, xy, width, n_units, label, face, gid=None, circles=6):
    """A layer as Hinton draws one: a rounded box with a row of small units and its name beside it."""
    _box(ax, xy, width, 0.8, face=face, gid=gid)
    shown = min(circles, n_units)
    xs = _positions(shown + (n_units > shown), gap=width / (circles + 1.5), center=xy[0])
    for i, x in enumerate(xs):
        if n_units > shown and i == len(xs) - 2:
            ax.text(x, xy[1], r"$\cdots$", ha="center", va="center", fontsize=11, zorder=5)
            continue
        ax.add_patch(Circle((x, xy[1]), 0.17, facecolor="white", edgecolor="k", lw=0.8, zorder=4))
    ax.text(xy[0] + width / 2 + 0.25, xy[1], label, va="center", ha="left", fontsize=10)


def dbn_diagram(source=(784, 500, 500, 2000), *, n_labels=None, show_recognition=False, ax=None):
    """Draw a deep belief network: an undirected RBM on top of a directed sigmoid belief net.

    Layers ``v = h^0, h^1, ..., h^L`` from the bottom. The top two layers are an
    RBM (a plain line: undirected, weights W^(L-1)); every lower pair is joined
    by a downward arrow, the generative p(h^l | h^(l+1)) = sigma(a^(l) + W^(l) h^(l+1)).

    Parameters
    ----------
    source : sequence of int, or a ``DBN``
        Layer sizes, visible first (default: Hinton, Osindero & Teh 2006).
    n_labels : int, optional
        Draw this many softmax label units beside layer L-1, joined to the top
        layer as part of the top RBM (the 2006 paper's 10 digit labels).
    show_recognition : bool
        Also draw the upward recognition weights (W^(l))^T as dashed arrows;
        they are not part of the generative model.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        Connections have gids ``"generative:l"`` (FancyArrowPatch pointing
        down), ``"undirected"`` (the top RBM), ``"labels"`` and ``"recognition:l"``.
    """
    if hasattr(source, "layer_sizes") and hasattr(source, "rbms"):
        sizes = _sizes(source.layer_sizes, "dbn_diagram: source.layer_sizes")
    elif hasattr(source, "params") or hasattr(source, "W"):
        raise TypeError(f"dbn_diagram: source must be layer sizes or a DBN, got {type(source).__name__}")
    else:
        sizes = _sizes(source, "dbn_diagram: source")
    if n_labels is not None and (isinstance(n_labels, bool) or not isinstance(n_labels, (int, np.integer))
                                 or n_labels < 2):
        raise ValueError(f"dbn_diagram: n_labels must be an integer >= 2 or None, got {n_labels!r}")
    if n_labels and len(sizes) < 2:
        raise ValueError("dbn_diagram: label units need at least two layers")
    L = len(sizes) - 1
    gap, width = 1.9, 4.2
    ys = [l * gap for l in range(L + 1)]
    ax = _axes(ax, (8.5, 1.15 * gap * L + 1.9))
    for l, n in enumerate(sizes):
        name = "$v = h^0$" if l == 0 else f"$h^{{{l}}}$"
        what = "visible" if l == 0 else "top" if l == L else "hidden"
        face = UNIT_FACE["visible"] if l == 0 else UNIT_FACE["hidden"]
        _layer_box(ax, (0, ys[l]), width, n, f"{name}: {n} {what} units", face)
    half = 0.4
    for l in range(L - 1):
        _arrow(ax, (0.0, ys[l + 1] - half), (0.0, ys[l] + half), lw=2.4, gid=f"generative:{l}")
        ax.text(0.15, (ys[l] + ys[l + 1]) / 2, f"$W^{{({l})}}$:  directed, generative\n"
                f"$p(h^{{{l}}} \\mid h^{{{l + 1}}})$", va="center", fontsize=10)
        if show_recognition:
            _arrow(ax, (-1.2, ys[l] + half), (-1.2, ys[l + 1] - half), lw=1.3, ls="--", color="0.45",
                   gid=f"recognition:{l}")
            ax.text(-1.35, (ys[l] + ys[l + 1]) / 2, f"$W^{{({l})T}}$\nrecognition", va="center", ha="right",
                    fontsize=9, color="0.45")
    _arrow(ax, (0.0, ys[L - 1] + half), (0.0, ys[L] - half), style="-", lw=2.4, gid="undirected")
    for dx in (-0.5, 0.5):
        _arrow(ax, (dx, ys[L - 1] + half), (dx, ys[L] - half), style="-", lw=1.2)
    ax.text(0.65, (ys[L - 1] + ys[L]) / 2, f"$W^{{({L - 1})}}$:  undirected,\nthe top RBM", va="center", fontsize=10)
    x_min = -width / 2 - (2.6 if show_recognition else 0.6)
    if n_labels:
        lx = -width / 2 - 2.3
        _layer_box(ax, (lx, ys[L - 1]), 2.1, n_labels, "", "#f6e3f3", circles=3)
        ax.text(lx, ys[L - 1] - 0.55, f"{n_labels} label units\n(softmax)", ha="center", va="top", fontsize=9)
        _arrow(ax, (lx + 0.5, ys[L - 1] + half), (-width / 2 + 0.4, ys[L] - half), style="-", lw=2.0, gid="labels")
        x_min = min(x_min, lx - 1.3)
    return _finish(ax, (x_min, width / 2 + 4.4), (ys[0] - 0.8, ys[L] + 0.8))


def tied_weights_net(n_pairs=3, *, show_inference=True, ax=None):
    """Draw the infinite directed net with tied weights behind the complementary prior.

    From the bottom: v^0, h^0, v^1, h^1, ... Downward arrows are the generative
    model, alternately p(v^i | h^i) = sigma(a + W h^i) and
    p(h^i | v^(i+1)) = sigma(b + W^T v^(i+1)); the net goes on upwards for ever.
    Its layers above v^0 form a *complementary prior*: they make the posterior
    over h^0 factorial, so that inference is the dashed upward pass with W^T,
    and the whole net defines the same distribution as one RBM with weights W.

    Parameters
    ----------
    n_pairs : int >= 1
        How many (v, h) pairs to draw before the dots.
    show_inference : bool
        Draw the upward inference weights as dashed arrows.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        Generative arrows have gid ``"generative:i"`` (counted from the bottom,
        labelled W, W^T, W, ...), inference arrows ``"inference:i"``.
    """
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer)) or n_pairs < 1:
        raise ValueError(f"tied_weights_net: n_pairs must be an integer >= 1, got {n_pairs!r}")
    names = [f"{s}^{i}" for i in range(n_pairs) for s in ("v", "h")]
    gap, width = 1.45, 3.0
    ys = [i * gap for i in range(len(names))]
    ax = _axes(ax, (7.5, 0.62 * gap * len(names) + 1.8))
    for i, (name, y) in enumerate(zip(names, ys)):
        face = UNIT_FACE["visible"] if name[0] == "v" else UNIT_FACE["hidden"]
        _layer_box(ax, (0, y), width, 6, f"${name}$", face, circles=5)
    half = 0.4
    for i in range(len(names) - 1):
        lab = "W" if names[i][0] == "v" else "W^T"  # into v from h: W; into h from v: W^T
        _arrow(ax, (-0.3, ys[i + 1] - half), (-0.3, ys[i] + half), lw=2.0, gid=f"generative:{i}")
        ax.text(-0.45, (ys[i] + ys[i + 1]) / 2, f"${lab}$", ha="right", va="center", fontsize=11)
        if show_inference:
            inv = "W^T" if lab == "W" else "W"
            _arrow(ax, (0.45, ys[i] + half), (0.45, ys[i + 1] - half), lw=1.2, ls="--", color="0.45",
                   gid=f"inference:{i}")
            ax.text(0.6, (ys[i] + ys[i + 1]) / 2, f"${inv}$", ha="left", va="center", fontsize=9, color="0.45")
    _arrow(ax, (-0.3, ys[-1] + 1.0), (-0.3, ys[-1] + half), lw=2.0, ls=":")
    ax.text(0, ys[-1] + 1.05, r"$\vdots$  (for ever)", ha="center", va="bottom", fontsize=12)
    xr = width / 2 + 1.0
    ax.annotate("", xy=(xr, ys[1] - half), xytext=(xr, ys[-1] + 1.3),
                arrowprops=dict(arrowstyle="-", color="0.4", lw=1))
    ax.text(xr + 0.15, (ys[1] + ys[-1]) / 2 + 0.4, "$h^0$ and all above:\nthe prior $P(h^0)$, a\n"
            "complementary prior:\n" r"it makes $P(h^0 \mid v^0)$" "\nfactorial", va="center", fontsize=9.5)
    ax.text(xr + 0.15, ys[0], "data", va="center", fontsize=9.5)
    ax.text(-width / 2, ys[0] - 0.7, "solid: generative (down);  dashed: inference (up).\n"
            r"With all weights tied, the net defines the same $P(v^0)$ as one RBM with weights $W$.",
            va="top", fontsize=9.5)
    return _finish(ax, (-width / 2 - 0.5, xr + 3.0), (ys[0] - 1.6, ys[-1] + 1.7))
