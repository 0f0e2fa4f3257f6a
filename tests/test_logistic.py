"""dbnlib.LogisticRegression against finite differences and scikit-learn."""

import re

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import dbnlib
from dbnlib import datasets
from dbnlib._validation import TrainingDiverged
from dbnlib.logistic import loss_and_gradient, xor_features
from dbnlib.numerics import one_hot


@pytest.fixture(scope="module")
def digits():
    X, y = datasets.load_digits()
    return datasets.train_test_split(X, y, test_size=0.25, random_state=0)


@pytest.mark.parametrize("n_out", [1, 4])
def test_gradient_matches_finite_differences(rng, n_out):
    X = rng.normal(size=(30, 5))
    T = rng.integers(0, 2, size=(30, 1)).astype(float) if n_out == 1 else one_hot(rng.integers(0, 4, 30), 4)
    w, w0, wd = rng.normal(size=(5, n_out)), rng.normal(size=n_out), 0.3
    _, dw, dw0 = loss_and_gradient(X, T, w, w0, wd)
    eps = 1e-6
    num_w = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        e = np.zeros_like(w)
        e[idx] = eps
        num_w[idx] = (loss_and_gradient(X, T, w + e, w0, wd)[0] - loss_and_gradient(X, T, w - e, w0, wd)[0]) / (2 * eps)
    num_b = np.array(
        [(loss_and_gradient(X, T, w, w0 + e, wd)[0] - loss_and_gradient(X, T, w, w0 - e, wd)[0]) / (2 * eps)
         for e in np.eye(n_out) * eps]
    )
    np.testing.assert_allclose(dw, num_w, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dw0, num_b, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("binary", [True, False])
def test_matches_scikit_learn_on_digits(digits, binary):
    X_train, X_test, y_train, y_test = digits
    if binary:
        y_train, y_test = (y_train >= 5).astype(int), (y_test >= 5).astype(int)
    wd = 1e-2
    ours = dbnlib.LogisticRegression(learning_rate=1.0, n_epochs=1500, batch_size=None, weight_decay=wd).fit(X_train, y_train)
    # scikit-learn minimises C * sum(loss) + ||w||^2 / 2, i.e. mean(loss) + ||w||^2 / (2 C N).
    sk = SkLogisticRegression(C=1 / (wd * len(y_train)), max_iter=5000, tol=1e-8).fit(X_train, y_train)
    assert abs(ours.score(X_test, y_test) - sk.score(X_test, y_test)) <= 0.01
    coef = dbnlib.to_numpy(ours.coef_)
    sk_coef = sk.coef_.T
    if not binary:  # the softmax's weights are defined up to a shared shift; both fits centre them via L2
        coef, sk_coef = coef - coef.mean(axis=1, keepdims=True), sk_coef - sk_coef.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(coef, sk_coef, atol=0.02)


def test_minibatch_sgd_learns_and_is_seeded(digits):
    X_train, X_test, y_train, y_test = digits
    kw = dict(learning_rate=0.1, n_epochs=15, batch_size=32, weight_decay=1e-3)
    a = dbnlib.LogisticRegression(random_state=3, **kw).fit(X_train, y_train)
    b = dbnlib.LogisticRegression(random_state=3, **kw).fit(X_train, y_train)
    c = dbnlib.LogisticRegression(random_state=4, **kw).fit(X_train, y_train)
    np.testing.assert_array_equal(dbnlib.to_numpy(a.coef_), dbnlib.to_numpy(b.coef_))
    assert not np.array_equal(dbnlib.to_numpy(a.coef_), dbnlib.to_numpy(c.coef_))
    assert a.loss_curve_[-1] < a.loss_curve_[0] and a.score(X_test, y_test) > 0.9


def test_probabilities_and_labels(digits):
    X_train, X_test, y_train, _ = digits
    model = dbnlib.LogisticRegression(n_epochs=50).fit(X_train, y_train + 10)  # any integer labels
    P = model.predict_proba(X_test)
    np.testing.assert_allclose(P.sum(axis=1), 1)
    assert set(model.predict(X_test)) <= set(range(10, 20))


def test_xor_needs_the_product_feature():
    X, t = datasets.load_xor()
    assert dbnlib.LogisticRegression(learning_rate=1.0, n_epochs=500).fit(X, t).score(X, t) < 1.0
    F = dbnlib.to_numpy(xor_features(X))
    np.testing.assert_array_equal(F[:, 2], X[:, 0] * X[:, 1])
    z = -0.5 + F @ np.array([1.0, 1.0, -2.0])  # the source's hint weights
    np.testing.assert_array_equal(z > 0, t == 1)
    assert dbnlib.LogisticRegression(learning_rate=2.0, n_epochs=2000).fit(F, t).score(F, t) == 1.0


def test_bad_input_gets_clear_errors(digits):
    X_train, _, y_train, _ = digits
    m = dbnlib.LogisticRegression(n_epochs=2)
    with pytest.raises(ValueError, match="2-D"):
        m.fit(X_train[0], y_train[:1])
    with pytest.raises(ValueError, match="has 10 labels but X has"):
        m.fit(X_train, y_train[:10])
    Xn = X_train.copy()
    Xn[3, 7] = np.nan
    with pytest.raises(ValueError, match="NaN.*row 3, column 7"):
        m.fit(Xn, y_train)
    with pytest.raises(ValueError, match="at least two classes"):
        m.fit(X_train, np.zeros(len(y_train)))
    with pytest.raises(RuntimeError, match="not fitted"):
        dbnlib.LogisticRegression().predict(X_train)
    m.fit(X_train, y_train)
    with pytest.raises(ValueError, match="63 columns, the model expects 64"):
        m.predict(X_train[:, :63])
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        dbnlib.LogisticRegression(learning_rate=1e308, n_epochs=3).fit(X_train * 1e6, y_train)


# --- one interface: fit twice, divergence, penalty apart, set_weights ---------


def test_warm_start_and_partial_fit_continue_full_batch_descent_exactly(digits):
    X_train, _, y_train, _ = digits
    kw = dict(learning_rate=0.5, batch_size=None, weight_decay=1e-3)
    eight = dbnlib.LogisticRegression(n_epochs=8, **kw).fit(X_train, y_train)
    warm = dbnlib.LogisticRegression(n_epochs=5, **kw).fit(X_train, y_train)
    warm.set_params(warm_start=True, n_epochs=3).fit(X_train, y_train)
    partial = dbnlib.LogisticRegression(**kw)
    for _ in range(8):
        partial.partial_fit(X_train, y_train)
    restarted = dbnlib.LogisticRegression(n_epochs=8, **kw).fit(X_train, y_train).fit(X_train, y_train)
    for model in (warm, partial, restarted):
        np.testing.assert_allclose(dbnlib.to_numpy(model.coef_), dbnlib.to_numpy(eight.coef_), rtol=1e-12)
        np.testing.assert_allclose(model.loss_curve_, eight.loss_curve_, rtol=1e-12)


def test_learning_rate_1e6_raises_and_restores_the_last_good_weights(digits):
    X_train, _, y_train, _ = digits
    model = dbnlib.LogisticRegression(learning_rate=1e6, n_epochs=20)
    with pytest.raises(TrainingDiverged, match=r"LogisticRegression.fit: training diverged at epoch (\d+)") as info:
        model.fit(X_train, y_train)
    bad_epoch = int(re.search(r"epoch (\d+)", str(info.value)).group(1))
    assert len(model.loss_curve_) == bad_epoch - 1
    if bad_epoch == 1:
        assert not dbnlib.to_numpy(model.coef_).any()  # back to the zero start
    else:
        good = dbnlib.LogisticRegression(learning_rate=1e6, n_epochs=bad_epoch - 1).fit(X_train, y_train)
        np.testing.assert_array_equal(dbnlib.to_numpy(model.coef_), dbnlib.to_numpy(good.coef_))


def test_the_penalty_curve_is_the_penalty_of_the_weights_after_each_epoch(digits):
    X_train, _, y_train, _ = digits
    model = dbnlib.LogisticRegression(n_epochs=1, weight_decay=0.05).fit(X_train, y_train)
    w = dbnlib.to_numpy(model.coef_)
    assert model.penalty_curve_ == [pytest.approx(0.5 * 0.05 * np.sum(w**2), rel=1e-12)]
    data, penalty = model.loss_terms(X_train, y_train)
    assert model.loss_curve_ == [pytest.approx(data, rel=1e-12)] and penalty == model.penalty_curve_[0]
    P = dbnlib.to_numpy(model.predict_proba(X_train))
    ce = -np.mean(np.log(P[np.arange(len(y_train)), np.searchsorted(model.classes_, y_train)]))
    assert data == pytest.approx(ce, rel=1e-10)
    assert model.loss(X_train, y_train) == pytest.approx(data + penalty, rel=1e-12)


def test_set_weights_puts_numpy_values_into_a_fitted_model(digits):
    X_train, X_test, y_train, _ = digits
    binary = (y_train >= 5).astype(int)
    model = dbnlib.LogisticRegression(n_epochs=2).fit(X_train, binary)
    w = np.random.default_rng(0).normal(size=(64, 1))
    model.set_weights(coef=w, intercept=[0.5])
    z = X_test @ w[:, 0] + 0.5
    np.testing.assert_allclose(dbnlib.to_numpy(model.predict_proba(X_test))[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    with pytest.raises(ValueError, match=r"LogisticRegression.set_weights: coef must have shape \(64, 1\)"):
        model.set_weights(coef=np.zeros((64, 2)))
    with pytest.raises(dbnlib.NotFittedError, match="LogisticRegression.set_weights"):
        dbnlib.LogisticRegression().set_weights(coef=w)
