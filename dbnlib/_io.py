"""Saving and loading models as one ``.npz`` file, without pickle.

Arrays (parameters, momentum buffers, the persistent chain) are stored as they
are; everything else (hyperparameters, epochs done, history, the random
generator's state) goes into one JSON string inside the same file, next to a
marker that says the file is a dbnlib model. The file leaves out anything the
model can recompute.

Files survive interruptions:

- writing goes to a temporary file in the target's folder, named after the
  target (``.model.npz.<pid>.tmp``), which then replaces the target with
  ``os.replace``; a killed save leaves the previous file whole;
- the next save into that folder removes the leftovers of saves whose process
  is gone;
- files get the permissions of an ordinary file (``0o666`` less the umask);
- reading a truncated, corrupt, empty or foreign file raises ``ValueError``
  that names the path and says it is not a dbnlib model file.
"""

import json
import os

import numpy as np

from .backend import asarray, to_numpy

__all__ = ["MAGIC", "NotAModelFile", "read_npz", "write_npz"]

MAGIC = "dbnlib-model"  # stored under "format" in every file's JSON
VERSION = 2


class NotAModelFile(ValueError):
    """The file is missing, unreadable, or was not written by dbnlib's ``save``."""


def write_npz(path, meta, arrays):
    """Write the JSON-able dict ``meta`` and NumPy-convertible ``arrays`` (a dict; None values left out)
    to one ``.npz`` file, atomically: a temporary file next to ``path``, named after it, replaces it."""
    path = os.fspath(path)
    meta = dict(meta, format=MAGIC, version=VERSION)
    payload = {name: to_numpy(value) for name, value in arrays.items() if value is not None}
    payload["meta_json"] = np.array(json.dumps(meta, default=_plain))
    folder, base = os.path.split(os.path.abspath(path))
    _remove_leftovers(folder, base)
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as open() does.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
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


def _remove_leftovers(folder, base):
    """Delete ``.<base>.<pid>.tmp`` files left by saves whose process no longer runs."""
    prefix = f".{base}."
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix) : -len(".tmp")]
        if not pid.isdigit() or (int(pid) != os.getpid() and _alive(int(pid))):
            continue
        try:
            os.remove(os.path.join(folder, name))
        except OSError:
            pass


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def read_npz(path):
    """Read a file written by ``write_npz``: returns ``(meta, arrays)``, arrays on the active backend.

    Raises ``NotAModelFile`` (a ``ValueError``) naming the path for a file that
    is empty, truncated, corrupt or not a dbnlib model file, and
    ``FileNotFoundError`` for a missing one.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files") or "meta_json" not in f.files:
                raise NotAModelFile("it holds no dbnlib metadata")
            meta = json.loads(str(f["meta_json"]))
            if not isinstance(meta, dict) or meta.get("format") != MAGIC:
                raise NotAModelFile("its metadata has no dbnlib marker")
            arrays = {name: np.asarray(f[name]) for name in f.files if name != "meta_json"}
    except NotAModelFile as exc:
        raise NotAModelFile(f"{path} is not a dbnlib model file: {exc}") from None
    except Exception as exc:  # BadZipFile, EOFError, ValueError, KeyError, a .npy's TypeError, ...
        raise NotAModelFile(
            f"{path} is not a dbnlib model file (empty, truncated, corrupt or written by something "
            f"else): {type(exc).__name__}: {exc}"
        ) from exc
    return meta, {name: asarray(value) for name, value in arrays.items()}


def _plain(x):
    """JSON fallback: NumPy scalars and arrays become Python numbers and lists."""
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"save: cannot store {type(x).__name__} {x!r} as JSON")
