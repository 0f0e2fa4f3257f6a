"""Stable numerics: exact where the naive formula is fine, finite where it is not.

The sigmoid, log-sigmoid and softplus are checked against an exact reference:
Python's ``decimal`` module at 50 significant digits (its ``exp`` is correctly
rounded), evaluated at the very float that the function received.
"""

import re
import warnings
from decimal import Decimal, localcontext

import numpy as np
import pytest
from scipy.special import log_softmax as sp_log_softmax, logsumexp as sp_lse, softmax as sp_softmax

from dbnlib import numerics as nx

EXTREME = np.array([-1000.0, -745.0, -30.0, -1e-9, 0.0, 1e-9, 30.0, 745.0, 1000.0])
TINY64 = np.finfo(np.float64).tiny  # the smallest normal float64, 2.2e-308
SUBNORMAL_STEP64 = np.nextafter(0.0, 1.0)  # the spacing of subnormal float64s, 4.9e-324


@pytest.fixture(autouse=True)
def no_floating_point_warnings():
    """Every floating-point event is an error here, underflow included, as is every warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            yield


# ---------------------------------------------------------------------- exact references
def _exact(fn, z):
    """fn(Decimal(z)) at 50 digits, for each float in z (an object array of Decimals)."""
    with localcontext() as ctx:
        ctx.prec = 50
        return np.array([fn(Decimal(float(x))) for x in np.ravel(z)], dtype=object)


def exact_sigmoid(z):
    return _exact(lambda d: 1 / (1 + (-d).exp()), z)


def _log1p(u):
    """log(1 + u) for a Decimal u >= 0; a short series for tiny u, where 1 + u would round to 1."""
    if u < Decimal("1e-12"):
        return u - u * u / 2 + u * u * u / 3  # the next term, u**4 / 4, is below 1e-48 relative
    return (1 + u).ln()


def exact_softplus(z):
    return _exact(lambda d: d + _log1p((-d).exp()) if d > 0 else _log1p(d.exp()), z)


def exact_log_sigmoid(z):
    return _exact(lambda d: -_log1p((-d).exp()) if d > 0 else d - _log1p(d.exp()), z)


def relative_errors(got, exact):
    """|got - exact| / |exact| per entry, with got's floats taken exactly."""
    with localcontext() as ctx:
        ctx.prec = 50
        return np.array([float(abs(Decimal(float(g)) - e) / abs(e)) for g, e in zip(np.ravel(got), exact)])


def absolute_errors(got, exact):
    with localcontext() as ctx:
        ctx.prec = 50
        return np.array([float(abs(Decimal(float(g)) - e)) for g, e in zip(np.ravel(got), exact)])


def tanh_sigmoid(z):
    """The form dbnlib used before 1.0: equal to sigma(z) in exact arithmetic, imprecise in the lower tail."""
    return 0.5 * (1 + np.tanh(0.5 * z))


Z64 = np.concatenate([np.linspace(-745.0, 40.0, 2001), [-745.13, -708.4, -708.39, -40.0, -37.0, -1e-300, -0.0, 5e-324]])
Z32 = np.concatenate([np.linspace(-87.0, 20.0, 1001), [-87.3, -40.0, -18.0, -17.0, -1e-30]]).astype(np.float32)


# ---------------------------------------------------------------------- sigmoid
def test_sigmoid_float64_relative_error_below_1e12_down_to_minus_745():
    s = nx.sigmoid(Z64)
    ref = exact_sigmoid(Z64)
    assert s.dtype == np.float64 and s.shape == Z64.shape
    normal = np.array([e >= TINY64 for e in ref])
    assert normal.sum() > 1900 and (~normal).sum() > 50  # both regimes are exercised
    worst = relative_errors(s[normal], ref[normal]).max()
    assert worst <= 1e-12, f"worst relative error {worst:.3g} where sigma(z) is a normal float64"
    # below z = -708.4, sigma(z) is subnormal: no float64 is within 1e-12 of it, so ask for the float next to it
    assert absolute_errors(s[~normal], ref[~normal]).max() <= SUBNORMAL_STEP64


def test_sigmoid_float32_relative_error_below_1e5_down_to_minus_87():
    s = nx.sigmoid(Z32)
    assert s.dtype == np.float32
    worst = relative_errors(s, exact_sigmoid(Z32)).max()
    assert worst <= 1e-5, f"worst relative error {worst:.3g} in float32"


def test_the_precision_checks_reject_the_tanh_form():
    """The two tests above fail for 0.5 (1 + tanh(z / 2)).

    It is 35 % off at z = -37 and 0 at z = -40 in float64, and wrong in float32 from about z = -17.
    """
    with np.errstate(under="ignore"):
        z = np.array([-37.0, -40.0])
        rel = relative_errors(tanh_sigmoid(z), exact_sigmoid(z))
        assert 0.2 < rel[0] < 0.5 and rel[1] == 1.0
        z32 = np.array([-18.0, -20.0], dtype=np.float32)
        rel32 = relative_errors(tanh_sigmoid(z32), exact_sigmoid(z32))
        assert rel32[0] > 0.5 and rel32[1] == 1.0  # 0 in float32 from z = -20 on
        assert relative_errors(nx.sigmoid(z32), exact_sigmoid(z32)).max() < 1e-6


def test_sigmoid_extremes_symmetry_and_no_warnings():
    s = nx.sigmoid(EXTREME)  # the fixture turns any overflow or underflow warning into an error
    np.testing.assert_array_equal(s[[0, -1]], [0.0, 1.0])
    assert np.all((s >= 0) & (s <= 1))
    z = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(nx.sigmoid(z) + nx.sigmoid(-z), 1.0, rtol=0, atol=4.5e-16)  # sigma(-z) = 1 - sigma(z)
    assert nx.sigmoid(np.array([0.0, -0.0]))[0] == 0.5 == nx.sigmoid(np.array([-0.0]))[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_in_place_equals_out_of_place(dtype, rng):
    z = (rng.normal(size=(7, 5)) * 50).astype(dtype)
    z[0, :3] = [-1000, 0, 1000]
    expected = nx.sigmoid(z)
    assert expected is not z and expected.dtype == dtype
    out = nx.sigmoid(z, out=z)
    assert out is z and z.dtype == dtype
    np.testing.assert_array_equal(z, expected)
    buf = np.empty_like(z)
    assert nx.sigmoid(expected * 0, out=buf) is buf and np.all(buf == 0.5)


def test_sigmoid_scalars_and_integers():
    assert float(nx.sigmoid(0)) == 0.5 and nx.sigmoid(0).dtype == np.float64
    assert nx.sigmoid(np.float32(-20.0)).dtype == np.float32
    np.testing.assert_array_equal(nx.sigmoid(np.array([-800, 0, 800])), [0.0, 0.5, 1.0])
    z0 = np.array(-3.0)
    assert nx.sigmoid(z0, out=z0) is z0 and float(z0) == pytest.approx(0.04742587317756678, rel=1e-15)


def test_sigmoid_inplace_is_as_precise_as_sigmoid_where_sigma_is_normal():
    """The models' four-pass form 1 / (1 + exp(-z)), against the same 50-digit reference."""
    z64 = Z64.copy()
    assert nx.sigmoid_inplace(z64) is z64  # overwritten, no warning (the fixture raises on any)
    ref = exact_sigmoid(Z64)
    normal = np.array([e >= TINY64 for e in ref])
    worst = relative_errors(z64[normal], ref[normal]).max()
    assert worst <= 1e-12, f"worst relative error {worst:.3g} where sigma(z) is a normal float64"
    assert np.all((z64[~normal] >= 0) & (z64[~normal] < TINY64))  # 0 or subnormal where sigma(z) is subnormal
    z32 = Z32.copy()
    nx.sigmoid_inplace(z32)
    worst32 = relative_errors(z32, exact_sigmoid(Z32)).max()
    assert z32.dtype == np.float32 and worst32 <= 1e-5, f"worst relative error {worst32:.3g} in float32"
    extreme = EXTREME.copy()
    np.testing.assert_array_equal(nx.sigmoid_inplace(extreme)[[0, 1, -2, -1]], [0.0, 0.0, 1.0, 1.0])
    z = np.linspace(-600, 40, 3001)
    np.testing.assert_allclose(nx.sigmoid_inplace(z.copy()), nx.sigmoid(z), rtol=2e-15, atol=0)


# ---------------------------------------------------------------------- log-sigmoid and softplus
def test_log_sigmoid_relative_error():
    z = np.concatenate([np.linspace(-1000, 700, 1701), [-1e-9, 0.0, 1e-9, 37.0, 40.0]])
    worst = relative_errors(nx.log_sigmoid(z), exact_log_sigmoid(z)).max()
    assert worst <= 1e-12, f"worst relative error of log_sigmoid {worst:.3g}"
    z32 = np.linspace(-100, 85, 371).astype(np.float32)
    l32 = nx.log_sigmoid(z32)
    assert l32.dtype == np.float32 and relative_errors(l32, exact_log_sigmoid(z32)).max() <= 1e-5
    # log(sigmoid(z)) rounds to 0 at z = 40 in float64, log_sigmoid keeps -exp(-40) = -4.2e-18
    assert np.log(nx.sigmoid(np.array(40.0))) == 0 and nx.log_sigmoid(40.0) == pytest.approx(-np.exp(-40.0), rel=1e-15)


def test_softplus_relative_error():
    z = np.concatenate([np.linspace(-700, 1000, 1701), [-1e-9, 0.0, 1e-9]])
    worst = relative_errors(nx.softplus(z), exact_softplus(z)).max()
    assert worst <= 1e-12, f"worst relative error of softplus {worst:.3g}"
    assert nx.softplus(np.array(1000.0)) == 1000.0
    with np.errstate(under="ignore"):  # assert_allclose's own rtol * |y| underflows for |y| ~ 1e-300
        np.testing.assert_allclose(nx.log_sigmoid(z), -nx.softplus(-z), rtol=1e-15, atol=0)


# ---------------------------------------------------------------------- softmax family
def test_softmax_log_softmax_logsumexp(rng):
    Z = np.vstack([rng.normal(size=(4, 6)) * 3, [-1000, 1000, 0, 999, -999, 5]])
    P = nx.softmax(Z, axis=1)
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-14)
    with np.errstate(under="ignore"):  # scipy's references underflow to 0 where dbnlib's functions do so silently
        sp = sp_softmax(Z, axis=1), sp_log_softmax(Z, axis=1), sp_lse(Z, axis=1)
    np.testing.assert_allclose(P, sp[0], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(nx.log_softmax(Z, axis=1), sp[1], rtol=1e-12)
    np.testing.assert_allclose(nx.logsumexp(Z, axis=1), sp[2], rtol=1e-12)
    # shift invariance: softmax(z + c) = softmax(z)
    np.testing.assert_allclose(nx.softmax(Z + 500, axis=1), P, rtol=1e-12, atol=1e-300)


# ---------------------------------------------------------------------- cross-entropies
def test_binary_cross_entropy_matches_definition_and_stays_finite(rng):
    p, t = rng.uniform(0.05, 0.95, 50), rng.integers(0, 2, 50)
    ref = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert nx.binary_cross_entropy(p, t) == pytest.approx(ref, rel=1e-12)
    z = np.log(p / (1 - p))
    assert nx.binary_cross_entropy_with_logits(z, t) == pytest.approx(ref, rel=1e-10)
    # the same numbers as columns (n, 1), the shape the logistic regression uses
    assert nx.binary_cross_entropy(p[:, None], t[:, None]) == pytest.approx(ref, rel=1e-12)
    # confident and wrong: large but finite
    assert np.isfinite(nx.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1, 0])))
    loss = nx.binary_cross_entropy_with_logits(np.array([-1000.0, 1000.0]), np.array([1, 0]))
    assert loss == pytest.approx(1000.0)


@pytest.mark.parametrize("fn", [nx.binary_cross_entropy, nx.binary_cross_entropy_with_logits])
def test_binary_cross_entropy_refuses_a_column_against_a_vector(fn):
    """(n, 1) against (n,) would broadcast to n x n: 1.082 instead of 0.105 for the issue's example."""
    p = np.array([0.9, 0.1, 0.8, 0.95])
    t = np.array([1, 0, 1, 1])
    x = p if fn is nx.binary_cross_entropy else np.log(p / (1 - p))
    assert fn(x, t) == pytest.approx(-np.mean(np.log([0.9, 0.9, 0.8, 0.95])), rel=1e-12)
    for a, b in ((x[:, None], t), (x, t[:, None]), (x[:3], t)):
        shapes = re.escape(f"got {'p' if fn is nx.binary_cross_entropy else 'z'} {a.shape} and t {b.shape}")
        with pytest.raises(ValueError, match=rf"same shape, {shapes}"):
            fn(a, b)


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


@pytest.mark.parametrize("fn", [nx.categorical_cross_entropy, nx.categorical_cross_entropy_with_logits])
def test_categorical_cross_entropy_refuses_labels_and_mismatched_shapes(fn):
    P = np.full((3, 3), 1 / 3)  # square, so that (3,) labels would broadcast without an error
    with pytest.raises(ValueError, match=r"same shape.*\(3, 3\).*\(3,\)"):
        fn(P, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"same shape.*\(3, 3\).*\(3, 2\)"):
        fn(P, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"2-D.*\(3,\)"):
        fn(P[0], np.array([1.0, 0.0, 0.0]))


# ---------------------------------------------------------------------- one_hot
def test_one_hot_rows_of_the_identity():
    np.testing.assert_array_equal(nx.one_hot([2, 0, 1, 2], 3), np.eye(3)[[2, 0, 1, 2]])
    np.testing.assert_array_equal(nx.one_hot(np.array([[1.0], [0.0]]), 2), [[0, 1], [1, 0]])  # whole floats are fine
    assert nx.one_hot([1], 2, dtype=np.float32).dtype == np.float32
    assert nx.one_hot(np.array([], dtype=int), 4).shape == (0, 4)


@pytest.mark.parametrize("labels, bad", [([0, -1], "-1"), ([0, 3], "3"), ([0, 2.5], "2.5"), ([1.0, np.nan], "nan")])
def test_one_hot_refuses_labels_outside_the_classes(labels, bad):
    with pytest.raises(ValueError, match=rf"0\.\.2.*got {bad}"):
        nx.one_hot(labels, 3)


def test_one_hot_checks_its_arguments():
    with pytest.raises(TypeError, match="n_classes must be an integer"):
        nx.one_hot([0, 1], 2.0)
    with pytest.raises(ValueError, match="n_classes must be >= 1"):
        nx.one_hot([0], 0)
    with pytest.raises(TypeError, match="integer class labels"):
        nx.one_hot(["a", "b"], 2)
