"""Annealed importance sampling (AIS) for the partition function of an RBM.

Chapter 6 needs log Z to report a test log-likelihood, and log Z is a sum over
2^min(n_visible, n_hidden) states: exact for toy models (``RBM.log_partition``
with ``method="exact"``), hopeless at 784 x 500. AIS (Neal 2001), in the form of
Salakhutdinov & Murray (2008), "On the quantitative analysis of deep belief
networks", estimates it by walking from a base-rate model A, whose log Z is
exact, to the target RBM B through tempered models p_beta:

    log p*_beta(v) = (1 - beta) a_A.v + beta a_B.v
                     + sum_j softplus(beta (b_j + v.W_j)),

where the hidden units are summed out analytically. Model A has zero weights
and visible biases a_A from the data's marginals, so
log Z_A = sum_i softplus(a_A,i) + n_hidden log 2 (the formula above at beta=0).

All runs advance together as the rows of one batch. The file covers binary
visible units only; it leaves out Gaussian visible units and the reverse
(RAISE) estimator.
"""

import math
from collections import namedtuple

import numpy as np

from .backend import RNG, to_numpy, xp
from .numerics import sigmoid, softplus

__all__ = ["AISResult", "ais_log_partition", "ais_schedule", "base_rate_bias"]

AISResult = namedtuple("AISResult", "log_z log_z_std log_weights log_z_base")
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
    if n_betas < 3:
        raise ValueError(f"ais_schedule: n_betas must be at least 3, got {n_betas}")
    n1 = max(1, round(n_betas * 500 / 14500))
    n2 = max(1, round(n_betas * 4000 / 14500))
    n3 = n_betas - n1 - n2
    return np.concatenate(
        [np.linspace(0, 0.5, n1, endpoint=False), np.linspace(0.5, 0.9, n2, endpoint=False), np.linspace(0.9, 1, n3)]
    )


def ais_log_partition(W, a, b, a_base, betas=10000, n_runs=100, random_state=None):
    """Estimate log Z of the binary RBM (W, a, b) by annealed importance sampling.

    Parameters
    ----------
    W : array of shape (n_visible, n_hidden)
    a : array of shape (n_visible,)
    b : array of shape (n_hidden,)
        The target model B.
    a_base : array of shape (n_visible,)
        Visible biases of the base-rate model A (see ``base_rate_bias``).
    betas : int or array of shape (n_betas,)
        An int asks for ``ais_schedule(betas)``; an array must rise from 0 to 1.
    n_runs : int
        Independent AIS runs, advanced together as one batch.
    random_state : int, RNG or None

    Returns
    -------
    AISResult
    """
    m = xp()
    betas = ais_schedule(int(betas)) if np.isscalar(betas) else np.asarray(to_numpy(betas), dtype=np.float64)
    if betas.ndim != 1 or betas[0] != 0 or betas[-1] != 1 or np.any(np.diff(betas) <= 0):
        raise ValueError("ais_log_partition: betas must rise strictly from 0 to 1")
    rng = random_state if isinstance(random_state, RNG) else RNG(random_state)
    W, a, b, a_base = (m.asarray(x, dtype=m.float64) for x in (W, a, b, a_base))
    n_visible, n_hidden = W.shape
    log_z_base = float(softplus(a_base).sum()) + n_hidden * math.log(2.0)

    v = m.less(rng.random((n_runs, n_visible)), sigmoid(a_base)).astype(m.float64)  # exact samples of A
    log_w = m.zeros(n_runs)
    da = a - a_base
    u = m.empty((n_runs, n_hidden + n_visible))  # the uniforms of one Gibbs sweep, drawn at once
    h, p_v = m.empty((n_runs, n_hidden)), m.empty((n_runs, n_visible))
    for k in range(1, len(betas)):
        beta_prev, beta = float(betas[k - 1]), float(betas[k])
        z = v @ W + b  # hidden input, shared by both temperatures
        # log w += log p*_k(v) - log p*_{k-1}(v), with v drawn at temperature k - 1
        log_w += (beta - beta_prev) * (v @ da)
        log_w += (softplus(beta * z) - softplus(beta_prev * z)).sum(axis=1)
        if k < len(betas) - 1:  # one Gibbs sweep that leaves p_beta invariant
            rng.random(u.shape, out=u)
            z *= beta
            m.less(u[:, :n_hidden], sigmoid(z, out=z), out=h)
            m.matmul(h, W.T, out=p_v)  # p(v | h) at beta: sigmoid((1 - beta) a_A + beta (a + W h))
            p_v *= beta
            p_v += (1 - beta) * a_base + beta * a
            m.less(u[:, n_hidden:], sigmoid(p_v, out=p_v), out=v)

    log_w = to_numpy(log_w)
    shifted = np.exp(log_w - log_w.max())
    log_mean_w = float(np.log(shifted.mean()) + log_w.max())
    std = float(shifted.std(ddof=1) / (math.sqrt(n_runs) * shifted.mean())) if n_runs > 1 else math.inf
    return AISResult(log_z_base + log_mean_w, std, log_w, log_z_base)
