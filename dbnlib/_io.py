"""Saving and loading a model as one ``.npz`` file, without pickle.

Arrays (parameters, momentum buffers, the persistent chain) are stored as they
are; everything else (hyperparameters, epochs done, history, the random
generator's state) goes into one JSON string inside the same file. Writing goes
to a temporary file in the same folder that then replaces the target, so an
interrupted save leaves the previous file whole. The file leaves out anything
the model can recompute.
"""

import json
import os
import tempfile

import numpy as np

from .backend import asarray, to_numpy

__all__ = ["save_model", "load_model"]

_FORMAT = 1


def save_model(model, path):
    """Write ``model`` to ``path``: its ``_ARRAYS`` as arrays (None ones left out),
    its ``get_params()``, ``epochs_done_``, ``history_`` and RNG state as JSON."""
    path = os.fspath(path)
    params = model.get_params()
    if not isinstance(params.get("random_state"), int | np.integer):
        params["random_state"] = None  # an RNG object: its state is saved below anyway
    meta = {"format": _FORMAT, "cls": type(model).__name__, "params": params, "epochs_done_": model.epochs_done_,
            "history_": model.history_, "rng_state": model.rng_.get_state()}  # fmt: skip
    payload = {name: to_numpy(getattr(model, name)) for name in model._ARRAYS if getattr(model, name) is not None}
    payload["meta_json"] = np.array(json.dumps(meta, default=_plain))
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)  # a file object: np.savez adds no ".npz" to the name
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_model(cls, path):
    """Rebuild a ``cls`` written by ``save_model``, random stream and all.

    Raises ``ValueError`` when the file holds another class than ``cls``.
    """
    path = os.fspath(path)
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["meta_json"]))
        arrays = {name: (asarray(f[name]) if name in f.files else None) for name in cls._ARRAYS}
    if meta.get("cls") != cls.__name__:
        raise ValueError(
            f"{cls.__name__}.load: {path} holds a {meta.get('cls')}, expected a {cls.__name__}; "
            f"use {meta.get('cls')}.load"
        )
    params = meta["params"]
    if isinstance(params.get("momentum"), list):
        params["momentum"] = tuple(params["momentum"])  # JSON has no tuples
    model = cls(**params)
    for name, value in arrays.items():
        setattr(model, name, value)
    model.epochs_done_, model.history_ = meta["epochs_done_"], meta["history_"]
    model.rng_.set_state(meta["rng_state"])
    return model


def _plain(x):
    """JSON fallback: NumPy scalars and tuples become Python numbers and lists."""
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"save: cannot store {type(x).__name__} {x!r} as JSON")
