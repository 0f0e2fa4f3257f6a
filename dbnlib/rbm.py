"""The restricted Boltzmann machine of chapter 5: the model, not its training.

Chapter 5 defines the model and this file uses its notation: visible units v,
hidden units h, visible bias a, hidden bias b, weights W of shape
(n_visible, n_hidden) and the energy

    E(v, h) = -a.v - b.h - v.W.h.

The class gives each quantity of the chapter for a batch of rows (energy, free
energy, conditionals, samplers, Gibbs chain), exact answers for small models by
enumerating the smaller layer (log Z, log-likelihood, its gradient), and AIS
estimates for large ones (``dbnlib.ais``). Its training (chapter 6: CD-k and
persistent CD, momentum, weight decay, sparsity, monitors, checkpoints) lives
in ``dbnlib.training``; ``fit`` and ``partial_fit`` here only hand over to it.
The Gaussian-visible variant is in ``dbnlib.gbrbm``. The shared model interface
(parameters, fitting twice, saving, divergence, return types) is described once
in ``dbnlib.base``. Left out: other unit types (softmax, ReLU), convolutional
RBMs, parallel tempering.
"""

import copy

import numpy as np

from . import training
from ._validation import check_bool, check_int, check_real, check_X
from .ais import ais_log_partition, base_rate_bias
from .backend import xp
from .base import Model, as_rng, check_random_state, make_rng
from .numerics import logsumexp, sigmoid_inplace, softplus

__all__ = ["RBM", "binary_states"]

MAX_EXACT_UNITS = 20  # exact sums enumerate 2^units states of the smaller layer


def binary_states(n, chunk=None):
    """All 2^n binary vectors of length n, in the order of ``itertools.product((0, 1), repeat=n)``.

    The first column is the most significant bit. This is dbnlib's one
    enumeration of binary states (exact sums, tests and chapters use it).

    Parameters
    ----------
    n : int
    chunk : int, optional
        Yield blocks of at most ``chunk`` rows instead of returning one array.

    Returns
    -------
    array of shape (2**n, n), float64, on the active backend (or a generator of blocks)
    """
    n = check_int(n, "n", "binary_states", low=0, high=30)
    if chunk is None:
        return next(_state_blocks(n, 2**n))
    return _state_blocks(n, check_int(chunk, "chunk", "binary_states", low=1))


def _state_blocks(n, chunk):
    m = xp()
    shifts = m.arange(n - 1, -1, -1)  # column j holds bit n-1-j: itertools.product order
    for start in range(0, 2**n, chunk):
        idx = m.arange(start, min(start + chunk, 2**n))
        yield ((idx[:, None] >> shifts) & 1).astype(m.float64)


class RBM(Model):
    """A restricted Boltzmann machine with binary visible and binary hidden units.

    Follows the shared interface of ``dbnlib.base``. ``fit`` starts from fresh
    parameters drawn from ``random_state`` and trains ``n_epochs`` epochs
    (``warm_start=True`` or ``partial_fit`` continue); with a
    ``checkpoint_path`` that holds a run of the same model on the same data, it
    adopts that run instead (see ``fit``).

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
    momentum_switch_epoch : int
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
    random_state : int, None, numpy.random.Generator or RNG
        Seeds every random draw of the model (initial W, shuffles, samples).
    warm_start : bool
        ``fit`` continues from the current parameters for ``n_epochs`` more epochs.
    verbose : bool
        Show a tqdm progress bar over epochs.

    Attributes
    ----------
    W : array of shape (n_visible, n_hidden)
        Weights, initialised N(0, 0.01^2).
    a : array of shape (n_visible,)
        Visible biases; a fresh fit sets them to log(p / (1 - p)) of the data's
        column means p (Hinton's guide, section 8), with p clipped to
        [0.001, 0.999], so a pixel that is never on gets -6.9, not -inf.
    b : array of shape (n_hidden,)
        Hidden biases, initialised 0.
    epochs_done_ : int
        Epochs trained since the last fresh start.
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
    _ARRAYS = ("W", "a", "b", "velocity_W_", "velocity_a_", "velocity_b_", "persistent_chain_", "hidden_activity_")
    _STATE = ("epochs_done_", "history_", "epochs_target_", "data_fingerprint_")
    _STRUCTURAL = ("n_visible", "n_hidden", "dtype", "random_state")

    def __init__(self, n_visible, n_hidden, *, learning_rate=0.1, k=1, persistent=False, momentum=(0.5, 0.9),
                 momentum_switch_epoch=5, weight_decay=1e-4, batch_size=100, n_epochs=10, sparsity_target=None,
                 sparsity_cost=0.0, dtype="float32", random_state=None, warm_start=False, verbose=False):  # fmt: skip
        w = self._name
        self.n_visible = check_int(n_visible, "n_visible", w, low=1)
        self.n_hidden = check_int(n_hidden, "n_hidden", w, low=1)
        self._set_hyperparameters(
            n_visible=n_visible, n_hidden=n_hidden, learning_rate=learning_rate, k=k, persistent=persistent,
            momentum=momentum, momentum_switch_epoch=momentum_switch_epoch, weight_decay=weight_decay,
            batch_size=batch_size, n_epochs=n_epochs, sparsity_target=sparsity_target, sparsity_cost=sparsity_cost,
            dtype=dtype, random_state=random_state, warm_start=warm_start, verbose=verbose)  # fmt: skip
        self._initialize()

    def _set_hyperparameters(self, n_visible, n_hidden, learning_rate, k, persistent, momentum, momentum_switch_epoch,
                             weight_decay, batch_size, n_epochs, sparsity_target, sparsity_cost, dtype, random_state,
                             warm_start, verbose):  # fmt: skip
        w = self._name
        self.learning_rate = check_real(learning_rate, "learning_rate", w, low=0, low_open=True)
        self.k = check_int(k, "k", w, low=1)
        self.persistent = check_bool(persistent, "persistent", w)
        if isinstance(momentum, tuple | list):
            if len(momentum) != 2:
                raise ValueError(f"{w}: momentum must be a number in [0, 1) or a pair of such, got {momentum!r}")
            momentum = tuple(check_real(x, "momentum", w, low=0, high=1, high_open=True) for x in momentum)
        else:
            momentum = check_real(momentum, "momentum", w, low=0, high=1, high_open=True)
        self.momentum = momentum
        self.momentum_switch_epoch = check_int(momentum_switch_epoch, "momentum_switch_epoch", w, low=0)
        self.weight_decay = check_real(weight_decay, "weight_decay", w, low=0)
        self.batch_size = check_int(batch_size, "batch_size", w, low=1)
        self.n_epochs = check_int(n_epochs, "n_epochs", w, low=0)
        self.sparsity_target = check_real(sparsity_target, "sparsity_target", w, low=0, high=1, low_open=True,
                                          high_open=True, allow_none=True)  # fmt: skip
        self.sparsity_cost = check_real(sparsity_cost, "sparsity_cost", w, low=0)
        if str(dtype) not in ("float32", "float64"):
            raise ValueError(f"{w}: dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = str(dtype)
        self.random_state = check_random_state(random_state, "random_state", w)
        self.warm_start = check_bool(warm_start, "warm_start", w)
        self.verbose = check_bool(verbose, "verbose", w)

    def _initialize(self):
        """Fresh parameters and training state from ``random_state`` (what ``fit`` starts from)."""
        m, dt = xp(), np.dtype(self.dtype)
        self.rng_ = make_rng(self.random_state, "random_state", self._name)
        # on_host: the same random_state gives the same initial W on NumPy and CuPy
        self.W = self.rng_.normal((self.n_visible, self.n_hidden), scale=0.01, dtype=dt, on_host=True)
        self.a, self.b = m.zeros(self.n_visible, dtype=dt), m.zeros(self.n_hidden, dtype=dt)
        self.velocity_W_, self.velocity_a_, self.velocity_b_ = (m.zeros_like(x) for x in (self.W, self.a, self.b))
        self.persistent_chain_ = self.hidden_activity_ = None
        self.epochs_done_ = 0
        self.epochs_target_ = None
        self.data_fingerprint_ = None
        self.history_ = {key: [] for key in training.HISTORY_KEYS}

    def _is_fitted(self):
        return self.epochs_done_ > 0

    def set_weights(self, W=None, a=None, b=None):
        """Copy values (NumPy or device arrays) into ``W``, ``a`` and ``b``, in place.

        Shapes are checked ((n_visible, n_hidden), (n_visible,), (n_hidden,)),
        values converted to the model's dtype on the active backend; arrays
        shared with another model (an MLP built by ``DBN.to_mlp``) stay shared.
        This is the one way to put NumPy values into a model on either backend.
        Returns self.
        """
        where = f"{self._name}.set_weights"
        for name, value in (("W", W), ("a", a), ("b", b)):
            if value is not None:
                self._copy_into(getattr(self, name), value, name, where)
        return self

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
        """Binary h ~ p(h | v), shape (n_samples, n_hidden). ``rng``: RNG, seed, Generator, or None for the model's."""
        return self._sample_h(self._check_v(v, "sample_h_given_v"), self._rng(rng))

    def sample_v_given_h(self, h, rng=None):
        """v ~ p(v | h), shape (n_samples, n_visible). ``rng``: RNG, seed, Generator, or None for the model's."""
        return self._sample_v(self._check_h(h, "sample_v_given_h"), self._rng(rng))

    def gibbs(self, v, steps=1, rng=None):
        """Run ``steps`` full sweeps v -> h -> v of block Gibbs sampling; return the last v sample."""
        steps = check_int(steps, "steps", f"{self._name}.gibbs", low=0)
        rng, v = self._rng(rng), self._check_v(v, "gibbs")
        for _ in range(steps):
            v = self._sample_v(self._sample_h(v, rng), rng)
        return v

    def transform(self, X):
        """The hidden probabilities p(h = 1 | v) of each row; shape (n_samples, n_hidden)."""
        return self._up(self._check_v(X, "transform"))

    def reconstruct(self, X):
        """One deterministic mean-field up-down pass: sigmoid(a + W p) with p = p(h = 1 | v).

        Each hidden unit is replaced by its probability, so this is not a
        conditional expectation given a state of h (p is not one); it is the
        reconstruction the CD monitors use. Shape (n_samples, n_visible).
        """
        return self._down(self._up(self._check_v(X, "reconstruct")))

    def pseudo_log_likelihood(self, X, random_state=0):
        """Mean over rows of n_visible * log sigmoid(F(v~) - F(v)), v~ = v with one random bit flipped.

        The stochastic approximation of scikit-learn's ``BernoulliRBM.score_samples``; a float.
        """
        return self._pseudo_log_likelihood(self._check_v(X, "pseudo_log_likelihood"), self._rng(random_state))

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
        random_state : int, None, numpy.random.Generator or RNG
            Seeds AIS (the model's own random stream is left alone).

        Returns
        -------
        float or AISResult
            The exact log Z, or an ``AISResult(log_z, log_z_std, log_weights, log_z_base, ess)``.
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
        rng = as_rng(random_state, "random_state", f"{self._name}.log_partition")
        return ais_log_partition(self.W, self.a, self.b, a_base, n_betas=n_betas, n_runs=n_runs, random_state=rng)

    def log_likelihood(self, X):
        """Mean log p(v) over the rows of X in nats, exactly: mean(-F(v)) - log Z (a float)."""
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

    # ------------------------------------------------------------------ chapter 6: training (dbnlib.training)
    def fit(self, X, X_val=None, checkpoint_path=None):
        """Train with CD-k (or PCD-k) for ``n_epochs`` epochs; see ``dbnlib.training.fit``.

        From fresh parameters, unless ``warm_start`` is set (then from the
        current ones) or ``checkpoint_path`` holds a run of this same model on
        this same data (same hyperparameters apart from ``warm_start`` and
        ``verbose``). An unfinished run then resumes where it stopped and ends
        as an uninterrupted run would; a finished one is returned as saved, or,
        with ``warm_start``, trained ``n_epochs`` more from there. A checkpoint
        of another run is refused with a ``ValueError``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_visible)
            Values in [0, 1] (probabilities are allowed as data).
        X_val : array-like of shape (n_val, n_visible), optional
            Monitored by the free-energy gap.
        checkpoint_path : str or PathLike, optional
            Saved (``save``) after every epoch, atomically.

        Returns
        -------
        self
        """
        X = self._check_v(X, "fit")
        X_val = None if X_val is None else self._check_v(X_val, "fit", name="X_val")
        return training.fit(self, X, X_val, checkpoint_path)

    def partial_fit(self, X):
        """One epoch (one shuffled pass over X) from the current state; keeps momentum and the chain.
        No monitors."""
        X = self._check_v(X, "partial_fit")
        return training.partial_fit(self, X)

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
        return sigmoid_inplace(out)

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
        return sigmoid_inplace(x)

    def _draw_visible_noise(self, rng, out):
        rng.random(out.shape, dtype=out.dtype, out=out)

    def _sample_visible(self, mean, noise, out):
        return xp().less(noise, mean, out=out)

    def _init_visible_bias(self, X):
        self.a[...] = base_rate_bias(X.mean(axis=0))

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

    # ------------------------------------------------------------------ enumeration
    def _enumerated_layer(self):
        """The layer exact sums run over: the smaller one, if it has at most 20 units."""
        if min(self.n_visible, self.n_hidden) > MAX_EXACT_UNITS:
            raise ValueError(
                f"{self._name}: exact enumeration needs a layer of at most {MAX_EXACT_UNITS} units, the model "
                f"has n_visible={self.n_visible}, n_hidden={self.n_hidden}; use log_partition(method='ais') "
                "or estimate_log_likelihood"
            )
        return "visible" if self.n_visible < self.n_hidden else "hidden"

    def _exact_terms(self):
        """The work of one exact sum, 2^units x the other layer's size; inf when it cannot be done."""
        try:
            layer = self._enumerated_layer()
        except ValueError:
            return float("inf")
        units, other = (self.n_visible, self.n_hidden) if layer == "visible" else (self.n_hidden, self.n_visible)
        return 2**units * other

    def _enumerate(self, chunk=4096):
        """Yield (log p*(state), v part, h part) in float64 for every state of the enumerated layer.

        Visible layer: (-F(v), v, p(h | v)). Hidden layer: (log sum_v exp(-E), E[v | h], h).
        Either way sum p(state) (v part)^T (h part) is the model's <v h^T>.
        """
        layer = self._enumerated_layer()
        n = self.n_visible if layer == "visible" else self.n_hidden
        for states in binary_states(n, chunk):
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
        model, m = self._as_float64(), xp()
        total = sum(model._free_energy(X[i : i + chunk].astype(m.float64)).sum() for i in range(0, len(X), chunk))
        return float(total) / len(X)

    def _as_float64(self):
        """A shallow copy with float64 parameters, for exact sums."""
        model = copy.copy(self)
        model.W, model.a, model.b = (xp().asarray(x, dtype=xp().float64) for x in (self.W, self.a, self.b))
        return model

    # ------------------------------------------------------------------ the public edge
    def _check_v(self, X, method, name="X"):
        where = f"{self._name}.{method}"
        return check_X(X, where, n_features=self.n_visible, unit_interval=self._binary_visible,
                       dtype=self.W.dtype, name=name, features_name="n_visible")  # fmt: skip

    def _check_h(self, h, method):
        return check_X(h, f"{self._name}.{method}", n_features=self.n_hidden, dtype=self.W.dtype, name="h",
                       features_name="n_hidden")

    def _rng(self, rng):
        return self.rng_ if rng is None else as_rng(rng, "rng", self._name)
