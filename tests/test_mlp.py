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

@pytest.mark.parametrize("activation,output,hidden,wd", [
    (a, o, h, wd) for a, o in itertools.product(("sigmoid", "tanh", "relu"), ("sigmoid", "softmax", "identity"))
    for h in ((5,), (5, 4), (5, 4, 3)) for wd in (0.0, 0.1)])
def test_backprop_matches_finite_differences(activation, output, hidden, wd):
    X, y = _toy(output)
    model = MLP((4, *hidden, N_OUT[output]), activation, output, init="glorot", weight_decay=wd, random_state=1)
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
    plain = MLP((64, 32, 10), momentum=0.0, **kw).fit(Xtr, ytr).loss_curve_
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


# --- several sigmoid outputs (multi-label, autoencoders) -------------------

@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("targets", ["labels", "probabilities"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_several_sigmoid_outputs_match_finite_differences(activation, targets, weight_decay):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(9, 5))
    Y = (rng.random((9, 3)) < 0.5) * 1.0 if targets == "labels" else rng.random((9, 3))
    model = MLP((5, 4, 3), activation, "sigmoid", init="glorot", weight_decay=weight_decay, random_state=2)
    for _, b in model.params:
        b[...] = rng.normal(scale=0.5, size=b.shape)
    numeric = numerical_gradient(lambda: model.loss(X, Y), [p for pair in model.params for p in pair])
    for l, (dW, db) in enumerate(model.gradients(X, Y)):
        assert relative_error(dW, numeric[2 * l]) < 1e-6, f"dW of layer {l + 1}"
        assert relative_error(db, numeric[2 * l + 1]) < 1e-6, f"db of layer {l + 1}"
    # the data term is the binary cross-entropy summed over units, averaged over rows
    P = to_numpy(model.forward(X)[-1])
    bce = -np.mean(np.sum(Y * np.log(P) + (1 - Y) * np.log1p(-P), axis=1))
    assert model.loss_terms(X, Y)[0] == pytest.approx(bce, rel=1e-10)


def test_an_autoencoder_learns_to_copy_its_input_through_a_bottleneck():
    rng = np.random.default_rng(0)
    protos = (rng.random((4, 12)) < 0.5) * 1.0
    X = protos[rng.integers(0, 4, 400)]
    model = MLP((12, 6, 12), "sigmoid", "sigmoid", init="glorot", learning_rate=2.0, momentum=0.9, n_epochs=60,
                batch_size=20, random_state=0).fit(X, X)  # fmt: skip
    assert model.predict(X).shape == (400, 12) and set(np.unique(to_numpy(model.predict(X)))) <= {0, 1}
    assert model.predict_proba(X).shape == (400, 12)
    exact = np.mean(np.all(to_numpy(model.predict(X)) == X, axis=1))
    assert model.score(X, X) == pytest.approx(exact) and exact == 1.0
    assert model.loss_curve_[-1] < 0.1 * model.loss_curve_[0]


def test_several_sigmoid_outputs_check_their_targets():
    X = np.zeros((4, 3))
    model = MLP((3, 2), output="sigmoid")
    with pytest.raises(ValueError, match=r"MLP.fit: y must have shape \(4, 2\) for output='sigmoid' with 2"):
        model.fit(X, np.zeros(4))
    with pytest.raises(ValueError, match=r"0/1 labels or probabilities in \[0, 1\].*got values in \[2, 2\]"):
        model.fit(X, np.full((4, 2), 2.0))
    # one unit still takes a 1-D 0/1 label vector
    assert MLP((3, 1), output="sigmoid", n_epochs=1).fit(X, np.array([0, 1, 0, 1])).predict(X).shape == (4,)


# --- one interface: fit twice, divergence, penalty apart, set_weights, He ---

def test_fit_restarts_while_warm_start_and_partial_fit_continue():
    X, y = _toy("softmax", n=40)
    kw = dict(n_epochs=3, batch_size=40, learning_rate=0.5, momentum=0.0, random_state=5)  # full batch, no velocity: deterministic steps
    once = MLP((4, 5, 3), **kw).fit(X, y)
    twice = MLP((4, 5, 3), **kw).fit(X, y).fit(X, y)
    for (W1, b1), (W2, b2) in zip(once.params, twice.params):
        np.testing.assert_array_equal(W1, W2)
    six = MLP((4, 5, 3), **dict(kw, n_epochs=6)).fit(X, y)
    warm = MLP((4, 5, 3), **kw).fit(X, y).set_params(warm_start=True).fit(X, y)
    partial = MLP((4, 5, 3), **kw).fit(X, y)
    for _ in range(3):
        partial.partial_fit(X, y)
    for (W6, _), (Ww, _), (Wp, _) in zip(six.params, warm.params, partial.params):
        np.testing.assert_allclose(Ww, W6, rtol=1e-12)
        np.testing.assert_allclose(Wp, W6, rtol=1e-12)
    assert warm.history_["epoch"] == list(range(1, 7)) and len(warm.loss_curve_) == 6


@pytest.fixture(scope="module")
def small_digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


def test_learning_rate_1e6_raises_and_restores_the_last_good_parameters(small_digits):
    X, y = small_digits
    model = MLP((64, 20, 10), learning_rate=1e6, n_epochs=5, random_state=0)
    start = [np.array(p) for pair in MLP((64, 20, 10), random_state=0).params for p in pair]
    with pytest.raises(TrainingDiverged, match=r"MLP.fit: training diverged at epoch 1 \(loss .*, started at "):
        model.fit(X, y)
    for p, q in zip([p for pair in model.params for p in pair], start):  # epoch 1 failed: back to the start
        np.testing.assert_array_equal(p, q)


def test_an_exploding_loss_in_a_later_epoch_restores_the_epoch_before(small_digits, monkeypatch):
    X, y = small_digits
    model = MLP((64, 20, 10), learning_rate=0.1, n_epochs=4, random_state=0)
    step, calls = MLP._step, [0]
    n_batches = -(-len(X) // model.batch_size)

    def exploding_step(self, grads, velocity):  # a huge step in the first minibatch of epoch 3
        calls[0] += 1
        if calls[0] == 2 * n_batches + 1:
            for dW, _ in grads:
                dW *= 1e5
        return step(self, grads, velocity)

    two = [np.array(p) for pair in MLP((64, 20, 10), learning_rate=0.1, n_epochs=2, random_state=0).fit(X, y).params
           for p in pair]  # fmt: skip
    monkeypatch.setattr(MLP, "_step", exploding_step)
    with pytest.raises(TrainingDiverged, match="epoch 3"):
        model.fit(X, y)
    for p, q in zip([p for pair in model.params for p in pair], two):
        np.testing.assert_array_equal(p, q)
    assert len(model.loss_curve_) == 2


def test_the_penalty_is_reported_apart_from_the_data_term():
    X, y = _toy("softmax", n=30)
    model = MLP((4, 5, 3), weight_decay=0.3, batch_size=30, n_epochs=1, random_state=1)
    data, penalty = model.loss_terms(X, y)
    W_sq = sum(float(np.sum(W * W)) for W, _ in model.params)
    assert penalty == pytest.approx(0.5 * 0.3 * W_sq, rel=1e-12)
    assert model.loss(X, y) == pytest.approx(data + penalty, rel=1e-12)
    model.set_params(warm_start=True).fit(X, y)  # one full-batch epoch: its curves hold the starting values
    assert model.loss_curve_ == [pytest.approx(data, rel=1e-12)]
    assert model.penalty_curve_ == [pytest.approx(penalty, rel=1e-12)]


def test_set_weights_copies_into_the_live_arrays_and_checks_shapes():
    model = MLP((3, 4, 2), random_state=0)
    W0 = model.params[0][0]
    model.set_weights(0, W=np.arange(12.0).reshape(3, 4), b=np.ones(4, dtype=np.float32))
    assert model.params[0][0] is W0 and model.params[0][1].dtype == np.float64
    np.testing.assert_array_equal(W0, np.arange(12.0).reshape(3, 4))
    model.set_weights(-1, b=[1.0, 2.0])
    np.testing.assert_array_equal(model.params[1][1], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"MLP.set_weights: W must have shape \(3, 4\), got \(4, 3\)"):
        model.set_weights(0, W=np.zeros((4, 3)))
    with pytest.raises(TypeError, match=r"MLP.set_weights: b must hold real numbers"):
        model.set_weights(1, b=np.array(["a", "b"]))
    with pytest.raises(ValueError, match=r"layer must be in \[-2, 1\], got 2"):
        model.set_weights(2, W=np.zeros((4, 2)))


def test_he_initialisation_has_variance_two_over_fan_in():
    W = MLP((400, 300), "relu", init="he", random_state=0).params[0][0]
    assert W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.01)
    assert abs(W.mean()) < 3 * np.sqrt(2 / 400) / np.sqrt(W.size)


# --- dropout (Hinton et al. 2012), used by chapter 7's fine-tuning recipe ---

@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_dropout_backprop_matches_finite_differences_of_the_thinned_net(activation):
    # With the masks held fixed, the thinned network is an ordinary function of the parameters.
    X, y = _toy("softmax")
    model = MLP((4, 6, 5, 3), activation, "softmax", dropout=0.5, input_dropout=0.25, weight_decay=0.1,
                random_state=1)
    rng = np.random.default_rng(3)
    for _, b in model.params:
        b[...] = rng.normal(scale=0.5, size=b.shape)
    masks = model._draw_masks(len(X))
    T = model._targets(y, "test", len(X))
    assert all(m is not None and set(np.unique(m)) <= {0.0, 1 / (1 - p)}
               for m, p in zip(masks, (0.25, 0.5, 0.5)))  # fmt: skip
    assert all((m == 0).any() for m in masks), "every layer drops something (else the test checks less)"

    def thinned_loss():
        hs, Z = model._forward(X, masks)
        return float(model._data_term(Z, T) + model._penalty())

    grads = [(np.empty_like(W), np.empty_like(b)) for W, b in model.params]
    hs, Z = model._forward(X, masks)
    analytic = model._backward(hs, Z, T, grads, masks)
    numeric = numerical_gradient(thinned_loss, [p for pair in model.params for p in pair])
    for l, (dW, db) in enumerate(analytic):
        assert relative_error(dW, numeric[2 * l]) < 1e-6, f"dW of layer {l + 1}"
        assert relative_error(db, numeric[2 * l + 1]) < 1e-6, f"db of layer {l + 1}"
    # and the masks matter: the full network's gradient is a different one
    full = model.gradients(X, y)
    assert relative_error(full[0][0], analytic[0][0]) > 1e-2


def test_dropout_masks_keep_each_unit_with_probability_one_minus_p():
    model = MLP((300, 200, 100, 3), dropout=0.5, input_dropout=0.2, random_state=0)
    masks = model._draw_masks(500)
    for m, p in zip(masks, (0.2, 0.5, 0.5)):
        kept = (m > 0).mean()
        assert abs(kept - (1 - p)) < 4 * np.sqrt(p * (1 - p) / m.size), (kept, p)
        np.testing.assert_allclose(np.unique(m), [0.0, 1 / (1 - p)])  # so E[m] = 1: the expected input is kept
    only_hidden = MLP((300, 200, 3), dropout=0.5, random_state=0)._draw_masks(10)
    assert only_hidden[0] is None and only_hidden[1].shape == (10, 200)


def test_a_dropout_fit_step_is_sgd_on_the_thinned_net():
    # One full-batch epoch without momentum: theta <- theta - eta * grad of the net thinned by the masks
    # that fit draws (its generator gives the permutation, then the masks).
    X, y = _toy("softmax", n=12)
    kw = dict(dropout=0.5, input_dropout=0.2, learning_rate=0.3, momentum=0.0, batch_size=12, n_epochs=1,
              weight_decay=0.01, random_state=4)  # fmt: skip
    ref = MLP((4, 6, 5, 3), "sigmoid", **kw)
    order = ref._rng.permutation(len(X))
    masks = ref._draw_masks(len(X))
    T = ref._targets(y[order], "test", len(X))
    grads = [(np.empty_like(W), np.empty_like(b)) for W, b in ref.params]
    hs, Z = ref._forward(X[order], masks)
    ref._backward(hs, Z, T, grads, masks)
    expected = [p - 0.3 * g for (W, b), (dW, db) in zip(ref.params, grads) for p, g in ((W, dW), (b, db))]
    model = MLP((4, 6, 5, 3), "sigmoid", **kw).fit(X, y)
    for e, got in zip(expected, [p for pair in model.params for p in pair]):
        np.testing.assert_allclose(got, e, rtol=1e-12, atol=1e-14)


def test_dropout_is_off_at_prediction_and_off_by_default(digits):
    Xtr, Xte, ytr, yte = digits
    kw = dict(learning_rate=0.1, momentum=0.9, batch_size=32, n_epochs=15, random_state=0)
    net = MLP((64, 100, 10), dropout=0.5, input_dropout=0.2, **kw).fit(Xtr, ytr)
    p1, p2 = net.predict_proba(Xte), net.predict_proba(Xte)
    np.testing.assert_array_equal(p1, p2)  # no masks outside training
    assert net.score(Xte, yte) > 0.93
    # dropout=0 draws no masks, so training is exactly the one without the argument
    plain = MLP((64, 100, 10), **kw).fit(Xtr, ytr)
    zero = MLP((64, 100, 10), dropout=0.0, input_dropout=0.0, **kw).fit(Xtr, ytr)
    for (W1, _), (W2, _) in zip(plain.params, zero.params):
        np.testing.assert_array_equal(W1, W2)
    # the thinned nets fit the training data worse than the full net does
    assert net.loss_curve_[-1] > net.loss_terms(Xtr, ytr)[0]


@pytest.mark.parametrize("kwargs,err,words", [
    (dict(dropout=1.0), ValueError, r"MLP: dropout must be a finite number >= 0 and < 1, got 1.0"),
    (dict(dropout=-0.1), ValueError, r"MLP: dropout must be a finite number >= 0 and < 1, got -0.1"),
    (dict(input_dropout=1.5), ValueError, r"MLP: input_dropout must be a finite number >= 0 and < 1, got 1.5"),
    (dict(dropout="0.5"), TypeError, r"MLP: dropout must be a real number, got '0.5'"),
])
def test_bad_dropout_rates_name_the_argument(kwargs, err, words):
    with pytest.raises(err, match=words):
        MLP((4, 5, 3), **kwargs)


def test_dropout_rates_survive_save_and_load(tmp_path):
    net = MLP((4, 5, 3), dropout=0.3, input_dropout=0.1, random_state=0)
    net.save(tmp_path / "net.npz")
    back = MLP.load(tmp_path / "net.npz")
    assert (back.dropout, back.input_dropout) == (0.3, 0.1)
