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

Notation: ``rbms[i]`` has visible layer ``i`` and hidden layer ``i + 1``, so
layer 0 is the data and ``rbms[-1]`` is the top RBM, the only undirected part
of the generative model; the layers below it are the directed sigmoid belief
net p(h_i | h_{i+1}) = sigmoid(a_i + W_i h_{i+1}).

Left out: the up-down (wake-sleep) fine-tuning of the generative model, and
real-valued input layers (use a ``GaussianBernoulliRBM`` by hand for those).
"""

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ._io import read_npz, write_npz
from ._validation import check_X
from .backend import RNG, to_numpy
from .mlp import MLP
from .numerics import sigmoid
from .rbm import RBM

__all__ = ["DBN", "greedy_pretrain", "up_pass", "mlp_params", "down_pass"]

_RBM_DEFAULTS = dict(learning_rate=0.05, n_epochs=10, batch_size=100)
_FINE_TUNE_DEFAULTS = dict(learning_rate=0.1, momentum=0.9, l2=0.0, batch_size=50, n_epochs=30)
_FORMAT = 1


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
    """The directed generative pass from the top RBM's hidden state to visible probabilities.

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
        p(v = 1 | h_1): probabilities at the bottom, samples everywhere above.
    """
    h = h_top
    for i in range(len(rbms) - 1, -1, -1):
        rbm = rbms[i]
        p = sigmoid(h @ rbm.W.T + rbm.a)  # p(layer i | layer i + 1)
        if i == 0:
            return p
        h = (uniforms[i - 1] < p).astype(p.dtype)


# ---------------------------------------------------------------------- the model
class DBN:
    """A deep belief network: greedy RBM pre-training, then fine-tuning as an MLP.

    Parameters
    ----------
    layer_sizes : sequence of int
        Visible size then the hidden sizes, e.g. ``(784, 500, 500, 2000)``.
    rbm_params : dict or list of dicts, optional
        Keyword arguments for every ``RBM`` (one dict), or one dict per layer.
        Defaults: ``learning_rate=0.05, n_epochs=10, batch_size=100`` and the
        RBM's own defaults for the rest (CD-1, momentum 0.5 then 0.9, weight
        decay 1e-4, float32).
    fine_tune_params : dict, optional
        Keyword arguments for the ``MLP`` that ``fit`` fine-tunes
        (``learning_rate``, ``momentum``, ``l2``, ``batch_size``, ``n_epochs``);
        defaults 0.1, 0.9, 0, 50, 30.
    random_state : int or None
        Seeds every RBM (layer ``i`` gets ``random_state + i``) and the MLP's
        output layer and shuffling (``random_state + n_rbms``).
    verbose : bool
        Progress bars per layer and per epoch; False is silent.

    Attributes
    ----------
    rbms : list of RBM
        ``rbms[i]`` models layer ``i`` (``layer_sizes[i]`` visible units).
    layers_done_ : int
        Layers whose pre-training has finished.
    mlp_ : MLP or None
        The fine-tuned network (after ``fit``); it shares ``W`` and ``b`` with ``rbms``.
    """

    def __init__(self, layer_sizes, *, rbm_params=None, fine_tune_params=None, random_state=None, verbose=False):
        try:
            self.layer_sizes = tuple(int(n) for n in layer_sizes)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"DBN: layer_sizes must be a sequence of integers, got {layer_sizes!r}") from exc
        if len(self.layer_sizes) < 2 or min(self.layer_sizes) < 1:
            raise ValueError(f"DBN: layer_sizes needs at least two positive sizes, got {layer_sizes!r}")
        n_rbms = len(self.layer_sizes) - 1
        if rbm_params is None or isinstance(rbm_params, dict):
            rbm_params = [dict(rbm_params or {}) for _ in range(n_rbms)]
        rbm_params = list(rbm_params)
        if len(rbm_params) != n_rbms:
            raise ValueError(f"DBN: rbm_params has {len(rbm_params)} dicts for {n_rbms} RBMs")
        for p in rbm_params:
            bad = {"n_visible", "n_hidden", "random_state", "verbose"} & set(p)
            if bad:
                raise ValueError(f"DBN: rbm_params may not set {sorted(bad)}; the DBN sets them")
        self.rbm_params = [dict(_RBM_DEFAULTS, **p) for p in rbm_params]
        self.fine_tune_params = dict(_FINE_TUNE_DEFAULTS, **(fine_tune_params or {}))
        bad = set(self.fine_tune_params) - set(_FINE_TUNE_DEFAULTS) - {"init"}
        if bad:
            raise ValueError(f"DBN: unknown fine_tune_params {sorted(bad)}; expected {sorted(_FINE_TUNE_DEFAULTS)}")
        self.random_state, self.verbose = random_state, verbose
        self.rbms = [self._new_rbm(i) for i in range(n_rbms)]
        self.layers_done_ = 0
        self.mlp_ = None

    def __repr__(self):
        return f"DBN({self.layer_sizes}, layers_done_={self.layers_done_})"

    def _seed(self, offset):
        return None if self.random_state is None else int(self.random_state) + offset

    def _new_rbm(self, i):
        n_in, n_out = self.layer_sizes[i], self.layer_sizes[i + 1]
        return RBM(n_in, n_out, random_state=self._seed(i), verbose=False, **self.rbm_params[i])

    def _check_X(self, X, where):
        return check_X(X, where, n_features=self.layer_sizes[0], unit_interval=True, dtype=self.rbms[0].W.dtype)

    # ------------------------------------------------------------------ pre-training
    def propagate_up(self, X, n_layers=None):
        """Hidden probabilities after ``n_layers`` RBMs (all by default): the deterministic up-pass.

        Returns
        -------
        array of shape (n_samples, layer_sizes[n_layers])
        """
        n_layers = len(self.rbms) if n_layers is None else int(n_layers)
        if not 0 <= n_layers <= len(self.rbms):
            raise ValueError(f"DBN.propagate_up: n_layers must be in 0..{len(self.rbms)}, got {n_layers}")
        return up_pass(self.rbms[:n_layers], self._check_X(X, "DBN.propagate_up"))[-1]

    def pretrain(self, X, checkpoint_dir=None):
        """Greedy layer-wise training (``greedy_pretrain``) of the layers not yet done.

        With ``checkpoint_dir``, the DBN saves itself to ``dbn.npz`` there at the
        start and after every layer, and the RBM in training saves itself after
        every epoch (``layer_i.npz``, removed once the layer is done). After an
        interruption, ``DBN.load(checkpoint_dir / "dbn.npz").pretrain(X,
        checkpoint_dir)`` resumes in the layer, and at the epoch, where it
        stopped, and ends with the same parameters as an uninterrupted run.

        Parameters
        ----------
        X : array-like of shape (n_samples, layer_sizes[0]), values in [0, 1]
        checkpoint_dir : str or PathLike, optional

        Returns
        -------
        self
        """
        X = self._check_X(X, "DBN.pretrain")
        folder = None if checkpoint_dir is None else Path(checkpoint_dir)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self.save(folder / "dbn.npz")

        def fit_layer(i, H):
            path = None if folder is None else folder / f"layer_{i}.npz"
            if path is not None and path.exists():  # the layer an interrupted run was training
                resumed = RBM.load(path)
                if (resumed.n_visible, resumed.n_hidden) != (self.rbms[i].n_visible, self.rbms[i].n_hidden):
                    raise ValueError(f"DBN.pretrain: {path} holds a {resumed.n_visible}x{resumed.n_hidden} "
                                     f"RBM, layer {i} is {self.rbms[i].n_visible}x{self.rbms[i].n_hidden}")  # fmt: skip
                self.rbms[i] = resumed
            rbm = self.rbms[i]
            rbm.verbose = self.verbose
            try:
                rbm.fit(H, checkpoint_path=path)
            finally:
                rbm.verbose = False
            self.layers_done_ = i + 1
            if folder is not None:
                self.save(folder / "dbn.npz")
                path.unlink(missing_ok=True)

        greedy_pretrain(self.rbms, X, start=self.layers_done_, fit_layer=fit_layer, verbose=self.verbose)
        return self

    # ------------------------------------------------------------------ fine-tuning
    def to_mlp(self, n_classes, **overrides):
        """An MLP whose hidden layers are this DBN's RBMs, plus a softmax layer of ``n_classes``.

        The hidden layers hold the RBMs' own arrays (``mlp.params[i] = (rbms[i].W,
        rbms[i].b)``, see ``mlp_params``), not copies: training the MLP moves
        the DBN's weights. The output layer starts from N(0, 0.01^2) weights.
        ``overrides`` (MLP keyword arguments) replace ``fine_tune_params``.
        """
        n_classes = int(n_classes)
        if n_classes < 2:
            raise ValueError(f"DBN.to_mlp: n_classes must be >= 2, got {n_classes}")
        params = dict(self.fine_tune_params, **overrides)
        params.setdefault("random_state", self._seed(len(self.rbms)))
        mlp = MLP(self.layer_sizes + (n_classes,), activation="sigmoid", output="softmax",
                  dtype=str(self.rbms[0].W.dtype), **params)  # fmt: skip
        mlp.params[: len(self.rbms)] = mlp_params(self.rbms)
        return mlp

    def fit(self, X, y, checkpoint_dir=None):
        """Pre-train on ``X`` (the layers not done yet), then fine-tune with labels ``y`` by backprop.

        Parameters
        ----------
        X : array-like of shape (n_samples, layer_sizes[0]), values in [0, 1]
        y : array-like of shape (n_samples,), integer labels 0..K-1

        Returns
        -------
        self
        """
        X = self._check_X(X, "DBN.fit")
        y_np = np.asarray(to_numpy(y))
        if y_np.ndim != 1 or y_np.shape[0] != X.shape[0]:
            raise ValueError(f"DBN.fit: y must have shape ({X.shape[0]},), got {y_np.shape}")
        if not np.issubdtype(y_np.dtype, np.integer) or y_np.min() < 0:
            raise ValueError(f"DBN.fit: y must hold integer class labels 0..K-1, got dtype {y_np.dtype}")
        self.pretrain(X, checkpoint_dir=checkpoint_dir)
        self.mlp_ = self.to_mlp(max(int(y_np.max()) + 1, 2), verbose=self.verbose)
        self.mlp_.fit(X, y_np)
        return self

    def _fitted(self, where):
        if self.mlp_ is None:
            raise RuntimeError(f"DBN.{where}: the network is not fine-tuned yet; call fit(X, y) first")
        return self.mlp_

    def predict_proba(self, X):
        """Class probabilities from the fine-tuned network, shape (n_samples, n_classes)."""
        return self._fitted("predict_proba").predict_proba(X)

    def predict(self, X):
        """The most probable class of each row, shape (n_samples,)."""
        return self._fitted("predict").predict(X)

    def score(self, X, y):
        """Accuracy of the fine-tuned network."""
        return self._fitted("score").score(X, y)

    # ------------------------------------------------------------------ generation
    def sample(self, n, gibbs_steps=1000, random_state=None, start=None):
        """Generate ``n`` visible vectors from the generative model.

        Alternating Gibbs sampling in the top RBM for ``gibbs_steps`` full
        steps v -> h -> v, starting from uniform random binary states of its
        visible layer (or from ``start``: rows of data propagated up), then one
        more hidden sample h_top, then ``down_pass``: p(layer | layer above),
        sampled at every layer but the bottom one.

        Parameters
        ----------
        n : int
        gibbs_steps : int
        random_state : int, RNG or None
            Seeds the chains (the DBN's own RBM streams are left alone).
        start : array-like of shape (n, layer_sizes[0]), optional

        Returns
        -------
        numpy.ndarray of shape (n, layer_sizes[0])
            The visible probabilities p(v = 1 | h_1).
        """
        n, gibbs_steps = int(n), int(gibbs_steps)
        if n < 1 or gibbs_steps < 0:
            raise ValueError(f"DBN.sample: need n >= 1 and gibbs_steps >= 0, got n={n}, gibbs_steps={gibbs_steps}")
        rng = random_state if isinstance(random_state, RNG) else RNG(random_state)
        top, dt = self.rbms[-1], self.rbms[-1].W.dtype
        if start is None:
            v = (rng.random((n, top.n_visible), dtype=dt) < 0.5).astype(dt)
        else:
            v = self.propagate_up(start, n_layers=len(self.rbms) - 1)
            if v.shape[0] != n:
                raise ValueError(f"DBN.sample: start has {v.shape[0]} rows, expected n={n}")
        v = top.gibbs(v, steps=gibbs_steps, rng=rng)
        h_top = top.sample_h_given_v(v, rng=rng)
        uniforms = [rng.random((n, rbm.n_hidden), dtype=dt) for rbm in self.rbms[:-1]]
        return to_numpy(down_pass(self.rbms, h_top, uniforms))

    # ------------------------------------------------------------------ saving
    def save(self, path):
        """Write the DBN to one ``.npz``: every RBM whole (``RBM._state``), progress, and the
        fine-tuned MLP's output layer; atomically, as ``RBM.save``."""
        meta = dict(format=_FORMAT, cls="DBN", layer_sizes=list(self.layer_sizes), rbm_params=self.rbm_params,
                    fine_tune_params=self.fine_tune_params, random_state=self.random_state,
                    layers_done_=self.layers_done_, rbms=[], mlp=None)  # fmt: skip
        arrays = {}
        for i, rbm in enumerate(self.rbms):
            rbm_meta, rbm_arrays = rbm._state()
            meta["rbms"].append(rbm_meta)
            arrays.update({f"rbm{i}/{name}": value for name, value in rbm_arrays.items()})
        if self.mlp_ is not None:
            arrays["mlp/W_out"], arrays["mlp/b_out"] = self.mlp_.params[-1]
            meta["mlp"] = dict(n_classes=self.mlp_.layer_sizes[-1], loss_curve_=self.mlp_.loss_curve_,
                               params={k: getattr(self.mlp_, k) for k in self.fine_tune_params})  # fmt: skip
        write_npz(path, meta, arrays)

    @classmethod
    def load(cls, path):
        """Read a DBN written by ``save``; pre-training resumes at the layer it stopped in."""
        meta, arrays = read_npz(path)
        if meta.get("cls") != "DBN":
            raise ValueError(f"DBN.load: {path} holds a {meta.get('cls')}, expected a DBN")
        rbm_params = [{k: tuple(v) if isinstance(v, list) else v for k, v in p.items()} for p in meta["rbm_params"]]
        dbn = cls(meta["layer_sizes"], rbm_params=rbm_params, fine_tune_params=meta["fine_tune_params"],
                  random_state=meta["random_state"])  # fmt: skip
        for i, rbm_meta in enumerate(meta["rbms"]):
            prefix = f"rbm{i}/"
            rbm_arrays = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            dbn.rbms[i] = RBM._from_state(rbm_meta, rbm_arrays)
        dbn.layers_done_ = meta["layers_done_"]
        if meta["mlp"] is not None:
            dbn.mlp_ = dbn.to_mlp(meta["mlp"]["n_classes"], **meta["mlp"]["params"])
            W, b = dbn.mlp_.params[-1]
            W[...], b[...] = arrays["mlp/W_out"], arrays["mlp/b_out"]
            dbn.mlp_.loss_curve_ = list(meta["mlp"]["loss_curve_"])
        return dbn
