"""The restricted Boltzmann machine of chapters 5 and 6, and how to train it.

Chapter 5 defines the model and this file uses its notation: visible units v,
hidden units h, visible bias a, hidden bias b, weights W of shape
(n_visible, n_hidden) and the energy

    E(v, h) = -a.v - b.h - v.W.h.

The class gives each quantity of the chapter for a batch of rows (energy, free
energy, conditionals, samplers, Gibbs chain), exact answers for small models by
enumerating the smaller layer (log Z, log-likelihood, its gradient), and AIS
estimates for large ones (``dbnlib.ais``). Chapter 6 trains it with CD-k or
persistent CD following Hinton's "A practical guide to training RBMs" (2010).
The Gaussian-visible variant is in ``dbnlib.gbrbm``; saving goes through
``dbnlib._io``. Left out: other unit types (softmax, ReLU), convolutional RBMs,
parallel tempering.
"""

import copy
import math
import time

import numpy as np
from tqdm.auto import tqdm

from ._io import load_model, save_model
from ._validation import TrainingDiverged, check_X
from .ais import ais_log_partition, base_rate_bias
from .backend import RNG, xp
from .numerics import logsumexp, sigmoid, softplus

__all__ = ["RBM", "GaussianBernoulliRBM"]

_MAX_EXACT_UNITS = 20  # exact sums enumerate 2^units states of the smaller layer
_CHEAP_EXACT_TERMS = 2**25  # monitor the exact log-likelihood while 2^units * other layer <= this
_MONITOR_ROWS = 256  # rows of the training (and validation) data the per-epoch monitors look at
_MAX_ABS_WEIGHT = 1e3  # weights beyond this mean training has diverged
_ACTIVITY_DECAY = 0.9  # the running mean q of hidden activity for the sparsity target


class RBM:
    """A restricted Boltzmann machine with binary visible and binary hidden units.

    Parameters
    ----------
    n_visible, n_hidden : int
        Units in each layer.
    learning_rate : float
        Step size of each minibatch update.
    k : int
        Gibbs steps per update (CD-k or PCD-k).
    persistent : bool
        Persistent CD (Tieleman 2008): the negative chain continues from the
        previous update's fantasy particles instead of restarting at the data.
    momentum : float or (float, float)
        A pair (early, late) uses ``early`` for the first ``momentum_switch_epoch``
        epochs and ``late`` after (Hinton's guide: 0.5, then 0.9).
    weight_decay : float
        L2 weight decay: every update first shrinks W by the factor
        ``1 - learning_rate * weight_decay`` (the gradient step of the penalty
        weight_decay/2 ||W||^2, taken outside the momentum, which saves a pass
        over W; through the momentum it would act 1/(1 - momentum) times stronger).
    batch_size, n_epochs : int
    sparsity_target, sparsity_cost : float
        Target p for the mean activity q of each hidden unit, and the weight of
        the penalty (Hinton's guide, section 11). Off when the target is None.
    dtype : {"float32", "float64"}
    random_state : int or None
        Seeds every random draw of the model (initial W, shuffles, samples).
    verbose : bool
        Show a tqdm progress bar over epochs.

    Attributes
    ----------
    W : array of shape (n_visible, n_hidden)
        Weights, initialised N(0, 0.01^2).
    a : array of shape (n_visible,)
        Visible biases; the first fit sets them to log(p / (1 - p)) of the data's
        column means p (Hinton's guide, section 8).
    b : array of shape (n_hidden,)
        Hidden biases, initialised 0.
    epochs_done_ : int
        Epochs trained so far; ``fit`` continues until it equals ``n_epochs``.
    history_ : dict of lists
        One entry per epoch under ``"epoch"``, ``"reconstruction_error"``,
        ``"pseudo_log_likelihood"``, ``"free_energy_gap"``, ``"log_likelihood"``
        and ``"seconds"``; None where a monitor does not apply (see ``fit``).
    persistent_chain_ : array of shape (batch_size, n_visible) or None
        The fantasy particles of PCD.
    velocity_W_, velocity_a_, velocity_b_ : arrays
        The momentum buffers (the last update of each parameter).
    rng_ : RNG
        The one source of randomness; saved with the model.
    """

    _binary_visible = True
    _PARAMS = (
        "n_visible", "n_hidden", "learning_rate", "k", "persistent", "momentum", "momentum_switch_epoch",
        "weight_decay", "batch_size", "n_epochs", "sparsity_target", "sparsity_cost", "dtype",
        "random_state", "verbose",
    )  # fmt: skip
    _ARRAYS = ("W", "a", "b", "velocity_W_", "velocity_a_", "velocity_b_", "persistent_chain_", "hidden_activity_")

    def __init__(self, n_visible, n_hidden, *, learning_rate=0.1, k=1, persistent=False, momentum=(0.5, 0.9),
                 momentum_switch_epoch=5, weight_decay=1e-4, batch_size=100, n_epochs=10, sparsity_target=None,
                 sparsity_cost=0.0, dtype="float32", random_state=None, verbose=False):  # fmt: skip
        self.n_visible, self.n_hidden = n_visible, n_hidden
        self.learning_rate, self.k, self.persistent = learning_rate, k, persistent
        self.momentum, self.momentum_switch_epoch, self.weight_decay = momentum, momentum_switch_epoch, weight_decay
        self.batch_size, self.n_epochs = batch_size, n_epochs
        self.sparsity_target, self.sparsity_cost = sparsity_target, sparsity_cost
        self.dtype, self.random_state, self.verbose = dtype, random_state, verbose
        self._check_hyperparameters()
        m, dt = xp(), np.dtype(dtype)
        self.rng_ = RNG(random_state)
        self.W = self.rng_.normal((self.n_visible, self.n_hidden), scale=0.01, dtype=dt)
        self.a, self.b = m.zeros(self.n_visible, dtype=dt), m.zeros(self.n_hidden, dtype=dt)
        self.velocity_W_, self.velocity_a_, self.velocity_b_ = (m.zeros_like(x) for x in (self.W, self.a, self.b))
        self.persistent_chain_ = self.hidden_activity_ = None
        self.epochs_done_ = 0
        self.history_ = {key: [] for key in _HISTORY_KEYS}

    # ------------------------------------------------------------------ chapter 5
    def energy(self, v, h):
        """E(v, h) = -a.v - b.h - v.W.h for each row pair; returns shape (n_samples,)."""
        v, h = self._check_v(v, "energy"), self._check_h(h, "energy")
        if v.shape[0] != h.shape[0]:
            raise ValueError(f"{self._name}.energy: v has {v.shape[0]} rows but h has {h.shape[0]}")
        return self._visible_energy(v) - h @ self.b - ((v @ self.W) * h).sum(axis=1)

    def free_energy(self, v):
        """F(v) = -log sum_h exp(-E(v, h)) = -a.v - sum_j softplus(b_j + v.W_j); shape (n_samples,)."""
        return self._free_energy(self._check_v(v, "free_energy"))

    def prob_h_given_v(self, v):
        """p(h_j = 1 | v) = sigmoid(b_j + v.W_j); shape (n_samples, n_hidden)."""
        return self._up(self._check_v(v, "prob_h_given_v"))

    def prob_v_given_h(self, h):
        """p(v_i = 1 | h) = sigmoid(a_i + W_i.h); shape (n_samples, n_visible)."""
        return self._down(self._check_h(h, "prob_v_given_h"))

    def sample_h_given_v(self, v, rng=None):
        """Binary h ~ p(h | v), shape (n_samples, n_hidden). ``rng``: RNG, seed, or None for the model's."""
        return self._sample_h(self._check_v(v, "sample_h_given_v"), self._rng(rng))

    def sample_v_given_h(self, h, rng=None):
        """v ~ p(v | h), shape (n_samples, n_visible). ``rng``: RNG, seed, or None for the model's."""
        return self._sample_v(self._check_h(h, "sample_v_given_h"), self._rng(rng))

    def gibbs(self, v, steps=1, rng=None):
        """Run ``steps`` full sweeps v -> h -> v of block Gibbs sampling; return the last v sample."""
        rng, v = self._rng(rng), self._check_v(v, "gibbs")
        for _ in range(int(steps)):
            v = self._sample_v(self._sample_h(v, rng), rng)
        return v

    # ------------------------------------------------------------------ exact answers and AIS
    def log_partition(self, method="exact", *, n_runs=100, n_betas=10000, base_rate=None, data=None,
                      random_state=None):  # fmt: skip
        """log Z = log sum_{v,h} exp(-E(v, h)), exactly or by AIS.

        Parameters
        ----------
        method : {"exact", "ais"}
            ``"exact"`` enumerates the smaller layer (at most 20 units) in
            float64 with logsumexp. ``"ais"`` runs annealed importance sampling
            (``dbnlib.ais``) from a base-rate model with zero weights.
        n_runs : int
            AIS runs, advanced together as one batch.
        n_betas : int or array of shape (n_betas,)
            The number of AIS temperatures, or the schedule itself (0 to 1).
        base_rate : array of shape (n_visible,), optional
            Probabilities p_i that the base model's visible units are on.
        data : array-like of shape (n_samples, n_visible), optional
            Take the base rates from its column means instead. With neither,
            the base rates are sigmoid(a), the model's own visible biases.
        random_state : int, RNG or None
            Seeds AIS (the model's own random stream is left alone).

        Returns
        -------
        float or AISResult
            The exact log Z, or an ``AISResult(log_z, log_z_std, log_weights, log_z_base)``.
        """
        if method == "exact":
            return self._exact_log_z()
        if method != "ais":
            raise ValueError(f"{self._name}.log_partition: method must be 'exact' or 'ais', got {method!r}")
        if base_rate is not None:
            a_base = base_rate_bias(base_rate)
        elif data is not None:
            a_base = base_rate_bias(self._check_v(data, "log_partition").mean(axis=0))
        else:
            a_base = xp().asarray(self.a, dtype=xp().float64)
        return ais_log_partition(self.W, self.a, self.b, a_base, n_betas, n_runs, random_state)

    def log_likelihood(self, X):
        """Mean log p(v) over the rows of X in nats, exactly: mean(-F(v)) - log Z."""
        X = self._check_v(X, "log_likelihood")
        return self._exact_log_likelihood(X)

    def estimate_log_likelihood(self, X, *, n_runs=100, n_betas=10000, base_rate=None, data=None,
                                random_state=None):  # fmt: skip
        """Mean log p(v) over the rows of X with log Z from AIS (see ``log_partition``).

        ``data`` defaults to X for the base rates. Its uncertainty is the AIS
        ``log_z_std`` of ``log_partition(method="ais", ...)``.
        """
        X = self._check_v(X, "estimate_log_likelihood")
        data = X if base_rate is None and data is None else data
        ais = self.log_partition("ais", n_runs=n_runs, n_betas=n_betas, base_rate=base_rate, data=data,
                                 random_state=random_state)  # fmt: skip
        return -self._mean_free_energy(X) - ais.log_z

    def exact_gradient(self, X):
        """The true gradient of the mean log-likelihood of X with respect to (W, a, b).

        Data term minus model term, d/dW = <v h^T>_data - <v h^T>_model, with
        h replaced by p(h | v) in the data term and the model term summed over
        every state of the smaller layer.

        Returns
        -------
        dW : array of shape (n_visible, n_hidden), float64
        da : array of shape (n_visible,), float64
        db : array of shape (n_hidden,), float64
        """
        X = self._check_v(X, "exact_gradient").astype(xp().float64)
        model = self._as_float64()
        h_data = model._up(X)
        log_z = self._exact_log_z()
        dW, da, db = X.T @ h_data / len(X), X.mean(axis=0), h_data.mean(axis=0)
        for log_p_star, v, h in model._enumerate():
            p = xp().exp(log_p_star - log_z)  # p(state) of the enumerated layer
            dW -= (v * p[:, None]).T @ h
            da -= p @ v
            db -= p @ h
        return dW, da, db

    # ------------------------------------------------------------------ chapter 6: training
    def fit(self, X, X_val=None, checkpoint_path=None):
        """Train with CD-k (or PCD-k) until ``epochs_done_ == n_epochs``.

        The recipe of Hinton's practical guide: the hidden states driven by the
        data are sampled binary to start the Gibbs chain; the positive
        statistics use the hidden probabilities p(h | v0); the last visible step
        of the chain uses probabilities (the reconstruction) and so does the last
        hidden step. Those probabilities lower the noise at a price: however
        large k, the negative statistics tend to the model average of
        p(v | h) p(h | p(v | h))^T rather than of v h^T. With ``persistent=True``
        they use the binary fantasy particles and p(h | v) instead (Tieleman
        2008), which tends to the exact model average. Momentum,
        L2 weight decay on W and an optional sparsity penalty are added to each
        minibatch update; minibatches are reshuffled every epoch by ``rng_``.

        After each epoch ``history_`` records, on up to 256 fixed rows of X: the
        reconstruction error (mean squared error of ``reconstruct``), the
        pseudo-log-likelihood (binary units only), the free-energy gap
        mean F(X_val) - mean F(X) when X_val is given (it grows when the model
        overfits), and the exact log-likelihood of all of X while the
        enumeration is cheap (2^units of the smaller layer times the other
        layer at most 2^25, e.g. 784 x 15); None otherwise.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_visible)
            Values in [0, 1] (probabilities are allowed as data).
        X_val : array-like of shape (n_val, n_visible), optional
        checkpoint_path : str or PathLike, optional
            Saved (``save``) after every epoch, atomically; resume a broken run
            with ``RBM.load(checkpoint_path).fit(X)``.

        Returns
        -------
        self
        """
        X = self._check_v(X, "fit")
        X_val = None if X_val is None else self._check_v(X_val, "fit", name="X_val")
        self._start_training(X)
        buffers = {}
        bar = tqdm(range(self.epochs_done_, self.n_epochs), disable=not self.verbose, desc=self._name, unit="epoch")
        for _ in bar:
            start = time.perf_counter()
            self._epoch(X, buffers, "fit")
            self._record(X, X_val, time.perf_counter() - start)
            if checkpoint_path is not None:
                self.save(checkpoint_path)
            bar.set_postfix(recon=f"{self.history_['reconstruction_error'][-1]:.4f}")
        return self

    def partial_fit(self, X):
        """One epoch (one shuffled pass over X) of training; keeps momentum and the chain. No monitors."""
        X = self._check_v(X, "partial_fit")
        self._start_training(X)
        self._epoch(X, {}, "partial_fit")
        return self

    def transform(self, X):
        """The hidden probabilities p(h = 1 | v) of each row; shape (n_samples, n_hidden)."""
        return self._up(self._check_v(X, "transform"))

    def reconstruct(self, X):
        """One deterministic up-down pass: E[v | h = p(h | v)]; shape (n_samples, n_visible)."""
        return self._down(self._up(self._check_v(X, "reconstruct")))

    def pseudo_log_likelihood(self, X, random_state=0):
        """Mean over rows of n_visible * log sigmoid(F(v~) - F(v)), v~ = v with one random bit flipped.

        The stochastic approximation of scikit-learn's ``BernoulliRBM.score_samples``.
        """
        return self._pseudo_log_likelihood(self._check_v(X, "pseudo_log_likelihood"), self._rng(random_state))

    # ------------------------------------------------------------------ saving
    def get_params(self):
        """The constructor arguments as a dict."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def save(self, path):
        """Write the whole model (parameters, hyperparameters, momentum, chain, RNG state,
        epochs done, history) to one ``.npz`` file, atomically."""
        save_model(self, path)

    @classmethod
    def load(cls, path):
        """Read a model written by ``save``; training resumes exactly where it stopped."""
        return load_model(cls, path)

    def _state(self):
        """``(meta, arrays)``: everything ``save`` writes, as a JSON-able dict and a dict of arrays.

        ``_from_state`` inverts it; ``DBN`` stores several RBMs in one file this way.
        """
        params = self.get_params()
        if not isinstance(params.get("random_state"), int | np.integer):
            params["random_state"] = None  # an RNG object: its state is saved below anyway
        meta = {"format": 1, "cls": self._name, "params": params, "epochs_done_": self.epochs_done_,
                "history_": self.history_, "rng_state": self.rng_.get_state()}  # fmt: skip
        arrays = {name: getattr(self, name) for name in self._ARRAYS if getattr(self, name) is not None}
        return meta, arrays

    @classmethod
    def _from_state(cls, meta, arrays):
        """The model that ``_state`` described; arrays missing from ``arrays`` are None."""
        params = dict(meta["params"])
        if isinstance(params.get("momentum"), list):
            params["momentum"] = tuple(params["momentum"])  # JSON has no tuples
        model = cls(**params)
        for name in cls._ARRAYS:
            value = arrays.get(name)
            setattr(model, name, None if value is None else xp().asarray(value))
        model.epochs_done_, model.history_ = meta["epochs_done_"], meta["history_"]
        model.rng_.set_state(meta["rng_state"])
        return model

    # ------------------------------------------------------------------ the hot loop
    def _cd_step(self, buf, lr, momentum):
        """One CD-k / PCD-k update from the minibatch v0 already in ``buf.vv[:B]``.

        Visible rows are stacked as vv = [v0; v_neg] and hidden rows as
        hh = lr/B [h0; -h_neg], so one GEMM vv^T hh gives lr/B (v0^T h0 - v_neg^T h_neg):
        the positive and negative statistics in a single (V x 2B) @ (2B x H)
        product. Every other operation is in place on preallocated buffers.
        """
        m, B = xp(), buf.rows
        v0, v_neg, h0, h_neg = buf.vv[:B], buf.vv[B:], buf.hh[:B], buf.hh[B:]
        u = self.rng_.random(buf.u.shape, dtype=buf.u.dtype, out=buf.u)  # every hidden uniform of this batch
        if buf.noise is not None:
            self._draw_visible_noise(self.rng_, buf.noise)
        self._up(v0, out=h0)  # positive phase: probabilities p(h | v0)
        if not self.persistent:  # CD-k: the chain starts at the data, with binary hidden states
            h_s = m.less(u[0], h0, out=buf.h_s)
            for t in range(1, self.k):
                self._sample_visible(self._down(h_s, out=v_neg), buf.noise[t - 1], out=buf.v_s)
                m.less(u[t], self._up(buf.v_s, out=h_neg), out=h_s)
            self._down(h_s, out=v_neg)  # last visible step: probabilities (the reconstruction)
        else:  # PCD-k: the chain continues from the fantasy particles
            chain = self.persistent_chain_[:B]
            for t in range(self.k):
                m.less(u[t], self._up(chain, out=h_neg), out=buf.h_s)
                self._sample_visible(self._down(buf.h_s, out=v_neg), buf.noise[t], out=chain)
            v_neg[...] = chain
        self._up(v_neg, out=h_neg)  # last hidden step: probabilities

        if self.sparsity_target is not None:  # pulls q toward the target through b and W (guide, sec. 11)
            q = self.hidden_activity_
            q *= _ACTIVITY_DECAY
            q += (1 - _ACTIVITY_DECAY) * h0.mean(axis=0)
            h0 -= self.sparsity_cost * (q - self.sparsity_target)
        step = lr / B
        da = v0.sum(axis=0) - v_neg.sum(axis=0)
        h0 *= step
        h_neg *= -step  # hh = lr/B [h0; -h_neg]
        m.matmul(buf.vv.T, buf.hh, out=buf.G)  # lr/B (v0^T h0 - v_neg^T h_neg), one GEMM
        vW = self.velocity_W_  # velocity = momentum * velocity + gradient step
        vW *= momentum
        vW += buf.G
        if self.weight_decay:  # W <- (1 - lr * weight_decay) W: one pass, outside the momentum
            self.W *= 1 - lr * self.weight_decay
        self.W += vW
        self.velocity_a_ *= momentum
        self.velocity_a_ += step * da
        self.velocity_b_ *= momentum
        self.velocity_b_ += buf.hh.sum(axis=0)
        self.a += self.velocity_a_
        self.b += self.velocity_b_

    def _epoch(self, X, buffers, method):
        """One shuffled pass over X; ``buffers`` caches the per-batch arrays by batch size."""
        m = xp()
        momentum = self.momentum
        if isinstance(momentum, tuple | list):
            momentum = momentum[0] if self.epochs_done_ < self.momentum_switch_epoch else momentum[1]
        order = m.asarray(self.rng_.permutation(X.shape[0]))
        for start in range(0, X.shape[0], self.batch_size):
            rows = order[start : start + self.batch_size]
            buf = buffers.get(len(rows)) or buffers.setdefault(len(rows), _Buffers(self, len(rows)))
            m.take(X, rows, axis=0, out=buf.vv[: len(rows)])
            self._cd_step(buf, self.learning_rate, momentum)
        self.epochs_done_ += 1
        self._check_diverged(method)

    def _start_training(self, X):
        """First fit only: visible biases from the data (guide, sec. 8); chain and activity as needed."""
        if self.epochs_done_ == 0:
            self._init_visible_bias(X)
        if self.persistent and self.persistent_chain_ is None:  # particles start as samples of p(v | h = 0)
            h = xp().zeros((self.batch_size, self.n_hidden), dtype=self.W.dtype)
            self.persistent_chain_ = self._sample_v(h, self.rng_)
        if self.sparsity_target is not None and self.hidden_activity_ is None:
            self.hidden_activity_ = xp().full(self.n_hidden, self.sparsity_target, dtype=self.W.dtype)

    def _check_diverged(self, method):
        m = xp()
        w_max = float(m.abs(self.W).max())
        if not (w_max <= _MAX_ABS_WEIGHT and bool(m.isfinite(self.a).all()) and bool(m.isfinite(self.b).all())):
            raise TrainingDiverged(
                f"{self._name}.{method}: training diverged at epoch {self.epochs_done_}: max |W| = {w_max:.3g} "
                f"(limit {_MAX_ABS_WEIGHT:g}); lower the learning rate (now {self.learning_rate:g}) and fit again"
            )

    # ------------------------------------------------------------------ monitors
    def _record(self, X, X_val, seconds):
        m = xp()
        X_mon = _rows(X, _MONITOR_ROWS)
        hist = self.history_
        hist["epoch"].append(self.epochs_done_)
        z = X_mon @ self.W + self.b  # the hidden input, shared by the first two monitors
        pll = self._pseudo_log_likelihood(X_mon, RNG(self.epochs_done_), z) if self._binary_visible else None
        recon = self._down(sigmoid(z, out=z))
        hist["reconstruction_error"].append(float(m.mean((recon - X_mon) ** 2)))
        hist["pseudo_log_likelihood"].append(pll)
        gap = None
        if X_val is not None:
            gap = float(self._free_energy(_rows(X_val, _MONITOR_ROWS)).mean() - self._free_energy(X_mon).mean())
        hist["free_energy_gap"].append(gap)
        units, other = sorted((self.n_visible, self.n_hidden))
        cheap = units <= _MAX_EXACT_UNITS and 2**units * other <= _CHEAP_EXACT_TERMS
        hist["log_likelihood"].append(self._exact_log_likelihood(X) if cheap else None)
        hist["seconds"].append(seconds)

    def _pseudo_log_likelihood(self, v, rng, z=None):
        """The mean PLL of rows v; ``z`` is their hidden input v W + b when already at hand."""
        m, n = xp(), v.shape[0]
        rows, cols = m.arange(n), m.asarray(rng.integers(0, self.n_visible, size=n))
        z = v @ self.W + self.b if z is None else z
        d = 1 - 2 * v[rows, cols]  # +1 where the flipped bit goes 0 -> 1, -1 where it goes 1 -> 0
        z_flipped = z + d[:, None] * self.W[cols]  # flipping v_i adds +-W_i to the hidden input
        # F(v~) - F(v) = -a_i d - sum_j [softplus(z~_j) - softplus(z_j)]
        delta = -self.a[cols] * d - (softplus(z_flipped) - softplus(z)).sum(axis=1)
        return float(self.n_visible * m.mean(-softplus(-delta)))  # n_visible * log sigmoid(delta)

    # ------------------------------------------------------------------ the model's formulas
    def _visible_energy(self, v):
        return -(v @ self.a)

    def _free_energy(self, v):
        return self._visible_energy(v) - softplus(v @ self.W + self.b).sum(axis=1)

    def _log_marginal_h(self, h):
        """log sum_v exp(-E(v, h)) = b.h + sum_i softplus(a_i + W_i.h)."""
        return h @ self.b + softplus(h @ self.W.T + self.a).sum(axis=1)

    def _up(self, v, out=None):
        """p(h = 1 | v), written into ``out`` when given."""
        out = xp().matmul(v, self.W, out=out)
        out += self.b
        return sigmoid(out, out=out)

    def _down(self, h, out=None):
        """E[v | h], written into ``out`` when given."""
        out = xp().matmul(h, self.W.T, out=out)
        out += self.a
        return self._visible_activation(out)

    def _sample_h(self, v, rng):
        p = self._up(v)
        return xp().less(rng.random(p.shape, dtype=p.dtype), p, out=p)

    def _sample_v(self, h, rng):
        mean = self._down(h)
        noise = xp().empty_like(mean)
        self._draw_visible_noise(rng, noise)
        return self._sample_visible(mean, noise, out=mean)

    def _visible_activation(self, x):
        return sigmoid(x, out=x)

    def _draw_visible_noise(self, rng, out):
        rng.random(out.shape, dtype=out.dtype, out=out)

    def _sample_visible(self, mean, noise, out):
        return xp().less(noise, mean, out=out)

    def _init_visible_bias(self, X):
        self.a[...] = base_rate_bias(X.mean(axis=0))

    # ------------------------------------------------------------------ enumeration
    def _enumerated_layer(self):
        """The layer exact sums run over: the smaller one, if it has at most 20 units."""
        if min(self.n_visible, self.n_hidden) > _MAX_EXACT_UNITS:
            raise ValueError(
                f"{self._name}: exact enumeration needs a layer of at most {_MAX_EXACT_UNITS} units, the model "
                f"has n_visible={self.n_visible}, n_hidden={self.n_hidden}; use log_partition(method='ais') "
                "or estimate_log_likelihood"
            )
        return "visible" if self.n_visible < self.n_hidden else "hidden"

    def _enumerate(self, chunk=4096):
        """Yield (log p*(state), v part, h part) in float64 for every state of the enumerated layer.

        Visible layer: (-F(v), v, p(h | v)). Hidden layer: (log sum_v exp(-E), E[v | h], h).
        Either way sum p(state) (v part)^T (h part) is the model's <v h^T>.
        """
        layer = self._enumerated_layer()
        n = self.n_visible if layer == "visible" else self.n_hidden
        for states in _binary_states(n, chunk):
            if layer == "visible":
                yield -self._free_energy(states), states, self._up(states)
            else:
                yield self._log_marginal_h(states), self._down(states), states

    def _exact_log_z(self):
        model = self._as_float64()
        return float(logsumexp(xp().stack([logsumexp(lp) for lp, _, _ in model._enumerate()])))

    def _exact_log_likelihood(self, X):
        return -self._mean_free_energy(X) - self._exact_log_z()

    def _mean_free_energy(self, X, chunk=4096):
        """mean F(v) over the rows of X in float64, a block of rows at a time."""
        model, f64 = self._as_float64(), xp().float64
        total = sum(float(model._free_energy(X[i : i + chunk].astype(f64)).sum()) for i in range(0, len(X), chunk))
        return total / len(X)

    def _as_float64(self):
        """A shallow copy with float64 parameters, for exact sums."""
        model = copy.copy(self)
        model.W, model.a, model.b = (xp().asarray(x, dtype=xp().float64) for x in (self.W, self.a, self.b))
        return model

    # ------------------------------------------------------------------ the public edge
    @property
    def _name(self):
        return type(self).__name__

    def _check_v(self, X, method, name="X"):
        where = f"{self._name}.{method}"
        A = check_X(X, where if name == "X" else f"{where} ({name})", unit_interval=self._binary_visible,
                    dtype=self.W.dtype)  # fmt: skip
        if A.shape[1] != self.n_visible:
            raise ValueError(f"{where}: {name} has {A.shape[1]} columns, the model has n_visible={self.n_visible}")
        return A

    def _check_h(self, h, method):
        where = f"{self._name}.{method}"
        A = check_X(h, f"{where} (h)", dtype=self.W.dtype)
        if A.shape[1] != self.n_hidden:
            raise ValueError(f"{where}: h has {A.shape[1]} columns, the model has n_hidden={self.n_hidden}")
        return A

    def _rng(self, rng):
        return self.rng_ if rng is None else rng if isinstance(rng, RNG) else RNG(rng)

    def _check_hyperparameters(self):
        moms = tuple(self.momentum) if isinstance(self.momentum, tuple | list) else (self.momentum,)
        is_int = lambda x, low: isinstance(x, int | np.integer) and not isinstance(x, bool) and x >= low  # noqa: E731
        checks = [
            (is_int(self.n_visible, 1) and is_int(self.n_hidden, 1), "n_visible and n_hidden must be integers >= 1",
             (self.n_visible, self.n_hidden)),
            (self.learning_rate > 0 and math.isfinite(self.learning_rate), "learning_rate must be > 0",
             self.learning_rate),
            (is_int(self.k, 1), "k must be an integer >= 1", self.k),
            (len(moms) in (1, 2) and all(0 <= x < 1 for x in moms), "momentum must be in [0, 1) or a pair of such",
             self.momentum),
            (self.weight_decay >= 0, "weight_decay must be >= 0", self.weight_decay),
            (is_int(self.batch_size, 1), "batch_size must be an integer >= 1", self.batch_size),
            (is_int(self.n_epochs, 0), "n_epochs must be an integer >= 0", self.n_epochs),
            (self.sparsity_target is None or 0 < self.sparsity_target < 1, "sparsity_target must be in (0, 1)",
             self.sparsity_target),
            (self.sparsity_cost >= 0, "sparsity_cost must be >= 0", self.sparsity_cost),
            (str(self.dtype) in ("float32", "float64"), "dtype must be 'float32' or 'float64'", self.dtype),
        ]  # fmt: skip
        for ok, expected, got in checks:
            if not ok:
                raise ValueError(f"{self._name}: {expected}, got {got!r}")


_HISTORY_KEYS = ("epoch", "reconstruction_error", "pseudo_log_likelihood", "free_energy_gap", "log_likelihood",
                 "seconds")  # fmt: skip


class _Buffers:
    """Per-batch arrays of ``RBM._cd_step``, allocated once per fit for each batch size B."""

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


def _binary_states(n, chunk):
    """All 2^n binary vectors of length n, in blocks of ``chunk`` rows (float64)."""
    m = xp()
    bits = m.arange(n)
    for start in range(0, 2**n, chunk):
        idx = m.arange(start, min(start + chunk, 2**n))
        yield ((idx[:, None] >> bits) & 1).astype(m.float64)


from .gbrbm import GaussianBernoulliRBM  # noqa: E402  (it subclasses RBM, so it is imported last)
