"""Logistic regression trained by gradient descent (chapter 1).

One class, ``LogisticRegression``, covers both cases the chapter teaches:

- two classes: p(y = 1 | x) = sigma(x·w + w0), the sigmoid of chapter 1;
- K classes: p(y = k | x) = softmax(x·W + w0)_k.

Training minimises the mean cross-entropy plus an L2 penalty on the weights
(never the bias), by full-batch gradient descent (``batch_size=None``) or
minibatch SGD. The shared model interface (parameters, fitting twice, saving,
divergence, return types) is described once in ``dbnlib.base``. Left out on
purpose: line search, second-order solvers and early stopping.
scikit-learn's ``LogisticRegression`` is the peer the tests compare against.
"""

import numpy as np

from ._validation import check_bool, check_int, check_labels, check_real, check_X
from .backend import to_numpy, xp
from .base import SupervisedModel, check_random_state
from .numerics import (
    binary_cross_entropy_with_logits,
    categorical_cross_entropy_with_logits,
    log_softmax,
    one_hot,
    sigmoid,
    softmax,
    softplus,
)

__all__ = ["LogisticRegression", "loss_and_gradient", "xor_features"]


def loss_and_gradient(X, T, w, w0, weight_decay=0.0):
    """Mean cross-entropy (+ penalty) of logistic regression and its gradient.

    The gradient of the mean cross-entropy with respect to the logits
    z = X w + w0 is (y_hat - t) / N, for the sigmoid (chapter 1, "the
    gradient") and for the softmax alike (chapter 3 derives that case); hence

        dJ/dw  = X^T (y_hat - t) / N + weight_decay w,    dJ/dw0 = sum_n (y_hat_n - t_n) / N.

    Parameters
    ----------
    X : array of shape (N, D)
    T : array of shape (N, 1) with 0/1 targets (sigmoid), or (N, K) one-hot (softmax)
    w : array of shape (D, 1) or (D, K)
    w0 : array of shape (1,) or (K,)
    weight_decay : float
        Penalty 0.5 * weight_decay * ||w||^2 (the bias is not penalised).

    Returns
    -------
    loss : float
    dw : array of shape like ``w``
    dw0 : array of shape like ``w0``
    """
    m = xp()
    Z = X @ w + w0
    if w.shape[1] == 1:
        loss = binary_cross_entropy_with_logits(Z, T)
    else:
        loss = categorical_cross_entropy_with_logits(Z, T)
    loss += 0.5 * weight_decay * float(m.sum(w**2))
    dw, dw0 = _gradient(X, T, w, w0, weight_decay, Z)
    return loss, dw, dw0


def _gradient(X, T, w, w0, weight_decay, Z=None):
    """(dJ/dw, dJ/dw0) on the device, without computing the loss (the training loop's step)."""
    Z = X @ w + w0 if Z is None else Z
    err = sigmoid(Z) - T if w.shape[1] == 1 else softmax(Z, axis=1) - T
    err /= X.shape[0]
    dw = X.T @ err
    if weight_decay:
        dw += weight_decay * w
    return dw, err.sum(axis=0)


def _data_term(Z, T):
    """The mean cross-entropy from the logits, as a 0-d device array (no sync)."""
    m = xp()
    if Z.shape[1] == 1:  # the same formula as numerics.binary_cross_entropy_with_logits
        return m.mean(T * softplus(-Z) + (1 - T) * softplus(Z))
    return -m.mean(m.sum(T * log_softmax(Z, axis=1), axis=1))


def xor_features(X):
    """Append the product feature x3 = x1 * x2 to two-column inputs (chapter 1).

    With it, XOR becomes linearly separable: the weights
    [w0, w1, w2, w3] = [-0.5, 1, 1, -2] put every XOR point on the right side.
    """
    m = xp()
    X = m.asarray(X)
    return m.concatenate([X, X[:, :1] * X[:, 1:2]], axis=1)


class LogisticRegression(SupervisedModel):
    """Binary (sigmoid) or multiclass (softmax) logistic regression.

    Follows the shared interface of ``dbnlib.base``: ``fit`` restarts from
    zero weights, ``warm_start=True`` or ``partial_fit`` continue, a diverging
    run restores the last good weights and raises ``TrainingDiverged``, and
    predictions are arrays on the active backend.

    Parameters
    ----------
    learning_rate : float
        Step size eta of gradient descent (> 0).
    n_epochs : int
        Passes over the training set (for full-batch descent, steps).
    batch_size : int or None
        ``None`` for full-batch gradient descent, else minibatch SGD.
    weight_decay : float
        Penalty ``0.5 * weight_decay * ||w||^2`` added to the mean cross-entropy.
    random_state : int, None, numpy.random.Generator or RNG
        Seed for the minibatch order.
    warm_start : bool
        ``fit`` continues from the current weights instead of zeros.
    verbose : bool
        A progress bar over epochs.

    Attributes
    ----------
    coef_ : array of shape (n_features, 1) or (n_features, n_classes)
        The weights w (one column per output unit).
    intercept_ : array of shape (1,) or (n_classes,)
        The bias w0.
    classes_ : numpy.ndarray of shape (n_classes,)
    loss_curve_ : list of float
        The mean cross-entropy on the whole training set after each epoch
        (the data term only).
    penalty_curve_ : list of float
        The penalty ``0.5 * weight_decay * ||w||^2`` after each epoch; the
        objective is ``loss_curve_[e] + penalty_curve_[e]``.
    history_ : dict of lists
        ``"epoch"``, ``"loss"`` and ``"penalty"``; the curves above are views of it.
    """

    _ARRAYS = ("coef_", "intercept_")
    _STATE = ("n_features_in_", "history_")

    def __init__(self, learning_rate=0.5, n_epochs=100, batch_size=32, weight_decay=0.0, random_state=None,
                 warm_start=False, verbose=False):  # fmt: skip
        self._set_hyperparameters(learning_rate=learning_rate, n_epochs=n_epochs, batch_size=batch_size,
                                  weight_decay=weight_decay, random_state=random_state, warm_start=warm_start,
                                  verbose=verbose)  # fmt: skip
        self.history_ = {"epoch": [], "loss": [], "penalty": []}

    def _set_hyperparameters(self, learning_rate, n_epochs, batch_size, weight_decay, random_state, warm_start,
                             verbose):  # fmt: skip
        w = "LogisticRegression"
        self.learning_rate = check_real(learning_rate, "learning_rate", w, low=0, low_open=True)
        self.n_epochs = check_int(n_epochs, "n_epochs", w, low=0)
        self.batch_size = check_int(batch_size, "batch_size", w, low=1, allow_none=True)
        self.weight_decay = check_real(weight_decay, "weight_decay", w, low=0)
        self.random_state = check_random_state(random_state, "random_state", w)
        self.warm_start = check_bool(warm_start, "warm_start", w)
        self.verbose = check_bool(verbose, "verbose", w)

    def _is_fitted(self):
        return getattr(self, "coef_", None) is not None

    # --- the model -------------------------------------------------------
    def _logits(self, X):
        return X @ self.coef_ + self.intercept_

    def _binary(self):
        return len(self.classes_) == 2

    def _targets(self, y, where, n, first):
        """Class indices -> targets T: a 0/1 column (two classes) or one-hot rows."""
        y = check_labels(y, where, n, classes=None if first else self.classes_)
        if first:
            self.classes_ = np.unique(y)
            if len(self.classes_) < 2:
                raise ValueError(f"{where}: y must contain at least two classes, got only {self.classes_.tolist()}")
        y_idx = np.searchsorted(self.classes_, y)
        if self._binary():
            return xp().asarray(y_idx.reshape(-1, 1), dtype=self._dtype)
        return one_hot(y_idx, len(self.classes_), dtype=self._dtype)

    def _init_weights(self, d):
        m, n_out = xp(), 1 if self._binary() else len(self.classes_)
        self.coef_ = m.zeros((d, n_out), dtype=self._dtype)
        self.intercept_ = m.zeros(n_out, dtype=self._dtype)
        self.n_features_in_ = d
        self.history_ = {"epoch": [], "loss": [], "penalty": []}

    def _terms(self, X, T):
        """(data term, penalty) as 0-d device arrays."""
        m = xp()
        penalty = 0.5 * self.weight_decay * m.sum(self.coef_**2)
        return _data_term(self._logits(X), T), penalty

    # --- public API ------------------------------------------------------
    def fit(self, X, y):
        """Fit the weights to data, from zero weights (or the current ones with ``warm_start``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), class labels (any integers)

        Returns
        -------
        self
        """
        where = "LogisticRegression.fit"
        X = check_X(X, where)
        warm = self.warm_start and self._is_fitted()
        if warm and X.shape[1] != self.n_features_in_:
            raise ValueError(f"{where}: X has {X.shape[1]} columns, the model was fitted on {self.n_features_in_}")
        self._dtype = X.dtype
        T = self._targets(y, where, X.shape[0], first=not warm)
        if not warm:
            self._init_weights(X.shape[1])
        self._rng = self._make_rng()
        self._train(X, T, self.n_epochs, where)
        return self

    def partial_fit(self, X, y, classes=None):
        """One more epoch from the current weights (the first call starts from zeros).

        ``classes`` (all labels that will ever come) is needed on the first
        call when that batch does not show every class.
        """
        where = "LogisticRegression.partial_fit"
        first = not self._is_fitted()
        X = check_X(X, where, n_features=None if first else self.n_features_in_)
        self._dtype = X.dtype if first else self.coef_.dtype
        if first:
            if classes is not None:
                self.classes_ = np.unique(np.asarray(to_numpy(classes)))
                T = self._targets(y, where, X.shape[0], first=False)
            else:
                T = self._targets(y, where, X.shape[0], first=True)
            self._init_weights(X.shape[1])
            self._rng = self._make_rng()
        else:
            T = self._targets(y, where, X.shape[0], first=False)
            self._rng = getattr(self, "_rng", None) or self._make_rng()
        self._train(X.astype(self._dtype, copy=False), T, 1, where)
        return self

    def _train(self, X, T, n_epochs, where):
        """``n_epochs`` epochs of (minibatch) gradient descent; one host sync per epoch."""
        m = xp()
        n = X.shape[0]
        bs = n if self.batch_size is None else self.batch_size
        snapshot = self._snapshot()
        reference = float(sum(self._terms(X, T)))  # the starting objective, for the explosion test
        epoch0 = self.history_["epoch"][-1] if self.history_["epoch"] else 0
        with np.errstate(over="ignore", invalid="ignore"):
            bar = self._progress(range(epoch0 + 1, epoch0 + n_epochs + 1), desc="LogisticRegression")
            for epoch in bar:
                order = m.asarray(self._rng.permutation(n)) if bs < n else None
                for start in range(0, n, bs):
                    idx = slice(None) if order is None else order[start : start + bs]
                    gW, gb = _gradient(X[idx], T[idx], self.coef_, self.intercept_, self.weight_decay)
                    self.coef_ -= self.learning_rate * gW
                    self.intercept_ -= self.learning_rate * gb
                data, penalty = (float(v) for v in to_numpy(m.stack(self._terms(X, T))))  # the one sync
                if self._exploded(data + penalty, reference):
                    self._diverged(where, epoch, snapshot, f"loss {data + penalty:.4g}, started at {reference:.4g}")
                snapshot = self._snapshot()
                self.history_["epoch"].append(epoch)
                self.history_["loss"].append(data)
                self.history_["penalty"].append(penalty)
                bar.set_postfix(loss=f"{data + penalty:.4g}")
        return self

    def _check_input(self, X, where):
        self._check_fitted(where)
        return check_X(X, where, n_features=self.n_features_in_, dtype=self.coef_.dtype)

    def loss(self, X, y):
        """The objective: mean cross-entropy plus ``0.5 * weight_decay * ||w||^2`` (a float)."""
        return sum(self.loss_terms(X, y))

    def loss_terms(self, X, y):
        """``(data, penalty)``: the mean cross-entropy and the L2 penalty apart, as floats."""
        where = "LogisticRegression.loss_terms"
        X = self._check_input(X, where)
        self._dtype = self.coef_.dtype
        T = self._targets(y, where, X.shape[0], first=False)
        data, penalty = to_numpy(xp().stack(self._terms(X, T)))
        return float(data), float(penalty)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), on the active backend."""
        X = self._check_input(X, "LogisticRegression.predict_proba")
        Z = self._logits(X)
        if self._binary():
            p1 = sigmoid(Z)
            return xp().concatenate([1 - p1, p1], axis=1)
        return softmax(Z, axis=1)

    def predict(self, X):
        """The most probable class for each row, shape (n_samples,), on the active backend."""
        self._check_fitted("LogisticRegression.predict")
        P = self.predict_proba(X)
        return xp().asarray(self.classes_)[P.argmax(axis=1)]

    def score(self, X, y):
        """Accuracy: the fraction of rows whose predicted class is ``y`` (a float)."""
        pred = self.predict(X)
        y = check_labels(y, "LogisticRegression.score", pred.shape[0])
        return float(xp().mean(pred == xp().asarray(y)))

    def set_weights(self, coef=None, intercept=None):
        """Copy weights (NumPy or device arrays) into ``coef_`` and ``intercept_``, in place.

        The model must be fitted (the shapes come from its classes); shapes are
        checked and values converted to the model's dtype on the active backend.
        Returns self.
        """
        self._check_fitted("LogisticRegression.set_weights")
        if coef is not None:
            self._copy_into(self.coef_, coef, "coef", "LogisticRegression.set_weights")
        if intercept is not None:
            self._copy_into(self.intercept_, intercept, "intercept", "LogisticRegression.set_weights")
        return self

    def _state(self):
        meta, arrays = super()._state()
        if self._is_fitted():
            meta["state"]["classes_"] = self.classes_.tolist()
        return meta, arrays

    @classmethod
    def _from_state(cls, meta, arrays):
        model = super()._from_state(meta, arrays)
        if "classes_" in meta["state"]:
            model.classes_ = np.asarray(meta["state"]["classes_"])
        return model
