"""Interactive controls for the chapters (ipywidgets).

Each function returns a widget whose controls redraw a figure. On the static
website the widget shows its saved state only; moving the controls needs a
running kernel (``make lab``). Chapters therefore draw a static figure of the
same thing beside each widget.
"""

import matplotlib.pyplot as plt

from .logistic import LogisticRegression
from .plotting import decision_boundary, loss_curves

__all__ = ["logistic_regression_explorer"]


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
        learning_rate=w.FloatLogSlider(value=learning_rate, base=10, min=-3, max=1, step=0.25, description="eta"),
        n_steps=w.IntSlider(value=n_steps, min=1, max=300, step=1, description="steps"),
    )
