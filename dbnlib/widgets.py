"""Interactive controls for the chapters: ipywidgets, and static twins for the website.

Each explorer returns an :class:`Explorer`: an ipywidget whose controls redraw
a figure in a running kernel (``make lab``), and its *static twin*, an HTML
slider over frames drawn once when the notebook runs. The website shows the
twin, which works offline with no kernel: ``_static/twins.js`` (a few lines)
swaps the picture when the slider moves. JupyterLab shows the widget and hides
the twin, whose inline ``display: none`` only the website's
``_static/twins.css`` overrides. Both are drawn by the same function, so they
show the same experiment; the twin covers a few values of the main control,
the widget every value and every control.
"""

import base64
import html
import io
import itertools
import json

import matplotlib.pyplot as plt
import numpy as np

from .backend import asarray, to_numpy
from .logistic import LogisticRegression
from .mlp import MLP
from .plotting import decision_boundary, function_fit, loss_curves

__all__ = [
    "Explorer",
    "StaticTwin",
    "static_twin",
    "logistic_regression_explorer",
    "universal_approximation_explorer",
    "momentum_path",
    "momentum_explorer",
    "layer_gradient_explorer",
    "rbm_weight_explorer",
    "gibbs_chain_explorer",
    "ais_explorer",
]

TWIN_DPI = 72
TWIN_COLORS = 64


# --- static twins --------------------------------------------------------------------


def figure_png(fig, dpi=TWIN_DPI, colors=TWIN_COLORS):
    """Render a matplotlib figure to small, byte-stable PNG data and close it.

    The picture is reduced to a palette of ``colors`` colours (no dithering),
    which makes plots about three times smaller than matplotlib's RGBA PNG;
    no metadata is written, so the same figure gives the same bytes.
    """
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    image = image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="png", optimize=True)
    return out.getvalue()


class StaticTwin:
    """An HTML slider (or a few) over precomputed pictures; see :func:`static_twin`.

    Attributes
    ----------
    frames : list of bytes
        PNG data, one per combination of control values, the last control
        varying fastest.
    controls : list of (str, list of str)
        Each control's description and the labels of its values.
    initial : tuple of int
        The index of the value each control starts at.
    """

    def __init__(self, frames, controls, initial, caption="", alt="figure"):
        self.frames, self.controls, self.initial = list(frames), list(controls), tuple(initial)
        self.caption, self.alt = caption, alt
        expected = int(np.prod([len(labels) for _, labels in self.controls]))
        if len(self.frames) != expected:
            raise ValueError(f"StaticTwin: frames has {len(self.frames)} pictures, the controls need {expected}")

    @property
    def n_bytes(self):
        """The size of the HTML this twin adds to a page, in bytes."""
        return len(self.html().encode())

    def html(self):
        """The twin as one HTML fragment (no script: the book's twins.js drives it)."""
        sizes = [len(labels) for _, labels in self.controls]
        strides = [int(np.prod(sizes[k + 1:])) for k in range(len(sizes))]
        start = sum(i * s for i, s in zip(self.initial, strides))
        uris = ["data:image/png;base64," + base64.b64encode(f).decode() for f in self.frames]
        rows = []
        for (description, labels), i, stride in zip(self.controls, self.initial, strides):
            rows.append(
                '<label class="dbnlib-twin-control"><span class="dbnlib-twin-name">{d}</span> '
                '<input type="range" min="0" max="{n}" step="1" value="{i}" data-stride="{s}" '
                'data-labels="{labels}" aria-label="{d}"> <output>{value}</output></label>'.format(
                    d=html.escape(description), n=len(labels) - 1, i=i, s=stride,
                    labels=html.escape(json.dumps(labels)), value=html.escape(labels[i])))
        return (
            f'<div class="dbnlib-twin" style="display: none" data-frames="{html.escape(json.dumps(uris))}">'
            f'<div class="dbnlib-twin-controls">{"".join(rows)}</div>'
            f'<img class="dbnlib-twin-figure" src="{uris[start]}" alt="{html.escape(self.alt)}">'
            f'<p class="dbnlib-twin-caption">{html.escape(self.caption)}</p></div>'
        )

    def _repr_html_(self):
        return self.html()

    def __repr__(self):
        shape = " x ".join(f"{len(labels)} {description}" for description, labels in self.controls)
        return f"<StaticTwin: {len(self.frames)} frames ({shape}), {self.n_bytes / 1e3:.0f} kB>"


def _label(value):
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def static_twin(figure, controls, initial=None, *, caption=None, alt="figure", dpi=TWIN_DPI, colors=TWIN_COLORS):
    """Draw ``figure`` for every combination of control values, for a slider on the website.

    Parameters
    ----------
    figure : callable
        ``figure(**values)`` returns a matplotlib figure; it is rendered to a
        small PNG (``dpi``, a palette of ``colors`` colours) and closed.
    controls : dict
        Maps each keyword of ``figure`` to ``(description, values)`` or
        ``(description, values, labels)``; one slider per entry, in order.
        Keep the product of the lengths small (each frame is 5-30 kB).
    initial : dict, optional
        The value each slider starts at (one of its values); default the first.
    caption : str, optional
        A line under the picture; by default it says what the frames are and
        that every value needs JupyterLab.

    Returns
    -------
    StaticTwin
        Displays as HTML: sliders, the picture and the caption.
    """
    if not controls:
        raise ValueError("static_twin: controls is empty; expected at least one {name: (description, values)}")
    names, specs = list(controls), []
    for name in names:
        spec = tuple(controls[name])
        if len(spec) not in (2, 3) or len(spec[1]) == 0:
            raise ValueError(f"static_twin: controls[{name!r}] must be (description, values[, labels]) "
                             f"with at least one value, got {spec!r}")
        values = list(spec[1])
        labels = [str(s) for s in spec[2]] if len(spec) == 3 else [_label(v) for v in values]
        if len(labels) != len(values):
            raise ValueError(f"static_twin: controls[{name!r}] has {len(values)} values and {len(labels)} labels")
        specs.append((spec[0], values, labels))
    initial = dict(initial or {})
    start = []
    for name, (_, values, _) in zip(names, specs):
        if name not in initial:
            start.append(0)
        elif initial[name] in values:
            start.append(values.index(initial[name]))
        else:
            raise ValueError(f"static_twin: initial[{name!r}] = {initial[name]!r} is not one of {values}")
    frames = [figure_png(figure(**dict(zip(names, combo))), dpi=dpi, colors=colors)
              for combo in itertools.product(*(values for _, values, _ in specs))]
    if caption is None:
        caption = (f"{len(frames)} pictures drawn when the notebook ran; move the slider to swap them. "
                   "Any value, and the other controls, need JupyterLab (make lab).")
    return StaticTwin(frames, [(d, labels) for d, _, labels in specs], start, caption=caption, alt=alt)


class Explorer:
    """An ipywidget for JupyterLab and its static twin for the website.

    Displaying it shows the widget, then the twin (hidden outside the book).

    Attributes
    ----------
    widget : ipywidgets.interactive
        The live controls; each move redraws in the kernel.
    twin : StaticTwin or None
        The slider over precomputed frames; None when built with ``twin=False``.
    """

    def __init__(self, widget, twin=None):
        self.widget, self.twin = widget, twin

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
        if self.twin is not None:
            display(self.twin)

    def __repr__(self):
        return f"<Explorer: {type(self.widget).__name__} with {self.twin!r}>"


# --- chapter 1 -------------------------------------------------------------------------


def _logistic_figure(X, y, learning_rate, n_steps):
    # batch_size=None: full-batch gradient descent, one step per epoch.
    model = LogisticRegression(learning_rate=learning_rate, n_epochs=n_steps, batch_size=None).fit(X, y)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.6))
    decision_boundary(ax0, model.predict_proba, X, y, title=f"eta = {learning_rate:g}, {n_steps} steps")
    loss_curves(ax1, {"cross-entropy": model.loss_curve_}, xlabel="step")
    ax1.set_title(f"final loss {model.loss_curve_[-1]:.3f}")
    fig.tight_layout()
    return fig


def logistic_regression_explorer(X, y, learning_rate=0.5, n_steps=20, twin=True):
    """Sliders for the learning rate and the number of gradient-descent steps.

    Each move refits ``dbnlib.LogisticRegression`` (full-batch gradient descent
    from zero weights) on ``X, y`` (two features, labels 0/1) and redraws the
    decision boundary and the loss curve. The twin has 6 learning rates from
    0.01 to 10 and 5, 20 or 100 steps (18 frames with the defaults).
    """
    import ipywidgets as w

    def draw(learning_rate, n_steps):
        _logistic_figure(X, y, learning_rate, n_steps)
        plt.show()

    etas = sorted({0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0, float(learning_rate)})
    widget = w.interactive(
        draw,
        # A selection slider: every value shown is exactly the one used.
        learning_rate=w.SelectionSlider(options=etas, value=float(learning_rate), description="eta"),
        n_steps=w.IntSlider(value=n_steps, min=1, max=300, step=1, description="steps"),
    )
    if not twin:
        return Explorer(widget)
    twin_etas = sorted({0.01, 0.1, 0.5, 1.0, 3.0, 10.0, float(learning_rate)})
    twin_steps = sorted({5, 20, 100, int(n_steps)})
    return Explorer(widget, static_twin(
        lambda learning_rate, n_steps: _logistic_figure(X, y, learning_rate, n_steps),
        {"learning_rate": ("eta", twin_etas), "n_steps": ("steps", twin_steps)},
        initial={"learning_rate": float(learning_rate), "n_steps": int(n_steps)},
        alt="decision boundary and loss curve of logistic regression"))


# --- chapter 2 -------------------------------------------------------------------------


def universal_approximation_explorer(f, x_range=(-np.pi, np.pi), n_hidden=3, n_points=200, activation="sigmoid",
                                     learning_rate=0.2, momentum=0.9, batch_size=20, n_epochs=1000, random_state=1,
                                     twin=True):
    """A slider for the number of hidden units of a network fitted to ``f``.

    Each move trains ``dbnlib.MLP((1, n_hidden, 1), output="identity")`` by
    minibatch SGD on ``n_points`` evenly spaced points of ``x_range`` and
    draws the target, the fit and each hidden unit's contribution, with the
    root-mean-square error in the title. The other arguments are passed to
    ``MLP``; with the defaults one fit takes about a second. The twin has 1,
    2, 3, 5, 10 and 30 hidden units (6 fits with the defaults).
    """
    import ipywidgets as w

    x = np.linspace(*x_range, n_points).reshape(-1, 1)
    target = f(x)

    def figure(n_hidden):
        model = MLP((1, n_hidden, 1), activation=activation, output="identity", init="glorot",
                    learning_rate=learning_rate, momentum=momentum, batch_size=batch_size,
                    n_epochs=n_epochs, random_state=random_state).fit(x, target)
        rmse = np.sqrt(np.mean((to_numpy(model.predict(x)) - target[:, 0]) ** 2))
        fig, ax = plt.subplots(figsize=(6, 3.6))
        function_fit(ax, model, x, target, title=f"{n_hidden} hidden unit{'s' if n_hidden > 1 else ''}: RMS error {rmse:.3f}")
        fig.tight_layout()
        return fig

    def draw(n_hidden):
        figure(n_hidden)
        plt.show()

    widget = w.interactive(draw, n_hidden=w.IntSlider(value=n_hidden, min=1, max=50, step=1, description="hidden units",
                                                      style={"description_width": "initial"}))
    if not twin:
        return Explorer(widget)
    return Explorer(widget, static_twin(
        figure, {"n_hidden": ("hidden units", sorted({1, 2, 3, 5, 10, 30, int(n_hidden)}))},
        initial={"n_hidden": int(n_hidden)}, alt="a one-hidden-layer network fitted to a function"))


def momentum_path(curvatures, learning_rate, momentum, start, n_steps):
    """Gradient descent with momentum on the ravine J(w) = (a_1 w_1^2 + a_2 w_2^2) / 2 (chapter 2).

    The update is the chapter's: Delta w <- mu Delta w - eta grad J(w); w <- w + Delta w,
    with Delta w (the velocity) starting at zero; ``momentum=0`` is plain gradient descent.

    Returns
    -------
    path : array of shape (n_steps + 1, 2)
        w before the first step and after each step.
    steps : array of shape (n_steps, 2)
        The velocity Delta w of each step.
    """
    a = np.asarray(curvatures, dtype=float)
    w, dw = np.array(start, dtype=float), np.zeros(2)
    path, steps = [w.copy()], []
    for _ in range(n_steps):
        dw = momentum * dw - learning_rate * a * w
        w = w + dw
        path.append(w.copy())
        steps.append(dw.copy())
    return np.array(path), np.array(steps)


def _momentum_figure(curvatures, learning_rate, momentum, start, n_steps, tol=1e-3):
    path, steps = momentum_path(curvatures, learning_rate, momentum, start, n_steps)
    plain, _ = momentum_path(curvatures, learning_rate, 0.0, start, n_steps)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.5, 1]})
    lim = 1.15 * np.abs(start).max()
    g1, g2 = np.meshgrid(np.linspace(-lim, lim, 200), np.linspace(-lim / 2.5, lim / 2.5, 120))
    ax0.contour(g1, g2, 0.5 * (curvatures[0] * g1**2 + curvatures[1] * g2**2), levels=12, colors="0.8",
                linewidths=0.7)
    ax0.plot(plain[:, 0], plain[:, 1], ".-", color="0.6", lw=0.8, ms=3, label="mu = 0")
    ax0.plot(path[:, 0], path[:, 1], ".-", color="C0", lw=1.0, ms=3, label=f"mu = {momentum:g}")
    shown = min(12, n_steps)  # the first velocities as arrows: Delta w of step t starts at w_(t-1)
    ax0.quiver(path[:shown, 0], path[:shown, 1], steps[:shown, 0], steps[:shown, 1], angles="xy",
               scale_units="xy", scale=1, color="C3", width=0.004, label="velocity")
    ax0.plot(0, 0, "k*", ms=10)
    ax0.set_xlim(-lim, lim)
    ax0.set_ylim(-lim / 2.5, lim / 2.5)
    ax0.set_xlabel("$w_1$ (shallow)")
    ax0.set_ylabel("$w_2$ (steep)")
    ax0.legend(loc="upper right", fontsize="small")

    def settled(p):
        far = np.flatnonzero(np.linalg.norm(p, axis=1) >= tol)
        return None if far.size == 0 or far[-1] == len(p) - 1 else int(far[-1]) + 1

    for p, label, color in ((plain, "mu = 0", "0.6"), (path, f"mu = {momentum:g}", "C0")):
        ax1.semilogy(np.linalg.norm(p, axis=1), color=color, label=label)
    ax1.axhline(tol, color="k", lw=0.5, ls=":")
    ax1.set_xlabel("step")
    ax1.set_ylabel("distance to the minimum")
    ax1.legend(fontsize="small")
    n_plain, n_mom = settled(plain), settled(path)
    say = lambda n: f"{n} steps" if n is not None else f"> {n_steps} steps"  # noqa: E731
    ax0.set_title(f"eta = {learning_rate:g}, mu = {momentum:g}: within {tol:g} after {say(n_mom)}", fontsize=10)
    ax1.set_title(f"plain descent: {say(n_plain)}", fontsize=10)
    fig.tight_layout()
    return fig


def momentum_explorer(curvatures=(1.0, 50.0), learning_rate=0.036, momentum=0.7, start=(-4.0, 1.0), n_steps=300,
                      twin=True):
    """A slider for the momentum mu on a two-dimensional quadratic ravine (chapter 2).

    Each move runs :func:`momentum_path` on J(w) = (a_1 w_1^2 + a_2 w_2^2) / 2
    with ``curvatures`` (a_1, a_2) from ``start`` and draws the trajectory over
    the contours (plain descent in grey, the first velocities as red arrows)
    and the distance to the minimum per step, with the number of steps after
    which it stays below 1e-3. A second slider sets the learning rate. The twin
    has mu = 0, 0.3, 0.5, 0.7, 0.8, 0.9 and 0.95 at the given learning rate.
    """
    import ipywidgets as w

    curvatures = tuple(float(c) for c in curvatures)
    start = np.array(start, dtype=float)

    def draw(momentum, learning_rate):
        _momentum_figure(curvatures, learning_rate, momentum, start, n_steps)
        plt.show()

    etas = sorted({0.005, 0.01, 0.02, 0.03, 0.036, 0.039, float(learning_rate)})
    widget = w.interactive(
        draw,
        momentum=w.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01, description="mu"),
        learning_rate=w.SelectionSlider(options=etas, value=float(learning_rate), description="eta"),
    )
    if not twin:
        return Explorer(widget)
    return Explorer(widget, static_twin(
        lambda momentum: _momentum_figure(curvatures, learning_rate, momentum, start, n_steps),
        {"momentum": ("mu", sorted({0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, float(momentum)}))},
        initial={"momentum": float(momentum)},
        caption=(f"Momentum on a ravine with curvatures {curvatures[0]:g} and {curvatures[1]:g}, eta = "
                 f"{learning_rate:g}, drawn when the notebook ran; move the slider to swap the pictures. "
                 "Other values of mu and eta need JupyterLab (make lab)."),
        alt="gradient descent with momentum on a quadratic ravine"))


# --- chapter 4 -------------------------------------------------------------------------


def layer_gradient_explorer(X, y, n_hidden_layers=5, width=30, activation="sigmoid", init="small", random_state=0,
                            twin=True):
    """Controls for the depth, width, activation and initialisation of an MLP (chapter 4).

    Each move builds ``MLP((n_features,) + (width,) * n_hidden_layers + (n_classes,))``
    with a softmax output and draws ``layer_gradient_norms(X, y)`` at the
    initial weights, one point per layer, on a log scale: the vanishing
    gradient made visible. ``y`` holds class labels 0..K-1. Nothing is trained,
    so each redraw is quick. The twin keeps ``width`` and has 3 activations,
    2 initialisations and 4 depths from 1 to 12 (24 frames with the defaults).
    """
    import ipywidgets as w

    n_classes = int(np.max(to_numpy(y))) + 1

    def figure(n_hidden_layers, width, activation, init):
        sizes = (X.shape[1],) + (width,) * n_hidden_layers + (n_classes,)
        net = MLP(sizes, activation=activation, init=init, random_state=random_state)
        norms = to_numpy(net.layer_gradient_norms(X, y))
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ax.plot(np.arange(1, len(norms) + 1), norms, "o-")
        ax.set_yscale("log")
        ax.set_xlabel("layer l (1 = next to the input)")
        ax.set_ylabel("gradient norm of W_l")
        ax.set_title(f"{activation}, {init} init: layer 1 gets {norms[0] / norms[-1]:.1e} of the top gradient")
        fig.tight_layout()
        return fig

    def draw(n_hidden_layers, width, activation, init):
        figure(n_hidden_layers, width, activation, init)
        plt.show()

    widget = w.interactive(
        draw,
        n_hidden_layers=w.IntSlider(value=n_hidden_layers, min=1, max=12, step=1, description="hidden layers"),
        width=w.IntSlider(value=width, min=2, max=128, step=1, description="width"),
        activation=w.Dropdown(options=["sigmoid", "tanh", "relu"], value=activation, description="activation"),
        init=w.Dropdown(options=["small", "glorot"], value=init, description="init"),
    )
    if not twin:
        return Explorer(widget)
    return Explorer(widget, static_twin(
        lambda activation, init, n_hidden_layers: figure(n_hidden_layers, width, activation, init),
        {"activation": ("activation", ["sigmoid", "tanh", "relu"]),
         "init": ("init", ["small", "glorot"]),
         "n_hidden_layers": ("hidden layers", sorted({1, 5, 8, 12, int(n_hidden_layers)}))},
        initial={"activation": activation, "init": init, "n_hidden_layers": int(n_hidden_layers)},
        caption=(f"Gradient norms at initialisation for hidden layers of width {width}, drawn when the notebook "
                 "ran; move the sliders to swap them. Other depths and widths need JupyterLab (make lab)."),
        alt="gradient norm of each layer's weights at initialisation"))


# --- chapter 5 -------------------------------------------------------------------------


def rbm_weight_explorer(W, a, b, i=0, j=0, limit=6.0, twin=True):
    """Controls for one weight W_ij of a small RBM, redrawing its exact P(v) (chapter 5).

    ``W`` (n_visible, n_hidden), ``a`` and ``b`` define the RBM; the visible
    layer must be small enough to list (at most 10 units). Each move sets W_ij
    to the chosen value, enumerates P(v) = exp(-F(v)) / Z with
    ``dbnlib.rbm.RBM`` and draws it over the original distribution, with log Z
    and P(v_i = 1) in the title. The arrays passed in are not changed. The
    twin moves the weight ``W[i, j]`` chosen here over 13 values from
    ``-limit`` to ``limit``.
    """
    import ipywidgets as w

    from .rbm import RBM

    W, a, b = (np.array(to_numpy(x), dtype=float) for x in (W, a, b))
    n_visible, n_hidden = W.shape
    if n_visible > 10:
        raise ValueError(f"rbm_weight_explorer: W has n_visible={n_visible}; at most 10 visible units can be listed")
    states = ((np.arange(2**n_visible)[:, None] >> np.arange(n_visible)[::-1]) & 1).astype(float)
    labels = ["".join(str(int(x)) for x in v) for v in states]
    rbm = RBM(n_visible, n_hidden, dtype="float64")

    def p_v(weights):
        # set_weights copies host values onto the backend (CuPy refuses a NumPy
        # array on the right of `device_array[...] =`).
        rbm.set_weights(W=weights, a=a, b=b)
        log_z = float(rbm.log_partition())
        return np.exp(-to_numpy(rbm.free_energy(asarray(states))) - log_z), log_z

    original, _ = p_v(W)

    def figure(i, j, value):
        changed = W.copy()
        changed[i, j] = value
        p, log_z = p_v(changed)
        fig, ax = plt.subplots(figsize=(8, 3.4))
        x = np.arange(len(labels))
        ax.bar(x, original, color="none", edgecolor="k", label="original P(v)")
        ax.bar(x, p, alpha=0.7, label=f"W[{i}, {j}] = {value:.2f}")
        ax.set_xticks(x, labels, rotation=90, family="monospace", fontsize=7)
        ax.set_ylabel("P(v)")
        ax.set_title(f"log Z = {log_z:.3f}, P(v_{i + 1} = 1) = {p @ states[:, i]:.3f}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    def draw(i, j, value):
        figure(i, j, value)
        plt.show()

    widget = w.interactive(
        draw,
        i=w.Dropdown(options=list(range(n_visible)), value=i, description="visible i"),
        j=w.Dropdown(options=list(range(n_hidden)), value=j, description="hidden j"),
        value=w.FloatSlider(value=float(W[i, j]), min=-limit, max=limit, step=0.1, description="W[i, j]"),
    )
    if not twin:
        return Explorer(widget)
    values = [float(v) for v in np.round(np.linspace(-limit, limit, 13), 6)]
    start = values[int(np.argmin(np.abs(np.array(values) - W[i, j])))]
    return Explorer(widget, static_twin(
        lambda value: figure(i, j, value), {"value": (f"W[{i}, {j}]", values)}, initial={"value": start},
        caption=(f"P(v) for 13 values of W[{i}, {j}], drawn when the notebook ran; move the slider to swap them. "
                 "Other weights and values need JupyterLab (make lab)."),
        alt="exact P(v) of the small RBM with one weight changed"))


# --- chapter 6 -------------------------------------------------------------------------


def gibbs_chain_explorer(model, v0, n_steps=200, shape=(28, 28), random_state=0, twin=True):
    """A slider that steps block Gibbs chains of a trained RBM (chapter 6).

    The chains start at the rows of ``v0`` (a few images, shape (n_chains,
    n_visible)) and run ``n_steps`` sweeps v -> h -> v of ``model.gibbs`` with a
    seeded generator, computed once. The slider shows the binary sample v and
    the mean p(v | h) of every chain after the chosen number of sweeps, each
    row of pixels a ``shape`` picture. The model is not changed. The twin
    shows the same chains after 0, 1, 2, 5, 10, 20, 50, 100 and 200 sweeps
    (those up to ``n_steps``).
    """
    import ipywidgets as w

    from .backend import RNG
    from .plotting import image_grid

    rng = RNG(random_state)
    v = asarray(to_numpy(v0))
    first = np.asarray(to_numpy(v0), dtype=float)
    chain, means = [first], [first]
    for _ in range(int(n_steps)):
        h = model.sample_h_given_v(v, rng=rng)
        means.append(np.asarray(to_numpy(model.prob_v_given_h(h)), dtype=float))
        v = model.sample_v_given_h(h, rng=rng)
        chain.append(np.asarray(to_numpy(v), dtype=float))

    def figure(step):
        fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(1.1 * len(first), 2.6))
        image_grid(ax0, chain[step], shape, n_cols=len(first), vmin=0, vmax=1)
        image_grid(ax1, means[step], shape, n_cols=len(first), vmin=0, vmax=1)
        ax0.set_title(f"after {step} Gibbs sweeps: samples v (top), p(v | h) (bottom)")
        fig.tight_layout()
        return fig

    def draw(step):
        figure(step)
        plt.show()

    widget = w.interactive(draw, step=w.IntSlider(value=0, min=0, max=int(n_steps), step=1, description="sweeps"))
    if not twin:
        return Explorer(widget)
    steps = [s for s in (0, 1, 2, 5, 10, 20, 50, 100, 200) if s <= int(n_steps)]
    return Explorer(widget, static_twin(
        figure, {"step": ("sweeps", steps)},
        caption=(f"The same chains after {len(steps)} chosen numbers of sweeps, drawn when the notebook ran; move "
                 "the slider to swap them. Any other number of sweeps needs JupyterLab (make lab)."),
        alt="Gibbs chains of the RBM: samples and their means"))


def _ais_paths(W, a, b, a_base, betas, n_chains, rng):
    """The running log-weights of ``n_chains`` AIS runs, shape (len(betas), n_chains), on the host.

    The same walk as :func:`dbnlib.ais.ais_log_partition` (base-rate model A at
    beta = 0, the RBM at beta = 1, one Gibbs sweep per temperature), kept step by
    step so that a figure can show how the weights grow apart.
    """

    def sig(x):
        return 0.5 * (1.0 + np.tanh(0.5 * x))

    n_visible, n_hidden = W.shape
    v = (rng.random((n_chains, n_visible)) < sig(a_base)).astype(float)
    log_w, path = np.zeros(n_chains), [np.zeros(n_chains)]
    for k in range(1, len(betas)):
        z = v @ W + b
        hi, lo = betas[k], betas[k - 1]
        log_w += (hi - lo) * (v @ (a - a_base)) + (np.logaddexp(0, hi * z) - np.logaddexp(0, lo * z)).sum(axis=1)
        path.append(log_w.copy())
        if k < len(betas) - 1:
            h = (rng.random((n_chains, n_hidden)) < sig(hi * z)).astype(float)
            p_v = sig((1 - hi) * a_base + hi * (a + h @ W.T))
            v = (rng.random(p_v.shape) < p_v).astype(float)
    return np.array(path)


def ais_explorer(model, data=None, n_betas=100, n_runs=20, n_repeats=20, values=(4, 10, 30, 100, 300, 1000),
                 random_state=0, twin=True):
    """Annealed importance sampling on an RBM whose log Z is exact (chapter 6).

    For each number of temperatures K in ``values`` (``dbnlib.ais.ais_schedule(K)``),
    :func:`dbnlib.ais.ais_log_partition` runs ``n_runs * n_repeats`` AIS runs from
    the base-rate model of ``data`` (the model's own visible biases without
    data); they are split into ``n_repeats`` estimates of ``n_runs`` runs each.
    The left panel draws the ladder of temperatures beta_k and the running
    log-weight of 8 runs (the path from log Z_A to the estimate of log Z);
    the right panel the ``n_repeats`` errors log Z_hat - log Z against the
    exact log Z of ``model.log_partition()``, with their mean, spread and the
    mean effective sample size. The slider (and the twin) move K over
    ``values``; ``n_betas`` is where they start. Results are computed once per K.
    """
    import ipywidgets as w

    from .ais import ais_log_partition, ais_schedule, base_rate_bias, effective_sample_size
    from .backend import RNG

    W, a, b = (np.asarray(to_numpy(x), dtype=float) for x in (model.W, model.a, model.b))
    values = sorted({int(k) for k in values} | {int(n_betas)})
    if values[0] < 3:
        raise ValueError(f"ais_explorer: every number of temperatures must be at least 3, got {values[0]}")
    exact = float(model.log_partition())
    if data is None:
        a_base = a.copy()  # the model's own visible biases
    else:
        a_base = np.asarray(to_numpy(base_rate_bias(np.asarray(to_numpy(data), dtype=float).mean(axis=0))))
    cache = {}

    def results(K):
        if K not in cache:
            res = ais_log_partition(W, a, b, a_base, n_betas=K, n_runs=n_runs * n_repeats,
                                    random_state=RNG(random_state))  # fmt: skip
            groups = np.asarray(res.log_weights).reshape(n_repeats, n_runs)
            top = groups.max(axis=1, keepdims=True)
            estimates = res.log_z_base + top[:, 0] + np.log(np.exp(groups - top).mean(axis=1))
            ess = effective_sample_size(groups, axis=1)
            betas = ais_schedule(K)
            paths = _ais_paths(W, a, b, a_base, betas, 8, np.random.default_rng(random_state))
            cache[K] = (estimates - exact, float(np.mean(ess)), betas, paths, exact - res.log_z_base)
        return cache[K]

    def figure(K):
        errors, ess, betas, paths, target = results(K)
        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [3, 2]})
        ax0.plot(betas, paths, lw=1, alpha=0.8)
        ax0.axhline(target, color="k", ls="--", lw=1, label="exact log Z - log Z_A")
        ax0.plot(betas, np.full(len(betas), ax0.get_ylim()[0]), "|", color="0.3", ms=8,
                 label=f"the {K} temperatures")  # fmt: skip
        ax0.set_xlabel("beta (0: base-rate model A, 1: the RBM)")
        ax0.set_ylabel("running log w of 8 runs")
        ax0.legend(fontsize=8, loc="upper left")
        ax0.set_title(f"K = {K} temperatures")
        # one x range for every K (set by the fewest temperatures), so that the spread visibly shrinks
        lim = max(1.0, 1.1 * max(float(np.max(np.abs(results(k)[0]))) for k in (values[0], K)))
        ax1.hist(errors, bins=np.linspace(-lim, lim, 31), color="C0")
        ax1.axvline(0, color="k", ls="--", lw=1)
        ax1.set_xlabel("log Z_hat - log Z (nats)")
        ax1.set_ylabel(f"estimates of {n_runs} runs")
        ax1.set_title(f"mean error {errors.mean():+.3g}, sd {errors.std(ddof=1):.3g}, ESS {ess:.3g} of {n_runs}",
                      fontsize=10)  # fmt: skip
        fig.tight_layout()
        return fig

    def draw(K):
        figure(K)
        plt.show()

    widget = w.interactive(draw, K=w.SelectionSlider(options=values, value=int(n_betas), description="temperatures"))
    if not twin:
        return Explorer(widget)
    return Explorer(widget, static_twin(
        figure, {"K": ("temperatures", values)}, initial={"K": int(n_betas)},
        caption=(f"AIS with {len(values)} numbers of temperatures, drawn when the notebook ran; move the slider to "
                 "swap them. Other models and run counts need JupyterLab (make lab)."),
        alt="AIS: running log-weights along the temperature ladder, and the spread of the log Z estimates"))
