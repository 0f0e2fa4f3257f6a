"""Logistic regression trained by gradient descent (chapter 1).

One class, ``LogisticRegression``, covers both cases the chapter teaches:

- two classes: p(y = 1 | x) = sigma(x·w + w0), the sigmoid of chapter 1;
- K classes: p(y = k | x) = softmax(x·W + w0)_k.

Training minimises the mean cross-entropy plus an L2 penalty on the weights
(never the bias), by full-batch gradient descent (``batch_size=None``) or
minibatch SGD. Left out on purpose: line search, second-order solvers and
early stopping. scikit-learn's ``LogisticRegression`` is the peer the tests
compare against.
"""

import numpy as np

from ._validation import check_finite_loss, check_labels, check_X
from .backend import RNG, to_numpy, xp
from .numerics import (
    binary_cross_entropy_with_logits,
    categorical_cross_entropy_with_logits,
    one_hot,
    sigmoid,
    softmax,
)

__all__ = ["LogisticRegression", "loss_and_gradient", "xor_features"]


def loss_and_gradient(X, T, w, w0, l2=0.0):
    """Mean cross-entropy (+ penalty) of logistic regression and its gradient.

    Chapter 1 derives, for the sigmoid and the softmax alike, that the gradient
    of the mean cross-entropy with respect to the logits z = X w + w0 is
    (y_hat - t) / N; hence (equation "the gradient")

        dJ/dw  = X^T (y_hat - t) / N + l2 w,    dJ/dw0 = sum_n (y_hat_n - t_n) / N.

    Parameters
    ----------
    X : array of shape (N, D)
    T : array of shape (N, 1) with 0/1 targets (sigmoid), or (N, K) one-hot (softmax)
    w : array of shape (D, 1) or (D, K)
    w0 : array of shape (1,) or (K,)
    l2 : float
        Penalty 0.5 * l2 * ||w||^2 (the bias is not penalised).

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
        err = sigmoid(Z) - T
    else:
        loss = categorical_cross_entropy_with_logits(Z, T)
        err = softmax(Z, axis=1) - T
    err /= X.shape[0]
    loss += 0.5 * l2 * float(m.sum(w**2))
    return loss, X.T @ err + l2 * w, err.sum(axis=0)


def xor_features(X):
    """Append the product feature x3 = x1 * x2 to two-column inputs (chapter 1).

    With it, XOR becomes linearly separable: the weights
    [w0, w1, w2, w3] = [-0.5, 1, 1, -2] put every XOR point on the right side.
    """
    m = xp()
    X = m.asarray(X)
    return m.concatenate([X, X[:, :1] * X[:, 1:2]], axis=1)


class LogisticRegression:
    """Binary (sigmoid) or multiclass (softmax) logistic regression.

    Parameters
    ----------
    learning_rate : float
        Step size eta of gradient descent.
    n_epochs : int
        Passes over the training set (for full-batch descent, steps).
    batch_size : int or None
        ``None`` for full-batch gradient descent, else minibatch SGD.
    l2 : float
        Penalty ``0.5 * l2 * ||w||^2`` added to the mean cross-entropy.
    random_state : int or None
        Seed for the minibatch order.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features, 1) or (n_features, n_classes)
        The weights w (one column per output unit).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        The bias w0.
    classes_ : ndarray of shape (n_classes,)
    loss_curve_ : list of float
        Training loss (cross-entropy + penalty) after each epoch.
    """

    def __init__(self, learning_rate=0.5, n_epochs=200, batch_size=None, l2=0.0, random_state=None):
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.l2 = l2
        self.random_state = random_state

    # --- the model -------------------------------------------------------
    def _logits(self, X):
        return X @ self.coef_ + self.intercept_

    def _binary(self):
        return len(self.classes_) == 2

    def _loss_and_grad(self, X, T):
        return loss_and_gradient(X, T, self.coef_, self.intercept_, self.l2)

    # --- public API ------------------------------------------------------
    def fit(self, X, y):
        """Fit the weights to data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), class labels (any integers)

        Returns
        -------
        self
        """
        where = "LogisticRegression.fit"
        m = xp()
        X = check_X(X, where)
        y = check_labels(y, where, X.shape[0])
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"{where}: y must contain at least two classes, got only {self.classes_.tolist()}")
        y_idx = np.searchsorted(self.classes_, y)
        n, d = X.shape
        if self._binary():
            T = m.asarray(y_idx.reshape(-1, 1), dtype=X.dtype)
            n_out = 1
        else:
            n_out = len(self.classes_)
            T = one_hot(y_idx, n_out, dtype=X.dtype)
        self.coef_ = m.zeros((d, n_out), dtype=X.dtype)
        self.intercept_ = m.zeros(n_out, dtype=X.dtype)
        self.n_features_in_ = d
        self.loss_curve_ = []
        rng = RNG(self.random_state)
        bs = n if self.batch_size is None else int(self.batch_size)
        if bs < 1:
            raise ValueError(f"{where}: batch_size must be a positive integer or None, got {self.batch_size}")
        for epoch in range(self.n_epochs):
            order = rng.permutation(n) if bs < n else None
            for start in range(0, n, bs):
                idx = slice(None) if order is None else m.asarray(order[start : start + bs])
                _, gW, gb = self._loss_and_grad(X[idx], T[idx])
                self.coef_ -= self.learning_rate * gW
                self.intercept_ -= self.learning_rate * gb
            loss = self._loss_and_grad(X, T)[0]
            check_finite_loss(loss, where, epoch + 1)
            self.loss_curve_.append(loss)
        return self

    def _check_fitted(self, X, where):
        if not hasattr(self, "coef_"):
            raise RuntimeError(f"{where}: the model is not fitted yet; call fit(X, y) first")
        return check_X(X, where, n_features=self.n_features_in_)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), as NumPy."""
        X = self._check_fitted(X, "LogisticRegression.predict_proba")
        Z = self._logits(X)
        if self._binary():
            p1 = sigmoid(Z)
            return to_numpy(xp().concatenate([1 - p1, p1], axis=1))
        return to_numpy(softmax(Z, axis=1))

    def decision_function(self, X):
        """The logits x·w + w0 (shape (n_samples,) for two classes), as NumPy."""
        X = self._check_fitted(X, "LogisticRegression.decision_function")
        Z = to_numpy(self._logits(X))
        return Z.ravel() if self._binary() else Z

    def predict(self, X):
        """The most probable class for each row."""
        P = self.predict_proba(X)
        return self.classes_[np.argmax(P, axis=1)]

    def score(self, X, y):
        """Accuracy: the fraction of rows whose predicted class is ``y``."""
        y = check_labels(y, "LogisticRegression.score", np.shape(X)[0])
        return float(np.mean(self.predict(X) == y))
