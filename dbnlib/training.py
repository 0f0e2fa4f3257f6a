"""Training an RBM (chapter 6): CD-k and persistent CD, with the practical guide's extras.

``RBM.fit`` and ``RBM.partial_fit`` hand over to ``fit`` and ``partial_fit``
here. The model (energy, conditionals, samplers) stays in ``dbnlib.rbm``; this
file holds what only training needs: the minibatch loop and its preallocated
buffers, the CD-k / PCD-k update with momentum, weight decay and the sparsity
target of Hinton's "A practical guide to training RBMs" (2010), the per-epoch
monitors, the divergence check and checkpoints. It works on any model that has
the RBM's private formulas (``_up``, ``_down``, ``_sample_visible``, ...), so
the Gaussian-visible RBM trains through it unchanged. It imports nothing from
``dbnlib.rbm``.
"""

import json
import os
import time

import numpy as np

from ._io import read_npz
from .backend import RNG, to_numpy, xp
from .numerics import sigmoid_inplace

__all__ = ["HISTORY_KEYS", "fit", "fingerprint", "partial_fit"]

HISTORY_KEYS = ("epoch", "reconstruction_error", "pseudo_log_likelihood", "free_energy_gap", "log_likelihood",
                "seconds")  # fmt: skip
_CHEAP_EXACT_TERMS = 2**25  # monitor the exact log-likelihood while 2^units * other layer <= this
_MONITOR_ROWS = 256  # rows of the training (and validation) data the per-epoch monitors look at
_MAX_ABS_WEIGHT = 1e3  # weights beyond this mean training has diverged
_ACTIVITY_DECAY = 0.9  # the running mean q of hidden activity for the sparsity target


# ---------------------------------------------------------------------- entry points
def fit(model, X, X_val=None, checkpoint_path=None):
    """Train ``model`` on the validated X for ``n_epochs`` epochs (see ``RBM.fit``).

    The recipe of Hinton's practical guide: the hidden states driven by the
    data are sampled binary to start the Gibbs chain; the positive statistics
    use the hidden probabilities p(h | v0); the last visible step of the chain
    uses probabilities (the reconstruction) and so does the last hidden step.
    Those probabilities lower the noise at a price: however large k, the
    negative statistics tend to the model average of p(v | h) p(h | p(v | h))^T
    rather than of v h^T. With ``persistent=True`` they use the binary fantasy
    particles and p(h | v) instead (Tieleman 2008), which tends to the exact
    model average. Momentum, L2 weight decay on W and an optional sparsity
    penalty are added to each minibatch update; minibatches are reshuffled
    every epoch by ``model.rng_``.

    After each epoch ``history_`` records, on up to 256 fixed rows of X: the
    reconstruction error (mean squared error of ``reconstruct``), the
    pseudo-log-likelihood (binary units only), the free-energy gap
    mean F(X_val) - mean F(X) when X_val is given (it grows when the model
    overfits), and the exact log-likelihood of all of X while the enumeration
    is cheap (2^units of the smaller layer times the other layer at most 2^25,
    e.g. 784 x 15); None otherwise.

    Where training starts: a checkpoint of this same run (same
    hyperparameters apart from ``warm_start`` and ``verbose``, same data
    fingerprint) at ``checkpoint_path`` is adopted: an unfinished run resumes
    and ends as an uninterrupted run would; a finished one is returned as it is,
    or, with ``warm_start``, trained ``n_epochs`` more. Without such a
    checkpoint, ``warm_start`` continues from the current state for
    ``n_epochs`` more; else a fresh start from ``random_state``.
    """
    fp = fingerprint(X)
    fresh = False
    if _resume(model, checkpoint_path, fp):
        if model.warm_start and model.epochs_done_ >= model.epochs_target_:  # a finished run: n_epochs more
            model.epochs_target_ = model.epochs_done_ + model.n_epochs
    else:
        fresh = not model.warm_start
        if fresh:
            model._initialize()
        model.epochs_target_ = model.epochs_done_ + model.n_epochs
        model.data_fingerprint_ = fp
    _start(model, X, fresh)
    buffers = {}
    snapshot = model._snapshot()
    bar = model._progress(range(model.epochs_done_, model.epochs_target_), desc=model._name)
    for _ in bar:
        start = time.perf_counter()
        _epoch(model, X, buffers)
        snapshot = _check_diverged(model, "fit", snapshot)
        _record(model, X, X_val, time.perf_counter() - start)
        if checkpoint_path is not None:
            model.save(checkpoint_path)
        bar.set_postfix(recon=f"{model.history_['reconstruction_error'][-1]:.4f}")
    return model


def partial_fit(model, X):
    """One shuffled pass over X from the current state (the first call on a fresh model sets
    the visible biases from X); keeps momentum and the persistent chain. No monitors."""
    _start(model, X, model.epochs_done_ == 0)
    snapshot = model._snapshot()
    _epoch(model, X, {})
    _check_diverged(model, "partial_fit", snapshot)
    return model


def fingerprint(X, chunk=512):
    """A short description of a data matrix that tells runs on different data apart.

    Shape, dtype and four float64 sums reduced on the device, ``chunk`` rows at
    a time (no float64 copy of X), read with one sync: the plain sum, the sum
    of squares, and two sums weighted by fixed row and column patterns.

    Each block of rows is converted to float64 once and then read three times
    (column sums, a dot product with itself, the row-weighted product), while
    it is still in the cache; the plain sum and the column-weighted sum come
    from the column sums. That is five times faster than the textbook
    expressions on 10,000 x 784 rows, and equal to them up to float64 rounding
    (bit for bit on binary data, whose sums are exact integers).
    """
    m, f64 = xp(), xp().float64
    cols = m.sin(m.arange(X.shape[1], dtype=f64) * 1.3 + 0.5)
    col_sums = m.zeros(X.shape[1], dtype=f64)
    squares_and_weighted = m.zeros(2, dtype=f64)
    for start in range(0, X.shape[0], chunk):
        block = X[start : start + chunk].astype(f64)
        rows = m.cos(m.arange(start, start + block.shape[0], dtype=f64) * 0.7)
        col_sums += block.sum(axis=0)
        flat = block.ravel()
        squares_and_weighted += m.stack([m.vdot(flat, flat), rows @ block @ cols])
    total = m.stack([col_sums.sum(), squares_and_weighted[0], squares_and_weighted[1], col_sums @ cols[::-1]])
    sums = to_numpy(total)
    return [int(X.shape[0]), int(X.shape[1]), str(X.dtype)] + [float(f"{s:.10g}") for s in sums]


# ---------------------------------------------------------------------- resuming
def _resume(model, path, fp):
    """Adopt the state saved at ``path`` when it is a checkpoint of this run; True when it did."""
    if path is None or not os.path.exists(path):
        return False
    meta, arrays = read_npz(path)
    where = f"{model._name}.fit"
    mine = json.loads(json.dumps(model._state()[0]["params"], default=_plain))
    theirs = meta.get("params", {})
    for key in ("warm_start", "verbose"):  # these may differ between the run and its resumption
        mine.pop(key, None), theirs.pop(key, None)
    if meta.get("cls") != model._name or mine != theirs:
        differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        raise ValueError(f"{where}: {path} is a checkpoint of another run ({meta.get('cls')} differing in "
                         f"{differ or 'class'}); delete it or choose another checkpoint_path")  # fmt: skip
    state = meta.get("state", {})
    if state.get("data_fingerprint_") != fp:
        raise ValueError(f"{where}: {path} is a checkpoint of a run on other data (fingerprint "
                         f"{state.get('data_fingerprint_')}, this X has {fp}); delete it or choose another "
                         "checkpoint_path")  # fmt: skip
    saved = type(model)._from_state(meta, arrays)
    for name in type(model)._ARRAYS:
        setattr(model, name, getattr(saved, name))
    for name in type(model)._STATE:
        setattr(model, name, getattr(saved, name))
    model.rng_ = saved.rng_
    return True


def _plain(x):
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(type(x).__name__)


# ---------------------------------------------------------------------- the loop
def _start(model, X, fresh):
    """A fresh start sets the visible biases from the data (guide, sec. 8); chain and activity as needed."""
    if fresh:
        model._init_visible_bias(X)
    if model.persistent and model.persistent_chain_ is None:  # particles start as samples of p(v | h = 0)
        h = xp().zeros((model.batch_size, model.n_hidden), dtype=model.W.dtype)
        model.persistent_chain_ = model._sample_v(h, model.rng_)
    if model.sparsity_target is not None and model.hidden_activity_ is None:
        model.hidden_activity_ = xp().full(model.n_hidden, model.sparsity_target, dtype=model.W.dtype)


def _epoch(model, X, buffers):
    """One shuffled pass over X; ``buffers`` caches the per-batch arrays by batch size."""
    m = xp()
    momentum = model.momentum
    if isinstance(momentum, tuple | list):
        momentum = momentum[0] if model.epochs_done_ < model.momentum_switch_epoch else momentum[1]
    order = m.asarray(model.rng_.permutation(X.shape[0]))
    for start in range(0, X.shape[0], model.batch_size):
        rows = order[start : start + model.batch_size]
        buf = buffers.get(len(rows)) or buffers.setdefault(len(rows), _Buffers(model, len(rows)))
        m.take(X, rows, axis=0, out=buf.vv[: len(rows)])
        _cd_step(model, buf, model.learning_rate, momentum)
    model.epochs_done_ += 1


def _cd_step(model, buf, lr, momentum):
    """One CD-k / PCD-k update from the minibatch v0 already in ``buf.vv[:B]``.

    Visible rows are stacked as vv = [v0; v_neg] and hidden rows as
    hh = lr/B [h0; -h_neg], so one GEMM vv^T hh gives lr/B (v0^T h0 - v_neg^T h_neg):
    the positive and negative statistics in a single (V x 2B) @ (2B x H)
    product. Every other operation is in place on preallocated buffers.
    """
    m, B = xp(), buf.rows
    v0, v_neg, h0, h_neg = buf.vv[:B], buf.vv[B:], buf.hh[:B], buf.hh[B:]
    u = model.rng_.random(buf.u.shape, dtype=buf.u.dtype, out=buf.u)  # every hidden uniform of this batch
    if buf.noise is not None:
        model._draw_visible_noise(model.rng_, buf.noise)
    model._up(v0, out=h0)  # positive phase: probabilities p(h | v0)
    if not model.persistent:  # CD-k: the chain starts at the data, with binary hidden states
        h_s = m.less(u[0], h0, out=buf.h_s)
        for t in range(1, model.k):
            model._sample_visible(model._down(h_s, out=v_neg), buf.noise[t - 1], out=buf.v_s)
            m.less(u[t], model._up(buf.v_s, out=h_neg), out=h_s)
        model._down(h_s, out=v_neg)  # last visible step: probabilities (the reconstruction)
    else:  # PCD-k: the chain continues from the fantasy particles
        chain = model.persistent_chain_[:B]
        for t in range(model.k):
            m.less(u[t], model._up(chain, out=h_neg), out=buf.h_s)
            model._sample_visible(model._down(buf.h_s, out=v_neg), buf.noise[t], out=chain)
        v_neg[...] = chain
    model._up(v_neg, out=h_neg)  # last hidden step: probabilities

    if model.sparsity_target is not None:  # pulls q toward the target through b and W (guide, sec. 11)
        q = model.hidden_activity_
        q *= _ACTIVITY_DECAY
        q += (1 - _ACTIVITY_DECAY) * h0.mean(axis=0)
        h0 -= model.sparsity_cost * (q - model.sparsity_target)
    step = lr / B
    da = v0.sum(axis=0) - v_neg.sum(axis=0)
    h0 *= step
    h_neg *= -step  # hh = lr/B [h0; -h_neg]
    m.matmul(buf.vv.T, buf.hh, out=buf.G)  # lr/B (v0^T h0 - v_neg^T h_neg), one GEMM
    vW = model.velocity_W_  # velocity = momentum * velocity + gradient step
    vW *= momentum
    vW += buf.G
    if model.weight_decay:  # W <- (1 - lr * weight_decay) W: one pass, outside the momentum
        model.W *= 1 - lr * model.weight_decay
    model.W += vW
    model.velocity_a_ *= momentum
    model.velocity_a_ += step * da
    model.velocity_b_ *= momentum
    model.velocity_b_ += buf.hh.sum(axis=0)
    model.a += model.velocity_a_
    model.b += model.velocity_b_


def _check_diverged(model, method, snapshot):
    """After an epoch: weights beyond 1e3 or NaN/inf anywhere restore ``snapshot`` and raise;
    otherwise refresh ``snapshot`` with the current parameters and return it. One host sync."""
    m, W = xp(), model.W
    w_max, finite = (float(s) for s in to_numpy(m.stack([
        m.maximum(W.max(), -W.min()).astype(m.float64),  # max |W| without an |W| temporary; NaN if W has one
        (m.isfinite(model.a).all() & m.isfinite(model.b).all()).astype(m.float64)])))  # fmt: skip
    if w_max <= _MAX_ABS_WEIGHT and finite:
        arrays = model._parameter_arrays()
        if len(arrays) != len(snapshot) or any(s.shape != x.shape for s, x in zip(snapshot, arrays)):
            return model._snapshot()
        for saved, x in zip(snapshot, arrays):  # into the same buffers: fresh V x H copies every epoch
            saved[...] = x  # would cost the allocator's page faults each time
        return snapshot
    model.epochs_done_ -= 1
    model._diverged(f"{model._name}.{method}", model.epochs_done_ + 1, snapshot,
                    f"max |W| = {w_max:.3g}, limit {_MAX_ABS_WEIGHT:g}")  # fmt: skip


# ---------------------------------------------------------------------- monitors
def _record(model, X, X_val, seconds):
    m = xp()
    X_mon = _rows(X, _MONITOR_ROWS)
    hist = model.history_
    hist["epoch"].append(model.epochs_done_)
    z = X_mon @ model.W + model.b  # the hidden input, shared by the first two monitors
    pll = model._pseudo_log_likelihood(X_mon, RNG(model.epochs_done_), z) if model._binary_visible else None
    recon = model._down(sigmoid_inplace(z))
    hist["reconstruction_error"].append(float(m.mean((recon - X_mon) ** 2)))
    hist["pseudo_log_likelihood"].append(pll)
    gap = None
    if X_val is not None:
        gap = float(model._free_energy(_rows(X_val, _MONITOR_ROWS)).mean() - model._free_energy(X_mon).mean())
    hist["free_energy_gap"].append(gap)
    hist["log_likelihood"].append(model._exact_log_likelihood(X) if model._exact_terms() <= _CHEAP_EXACT_TERMS
                                  else None)  # fmt: skip
    hist["seconds"].append(seconds)


class _Buffers:
    """Per-batch arrays of ``_cd_step``, allocated once per fit for each batch size B."""

    def __init__(self, model, rows):
        m, dt, k = xp(), model.W.dtype, model.k
        V, H = model.n_visible, model.n_hidden
        self.rows = rows
        self.vv = m.empty((2 * rows, V), dtype=dt)  # [v0; v_neg]
        self.hh = m.empty((2 * rows, H), dtype=dt)  # [h0; h_neg]
        self.h_s = m.empty((rows, H), dtype=dt)  # binary hidden sample
        self.u = m.empty((k, rows, H), dtype=dt)  # uniforms for the hidden samples
        n_visible_samples = k if model.persistent else k - 1  # PCD samples straight into its chain
        self.v_s = m.empty((rows, V), dtype=dt) if not model.persistent and k > 1 else None
        self.noise = m.empty((n_visible_samples, rows, V), dtype=dt) if n_visible_samples else None
        self.G = m.empty((V, H), dtype=dt)  # the gradient GEMM's output: the one V x H temporary


def _rows(X, n):
    """Up to n rows of X, evenly spread, the same ones every epoch."""
    if X.shape[0] <= n:
        return X
    return X[xp().asarray(np.linspace(0, X.shape[0] - 1, n).astype(np.int64))]
