"""What every dbnlib model shares: parameters, repr, saving, seeds, history, divergence.

``LogisticRegression``, ``MLP``, ``RBM``, ``GaussianBernoulliRBM`` and ``DBN``
all derive from ``Model``, so the rules below hold for each of them and are
written down only here.

Hyperparameters
    The constructor's arguments, and nothing else, are the hyperparameters.
    ``get_params()`` returns them and ``type(m)(**m.get_params())`` is an
    unfitted clone; ``set_params(**kw)`` changes them with the same checks as
    the constructor (counts must be integers, rates finite and in range, a
    string where a number belongs is a ``TypeError`` that names the argument).

Calling ``fit`` twice (scikit-learn's rule)
    ``fit`` starts from a fresh initialisation drawn from ``random_state`` and
    trains ``n_epochs`` epochs, so two calls with an integer seed give the same
    model. To continue from the current parameters instead, either call
    ``partial_fit`` (one more epoch) or build the model with
    ``warm_start=True``, which makes ``fit`` train ``n_epochs`` more epochs
    from where the parameters are. Parameters written in by hand
    (``set_weights``) are therefore trained only with ``warm_start=True``.

Divergence
    After every epoch the models check their loss (or, for RBMs, their
    weights). A NaN, an inf, or a loss above ``EXPLODE_FACTOR`` times the
    starting loss (at least ``EXPLODE_FACTOR``) counts as divergence: the
    parameters are put back to their values at the end of the last good epoch
    and ``TrainingDiverged`` is raised with a hint. Nothing is pulled to the
    host per minibatch; the check costs one sync per epoch.

Return types
    Public methods take arrays from either backend (NumPy arrays are copied to
    the device) and return arrays on the active backend (``dbnlib.xp()``):
    predictions, probabilities, features, samples. Scalars (scores, losses,
    log-likelihoods) are Python floats; labels bookkeeping such as
    ``classes_`` and the training curves are NumPy arrays and lists.
    Convert with ``dbnlib.to_numpy`` at the edges (plotting, printing).

Seeds
    ``random_state`` may be an int, None (fresh entropy), a
    ``numpy.random.Generator`` (one seed is drawn from it) or a dbnlib ``RNG``
    (one seed is drawn from it); anything else is a ``TypeError``.

Files
    ``m.save(path)`` writes one ``.npz`` (see ``dbnlib._io``);
    ``Class.load(path)`` reads it back and ``dbnlib.load(path)`` returns
    whichever model the file holds.
"""

import inspect
import numbers

import numpy as np
from tqdm.auto import tqdm

from ._io import read_npz, write_npz
from ._validation import TrainingDiverged
from .backend import RNG, xp

__all__ = ["EXPLODE_FACTOR", "Model", "NotFittedError", "SupervisedModel", "as_rng", "load", "make_rng"]

EXPLODE_FACTOR = 100.0  # a loss this many times the starting loss (at least this value) has exploded

_REGISTRY = {}


class NotFittedError(RuntimeError):
    """A method that needs a trained model was called before ``fit``."""


def make_rng(random_state, name="random_state", where="dbnlib"):
    """Turn a seed into a fresh dbnlib ``RNG``.

    Parameters
    ----------
    random_state : int, None, numpy.random.Generator or RNG
        An int seeds it, None draws fresh entropy, a Generator or an RNG gives
        one seed drawn from its stream (so it moves on, as scikit-learn's do).
    name, where : str
        Used in the error message.
    """
    if random_state is None:
        return RNG(None)
    if isinstance(random_state, bool):
        raise TypeError(f"{where}: {name} must be an int, None, a numpy.random.Generator or a dbnlib.RNG, "
                        f"got {random_state!r}")
    if isinstance(random_state, numbers.Integral):
        if random_state < 0:
            raise ValueError(f"{where}: {name} must be a non-negative integer, got {random_state}")
        return RNG(int(random_state))
    if isinstance(random_state, np.random.Generator | RNG):
        return RNG(int(random_state.integers(0, 2**63 - 1)))
    raise TypeError(f"{where}: {name} must be an int, None, a numpy.random.Generator or a dbnlib.RNG, "
                    f"got {type(random_state).__name__}")


def as_rng(rng, name="rng", where="dbnlib"):
    """``rng`` itself when it is a dbnlib ``RNG`` (its stream moves on), else ``make_rng(rng)``."""
    return rng if isinstance(rng, RNG) else make_rng(rng, name, where)


def check_random_state(random_state, name="random_state", where="dbnlib"):
    """Validate a seed without using it; returns it unchanged."""
    if random_state is None or isinstance(random_state, np.random.Generator | RNG):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"{where}: {name} must be a non-negative integer, got {random_state}")
        return random_state
    raise TypeError(f"{where}: {name} must be an int, None, a numpy.random.Generator or a dbnlib.RNG, "
                    f"got {type(random_state).__name__}")


def load(path):
    """Read any model written by ``save`` and return it as its own class.

    A DBN comes back with each of its layers as the class it was saved as (a
    Gaussian first layer stays a ``GaussianBernoulliRBM``).

    Raises
    ------
    FileNotFoundError
        There is no file at ``path``.
    ValueError
        The file is not a dbnlib model file (empty, truncated, corrupt, foreign).
    """
    meta, arrays = read_npz(path)
    return _class_of(meta, path)._from_state(meta, arrays)


def _class_of(meta, path):
    name = meta.get("cls")
    if name not in _REGISTRY:
        raise ValueError(f"load: {path} holds an unknown model class {name!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def _json_params(params):
    """Constructor arguments as JSON can hold them (seed objects become None)."""
    out = {}
    for k, v in params.items():
        if k == "random_state" and not isinstance(v, numbers.Integral | type(None)):
            v = None  # a Generator or RNG: the model's own generator state is saved instead
        out[k] = v
    return out


def _tuples(x):
    """JSON lists back to tuples (recursively), so loaded parameters equal the saved ones."""
    if isinstance(x, list):
        return tuple(_tuples(v) for v in x)
    if isinstance(x, dict):
        return {k: _tuples(v) for k, v in x.items()}
    return x


class Model:
    """Base class of every dbnlib model; the module docstring states the shared rules.

    Subclasses set ``_ARRAYS`` (the names of the array attributes ``save``
    writes; None values allowed), ``_STATE`` (JSON-able fitted attributes such
    as ``history_``) and ``_STRUCTURAL`` (constructor arguments that fix the
    shapes of the parameters; changing one with ``set_params`` rebuilds the
    model), and implement ``_set_hyperparameters(**params)`` (validate and
    store) and ``_is_fitted()``.
    """

    _ARRAYS = ()
    _STATE = ()
    _STRUCTURAL = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    # ------------------------------------------------------------------ hyperparameters
    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind not in kinds]

    def get_params(self, deep=False):
        """The constructor arguments as a dict: ``type(m)(**m.get_params())`` is an unfitted clone.

        ``deep`` is accepted for scikit-learn compatibility and ignored (dbnlib
        models hold no nested estimators among their arguments).
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Change hyperparameters, with the constructor's checks; returns self.

        Changing ``random_state``, or one that fixes the parameters' shapes,
        dtype or initialisation (e.g. ``n_hidden``, ``layer_sizes``, ``dtype``,
        ``init``), rebuilds the model unfitted, with new arrays: arrays shared
        with another model (an MLP made by ``DBN.to_mlp``) stop being shared.
        """
        names = self._param_names()
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise ValueError(f"{self._name}.set_params: unknown parameters {unknown}; valid: {names}")
        merged = dict(self.get_params(), **params)
        if any(k in self._STRUCTURAL and _differ(merged[k], getattr(self, k)) for k in params):
            self.__init__(**merged)
        else:
            self._set_hyperparameters(**merged)
        return self

    def _set_hyperparameters(self, **params):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def __repr__(self):
        sig = inspect.signature(type(self).__init__)
        parts = []
        for p in sig.parameters.values():
            if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            value = getattr(self, p.name)
            if p.default is inspect.Parameter.empty or _differ(value, p.default):
                parts.append(f"{p.name}={value!r}")
        return f"{self._name}({', '.join(parts)})"

    @property
    def _name(self):
        return type(self).__name__

    # ------------------------------------------------------------------ fitted check
    def _is_fitted(self):
        return True

    def _check_fitted(self, where):
        """Raise ``NotFittedError`` naming ``where`` when the model has not been trained."""
        if not self._is_fitted():
            raise NotFittedError(f"{where}: the model is not fitted yet; call fit first")

    # ------------------------------------------------------------------ seeds and progress
    def _make_rng(self, random_state=None, name="random_state"):
        """A fresh RNG from ``random_state`` (default: the model's own)."""
        seed = self.random_state if random_state is None and name == "random_state" else random_state
        return make_rng(seed, name, self._name)

    def _progress(self, iterable, desc=None, unit="epoch", **kwargs):
        """A tqdm progress bar over ``iterable`` when ``verbose``; silent otherwise."""
        return tqdm(iterable, disable=not getattr(self, "verbose", False), desc=desc or self._name, unit=unit,
                    **kwargs)  # fmt: skip

    # ------------------------------------------------------------------ divergence
    def _parameter_arrays(self):
        """The arrays a divergence restores (in place); subclasses list their parameters."""
        return [getattr(self, n) for n in self._ARRAYS if getattr(self, n, None) is not None]

    def _snapshot(self):
        return [x.copy() for x in self._parameter_arrays()]

    def _restore(self, snapshot):
        for x, saved in zip(self._parameter_arrays(), snapshot, strict=True):
            x[...] = saved

    def _diverged(self, where, epoch, snapshot, detail, hint=None):
        """Put the parameters back to ``snapshot`` and raise ``TrainingDiverged``."""
        self._restore(snapshot)
        lr = getattr(self, "learning_rate", None)
        if hint is None:
            hint = "lower the learning rate"
            if lr is not None:
                hint += f" (learning_rate={lr:g} now, try {lr / 10:g})"
        raise TrainingDiverged(
            f"{where}: training diverged at epoch {epoch} ({detail}); the parameters were put back to their "
            f"last good values (after epoch {epoch - 1}); {hint} and fit again"
        )

    @staticmethod
    def _exploded(loss, reference):
        """True when ``loss`` is NaN, inf or above EXPLODE_FACTOR * max(reference, 1)."""
        if not np.isfinite(loss):
            return True
        return reference is not None and np.isfinite(reference) and loss > EXPLODE_FACTOR * max(reference, 1.0)

    # ------------------------------------------------------------------ weights from outside
    def _copy_into(self, target, value, name, where):
        """Copy ``value`` (NumPy or device) into the parameter array ``target`` in place,
        after checking its shape, that it holds real numbers and that they are finite."""
        m = xp()
        if isinstance(value, str | bytes) or value is None:
            raise TypeError(f"{where}: {name} must be an array of numbers, got {type(value).__name__}")
        arr = m.asarray(value)
        if arr.dtype == object or not (m.issubdtype(arr.dtype, m.number) or arr.dtype == bool) \
                or m.issubdtype(arr.dtype, m.complexfloating):  # fmt: skip
            raise TypeError(f"{where}: {name} must hold real numbers, got dtype {arr.dtype}")
        if tuple(arr.shape) != tuple(target.shape):
            raise ValueError(f"{where}: {name} must have shape {tuple(target.shape)}, got {tuple(arr.shape)}")
        arr = arr.astype(target.dtype, copy=False)
        if arr.size and not bool(m.isfinite(arr).all()):
            raise ValueError(f"{where}: {name} contains NaN or inf")
        target[...] = arr

    # ------------------------------------------------------------------ saving
    def save(self, path):
        """Write the model (hyperparameters, parameters, training state, random state) to one
        ``.npz`` file, atomically; read it back with ``Class.load`` or ``dbnlib.load``."""
        write_npz(path, *self._state())

    @classmethod
    def load(cls, path):
        """Read a model written by ``save``; training state and random stream come back exactly.

        Raises ``FileNotFoundError`` when there is no file at ``path``, and
        ``ValueError`` when the file is not a dbnlib model file or holds another
        class (use ``dbnlib.load`` to take whatever it holds).
        """
        meta, arrays = read_npz(path)
        found = _class_of(meta, path)
        if found is not cls:
            raise ValueError(f"{cls.__name__}.load: {path} holds a {found.__name__}, expected a {cls.__name__}; "
                             f"use {found.__name__}.load or dbnlib.load")  # fmt: skip
        return found._from_state(meta, arrays)

    def _state(self):
        """``(meta, arrays)``: everything ``save`` writes, a JSON-able dict and a dict of arrays."""
        meta = {"cls": self._name, "params": _json_params(self.get_params()),
                "state": {k: getattr(self, k, None) for k in self._STATE}}  # fmt: skip
        rng = getattr(self, "rng_", None)
        if rng is not None:
            meta["rng_state"] = rng.get_state()
        arrays = {n: getattr(self, n, None) for n in self._ARRAYS}
        return meta, {k: v for k, v in arrays.items() if v is not None}

    @classmethod
    def _from_state(cls, meta, arrays):
        """The model that ``_state`` described; arrays missing from ``arrays`` become None."""
        model = cls(**_tuples(meta["params"]))
        for name in cls._ARRAYS:
            value = arrays.get(name)
            current = getattr(model, name, None)
            if value is None:
                setattr(model, name, None)
            elif current is not None and tuple(current.shape) == tuple(value.shape):
                current[...] = value.astype(current.dtype, copy=False)  # in place: shared arrays stay shared
            else:
                setattr(model, name, xp().asarray(value))
        for k, v in meta.get("state", {}).items():
            setattr(model, k, v)
        if "rng_state" in meta and getattr(model, "rng_", None) is not None:
            model.rng_.set_state(meta["rng_state"])
        return model


class SupervisedModel(Model):
    """A model trained on a loss: ``history_`` holds its per-epoch ``"loss"`` and ``"penalty"``.

    The base of ``LogisticRegression`` and ``MLP``, which report the data term
    of the loss and the weight-decay penalty apart.
    """

    @property
    def loss_curve_(self):
        """Per epoch, the data term of the loss (cross-entropy or squared error), without the penalty."""
        return self.history_["loss"]

    @property
    def penalty_curve_(self):
        """Per epoch, the weight-decay penalty ``0.5 * weight_decay * ||W||^2``; the objective is the sum."""
        return self.history_["penalty"]


def _differ(a, b):
    try:
        return bool(a != b)
    except Exception:
        return a is not b
