"""Stable numerics: exact where the naive formula is fine, finite where it is not."""

import warnings

import numpy as np
import pytest
from scipy.special import expit, log_expit, log_softmax as sp_log_softmax, logsumexp as sp_lse, softmax as sp_softmax

from dbnlib import numerics as nx

EXTREME = np.array([-1000.0, -745.0, -30.0, -1e-9, 0.0, 1e-9, 30.0, 745.0, 1000.0])


@pytest.fixture(autouse=True)
def no_floating_point_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            yield


def test_sigmoid_matches_scipy_and_is_finite():
    z = np.concatenate([EXTREME, np.linspace(-40, 40, 801)])
    s = nx.sigmoid(z)
    assert np.all(np.isfinite(s)) and np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s, expit(z), rtol=0, atol=5e-16)  # absolute accuracy everywhere
    mid = (z > -20) & (z < 40)
    np.testing.assert_allclose(s[mid], expit(z[mid]), rtol=1e-7)  # relative accuracy where sigma > 2e-9
    # symmetry 1 - sigma(z) = sigma(-z)
    np.testing.assert_allclose(1 - nx.sigmoid(z[:9]), nx.sigmoid(-z[:9]), atol=1e-15)


def test_sigmoid_in_place_and_float32():
    z = np.array([-1000, 0, 1000], dtype=np.float32)
    out = nx.sigmoid(z, out=z)
    assert out is z and z.dtype == np.float32
    np.testing.assert_allclose(z, [0, 0.5, 1])


def test_log_sigmoid_and_softplus():
    np.testing.assert_allclose(nx.log_sigmoid(EXTREME), log_expit(EXTREME), rtol=1e-12)
    np.testing.assert_allclose(nx.softplus(EXTREME), np.logaddexp(0, EXTREME), rtol=1e-12)
    assert nx.softplus(np.array(1000.0)) == 1000.0


def test_softmax_log_softmax_logsumexp(rng):
    Z = np.vstack([rng.normal(size=(4, 6)) * 3, [-1000, 1000, 0, 999, -999, 5]])
    P = nx.softmax(Z, axis=1)
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-14)
    np.testing.assert_allclose(P, sp_softmax(Z, axis=1), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(nx.log_softmax(Z, axis=1), sp_log_softmax(Z, axis=1), rtol=1e-12)
    np.testing.assert_allclose(nx.logsumexp(Z, axis=1), sp_lse(Z, axis=1), rtol=1e-12)
    # shift invariance: softmax(z + c) = softmax(z)
    np.testing.assert_allclose(nx.softmax(Z + 500, axis=1), P, rtol=1e-12, atol=1e-300)


def test_binary_cross_entropy_matches_definition_and_stays_finite(rng):
    p, t = rng.uniform(0.05, 0.95, 50), rng.integers(0, 2, 50)
    ref = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert nx.binary_cross_entropy(p, t) == pytest.approx(ref, rel=1e-12)
    z = np.log(p / (1 - p))
    assert nx.binary_cross_entropy_with_logits(z, t) == pytest.approx(ref, rel=1e-10)
    # confident and wrong: large but finite
    assert np.isfinite(nx.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1, 0])))
    loss = nx.binary_cross_entropy_with_logits(np.array([-1000.0, 1000.0]), np.array([1, 0]))
    assert loss == pytest.approx(1000.0)


def test_categorical_cross_entropy(rng):
    Z = rng.normal(size=(20, 5))
    y = rng.integers(0, 5, 20)
    T = nx.one_hot(y, 5)
    ref = -np.mean(sp_log_softmax(Z, axis=1)[np.arange(20), y])
    assert nx.categorical_cross_entropy_with_logits(Z, T) == pytest.approx(ref, rel=1e-12)
    assert nx.categorical_cross_entropy(sp_softmax(Z, axis=1), T) == pytest.approx(ref, rel=1e-10)
    big = np.array([[1000.0, -1000.0, 0.0]])
    assert nx.categorical_cross_entropy_with_logits(big, nx.one_hot([1], 3)) == pytest.approx(2000.0)
    assert np.isfinite(nx.categorical_cross_entropy(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])))
