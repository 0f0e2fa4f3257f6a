"""The Gaussian-Bernoulli RBM: free energy and log Z against numerical
integration over v, conditionals against the joint density, samplers against
exact moments, the gradient against finite differences, and training."""


import numpy as np
import pytest
from scipy import integrate
from scipy.special import logsumexp

import dbnlib
from dbnlib._validation import TrainingDiverged
from dbnlib.gradcheck import numerical_gradient
from dbnlib.gbrbm import GaussianBernoulliRBM
from dbnlib.rbm import RBM, binary_states


def _states(n):
    return binary_states(n)


def _model(n_visible, n_hidden, seed=0, scale=0.8):
    rng = np.random.default_rng(seed)
    model = GaussianBernoulliRBM(n_visible, n_hidden, dtype="float64", random_state=seed)
    model.W = rng.normal(0, scale, (n_visible, n_hidden))
    model.a = rng.normal(0, scale, n_visible)
    model.b = rng.normal(0, scale, n_hidden)
    return model


def _minus_energy(model, v, h):
    """-E(v, h) for one v and one h, straight from the formula."""
    return -0.5 * np.sum((v - model.a) ** 2) + model.b @ h + v @ model.W @ h


def test_energy_and_free_energy_match_the_formulas():
    model = _model(3, 4)
    rng = np.random.default_rng(1)
    v, hs = rng.normal(size=(5, 3)), _states(4)
    h = hs[rng.integers(0, 16, 5)]
    np.testing.assert_allclose(model.energy(v, h), [-_minus_energy(model, v[n], h[n]) for n in range(5)], rtol=1e-12)
    direct = [-logsumexp([_minus_energy(model, row, hh) for hh in hs]) for row in v]  # F = -log sum_h exp(-E)
    np.testing.assert_allclose(model.free_energy(v), direct, rtol=1e-12)


def test_log_partition_matches_numerical_integration_in_one_and_two_dimensions():
    one = _model(1, 3)
    density = lambda x: np.exp(-one.free_energy(np.array([[x]]))[0])  # noqa: E731
    z1, _ = integrate.quad(density, -np.inf, np.inf, epsabs=0, epsrel=1e-12)
    assert one.log_partition() == pytest.approx(np.log(z1), abs=1e-9)
    two = _model(2, 3, seed=1)
    density2 = lambda y, x: np.exp(-two.free_energy(np.array([[x, y]]))[0])  # noqa: E731
    z2, _ = integrate.dblquad(density2, -15, 15, -15, 15, epsabs=0, epsrel=1e-10)
    assert two.log_partition() == pytest.approx(np.log(z2), abs=1e-7)
    # and the marginal integrates to one: p(v) = exp(-F(v) - log Z)
    assert z2 * np.exp(-two.log_partition()) == pytest.approx(1, abs=1e-7)


def test_conditionals_match_the_joint_density():
    model = _model(1, 3)
    hs = _states(3)
    v = np.array([[0.7]])
    weights = np.exp([_minus_energy(model, v[0], h) for h in hs])
    np.testing.assert_allclose(model.prob_h_given_v(v)[0], weights @ hs / weights.sum(), rtol=1e-12)
    for h in hs:  # E[v | h] = integral v exp(-E(v, h)) dv / integral exp(-E(v, h)) dv
        num, _ = integrate.quad(lambda x: x * np.exp(_minus_energy(model, np.array([x]), h)), -np.inf, np.inf)
        den, _ = integrate.quad(lambda x: np.exp(_minus_energy(model, np.array([x]), h)), -np.inf, np.inf)
        assert model.prob_v_given_h(h[None])[0, 0] == pytest.approx(num / den, abs=1e-9)


def test_sampled_visible_units_have_the_right_mean_and_unit_variance():
    model, n = _model(4, 3), 40000
    h = np.repeat(np.array([[1.0, 0.0, 1.0]]), n, axis=0)
    v = model.sample_v_given_h(h, rng=0)
    mean = model.a + model.W @ h[0]
    assert np.max(np.abs(v.mean(axis=0) - mean) / np.sqrt(1 / n)) < 4.5
    assert np.max(np.abs(v.var(axis=0) - 1) / np.sqrt(2 / n)) < 4.5


def test_gibbs_chain_reaches_the_model_mean():
    model = _model(2, 3, scale=0.6)
    hs = _states(3)
    p_h = np.exp(model._log_marginal_h(hs) - model.log_partition())
    exact_mean = p_h @ model.prob_v_given_h(hs)  # E[v] = sum_h p(h) (a + W h)
    v = model.gibbs(np.zeros((20000, 2)), steps=30, rng=1)
    chains_se = v.std(axis=0) / np.sqrt(len(v))
    assert np.max(np.abs(v.mean(axis=0) - exact_mean) / chains_se) < 4.5


def test_exact_gradient_matches_finite_differences():
    model = _model(3, 4, scale=0.5)
    X = np.random.default_rng(2).normal(size=(25, 3))
    analytic, eps = model.exact_gradient(X), 1e-5
    numeric = numerical_gradient(lambda: model.log_likelihood(X), [model.W, model.a, model.b], eps=eps)
    for grad, num in zip(analytic, numeric):
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


def test_pcd_estimate_approaches_the_exact_gradient():
    """One full-batch PCD-50 update with many particles: lr * the exact gradient (Gaussian visible samples)."""
    ref = _model(3, 4, scale=0.5)
    X = np.tile(np.random.default_rng(3).normal(size=(20, 3)), (2000, 1))
    model = GaussianBernoulliRBM(3, 4, learning_rate=1.0, momentum=0.0, weight_decay=0.0, batch_size=len(X), k=50,
                                 persistent=True, dtype="float64", random_state=0)  # fmt: skip
    model.partial_fit(X)  # sets a from the data; put the reference parameters back
    model.W, model.a, model.b = ref.W.copy(), ref.a.copy(), ref.b.copy()
    model.partial_fit(X)
    for estimate, exact in zip((model.W - ref.W, model.a - ref.a, model.b - ref.b), ref.exact_gradient(X)):
        assert np.abs(estimate - exact).max() < 0.02


def test_training_on_standardised_clusters_increases_the_log_likelihood(tmp_path):
    rng = np.random.default_rng(0)
    centres = np.array([[2.0, 0.0, -1.0], [-1.0, 1.5, 1.0]])
    X = centres[rng.integers(0, 2, 600)] + 0.4 * rng.normal(size=(600, 3))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    model = GaussianBernoulliRBM(3, 4, learning_rate=0.01, batch_size=20, n_epochs=40, dtype="float64",
                                 random_state=0).fit(X, X_val=X[:100])  # fmt: skip
    ll = model.history_["log_likelihood"]
    assert ll[-1] > ll[0] + 0.3
    assert model.history_["pseudo_log_likelihood"] == [None] * 40
    monitored = X[np.linspace(0, 599, 256).astype(int)]  # the 256 evenly spread rows the monitors use
    gap = model.free_energy(X[:100]).mean() - model.free_energy(monitored).mean()
    assert model.history_["free_energy_gap"][-1] == pytest.approx(gap, rel=1e-9)
    model.save(tmp_path / "gb.npz")
    back = GaussianBernoulliRBM.load(tmp_path / "gb.npz")
    assert np.array_equal(back.W, model.W) and back.learning_rate == 0.01
    with pytest.raises(ValueError, match=r"RBM.load: .* holds a GaussianBernoulliRBM, expected a RBM"):
        RBM.load(tmp_path / "gb.npz")
    assert type(dbnlib.load(tmp_path / "gb.npz")) is GaussianBernoulliRBM


def test_bad_inputs_and_divergence():
    model = GaussianBernoulliRBM(3, 2, n_epochs=2)
    X = np.random.default_rng(0).normal(size=(50, 3)) * 5  # real values outside [0, 1] are fine
    with pytest.raises(ValueError, match=r"GaussianBernoulliRBM.fit: X has 2 columns, the model has n_visible=3"):
        model.fit(X[:, :2])
    with pytest.raises(ValueError, match=r"GaussianBernoulliRBM.transform: X contains NaN"):
        model.transform(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match=r"at most 20 hidden units, the model has n_hidden=21"):
        GaussianBernoulliRBM(3, 21).log_partition()
    with pytest.raises(NotImplementedError, match="binary visible units"):
        model.pseudo_log_likelihood(X)
    with pytest.raises(TrainingDiverged, match=r"GaussianBernoulliRBM.fit: .*lower the learning rate"):
        GaussianBernoulliRBM(3, 2, learning_rate=5.0, momentum=0.9, n_epochs=20, random_state=0).fit(X * 100)
