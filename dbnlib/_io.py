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

__all__ = ["save_model", "load_model", "write_npz", "read_npz"]

_FORMAT = 1


def save_model(model, path):
    """Write ``model`` to ``path``: the arrays and JSON metadata of its ``_state()``."""
    write_npz(path, *model._state())


def load_model(cls, path):
    """Rebuild a ``cls`` written by ``save_model``, random stream and all.

    Raises ``ValueError`` when the file holds another class than ``cls``.
    """
    meta, arrays = read_npz(path)
    if meta.get("cls") != cls.__name__:
        raise ValueError(
            f"{cls.__name__}.load: {os.fspath(path)} holds a {meta.get('cls')}, expected a {cls.__name__}; "
            f"use {meta.get('cls')}.load"
        )
    return cls._from_state(meta, arrays)


def write_npz(path, meta, arrays):
    """Write the JSON-able dict ``meta`` and NumPy-convertible ``arrays`` (a dict; None values left out)
    to one ``.npz`` file, atomically: a temporary file in the same folder replaces ``path``."""
    path = os.fspath(path)
    payload = {name: to_numpy(value) for name, value in arrays.items() if value is not None}
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


def read_npz(path):
    """Read a file written by ``write_npz``: returns ``(meta, arrays)``, arrays on the active backend."""
    with np.load(os.fspath(path), allow_pickle=False) as f:
        meta = json.loads(str(f["meta_json"]))
        arrays = {name: asarray(f[name]) for name in f.files if name != "meta_json"}
    return meta, arrays


def _plain(x):
    """JSON fallback: NumPy scalars and tuples become Python numbers and lists."""
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"save: cannot store {type(x).__name__} {x!r} as JSON")
