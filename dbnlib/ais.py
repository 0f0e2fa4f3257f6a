"""Annealed importance sampling (AIS) and reverse AIS (RAISE) for binary RBMs.

Chapter 6 needs log Z to report a test log-likelihood, and log Z is a sum over
2^min(n_visible, n_hidden) states: exact for small models (``RBM.log_partition``
with ``method="exact"``), hopeless at 784 x 500. AIS (Neal 2001), in the form of
Salakhutdinov & Murray (2008), "On the quantitative analysis of deep belief
networks", estimates it by walking from a base-rate model A, whose log Z is
exact, to the target RBM B through tempered models p_beta:

    log p*_beta(v) = (1 - beta) a_A.v + beta a.v
                     + sum_j softplus(beta (b_j + v.W_j)),

where the hidden units are summed out analytically. Model A has zero weights
and visible biases a_A from the data's marginals, so
log Z_A = sum_i softplus(a_A,i) + n_hidden log 2 (the formula above at beta=0).

AIS's weights are unbiased for Z_B / Z_A, so its log Z is too small on average
(Jensen) and rarely much too large (Markov): a log-likelihood computed with it
errs upwards. RAISE (Burda, Grosse & Salakhutdinov 2015, "Accurate and
conservative estimates of MRF log-likelihood using reverse annealing") runs the
same chain backwards from each test digit and gives a log-likelihood that errs
downwards, so the two together bracket the true value. Both advance all their
runs together as the rows of one batch, and both cover binary visible units
only (not Gaussian ones).
"""

import math
from collections import namedtuple

import numpy as np

from .backend import RNG, get_backend, to_numpy, xp
from .numerics import sigmoid, softplus

__all__ = ["AISResult", "RAISEResult", "ais_log_partition", "ais_schedule", "base_rate_bias",
           "effective_sample_size", "raise_log_likelihood"]  # fmt: skip

AISResult = namedtuple("AISResult", "log_z log_z_std log_weights log_z_base ess")
AISResult.__doc__ = """What ``ais_log_partition`` found.

log_z : float
    The AIS estimate of log Z, log Z_A + log mean_r exp(log w_r).
log_z_std : float
    Its spread by the delta method: std(w) / (sqrt(n_runs) mean(w)), the
    standard deviation of log(mean w) for many runs. Small when the runs agree,
    but AIS can miss modes and then every run agrees on too small a value.
log_weights : ndarray of shape (n_runs,)
    log w_r of each run, so log_z = log_z_base + logmeanexp(log_weights).
log_z_base : float
    The exact log Z of the base-rate model A.
ess : float
    The effective sample size of the weights, (sum w)^2 / sum w^2, between 1
    (one run carries the estimate, ``log_z_std`` means little) and n_runs.
"""

RAISEResult = namedtuple("RAISEResult", "log_likelihood log_p log_weights ess")
RAISEResult.__doc__ = """What ``raise_log_likelihood`` found.

log_likelihood : float
    Mean over the rows of X of log p_hat(v), in nats: on average below the
    log-likelihood of the annealing model, which tends to the RBM's as the
    number of temperatures grows.
log_p : ndarray of shape (n_samples,)
    log p_hat(v) of each row, the log of the mean of its runs' weights.
log_weights : ndarray of shape (n_runs, n_samples)
    log p_hat of each reverse run on each row.
ess : ndarray of shape (n_samples,)
    The effective sample size of each row's weights (1 to n_runs).
"""

_BASE_RATE_EPS = 1e-3  # marginals are clipped to [eps, 1 - eps] before the logit


def base_rate_bias(marginals, eps=_BASE_RATE_EPS):
    """Visible biases log(p / (1 - p)) of a model whose units are on with probability p.

    Parameters
    ----------
    marginals : array of shape (n_visible,)
        p_i, e.g. the column means of the training data; clipped to [eps, 1 - eps]
        so that a pixel that is never on gets a large negative bias, not -inf.

    Returns
    -------
    array of shape (n_visible,), float64
    """
    m = xp()
    p = m.clip(m.asarray(marginals, dtype=m.float64), eps, 1 - eps)
    return m.log(p) - m.log1p(-p)


def ais_schedule(n_betas):
    """The inverse temperatures 0 = beta_0 < ... < beta_K = 1 of Salakhutdinov & Murray.

    Their schedule spends 500 steps on [0, 0.5], 4,000 on [0.5, 0.9] and 10,000
    on [0.9, 1], where p_beta changes fastest; this keeps those proportions for
    ``n_betas`` points in all.

    Returns
    -------
    ndarray of shape (n_betas,), float64
    """
    if isinstance(n_betas, bool) or not isinstance(n_betas, (int, np.integer)):
        raise TypeError(f"ais_schedule: n_betas must be an int, got {type(n_betas).__name__}")
    if n_betas < 3:
        raise ValueError(f"ais_schedule: n_betas must be at least 3, got {n_betas}")
    n1 = max(1, round(n_betas * 500 / 14500))
    n2 = max(1, round(n_betas * 4000 / 14500))
    n3 = max(2, n_betas - n1 - n2)  # the last stretch must hold both 0.9 and beta_K = 1
    n2 = n_betas - n1 - n3
    return np.concatenate(
        [np.linspace(0, 0.5, n1, endpoint=False), np.linspace(0.5, 0.9, n2, endpoint=False), np.linspace(0.9, 1, n3)]
    )


def effective_sample_size(log_weights, axis=None):
    """(sum_r w_r)^2 / sum_r w_r^2 of importance weights given by their logs.

    Kong (1992)'s effective sample size: n when all weights are equal, 1 when
    one weight dominates. Computed from log w - max log w, so weights of
    exp(1000) are fine.

    Parameters
    ----------
    log_weights : array-like
    axis : int or None
        The axis of the runs; None takes every entry as one run.

    Returns
    -------
    float, or ndarray with ``axis`` removed
    """
    lw = np.asarray(to_numpy(log_weights), dtype=np.float64)
    if lw.size == 0:
        raise ValueError("effective_sample_size: log_weights is empty")
    w = np.exp(lw - np.max(lw, axis=axis, keepdims=True))
    ess = np.sum(w, axis=axis) ** 2 / np.sum(w * w, axis=axis)
    return float(ess) if np.ndim(ess) == 0 else ess


def _schedule(n_betas, where):
    """An int becomes ``ais_schedule(n_betas)``; an array is checked to rise strictly from 0 to 1."""
    if np.isscalar(n_betas):
        return ais_schedule(int(n_betas))
    betas = np.asarray(to_numpy(n_betas), dtype=np.float64)
    if betas.ndim != 1 or len(betas) < 2 or betas[0] != 0 or betas[-1] != 1 or np.any(np.diff(betas) <= 0):
        raise ValueError(f"{where}: n_betas as an array must rise strictly from 0 to 1, got {betas!r}")
    return betas


def _uniforms(rng):
    """One draw function for the whole estimate: on CuPy a single device generator seeded
    once from ``rng`` (``RNG.random`` would seed a new one at every temperature)."""
    if get_backend() == "cupy":
        gen = rng._device_gen()
        return lambda out: gen.random(out.shape, dtype=out.dtype, out=out)
    return lambda out: rng.random(out.shape, dtype=out.dtype, out=out)


class _Tempered:
    """The tempered family p*_beta between the base A (beta = 0) and the RBM B (beta = 1)."""

    def __init__(self, W, a, b, a_base):
        m = xp()
        self.W, self.a, self.b, self.a_base = (m.asarray(x, dtype=m.float64) for x in (W, a, b, a_base))
        if self.W.ndim != 2 or self.a.shape != (self.W.shape[0],) or self.b.shape != (self.W.shape[1],) \
                or self.a_base.shape != self.a.shape:  # fmt: skip
            raise ValueError(f"AIS: expected W (n_visible, n_hidden), a (n_visible,), b (n_hidden,) and a_base "
                             f"(n_visible,), got {self.W.shape}, {self.a.shape}, {self.b.shape}, "
                             f"{self.a_base.shape}")  # fmt: skip
        self.n_visible, self.n_hidden = self.W.shape
        self.da = self.a - self.a_base
        self.log_z_base = float(softplus(self.a_base).sum()) + self.n_hidden * math.log(2.0)

    def log_ratio(self, v, z, beta_hi, beta_lo):
        """log p*_hi(v) - log p*_lo(v) for each row, given z = v W + b."""
        return (beta_hi - beta_lo) * (v @ self.da) + (softplus(beta_hi * z) - softplus(beta_lo * z)).sum(axis=1)

    def gibbs(self, v, z, beta, u, h, p_v):
        """One sweep v -> h -> v that leaves p_beta invariant, in place on v; z = v W + b is overwritten."""
        m = xp()
        z *= beta
        m.less(u[:, : self.n_hidden], sigmoid(z, out=z), out=h)
        m.matmul(h, self.W.T, out=p_v)  # p(v | h) at beta: sigmoid((1 - beta) a_A + beta (a + W h))
        p_v *= beta
        p_v += (1 - beta) * self.a_base + beta * self.a
        m.less(u[:, self.n_hidden :], sigmoid(p_v, out=p_v), out=v)


def ais_log_partition(W, a, b, a_base, n_betas=10000, n_runs=100, random_state=None):
    """Estimate log Z of the binary RBM (W, a, b) by annealed importance sampling.

    With inverse temperatures beta_0 = 0 < ... < beta_K = 1, each run draws v_1
    from the base model A exactly; then for k = 1..K it multiplies its weight
    by p*_{beta_k}(v_k) / p*_{beta_{k-1}}(v_k) and, for k < K, draws v_{k+1} by
    one Gibbs sweep that leaves p_{beta_k} invariant (Neal 2001). The mean
    weight is unbiased for Z_B / Z_A (Salakhutdinov & Murray 2008).

    Parameters
    ----------
    W : array of shape (n_visible, n_hidden)
    a : array of shape (n_visible,)
    b : array of shape (n_hidden,)
        The target model B.
    a_base : array of shape (n_visible,)
        Visible biases of the base-rate model A (see ``base_rate_bias``).
    n_betas : int or array of shape (n_betas,)
        An int asks for ``ais_schedule(n_betas)``; an array must rise from 0 to 1.
    n_runs : int
        Independent AIS runs, advanced together as one batch.
    random_state : int, RNG or None
        One generator serves the whole estimate.

    Returns
    -------
    AISResult
        ``log_z`` is on average below the true log Z, so a log-likelihood
        computed from it errs upwards; ``ess`` says how many runs carry it.
    """
    betas = _schedule(n_betas, "ais_log_partition")
    if int(n_runs) < 1:
        raise ValueError(f"ais_log_partition: n_runs must be at least 1, got {n_runs}")
    m, n_runs = xp(), int(n_runs)
    model = _Tempered(W, a, b, a_base)
    rng = random_state if isinstance(random_state, RNG) else RNG(random_state)
    draw = _uniforms(rng)

    u = m.empty((n_runs, model.n_hidden + model.n_visible))  # the uniforms of one Gibbs sweep, drawn at once
    v = m.less(draw(u)[:, : model.n_visible], sigmoid(model.a_base)).astype(m.float64)  # exact samples of A
    h, p_v = m.empty((n_runs, model.n_hidden)), m.empty((n_runs, model.n_visible))
    log_w = m.zeros(n_runs)
    for k in range(1, len(betas)):
        z = v @ model.W + model.b  # hidden input, shared by both temperatures
        log_w += model.log_ratio(v, z, float(betas[k]), float(betas[k - 1]))  # v was drawn at k - 1
        if k < len(betas) - 1:
            model.gibbs(v, z, float(betas[k]), draw(u), h, p_v)

    log_w = to_numpy(log_w)
    shifted = np.exp(log_w - log_w.max())
    log_mean_w = float(np.log(shifted.mean()) + log_w.max())
    std = float(shifted.std(ddof=1) / (math.sqrt(n_runs) * shifted.mean())) if n_runs > 1 else math.inf
    return AISResult(model.log_z_base + log_mean_w, std, log_w, model.log_z_base, effective_sample_size(log_w))


def raise_log_likelihood(W, a, b, a_base, X, n_betas=10000, n_runs=1, random_state=None):
    """Conservative log-likelihood of the rows of X by reverse AIS (RAISE).

    Burda, Grosse & Salakhutdinov (2015): the forward AIS chain, v_0 from the
    base A and one Gibbs sweep T_k at each beta_k for k = 1..K (T_K at the RBM
    itself), is a generative model of its own, the annealing model p_ann. Run
    backwards from a test digit v_K = v, drawing v_{k-1} from T_k(. | v_k),
    the weight

        p_hat(v) = p*_B(v) / Z_A * prod_{k=0}^{K-1} p*_{beta_k}(v_k) / p*_{beta_{k+1}}(v_k)

    is unbiased for p_ann(v), so log p_hat is on average below log p_ann(v);
    and p_ann tends to the RBM as K grows (from below in their experiments).
    The result errs downwards where AIS errs upwards.

    Parameters
    ----------
    W, a, b : arrays of shapes (n_visible, n_hidden), (n_visible,), (n_hidden,)
        The RBM.
    a_base : array of shape (n_visible,)
        Visible biases of the base-rate model A (``base_rate_bias`` of the
        training data's marginals).
    X : array of shape (n_samples, n_visible)
        The binary test rows.
    n_betas : int or array
        As for ``ais_log_partition``.
    n_runs : int
        Reverse runs per row; p_hat(v) is the mean of their weights.
    random_state : int, RNG or None
        One generator serves the whole estimate.

    Returns
    -------
    RAISEResult
    """
    betas = _schedule(n_betas, "raise_log_likelihood")
    if int(n_runs) < 1:
        raise ValueError(f"raise_log_likelihood: n_runs must be at least 1, got {n_runs}")
    m, n_runs = xp(), int(n_runs)
    model = _Tempered(W, a, b, a_base)
    X = m.asarray(X, dtype=m.float64)
    if X.ndim != 2 or X.shape[1] != model.n_visible:
        raise ValueError(f"raise_log_likelihood: X must have shape (n_samples, {model.n_visible}), got {X.shape}")
    if not bool(m.all((X == 0) | (X == 1))):
        raise ValueError("raise_log_likelihood: X must be binary (0 or 1 in every entry)")
    rng = random_state if isinstance(random_state, RNG) else RNG(random_state)
    draw = _uniforms(rng)

    n_samples, rows = X.shape[0], X.shape[0] * n_runs
    v = m.tile(X, (n_runs, 1))  # row r * n_samples + i is run r on digit i
    z = v @ model.W + model.b
    log_w = model.log_ratio(v, z, 1.0, 0.0) + (v @ model.a_base) + model.n_hidden * math.log(2.0)
    log_w -= model.log_z_base  # log p*_B(v) - log Z_A, with log p*_0(v) = a_A.v + n_hidden log 2
    u, h, p_v = m.empty((rows, model.n_hidden + model.n_visible)), m.empty((rows, model.n_hidden)), m.empty(
        (rows, model.n_visible))  # fmt: skip
    for k in range(len(betas) - 1, 0, -1):
        model.gibbs(v, z, float(betas[k]), draw(u), h, p_v)  # v_{k-1} ~ T_k(. | v_k)
        z = v @ model.W + model.b
        log_w -= model.log_ratio(v, z, float(betas[k]), float(betas[k - 1]))

    log_w = to_numpy(log_w).reshape(n_runs, n_samples)
    top = log_w.max(axis=0)
    log_p = top + np.log(np.mean(np.exp(log_w - top), axis=0))
    return RAISEResult(float(log_p.mean()), log_p, log_w, effective_sample_size(log_w, axis=0))
