"""The deep belief network (chapter 7): a stack of RBMs, then an MLP.

``DBN`` trains its RBMs greedily, one layer at a time, each on the hidden
probabilities of the layer below (computed once per layer and cached, not
recomputed every epoch). Its sigmoid layers then *are* the hidden layers of a
``dbnlib.MLP``: ``to_mlp`` puts the RBMs' own ``W`` and ``b`` arrays into the
MLP's ``params``, so fine-tuning is chapter 3's backpropagation and nothing
else, and it moves the RBMs' weights with it. Generation runs alternating Gibbs
sampling in the top RBM and one downward pass through the others.

The three steps of chapter 7 are also plain functions on a list of RBMs
(``greedy_pretrain``, ``mlp_params``, ``down_pass``, plus ``up_pass``); the
class strings them together and adds checkpoints and saving.

Class-conditional generation follows Hinton, Osindero & Teh (2006):
``DBN.fit_generative(X, y)`` trains the top RBM on the penultimate features
joined with a group of softmax label units (a ``LabelledRBM``); ``sample``
with ``labels`` clamps that group to the requested classes during the
top-level Gibbs chain, and ``predict_proba`` of such a DBN is the top RBM's
p(label | features), from free energies. A top RBM meant for clamped-label
sampling can be trained further with ``LabelledRBM(clamp_labels=True)``:
persistent CD whose fantasy particles keep their labels, which follows the
gradient of log p(features | label), the law such a chain samples.

Notation: ``rbms[i]`` has visible layer ``i`` and hidden layer ``i + 1``, so
layer 0 is the data and ``rbms[-1]`` is the top RBM, the only undirected part
of the generative model; the layers below it are the directed sigmoid belief
net p(h_i | h_{i+1}) = sigmoid(a_i + W_i h_{i+1}).

A real-valued first layer is a ``GaussianBernoulliRBM`` (``visible="gaussian"``).
The shared model interface (parameters, fitting twice, saving, return types) is
described once in ``dbnlib.base``. Left out: the up-down (wake-sleep)
fine-tuning of the generative model (so ``fit_generative`` stops at the
greedy stage of the 2006 paper).
"""

import numbers
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import training
from ._io import read_npz
from ._validation import check_bool, check_choice, check_int, check_labels, check_X
from .backend import xp
from .ais import base_rate_bias
from .base import Model, _class_of, _json_params, _tuples, as_rng, check_random_state, make_rng
from .gbrbm import GaussianBernoulliRBM
from .mlp import MLP
from .numerics import logsumexp, sigmoid, softplus
from .rbm import MAX_EXACT_UNITS, RBM

__all__ = ["DBN", "LabelledRBM", "greedy_pretrain", "up_pass", "mlp_params", "down_pass"]

_RBM_DEFAULTS = dict(learning_rate=0.05, n_epochs=30, batch_size=50, momentum=(0.5, 0.9), weight_decay=2e-4)
_GAUSSIAN_DEFAULTS = dict(_RBM_DEFAULTS, learning_rate=0.005)  # the Gaussian RBM's own rate
_FINE_TUNE_DEFAULTS = dict(learning_rate=0.1, momentum=0.9, weight_decay=1e-5, batch_size=50, n_epochs=30,
                           dropout=0.0, input_dropout=0.0)  # tools/experiments/ch07_recipe.py
_FINE_TUNE_KEYS = set(_FINE_TUNE_DEFAULTS) | {"init"}
_VISIBLE = ("binary", "gaussian")


# ---------------------------------------------------------------------- the algorithms, as functions
def up_pass(rbms, X):
    """The deterministic up-pass: ``[X, p(h_1 | X), p(h_2 | h_1), ...]``, one array per layer.

    Each layer's input is the previous layer's hidden *probabilities*
    (the mean-field up-pass of chapter 7), never samples.
    """
    layers = [X]
    for rbm in rbms:
        layers.append(rbm.transform(layers[-1]))
    return layers


def greedy_pretrain(rbms, X, start=0, fit_layer=None, verbose=False):
    """Greedy layer-wise training: RBM ``i`` learns from the hidden probabilities of RBM ``i - 1``.

    Each layer's training set is computed once, by one ``transform`` of the
    previous one after that layer has finished training (the cache), not
    recomputed every epoch.

    Parameters
    ----------
    rbms : list of RBM
        Trained in place, bottom first.
    X : array of shape (n_samples, rbms[0].n_visible)
    start : int
        Layers below ``start`` are already trained and are only used to
        propagate the data up.
    fit_layer : callable, optional
        ``fit_layer(i, H)`` trains layer ``i`` on ``H`` (default
        ``rbms[i].fit(H)``); it may replace ``rbms[i]`` (a resumed checkpoint).
    verbose : bool
        A progress bar over the layers.

    Returns
    -------
    array of shape (n_samples, rbms[-1].n_hidden)
        The top layer's hidden probabilities of X.
    """
    H = X
    for i in tqdm(range(len(rbms)), disable=not verbose, desc="DBN layers", unit="layer"):
        if i >= start:
            if fit_layer is None:
                rbms[i].fit(H)
            else:
                fit_layer(i, H)
        H = rbms[i].transform(H)  # the cache: the next layer's whole training set
    return H


def mlp_params(rbms):
    """The hidden layers of the MLP as the RBMs define them: ``[(rbms[i].W, rbms[i].b), ...]``.

    The arrays themselves, not copies: an MLP that holds them trains the RBMs.
    The visible biases ``a`` take no part in the up-pass and are left out.
    """
    return [(rbm.W, rbm.b) for rbm in rbms]


def down_pass(rbms, h_top, uniforms):
    """The directed generative pass from the top RBM's hidden state to the bottom layer's mean.

    Each layer's ``prob_v_given_h`` gives p(layer i | layer i + 1); every
    layer but the bottom one is then sampled binary.

    Parameters
    ----------
    rbms : list of RBM (L of them)
    h_top : array of shape (n, rbms[-1].n_hidden)
        A state of the top hidden layer.
    uniforms : list of L - 1 arrays
        ``uniforms[i]`` of shape (n, rbms[i].n_hidden): the uniform draws that
        turn p(h_{i+1} | h_{i+2}) into a binary sample (h = u < p).

    Returns
    -------
    array of shape (n, rbms[0].n_visible)
        E[v | h_1]: p(v = 1 | h_1) for binary units (the mean a + W h_1 for a
        Gaussian bottom layer); samples everywhere above.
    """
    h = h_top
    for i in range(len(rbms) - 1, -1, -1):
        p = rbms[i].prob_v_given_h(h)  # p(layer i | layer i + 1)
        if i == 0:
            return p
        h = (uniforms[i - 1] < p).astype(p.dtype)


# ---------------------------------------------------------------------- the top RBM with labels
class LabelledRBM(RBM):
    """An RBM whose last ``n_labels`` visible units form one softmax group: the label.

    The top RBM of Hinton, Osindero & Teh (2006). Its visible vector is
    ``v = [x, l]``: ``n_visible - n_labels`` binary feature units x and a
    one-hot label l (exactly one of the ``n_labels`` units is on). The energy
    is the RBM's, E(v, h) = -a.v - b.h - v.W.h, over the states with a one-hot
    l, so

        p(x_i = 1 | h) = sigmoid(a_i + W_i.h),
        p(l = e_k | h) = softmax_k(a_k + W_k.h),
        p(h_j = 1 | x, l) = sigmoid(b_j + v.W_j) as for any RBM.

    Training (``fit``, through ``dbnlib.training``) is the RBM's CD-k with
    the label group reconstructed by its softmax and sampled as one
    categorical draw; a fresh fit sets the label biases to the log class
    frequencies. Exact sums enumerate the hidden layer (at most 20 units),
    with the label group summed over its ``n_labels`` states; AIS is not
    available for this model.

    With ``clamp_labels=True`` (persistent CD only) each fantasy particle
    keeps its label for the whole of training: the labels of the particles
    are set to the class frequencies of the training rows, and the chain
    resamples only the features and the hidden units. The negative phase is
    then an average over p(x, h | l), so the update follows the gradient of
    the class-conditional log-likelihood, mean over rows of

        log p(x | l) = -F([x, l]) - log Z_l,   Z_l = sum_x exp(-F([x, l])),

    rather than of log p(x, l). That is the distribution ``DBN.sample``
    draws from when it clamps a label; the label biases get no gradient (the
    particles' label frequencies equal the data's) and p(l | x) is not what
    is trained.

    Parameters
    ----------
    n_visible : int
        Feature units plus label units.
    n_hidden : int
    n_labels : int
        Size of the softmax group (the last ``n_labels`` visible units), >= 2.
    clamp_labels : bool
        Keep each persistent particle's label fixed during training (the
        class-conditional objective above). Needs ``persistent=True``.
    learning_rate, k, persistent, momentum, weight_decay, batch_size, n_epochs
        As for ``RBM``, and so is every other keyword argument.

    Attributes
    ----------
    n_features : int
        ``n_visible - n_labels``.
    """

    _STRUCTURAL = RBM._STRUCTURAL + ("n_labels",)

    def __init__(self, n_visible, n_hidden, *, n_labels=10, clamp_labels=False, learning_rate=0.1, k=1,
                 persistent=False, momentum=(0.5, 0.9), momentum_switch_epoch=5, weight_decay=1e-4, batch_size=100,
                 n_epochs=10, sparsity_target=None, sparsity_cost=0.0, dtype="float32", random_state=None,
                 warm_start=False, verbose=False):  # fmt: skip
        n_labels = check_int(n_labels, "n_labels", "LabelledRBM", low=2)
        n_vis = check_int(n_visible, "n_visible", "LabelledRBM", low=1)
        if n_labels >= n_vis:
            raise ValueError(f"LabelledRBM: n_labels must be smaller than n_visible (the label units are the last "
                             f"n_labels visible units), got n_labels={n_labels}, n_visible={n_vis}")  # fmt: skip
        self.n_labels = n_labels
        self._check_clamp(clamp_labels, persistent)
        self.clamp_labels = clamp_labels
        self._keep_chain_labels = False  # True only inside fit / partial_fit with clamp_labels
        super().__init__(n_visible, n_hidden, learning_rate=learning_rate, k=k, persistent=persistent,
                         momentum=momentum, momentum_switch_epoch=momentum_switch_epoch, weight_decay=weight_decay,
                         batch_size=batch_size, n_epochs=n_epochs, sparsity_target=sparsity_target,
                         sparsity_cost=sparsity_cost, dtype=dtype, random_state=random_state, warm_start=warm_start,
                         verbose=verbose)  # fmt: skip

    def _set_hyperparameters(self, n_labels=None, clamp_labels=None, **params):
        if n_labels is not None and n_labels != self.n_labels:  # pragma: no cover - set_params rebuilds instead
            raise ValueError("LabelledRBM: n_labels fixes the model's shape; set it through the constructor")
        clamp = self.clamp_labels if clamp_labels is None else clamp_labels
        self._check_clamp(clamp, params["persistent"])
        super()._set_hyperparameters(**params)
        self.clamp_labels = clamp

    @staticmethod
    def _check_clamp(clamp_labels, persistent):
        clamp_labels = check_bool(clamp_labels, "clamp_labels", "LabelledRBM")
        if clamp_labels and not persistent:
            raise ValueError("LabelledRBM: clamp_labels=True needs persistent=True (the fantasy particles carry "
                             "their labels from one update to the next), got persistent=False")  # fmt: skip

    # ------------------------------------------------------------------ training with clamped labels
    def fit(self, X, X_val=None, checkpoint_path=None):
        """Train as ``RBM.fit`` does; with ``clamp_labels`` the particles keep their labels (see the class)."""
        if not self.clamp_labels:
            return super().fit(X, X_val=X_val, checkpoint_path=checkpoint_path)
        X = self._check_v(X, "fit")
        if not self.warm_start and not (checkpoint_path is not None and Path(checkpoint_path).exists()):
            self._initialize()  # what training.fit would do, but here, so that the particles set next stay
            self.set_params(warm_start=True)  # a fresh start, so that the particles set below are kept
            try:
                self._init_visible_bias(X)
                return self._fit_clamped(X, lambda: training.fit(self, X, X_val, checkpoint_path))
            finally:
                self.set_params(warm_start=False)
        return self._fit_clamped(X, lambda: training.fit(self, X, X_val, checkpoint_path))

    def partial_fit(self, X):
        """One epoch as ``RBM.partial_fit``; with ``clamp_labels`` the particles keep their labels."""
        if not self.clamp_labels:
            return super().partial_fit(X)
        X = self._check_v(X, "partial_fit")
        return self._fit_clamped(X, lambda: training.partial_fit(self, X))

    def _fit_clamped(self, X, run):
        """Give the particles the labels of X's class frequencies, then train with those labels held."""
        self._clamp_particles(X)
        self._keep_chain_labels = True
        try:
            return run()
        finally:
            self._keep_chain_labels = False

    def _clamp_particles(self, X):
        """One label per particle, in proportion to the labels of X (evenly spaced quantiles of its sorted labels).

        A missing chain starts as ``dbnlib.training`` starts one, from p(v | h = 0).
        """
        m, f = xp(), self.n_features
        if self.persistent_chain_ is None:
            h = m.zeros((self.batch_size, self.n_hidden), dtype=self.W.dtype)
            self.persistent_chain_ = self._sample_v(h, self.rng_)
        B = self.persistent_chain_.shape[0]
        rows = X[:, f:]
        if not bool(m.all(m.abs(rows.sum(axis=1) - 1) < 1e-6)) or not bool(m.all((rows == 0) | (rows == 1))):
            raise ValueError(f"{self._name}.fit: with clamp_labels=True the last n_labels={self.n_labels} columns "
                             "of X must be one-hot labels")  # fmt: skip
        labels = m.sort(rows.argmax(axis=1))
        k = labels[m.asarray(np.linspace(0, X.shape[0] - 1, B).round().astype(np.int64))]
        self.persistent_chain_[:, f:] = m.arange(self.n_labels) == k[:, None]

    def _initialize(self):
        super()._initialize()
        self._keep_chain_labels = False

    @property
    def n_features(self):
        return self.n_visible - self.n_labels

    def prob_labels_given_features(self, x):
        """p(l = e_k | x) for each row of feature states x, summing over h exactly.

        p(l = e_k | x) is proportional to exp(-F([x, e_k])) with the free
        energy F(v) = -a.v - sum_j softplus(b_j + v.W_j): Hinton, Osindero &
        Teh's (2006) classification by the generative model.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features)
            Values in [0, 1] (probabilities are allowed, as in an up-pass).

        Returns
        -------
        array of shape (n_samples, n_labels), rows summing to 1, on the active backend
        """
        m, f = xp(), self.n_features
        x = check_X(x, f"{self._name}.prob_labels_given_features", n_features=f, unit_interval=True,
                    dtype=self.W.dtype, name="x", features_name="n_features")  # fmt: skip
        z = x @ self.W[:f] + self.b  # hidden input of the features, shared by every label
        neg_f = m.stack([softplus(z + self.W[f + k]).sum(axis=1) for k in range(self.n_labels)], axis=1)
        neg_f += self.a[f:]  # -F([x, e_k]) up to the -a_x.x shared by all k
        neg_f -= neg_f.max(axis=1, keepdims=True)
        p = m.exp(neg_f)
        return p / p.sum(axis=1, keepdims=True)

    # ------------------------------------------------------------------ the softmax group in the RBM's formulas
    def _visible_activation(self, x):
        f = self.n_features
        sigmoid(x[:, :f], out=x[:, :f])
        z = x[:, f:]
        z -= z.max(axis=1, keepdims=True)
        xp().exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return x

    def _sample_visible(self, mean, noise, out):
        """Bernoulli features; the label as one categorical draw, from the uniform in the group's first column.

        Inside a clamped fit the only visible samples ``dbnlib.training`` draws
        are the persistent particles' (``out`` is the chain), whose label
        group is then left as it is.
        """
        m, f = xp(), self.n_features
        if self._keep_chain_labels:
            m.less(noise[:, :f], mean[:, :f], out=out[:, :f])
            return out
        cdf = m.cumsum(mean[:, f:], axis=1)  # computed before ``out`` (which may be ``mean``) is written
        k = m.minimum((cdf < noise[:, f : f + 1]).sum(axis=1), self.n_labels - 1)
        m.less(noise[:, :f], mean[:, :f], out=out[:, :f])
        out[:, f:] = m.arange(self.n_labels) == k[:, None]
        return out

    def _init_visible_bias(self, X):
        f = self.n_features
        self.a[:f] = base_rate_bias(X[:, :f].mean(axis=0))
        self.a[f:] = xp().log(xp().maximum(X[:, f:].mean(axis=0), 1e-3))  # log class frequencies

    def _log_marginal_h(self, h):
        """log sum_v exp(-E(v, h)) = b.h + sum_i softplus(a_i + W_i.h) + log sum_k exp(a_k + W_k.h)."""
        f = self.n_features
        z = h @ self.W.T + self.a
        return h @ self.b + softplus(z[:, :f]).sum(axis=1) + logsumexp(z[:, f:], axis=1)

    def _pseudo_log_likelihood(self, v, rng, z=None):
        """The pseudo-log-likelihood of the feature units (flipping a label unit leaves the one-hot states)."""
        m, n, f = xp(), v.shape[0], self.n_features
        rows, cols = m.arange(n), m.asarray(rng.integers(0, f, size=n))
        z = v @ self.W + self.b if z is None else z
        d = 1 - 2 * v[rows, cols]
        delta = -self.a[cols] * d - (softplus(z + d[:, None] * self.W[cols]) - softplus(z)).sum(axis=1)
        return float(f * m.mean(-softplus(-delta)))

    def _enumerated_layer(self):
        if self.n_hidden > MAX_EXACT_UNITS:
            raise ValueError(f"{self._name}: exact sums enumerate the hidden layer, which must have at most "
                             f"{MAX_EXACT_UNITS} units; this model has n_hidden={self.n_hidden}")  # fmt: skip
        return "hidden"

    def log_partition(self, method="exact", **kwargs):
        """log Z over the states with a one-hot label, by enumerating the hidden layer (``method="exact"``).

        AIS (``method="ais"``) assumes binary visible units and is refused with a
        ``ValueError``.
        """
        if method != "exact":
            raise ValueError(f"{self._name}.log_partition: only method='exact' is available (AIS assumes binary "
                             f"visible units), got {method!r}")  # fmt: skip
        return super().log_partition("exact")


# ---------------------------------------------------------------------- the model
class DBN(Model):
    """A deep belief network: greedy RBM pre-training, then fine-tuning as an MLP.

    Follows the shared interface of ``dbnlib.base``: ``fit`` starts from fresh
    RBMs (``warm_start=True`` keeps the current ones and the layers already
    pre-trained), ``pretrain`` trains the layers not yet done, labels go
    through ``classes_`` as in scikit-learn, and predictions are arrays on the
    active backend.

    ``fit_generative(X, y)`` instead makes the generative model of Hinton,
    Osindero & Teh (2006): the top RBM (a ``LabelledRBM``) sees the
    penultimate features joined with one softmax unit per class. Such a DBN
    generates digits of a requested class (``sample(n, labels=...)``) and
    classifies by the top RBM's free energies (``predict_proba``); it is not
    fine-tuned by backpropagation.

    Parameters
    ----------
    layer_sizes : sequence of int
        Visible size then the hidden sizes, e.g. ``(784, 500, 500, 2000)``.
    visible : {"binary", "gaussian"}
        The first layer's visible units: binary (data in [0, 1]) or Gaussian
        of unit variance (standardised real-valued data; the first RBM is then
        a ``GaussianBernoulliRBM``).
    rbm_params : dict or list of dicts, optional
        Keyword arguments for every RBM (one dict), or one dict per layer.
        Defaults (chapter 7's recipe): ``learning_rate=0.05, n_epochs=30,
        batch_size=50, momentum=(0.5, 0.9), weight_decay=2e-4`` (learning rate
        0.005 for a Gaussian first layer) and the RBM's own defaults for the
        rest (CD-1, float32).
    fine_tune_params : dict, optional
        Keyword arguments for the ``MLP`` that ``fit`` fine-tunes
        (``learning_rate``, ``momentum``, ``weight_decay``, ``batch_size``,
        ``n_epochs``, ``dropout``, ``input_dropout``, ``init``); defaults 0.1, 0.9,
        1e-5, 50, 30, 0, 0 (chapter 7's recipe, chosen on validation digits by
        ``tools/experiments/ch07_recipe.py``) and the MLP's own ``init="glorot"``
        for the output layer.
    random_state : int, None, numpy.random.Generator or RNG
        Seeds every RBM (layer ``i`` gets ``seed + i``) and the MLP's output
        layer and shuffling (``seed + n_rbms``), where ``seed`` is
        ``random_state`` itself when it is an int.
    warm_start : bool
        ``fit`` keeps the current RBMs and pre-trained layers.
    verbose : bool
        Progress bars per layer and per epoch; False is silent.

    Attributes
    ----------
    rbms : list of RBM
        ``rbms[i]`` models layer ``i`` (``layer_sizes[i]`` visible units).
    layers_done_ : int
        Layers whose pre-training has finished.
    classes_ : numpy.ndarray of shape (n_classes,)
        The labels seen by ``fit`` (or ``fit_generative``); the MLP's output
        ``k``, or label unit ``k`` of the top RBM, is ``classes_[k]``.
    n_labels_ : int
        Label units of the top RBM: ``len(classes_)`` after ``fit_generative``,
        0 for a DBN without them.
    mlp_ : MLP or None
        The fine-tuned network (after ``fit``); it shares ``W`` and ``b`` with ``rbms``.
    """

    _STRUCTURAL = ("layer_sizes", "visible", "rbm_params", "random_state")

    def __init__(self, layer_sizes, *, visible="binary", rbm_params=None, fine_tune_params=None, random_state=None,
                 warm_start=False, verbose=False):  # fmt: skip
        try:
            sizes = tuple(layer_sizes)
        except TypeError as exc:
            raise TypeError(f"DBN: layer_sizes must be a sequence of integers, got {layer_sizes!r}") from exc
        self.layer_sizes = tuple(check_int(n, "layer_sizes", "DBN", low=1) for n in sizes)
        if len(self.layer_sizes) < 2:
            raise ValueError(f"DBN: layer_sizes needs at least two positive sizes, got {layer_sizes!r}")
        self.visible = check_choice(visible, "visible", "DBN", _VISIBLE)
        n_rbms = len(self.layer_sizes) - 1
        per_layer = rbm_params if isinstance(rbm_params, list | tuple) else [rbm_params] * n_rbms
        if len(per_layer) != n_rbms:
            raise ValueError(f"DBN: rbm_params has {len(per_layer)} dicts for {n_rbms} RBMs")
        layer_params = []
        for i, p in enumerate(per_layer):
            if p is not None and not isinstance(p, dict):
                raise TypeError(f"DBN: rbm_params must be a dict or a list of dicts, got {type(p).__name__}")
            bad = {"n_visible", "n_hidden", "random_state", "verbose", "warm_start"} & set(p or {})
            if bad:
                raise ValueError(f"DBN: rbm_params may not set {sorted(bad)}; the DBN sets them")
            defaults = _GAUSSIAN_DEFAULTS if i == 0 and self.visible == "gaussian" else _RBM_DEFAULTS
            layer_params.append(dict(defaults, **(p or {})))
        self.rbm_params = rbm_params
        self._layer_params = layer_params
        self._set_hyperparameters(layer_sizes=self.layer_sizes, visible=visible, rbm_params=rbm_params,
                                  fine_tune_params=fine_tune_params, random_state=random_state,
                                  warm_start=warm_start, verbose=verbose)  # fmt: skip
        seed = random_state
        if random_state is not None and not isinstance(random_state, int | np.integer):
            seed = int(make_rng(random_state, "random_state", "DBN").integers(0, 2**62))
        self._seed_base = seed
        self._reset()

    def _set_hyperparameters(self, layer_sizes, visible, rbm_params, fine_tune_params, random_state, warm_start,
                             verbose):  # fmt: skip
        if fine_tune_params is not None and not isinstance(fine_tune_params, dict):
            raise TypeError(f"DBN: fine_tune_params must be a dict, got {type(fine_tune_params).__name__}")
        bad = set(fine_tune_params or {}) - _FINE_TUNE_KEYS
        if bad:
            raise ValueError(f"DBN: unknown fine_tune_params {sorted(bad)}; expected {sorted(_FINE_TUNE_KEYS)}")
        self.fine_tune_params = fine_tune_params
        self._fine_tune = dict(_FINE_TUNE_DEFAULTS, **(fine_tune_params or {}))
        self.random_state = check_random_state(random_state, "random_state", "DBN")
        self.warm_start = check_bool(warm_start, "warm_start", "DBN")
        self.verbose = check_bool(verbose, "verbose", "DBN")

    def _reset(self):
        """Fresh, untrained RBMs and no fine-tuned network."""
        self.rbms = [self._new_rbm(i) for i in range(len(self.layer_sizes) - 1)]
        self.layers_done_ = 0
        self.mlp_ = None
        self.classes_ = None
        self.data_fingerprint_ = None

    def _seed(self, offset):
        return None if self._seed_base is None else int(self._seed_base) + offset

    def _new_rbm(self, i, n_labels=0):
        n_in, n_out = self.layer_sizes[i], self.layer_sizes[i + 1]
        if n_labels:
            return LabelledRBM(n_in + n_labels, n_out, n_labels=n_labels, random_state=self._seed(i), verbose=False,
                               **self._layer_params[i])  # fmt: skip
        cls = GaussianBernoulliRBM if i == 0 and self.visible == "gaussian" else RBM
        return cls(n_in, n_out, random_state=self._seed(i), verbose=False, **self._layer_params[i])

    @property
    def n_labels_(self):
        top = self.rbms[-1]
        return top.n_labels if isinstance(top, LabelledRBM) else 0

    def _is_fitted(self):
        return self.mlp_ is not None or (self.n_labels_ > 0 and self.layers_done_ == len(self.rbms))

    def _check_X(self, X, where):
        return check_X(X, where, n_features=self.layer_sizes[0], unit_interval=self.visible == "binary",
                       dtype=self.rbms[0].W.dtype)  # fmt: skip

    def set_weights(self, layer, W=None, a=None, b=None):
        """Copy values (NumPy or device arrays) into RBM ``layer``'s W, a, b (see ``RBM.set_weights``)."""
        layer = check_int(layer, "layer", "DBN.set_weights")
        if not -len(self.rbms) <= layer < len(self.rbms):
            raise ValueError(f"DBN.set_weights: layer must be in [{-len(self.rbms)}, {len(self.rbms) - 1}], "
                             f"got {layer}")  # fmt: skip
        self.rbms[layer].set_weights(W=W, a=a, b=b)
        return self

    # ------------------------------------------------------------------ pre-training
    def propagate_up(self, X, n_layers=None):
        """Hidden probabilities after ``n_layers`` RBMs (all by default): the deterministic up-pass.

        Returns
        -------
        array of shape (n_samples, layer_sizes[n_layers])
        """
        n_layers = len(self.rbms) if n_layers is None else check_int(n_layers, "n_layers", "DBN.propagate_up")
        if not 0 <= n_layers <= len(self.rbms):
            raise ValueError(f"DBN.propagate_up: n_layers must be in 0..{len(self.rbms)}, got {n_layers}")
        return up_pass(self.rbms[:n_layers], self._check_X(X, "DBN.propagate_up"))[-1]

    def pretrain(self, X, checkpoint_dir=None):
        """Greedy layer-wise training (``greedy_pretrain``) of the layers not yet done.

        With ``checkpoint_dir``, the DBN saves itself to ``dbn.npz`` there at the
        start and after every layer, and the RBM in training saves itself after
        every epoch (``layer_i.npz``, removed once the layer is done). The files
        record the hyperparameters and a fingerprint of X. Calling ``pretrain``
        (or ``fit``) again with the same folder, data and settings, on a new
        DBN or on ``DBN.load(checkpoint_dir / "dbn.npz")``, resumes in the
        layer, and at the epoch, where it stopped, and ends with the same
        parameters as an uninterrupted run. A folder from another run (other
        settings or other data) is refused with a ``ValueError``.

        Parameters
        ----------
        X : array-like of shape (n_samples, layer_sizes[0])
            Values in [0, 1] for binary visible units; standardised real values
            for ``visible="gaussian"``.
        checkpoint_dir : str or PathLike, optional

        Returns
        -------
        self
        """
        X = self._check_X(X, "DBN.pretrain")
        fp = training.fingerprint(X)
        folder = None if checkpoint_dir is None else Path(checkpoint_dir)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self._adopt_checkpoint(folder / "dbn.npz", fp)
        self.data_fingerprint_ = fp
        if folder is not None:
            self.save(folder / "dbn.npz")

        def fit_layer(i, H):
            path = None if folder is None else folder / f"layer_{i}.npz"
            rbm = self.rbms[i]
            rbm.verbose = self.verbose
            try:
                rbm.fit(H, checkpoint_path=path)  # resumes from layer_i.npz when it holds this run
            finally:
                rbm.verbose = False
            self.layers_done_ = i + 1
            if folder is not None:
                self.save(folder / "dbn.npz")
                path.unlink(missing_ok=True)

        greedy_pretrain(self.rbms, X, start=self.layers_done_, fit_layer=fit_layer, verbose=self.verbose)
        return self

    def _adopt_checkpoint(self, path, fp):
        """Take the pre-training state from ``path`` when it is this run's; refuse another run's."""
        if not path.exists():
            return
        meta, arrays = read_npz(path)
        mine = _comparable(self._state()[0]["params"])
        theirs = _comparable(meta.get("params", {}))
        if meta.get("cls") != "DBN" or mine != theirs:
            differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            raise ValueError(f"DBN.pretrain: {path} is a checkpoint of another run (differing in "
                             f"{differ or 'class'}); delete the folder or choose another checkpoint_dir")  # fmt: skip
        if meta.get("data_fingerprint_") != fp:
            raise ValueError(f"DBN.pretrain: {path} is a checkpoint of a run on other data (fingerprint "
                             f"{meta.get('data_fingerprint_')}, this X has {fp}); delete the folder or choose "
                             "another checkpoint_dir")  # fmt: skip
        if meta["layers_done_"] > self.layers_done_:
            saved = DBN._from_state(meta, arrays)
            self.rbms, self.layers_done_ = saved.rbms, saved.layers_done_

    # ------------------------------------------------------------------ fine-tuning
    def to_mlp(self, n_classes, **overrides):
        """An MLP whose hidden layers are this DBN's RBMs, plus a softmax layer of ``n_classes``.

        The hidden layers hold the RBMs' own arrays (``mlp.params[i] = (rbms[i].W,
        rbms[i].b)``, see ``mlp_params``), not copies: training the MLP moves
        the DBN's weights. The output layer starts from the MLP's ``init`` (by default
        ``"glorot"``: U(-r, r), r = sqrt(6 / (layer_sizes[-1] + n_classes))), drawn
        from ``seed + n_rbms``.
        The MLP has ``warm_start=True``, so its ``fit`` trains from these
        weights. ``overrides`` (MLP keyword arguments) replace ``fine_tune_params``.
        """
        n_classes = check_int(n_classes, "n_classes", "DBN.to_mlp")
        if self.n_labels_:
            raise ValueError("DBN.to_mlp: this DBN's top RBM sees labels (fit_generative), so its weights are not "
                             "an MLP's hidden layer; fine-tune a DBN trained with pretrain or fit")  # fmt: skip
        if n_classes < 2:
            raise ValueError(f"DBN.to_mlp: n_classes must be >= 2, got {n_classes}")
        params = dict(self._fine_tune, **overrides)
        params.setdefault("random_state", self._seed(len(self.rbms)))
        params.setdefault("warm_start", True)
        mlp = MLP(self.layer_sizes + (n_classes,), activation="sigmoid", output="softmax",
                  dtype=str(self.rbms[0].W.dtype), **params)  # fmt: skip
        mlp.params[: len(self.rbms)] = mlp_params(self.rbms)
        return mlp

    def fit(self, X, y, checkpoint_dir=None):
        """Pre-train on ``X``, then fine-tune with labels ``y`` by backprop.

        Starts from fresh RBMs unless ``warm_start`` is set (then the layers
        already pre-trained are kept) or ``checkpoint_dir`` holds this run
        (then it resumes, see ``pretrain``).

        Parameters
        ----------
        X : array-like of shape (n_samples, layer_sizes[0])
        y : array-like of shape (n_samples,), any integer labels (stored in ``classes_``)

        Returns
        -------
        self
        """
        X = self._check_X(X, "DBN.fit")
        y, classes = self._check_labels(X, y, "DBN.fit")
        if not self.warm_start:
            self._reset()
        self.pretrain(X, checkpoint_dir=checkpoint_dir)
        self.classes_ = classes
        self.mlp_ = self.to_mlp(len(classes), verbose=self.verbose)
        self.mlp_.fit(X, np.searchsorted(classes, y))
        return self

    @staticmethod
    def _check_labels(X, y, where):
        """Checked labels and their sorted distinct values (``classes_``); at least two classes."""
        y = check_labels(y, where, X.shape[0])
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"{where}: y must contain at least two classes, got only {classes.tolist()}")
        return y, classes

    def fit_generative(self, X, y):
        """Greedy pre-training with labels at the top: Hinton, Osindero & Teh's (2006) generative model.

        The layers below the top are trained as ``pretrain`` does. The top RBM
        is then a ``LabelledRBM`` with ``layer_sizes[-2] + n_classes`` visible
        units, trained on the penultimate layer's probabilities (the up-pass)
        joined with the one-hot labels, so that it models the joint
        distribution of the penultimate features and the class. No
        backpropagation follows (and ``to_mlp`` refuses such a DBN); the
        up-down fine-tuning of the paper is left out.

        Starts from fresh RBMs unless ``warm_start`` is set: then the layers
        below the top that are already pre-trained (by ``pretrain`` or an
        earlier call) are kept, and only the rest and the top are trained.
        The top RBM is always trained afresh, seeded as the plain top RBM
        would be. No checkpoints.

        Parameters
        ----------
        X : array-like of shape (n_samples, layer_sizes[0])
        y : array-like of shape (n_samples,)
            Integer labels, at least two classes; stored in ``classes_``
            (label unit ``k`` is ``classes_[k]``).

        Returns
        -------
        self
        """
        X = self._check_X(X, "DBN.fit_generative")
        y, classes = self._check_labels(X, y, "DBN.fit_generative")
        if len(self.rbms) == 1 and self.visible == "gaussian":
            raise ValueError("DBN.fit_generative: the label units join binary features; a one-RBM DBN with "
                             "visible='gaussian' has none (use at least two RBMs)")  # fmt: skip
        if not self.warm_start:
            self._reset()
        top = len(self.rbms) - 1
        self.mlp_ = None
        self.layers_done_ = min(self.layers_done_, top)
        self.rbms[top] = self._new_rbm(top, n_labels=len(classes))
        self.data_fingerprint_ = training.fingerprint(X)

        def fit_layer(i, H):
            self.rbms[i].verbose = self.verbose
            try:
                self.rbms[i].fit(H)
            finally:
                self.rbms[i].verbose = False
            self.layers_done_ = i + 1

        H = greedy_pretrain(self.rbms[:top], X, start=self.layers_done_, fit_layer=fit_layer, verbose=self.verbose)
        m = xp()
        onehot = m.asarray(np.searchsorted(classes, y)[:, None] == np.arange(len(classes)), dtype=H.dtype)
        fit_layer(top, m.concatenate([H, onehot], axis=1))
        self.classes_ = classes
        return self

    def _fitted(self, where):
        self._check_fitted(f"DBN.{where}")
        return self.mlp_

    def _generative_proba(self, X, where):
        """p(label | X) of a DBN trained by ``fit_generative``: the up-pass, then the top RBM's free energies."""
        H = up_pass(self.rbms[:-1], self._check_X(X, where))[-1]
        return self.rbms[-1].prob_labels_given_features(H)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in the order of ``classes_``.

        From the fine-tuned network; for a DBN trained by ``fit_generative``,
        from the generative model: the up-pass to the penultimate layer, then
        p(label = k | h) = exp(-F([h, e_k])) / sum_j exp(-F([h, e_j])) with the
        top RBM's free energy F (``LabelledRBM.prob_labels_given_features``).
        """
        mlp = self._fitted("predict_proba")
        return self._generative_proba(X, "DBN.predict_proba") if mlp is None else mlp.predict_proba(X)

    def predict(self, X):
        """The most probable class of each row (a value of ``classes_``), shape (n_samples,)."""
        mlp = self._fitted("predict")
        idx = self._generative_proba(X, "DBN.predict").argmax(axis=1) if mlp is None else mlp.predict(X)
        return xp().asarray(self.classes_)[idx]

    def score(self, X, y):
        """Accuracy of ``predict`` (a float): the fine-tuned network's, or, for a DBN
        trained by ``fit_generative``, the generative model's (by free energy)."""
        pred = self.predict(X)
        y = check_labels(y, "DBN.score", pred.shape[0])
        return float(xp().mean(pred == xp().asarray(y)))

    # ------------------------------------------------------------------ generation
    def sample(self, n, steps=1000, random_state=None, start=None, labels=None):
        """Generate ``n`` visible vectors from the generative model.

        Alternating Gibbs sampling in the top RBM for ``steps`` full steps
        v -> h -> v, starting from uniform random binary states of its visible
        layer (or from ``start``: rows of data propagated up), then one more
        hidden sample h_top, then the directed pass down: p(penultimate layer |
        h_top) and ``down_pass``, sampled at every layer but the bottom one.

        In a DBN trained by ``fit_generative`` the top RBM's visible layer also
        holds the softmax label group. With ``labels`` it is clamped to the
        requested classes for the whole chain (Hinton, Osindero & Teh 2006):
        only the hidden and penultimate units are resampled, so the chain
        samples p(penultimate, h | label). Without ``labels`` the group starts
        from uniformly drawn classes and is resampled with the rest (one
        categorical draw per step).

        Parameters
        ----------
        n : int
        steps : int
            Full Gibbs steps in the top RBM (0 allowed).
        random_state : int, None, numpy.random.Generator or RNG
            Seeds the chains (the DBN's own RBM streams are left alone).
        start : array-like of shape (n, layer_sizes[0]), optional
            Data rows whose up-pass (to the penultimate layer) starts the chains.
        labels : int or array-like of shape (n,), optional
            The class of each sample (values of ``classes_``); one int asks
            for ``n`` samples of that class. Needs ``fit_generative``.

        Returns
        -------
        array of shape (n, layer_sizes[0]), on the active backend
            The bottom layer's mean E[v | h_1] (for binary units p(v = 1 | h_1),
            in [0, 1]).
        """
        n = check_int(n, "n", "DBN.sample")
        steps = check_int(steps, "steps", "DBN.sample")
        if n < 1 or steps < 0:
            raise ValueError(f"DBN.sample: need n >= 1 and steps >= 0, got n={n}, steps={steps}")
        n_labels = self.n_labels_
        index = None if labels is None else self._label_index(labels, n)
        rng = as_rng(random_state, "random_state", "DBN.sample")
        top, dt, m = self.rbms[-1], self.rbms[-1].W.dtype, xp()
        n_pen = top.n_visible - n_labels
        if start is None:
            v = (rng.random((n, n_pen), dtype=dt) < 0.5).astype(dt)
        else:
            v = self.propagate_up(start, n_layers=len(self.rbms) - 1)
            if v.shape[0] != n:
                raise ValueError(f"DBN.sample: start has {v.shape[0]} rows, expected n={n}")
        if n_labels:
            k = rng.integers(0, n_labels, size=n) if index is None else index
            onehot = m.asarray(k[:, None] == np.arange(n_labels), dtype=dt)
            v = m.concatenate([v, onehot], axis=1)
        if index is None:
            v = top.gibbs(v, steps=steps, rng=rng)
        else:
            for _ in range(steps):  # the label group stays clamped
                v = top.sample_v_given_h(top.sample_h_given_v(v, rng=rng), rng=rng)
                v[:, n_pen:] = onehot
        h_top = top.sample_h_given_v(v, rng=rng)
        uniforms = [rng.random((n, rbm.n_hidden), dtype=dt) for rbm in self.rbms[:-1]]
        if not n_labels:
            return down_pass(self.rbms, h_top, uniforms)
        p_pen = top.prob_v_given_h(h_top)[:, :n_pen]  # the label units take no part in the directed pass
        if len(self.rbms) == 1:
            return p_pen
        return down_pass(self.rbms[:-1], (uniforms[-1] < p_pen).astype(dt), uniforms[:-1])

    def _label_index(self, labels, n):
        """Validate the requested classes of ``sample``; return their label-unit indices (NumPy ints)."""
        if not self.n_labels_:
            raise ValueError("DBN.sample: labels need a DBN whose top RBM sees labels; train it with "
                             "fit_generative (this one has no label units)")  # fmt: skip
        self._check_fitted("DBN.sample")
        if isinstance(labels, numbers.Integral | np.integer) and not isinstance(labels, bool):
            labels = np.full(n, labels)
        if isinstance(labels, bool) or np.ndim(labels) == 0:
            raise TypeError(f"DBN.sample: labels must be an int or an array of n={n} integer labels, got {labels!r}")
        y = check_labels(labels, "DBN.sample", n, classes=self.classes_)
        return np.searchsorted(self.classes_, y)

    # ------------------------------------------------------------------ saving
    def _state(self):
        """Every RBM whole (each under its own class), progress, labels, the data fingerprint and
        the fine-tuned MLP's output layer."""
        meta = dict(cls="DBN", params=_json_params(self.get_params()), seed_base=self._seed_base,
                    layers_done_=self.layers_done_, data_fingerprint_=self.data_fingerprint_, rbms=[], mlp=None,
                    classes_=None if self.classes_ is None else self.classes_.tolist())  # fmt: skip
        arrays = {}
        for i, rbm in enumerate(self.rbms):
            rbm_meta, rbm_arrays = rbm._state()
            meta["rbms"].append(rbm_meta)
            arrays.update({f"rbm{i}/{name}": value for name, value in rbm_arrays.items()})
        if self.mlp_ is not None:
            arrays["mlp/W_out"], arrays["mlp/b_out"] = self.mlp_.params[-1]
            mlp_meta, _ = self.mlp_._state()
            meta["mlp"] = dict(n_classes=self.mlp_.layer_sizes[-1], history_=self.mlp_.history_,
                               params={k: mlp_meta["params"][k] for k in _FINE_TUNE_KEYS},
                               rng_state=mlp_meta["rng_state"])  # fmt: skip
        return meta, arrays

    @classmethod
    def _from_state(cls, meta, arrays):
        params = _tuples(meta["params"])
        if params.get("rbm_params") is not None and not isinstance(params["rbm_params"], dict):
            params["rbm_params"] = list(params["rbm_params"])
        dbn = cls(**params)
        dbn._seed_base = meta.get("seed_base", dbn._seed_base)
        for i, rbm_meta in enumerate(meta["rbms"]):
            prefix = f"rbm{i}/"
            rbm_arrays = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            dbn.rbms[i] = _class_of(rbm_meta, f"layer {i}")._from_state(rbm_meta, rbm_arrays)
        dbn.layers_done_ = meta["layers_done_"]
        dbn.data_fingerprint_ = meta.get("data_fingerprint_")
        dbn.classes_ = None if meta.get("classes_") is None else np.asarray(meta["classes_"])
        if meta["mlp"] is not None:
            dbn.mlp_ = dbn.to_mlp(meta["mlp"]["n_classes"], **_tuples(meta["mlp"]["params"]))
            dbn.mlp_.set_weights(-1, W=arrays["mlp/W_out"], b=arrays["mlp/b_out"])
            dbn.mlp_.history_ = meta["mlp"]["history_"]
            dbn.mlp_._rng.set_state(meta["mlp"]["rng_state"])
        return dbn


def _comparable(params):
    """Hyperparameters as JSON sees them, without the ones a resumed run may change."""
    import json

    out = json.loads(json.dumps(params, default=lambda x: x.item() if isinstance(x, np.generic) else str(x)))
    for key in ("warm_start", "verbose"):
        out.pop(key, None)
    return out
