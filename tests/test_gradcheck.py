"""The gradient checker itself, against functions whose gradient is known."""

import numpy as np
import pytest

from dbnlib.gradcheck import check_gradients, numerical_gradient, relative_error


def test_numerical_gradient_of_sum_sin_is_cos():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(3, 4)), rng.normal(size=5)
    x0, w0 = x.copy(), w.copy()
    gx, gw = numerical_gradient(lambda: np.sin(x).sum() + np.sum(w**3), [x, w])
    assert gx.shape == x.shape and gw.shape == w.shape
    np.testing.assert_allclose(gx, np.cos(x), rtol=0, atol=1e-9)
    np.testing.assert_allclose(gw, 3 * w**2, rtol=0, atol=1e-8)
    # the arrays were moved in place and put back exactly
    assert np.array_equal(x, x0) and np.array_equal(w, w0)


def test_relative_error_follows_its_definition():
    a = [np.array([1.0, -2.0]), (np.array([[0.5]]),)]
    b = [np.array([1.0, -1.0]), (np.array([[0.5]]),)]
    # max |a - b| = 1, max (|a| + |b|) = 3
    assert relative_error(a, b) == pytest.approx(1 / 3)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.ones(2), np.ones(2)) == 0.0
    with pytest.raises(ValueError, match="entries"):
        relative_error(np.ones(2), np.ones(3))


class _Quadratic:
    """J(W, b) = 0.5 * ||X W + b - Y||^2 / N with a switchable bug in dJ/dW."""

    def __init__(self, wrong=False):
        rng = np.random.default_rng(1)
        self.params = [(rng.normal(size=(3, 2)), rng.normal(size=2))]
        self.wrong = wrong

    def loss(self, X, Y):
        W, b = self.params[0]
        R = X @ W + b - Y
        return 0.5 * np.sum(R * R) / X.shape[0]

    def gradients(self, X, Y):
        W, b = self.params[0]
        R = (X @ W + b - Y) / X.shape[0]
        dW = X.T @ R
        if self.wrong:
            dW = dW * 1.01  # off by 1 %, the kind of slip a gradient check must catch
        return [(dW, R.sum(axis=0))]


def test_check_gradients_passes_right_and_catches_wrong_gradient():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    assert check_gradients(_Quadratic(), X, Y) < 1e-8
    assert check_gradients(_Quadratic(wrong=True), X, Y) > 1e-3
