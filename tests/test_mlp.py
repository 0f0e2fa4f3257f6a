"""MLP and backpropagation: gradients against finite differences, training
against scikit-learn and closed forms, and the errors a learner will meet."""

import itertools
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from dbnlib._validation import TrainingDiverged
from dbnlib.backend import to_numpy
from dbnlib.gradcheck import check_gradients, numerical_gradient, relative_error
from dbnlib.mlp import MLP

N_OUT = {"sigmoid": 1, "softmax": 3, "identity": 2}


def _toy(output, n=8, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = {"sigmoid": rng.integers(0, 2, n), "softmax": np.arange(n) % 3,
         "identity": rng.normal(size=(n, 2))}[output]
    return X, y


# --- backpropagation against finite differences ---------------------------

@pytest.mark.parametrize("activation,output,hidden,l2", [
    (a, o, h, l2) for a, o in itertools.product(("sigmoid", "tanh", "relu"), ("sigmoid", "softmax", "identity"))
    for h in ((5,), (5, 4), (5, 4, 3)) for l2 in (0.0, 0.1)])
def test_backprop_matches_finite_differences(activation, output, hidden, l2):
    X, y = _toy(output)
    model = MLP((4, *hidden, N_OUT[output]), activation, output, init="glorot", weight_decay=l2, random_state=1)
    rng = np.random.default_rng(3)
    for _, b in model.params:  # nonzero biases keep ReLU pre-activations off the kink at 0
        b[...] = rng.normal(scale=0.5, size=b.shape)
    analytic = model.gradients(X, y)
    numeric = numerical_gradient(lambda: model.loss(X, y), [p for pair in model.params for p in pair])
    for l, (dW, db) in enumerate(analytic):  # layer by layer, so a small lower layer is not masked
        assert relative_error(dW, numeric[2 * l]) < 1e-6, f"dW of layer {l + 1}"
        assert relative_error(db, numeric[2 * l + 1]) < 1e-6, f"db of layer {l + 1}"
    assert check_gradients(model, X, y) < 1e-6


def test_gradcheck_catches_a_wrong_derivative(monkeypatch):
    X, y = _toy("softmax")
    model = MLP((4, 5, 3), "tanh", "softmax", init="glorot", random_state=1)
    monkeypatch.setattr(model, "_times_fprime", lambda g, a: g)  # forget f'(z) in the recursion
    assert check_gradients(model, X, y) > 1e-3


@pytest.mark.parametrize("output", ["sigmoid", "identity"])
def test_no_hidden_layer_gradient_is_the_closed_form(output):
    # One layer: dJ/dW = X^T (y_hat - t) / N, the gradient of logistic / linear regression.
    X, y = _toy(output)
    model = MLP((4, N_OUT[output]), output=output, init="glorot", random_state=0)
    W, b = model.params[0]
    Z = X @ W + b
    T = y.reshape(len(y), -1).astype(float)
    Y = 1 / (1 + np.exp(-Z)) if output == "sigmoid" else Z
    (dW, db), = model.gradients(X, y)
    np.testing.assert_allclose(dW, X.T @ (Y - T) / len(X), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(db, (Y - T).mean(axis=0), rtol=1e-12, atol=1e-15)


def test_layer_gradient_norms_are_frobenius_norms_of_dW():
    X, y = _toy("softmax")
    model = MLP((4, 6, 5, 3), "sigmoid", "softmax", random_state=0)
    norms = model.layer_gradient_norms(X, y)
    assert isinstance(norms, np.ndarray) and norms.shape == (3,)
    expected = [np.sqrt(np.sum(to_numpy(dW) ** 2)) for dW, _ in model.gradients(X, y)]
    np.testing.assert_allclose(norms, expected, rtol=1e-12)


# --- forward pass, parameters ---------------------------------------------

def test_forward_matches_the_formula_with_written_params():
    X, _ = _toy("softmax")
    model = MLP((4, 5, 3), "tanh", "softmax", random_state=0)
    rng = np.random.default_rng(4)
    (W1, b1), (W2, b2) = model.params
    for p in (W1, b1, W2, b2):  # params are live: writing into them changes the model
        p[...] = rng.normal(size=p.shape)
    acts = model.forward(X)
    assert [a.shape for a in acts] == [(8, 4), (8, 5), (8, 3)]
    Z = np.tanh(X @ W1 + b1) @ W2 + b2
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(acts[-1], P, rtol=1e-12)
    np.testing.assert_allclose(acts[-1].sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), P.argmax(axis=1))


def test_sigmoid_predict_proba_has_two_columns():
    X, _ = _toy("sigmoid")
    model = MLP((4, 5, 1), "relu", "sigmoid", init="glorot", random_state=0)
    P, p1 = model.predict_proba(X), model.forward(X)[-1][:, 0]
    assert P.shape == (8, 2)
    np.testing.assert_allclose(P[:, 1], p1)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), (p1 >= 0.5).astype(int))


def test_parameter_counts_of_the_books_network():
    model = MLP((1024, 500, 10), random_state=0)
    assert model.n_weights == 1024 * 500 + 500 * 10 == 517_000
    assert model.n_parameters == 517_510


def test_reset_redraws_the_same_weights_in_place():
    model = MLP((4, 5, 3), init="small", random_state=7)
    W = model.params[0][0]
    W0 = W.copy()
    assert 0.005 < W.std() < 0.02 and not model.params[0][1].any()
    model.fit(*_toy("softmax"))
    assert not np.array_equal(W, W0)
    model.reset()
    assert model.params[0][0] is W and np.array_equal(W, W0)
    r = np.sqrt(6 / (4 + 5))
    G = MLP((4, 5, 3), init="glorot", random_state=7).params[0][0]
    assert np.abs(G).max() <= r and np.abs(G).max() > 0.5 * r


# --- training -------------------------------------------------------------

@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, stratify=y, random_state=0)


@pytest.mark.parametrize("activation,sk_activation", [("sigmoid", "logistic"), ("relu", "relu")])
def test_digits_accuracy_matches_sklearn(digits, activation, sk_activation):
    Xtr, Xte, ytr, yte = digits
    settings = dict(learning_rate_init=0.1, momentum=0.9, batch_size=32, max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: we fix the epoch count on purpose
        sk = MLPClassifier((64,), activation=sk_activation, solver="sgd", nesterovs_momentum=False,
                           alpha=0.0, tol=0.0, n_iter_no_change=10**6, random_state=0, **settings)
        sk_acc = sk.fit(Xtr, ytr).score(Xte, yte)
    ours = MLP((64, 64, 10), activation, "softmax", init="glorot", learning_rate=0.1, momentum=0.9,
               batch_size=32, n_epochs=30, random_state=0).fit(Xtr, ytr)
    acc = ours.score(Xte, yte)
    assert acc >= sk_acc - 0.02, f"ours {acc:.4f}, sklearn {sk_acc:.4f}"
    assert len(ours.loss_curve_) == 30 and ours.loss_curve_[-1] < 0.2 * ours.loss_curve_[0]


def test_linear_output_without_hidden_layer_is_least_squares():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=5) + 3.0 + 0.1 * rng.normal(size=200)
    lr = LinearRegression().fit(X, y)
    # full-batch gradient descent on a convex quadratic converges to the least-squares solution
    model = MLP((5, 1), output="identity", learning_rate=0.5, momentum=0.5, batch_size=200,
                n_epochs=300, random_state=0).fit(X, y)
    W, b = model.params[0]
    np.testing.assert_allclose(W[:, 0], lr.coef_, atol=1e-8)
    np.testing.assert_allclose(b, [lr.intercept_], atol=1e-8)
    assert model.score(X, y) == pytest.approx(lr.score(X, y), abs=1e-12)
    # fit starts from the current params: at the optimum, more steps change nothing
    W_opt = W.copy()
    model.fit(X, y)
    np.testing.assert_allclose(W, W_opt, atol=1e-10)


def test_momentum_follows_the_velocity_rule():
    X, y = _toy("softmax", n=16)
    mu, eta = 0.9, 0.3
    ref = MLP((4, 6, 3), "sigmoid", init="glorot", random_state=0)
    p0 = [p.copy() for pair in ref.params for p in pair]
    g0 = [g for pair in ref.gradients(X, y) for g in pair]
    v1 = [-eta * g for g in g0]                        # v_1 = mu * 0 - eta * g(theta_0)
    for p, v in zip([p for pair in ref.params for p in pair], v1):
        p += v                                         # theta_1 = theta_0 + v_1
    g1 = [g for pair in ref.gradients(X, y) for g in pair]
    expected = [p + v + (mu * v - eta * g) for p, v, g in zip(p0, v1, g1)]  # theta_2
    model = MLP((4, 6, 3), "sigmoid", init="glorot", learning_rate=eta, momentum=mu,
                batch_size=16, n_epochs=2, random_state=0).fit(X, y)
    got = [p for pair in model.params for p in pair]
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


def test_momentum_changes_and_still_lowers_the_loss(digits):
    Xtr, _, ytr, _ = digits
    kw = dict(init="glorot", learning_rate=0.05, batch_size=64, n_epochs=4, random_state=0)
    plain = MLP((64, 32, 10), **kw).fit(Xtr, ytr).loss_curve_
    heavy = MLP((64, 32, 10), momentum=0.9, **kw).fit(Xtr, ytr).loss_curve_
    assert abs(plain[-1] - heavy[-1]) > 1e-3
    assert np.all(np.diff(heavy) < 0)
    assert heavy[-1] < plain[-1]  # momentum takes longer effective steps early on


def test_float32_stays_float32():
    X, y = _toy("softmax", n=40)
    model = MLP((4, 5, 3), "relu", dtype="float32", init="glorot", n_epochs=3, random_state=0).fit(X, y)
    assert all(W.dtype == np.float32 and b.dtype == np.float32 for W, b in model.params)
    assert model.forward(X)[-1].dtype == np.float32
    assert all(np.isfinite(model.loss_curve_))


# --- errors a learner will meet --------------------------------------------

def test_bad_inputs_name_the_problem():
    X, y = _toy("softmax")
    model = MLP((4, 5, 3), random_state=0)
    with pytest.raises(ValueError, match=r"MLP.fit: X has 3 columns, the model expects 4"):
        model.fit(X[:, :3], y)
    Xn = X.copy()
    Xn[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"MLP.predict.*NaN.*row 2, column 1"):
        model.predict(Xn)
    with pytest.raises(ValueError, match=r"MLP.fit: y contains labels \[3\] that are not among the classes"):
        model.fit(X, np.where(y == 2, 3, y))
    binary = MLP((4, 1), output="sigmoid")
    with pytest.raises(ValueError, match=r"labels \[2\] that are not among the classes \[0, 1\]"):
        binary.fit(X, y)
    with pytest.raises(ValueError, match=r"y must have shape \(8, 2\)"):
        MLP((4, 2), output="identity").fit(X, np.zeros(8))
    with pytest.raises(ValueError, match="no probabilities; use predict"):
        MLP((4, 2), output="identity").predict_proba(X)


@pytest.mark.parametrize("kwargs,words", [
    (dict(activation="softplus"), r"activation must be one of \('sigmoid', 'tanh', 'relu'\)"),
    (dict(output="linear"), r"output must be one of \('sigmoid', 'softmax', 'identity'\)"),
    (dict(init="xavier"), r"init must be one of \('small', 'glorot', 'he'\)"),
    (dict(dtype="float16"), r"dtype must be one of"),
    (dict(learning_rate=0.0), r"learning_rate must be a finite number > 0, got 0.0"),
    (dict(learning_rate=float("nan")), r"learning_rate must be a finite number > 0, got nan"),
    (dict(momentum=1.0), r"momentum must be a finite number >= 0 and < 1, got 1.0"),
    (dict(weight_decay=-1e-3), r"weight_decay must be a finite number >= 0"),
    (dict(batch_size=0), r"batch_size must be an integer >= 1, got 0"),
])
def test_bad_settings_list_the_valid_ones(kwargs, words):
    with pytest.raises(ValueError, match=words):
        MLP((4, 5, 3), **kwargs)


def test_diverging_run_raises_and_restores_params():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = 1e3 * rng.normal(size=64)
    model = MLP((3, 8, 1), "relu", "identity", init="glorot", learning_rate=1e6, n_epochs=5, random_state=0)
    before = [p.copy() for pair in model.params for p in pair]
    with pytest.raises(TrainingDiverged, match=r"MLP.fit: training diverged at epoch \d.*lower the learning rate"):
        model.fit(X, y)
    for p, q in zip([p for pair in model.params for p in pair], before):
        np.testing.assert_array_equal(p, q)
