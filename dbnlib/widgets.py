"""Interactive controls for the chapters (ipywidgets).

Each function returns a widget whose controls redraw a figure. On the static
website the widget shows its saved state only; moving the controls needs a
running kernel (``make lab``). Chapters therefore draw a static figure of the
same thing beside each widget.
"""

import matplotlib.pyplot as plt
import numpy as np

from .backend import to_numpy
from .logistic import LogisticRegression
from .mlp import MLP
from .plotting import decision_boundary, function_fit, loss_curves

__all__ = ["logistic_regression_explorer", "universal_approximation_explorer", "layer_gradient_explorer"]


def logistic_regression_explorer(X, y, learning_rate=0.5, n_steps=20):
    """Sliders for the learning rate and the number of gradient-descent steps.

    Each move refits ``dbnlib.LogisticRegression`` (full-batch gradient descent
    from zero weights) on ``X, y`` (two features, labels 0/1) and redraws the
    decision boundary and the loss curve.
    """
    import ipywidgets as w

    def draw(learning_rate, n_steps):
        model = LogisticRegression(learning_rate=learning_rate, n_epochs=n_steps).fit(X, y)
        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.6))
        decision_boundary(ax0, model.predict_proba, X, y, title=f"eta = {learning_rate:g}, {n_steps} steps")
        loss_curves(ax1, {"cross-entropy": model.loss_curve_}, xlabel="step")
        ax1.set_title(f"final loss {model.loss_curve_[-1]:.3f}")
        fig.tight_layout()
        plt.show()

    return w.interactive(
        draw,
        # A selection slider: every value shown is exactly the one used.
        learning_rate=w.SelectionSlider(
            options=sorted({0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0, float(learning_rate)}),
            value=float(learning_rate),
            description="eta",
        ),
        n_steps=w.IntSlider(value=n_steps, min=1, max=300, step=1, description="steps"),
    )


def universal_approximation_explorer(f, x_range=(-np.pi, np.pi), n_hidden=3, n_points=200, activation="sigmoid",
                                     learning_rate=0.2, momentum=0.9, batch_size=20, n_epochs=1000, random_state=1):
    """A slider for the number of hidden units of a network fitted to ``f``.

    Each move trains ``dbnlib.MLP((1, n_hidden, 1), output="identity")`` by
    minibatch SGD on ``n_points`` evenly spaced points of ``x_range`` and
    draws the target, the fit and each hidden unit's contribution, with the
    root-mean-square error in the title. The other arguments are passed to
    ``MLP``; with the defaults one fit takes about a second.
    """
    import ipywidgets as w

    x = np.linspace(*x_range, n_points).reshape(-1, 1)
    target = f(x)

    def draw(n_hidden):
        model = MLP((1, n_hidden, 1), activation=activation, output="identity", init="glorot",
                    learning_rate=learning_rate, momentum=momentum, batch_size=batch_size,
                    n_epochs=n_epochs, random_state=random_state).fit(x, target)
        rmse = np.sqrt(np.mean((to_numpy(model.predict(x)) - target[:, 0]) ** 2))
        fig, ax = plt.subplots(figsize=(6, 3.6))
        function_fit(ax, model, x, target, title=f"{n_hidden} hidden unit{'s' if n_hidden > 1 else ''}: RMS error {rmse:.3f}")
        fig.tight_layout()
        plt.show()

    return w.interactive(draw, n_hidden=w.IntSlider(value=n_hidden, min=1, max=50, step=1, description="hidden units",
                                                    style={"description_width": "initial"}))


def layer_gradient_explorer(X, y, n_hidden_layers=5, width=30, activation="sigmoid", init="small", random_state=0):
    """Controls for the depth, width, activation and initialisation of an MLP (chapter 4).

    Each move builds ``MLP((n_features,) + (width,) * n_hidden_layers + (n_classes,))``
    with a softmax output and draws ``layer_gradient_norms(X, y)`` at the
    initial weights, one point per layer, on a log scale: the vanishing
    gradient made visible. ``y`` holds class labels 0..K-1. Nothing is trained,
    so each redraw is quick.
    """
    import ipywidgets as w

    n_classes = int(np.max(np.asarray(y))) + 1

    def draw(n_hidden_layers, width, activation, init):
        sizes = (X.shape[1],) + (width,) * n_hidden_layers + (n_classes,)
        net = MLP(sizes, activation=activation, init=init, random_state=random_state)
        norms = net.layer_gradient_norms(X, y)
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ax.plot(np.arange(1, len(norms) + 1), norms, "o-")
        ax.set_yscale("log")
        ax.set_xlabel("layer l (1 = next to the input)")
        ax.set_ylabel("gradient norm of W_l")
        ax.set_title(f"{activation}, {init} init: layer 1 gets {norms[0] / norms[-1]:.1e} of the top gradient")
        fig.tight_layout()
        plt.show()

    return w.interactive(
        draw,
        n_hidden_layers=w.IntSlider(value=n_hidden_layers, min=1, max=12, step=1, description="hidden layers"),
        width=w.IntSlider(value=width, min=2, max=128, step=1, description="width"),
        activation=w.Dropdown(options=["sigmoid", "tanh", "relu"], value=activation, description="activation"),
        init=w.Dropdown(options=["small", "glorot"], value=init, description="init"),
    )


def rbm_weight_explorer(W, a, b, i=0, j=0, limit=6.0):
    """Controls for one weight W_ij of a small RBM, redrawing its exact P(v) (chapter 5).

    ``W`` (n_visible, n_hidden), ``a`` and ``b`` define the RBM; the visible
    layer must be small enough to list (at most 10 units). Each move sets W_ij
    to the chosen value, enumerates P(v) = exp(-F(v)) / Z with
    ``dbnlib.rbm.RBM`` and draws it over the original distribution, with log Z
    and P(v_i = 1) in the title. The arrays passed in are not changed.
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
        rbm.W[...], rbm.a[...], rbm.b[...] = weights, a, b
        return np.exp(-to_numpy(rbm.free_energy(states)) - rbm.log_partition()), rbm.log_partition()

    original, _ = p_v(W)

    def draw(i, j, value):
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
        plt.show()

    return w.interactive(
        draw,
        i=w.Dropdown(options=list(range(n_visible)), value=i, description="visible i"),
        j=w.Dropdown(options=list(range(n_hidden)), value=j, description="hidden j"),
        value=w.FloatSlider(value=float(W[i, j]), min=-limit, max=limit, step=0.1, description="W[i, j]"),
    )


__all__ += ["rbm_weight_explorer"]


def gibbs_chain_explorer(model, v0, n_steps=200, shape=(28, 28), random_state=0):
    """A slider that steps block Gibbs chains of a trained RBM (chapter 6).

    The chains start at the rows of ``v0`` (a few images, shape (n_chains,
    n_visible)) and run ``n_steps`` sweeps v -> h -> v of ``model.gibbs`` with a
    seeded generator, computed once. The slider shows the binary sample v and
    the mean p(v | h) of every chain after the chosen number of sweeps, each
    row of pixels a ``shape`` picture. The model is not changed.
    """
    import ipywidgets as w

    from .backend import RNG
    from .plotting import image_grid

    rng = RNG(random_state)
    v = np.asarray(to_numpy(v0), dtype=float)
    chain, means = [v], [v]
    for _ in range(int(n_steps)):
        h = model.sample_h_given_v(v, rng=rng)
        means.append(np.asarray(to_numpy(model.prob_v_given_h(h)), dtype=float))
        v = np.asarray(to_numpy(model.sample_v_given_h(h, rng=rng)), dtype=float)
        chain.append(v)

    def draw(step):
        fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(1.1 * len(v), 2.6))
        image_grid(ax0, chain[step], shape, n_cols=len(v), vmin=0, vmax=1)
        image_grid(ax1, means[step], shape, n_cols=len(v), vmin=0, vmax=1)
        ax0.set_title(f"after {step} Gibbs sweeps: samples v (top), p(v | h) (bottom)")
        fig.tight_layout()
        plt.show()

    return w.interactive(draw, step=w.IntSlider(value=0, min=0, max=int(n_steps), step=1, description="sweeps"))


__all__ += ["gibbs_chain_explorer"]
