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
