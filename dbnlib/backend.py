"""The one door every array goes through: NumPy on the CPU, CuPy on a GPU.

Every numeric module in dbnlib asks this module for its array module
(``xp()``) instead of importing NumPy or CuPy itself, so the same code runs on
a laptop and on a GPU. Conversion back to NumPy (``to_numpy``) happens only at
the edges: plotting, printing and saving.

The backend is chosen once at import from the environment variable
``DBNLIB_BACKEND`` (``auto``, ``numpy`` or ``cupy``; default ``auto``) and can
be changed later with ``set_backend``. ``auto`` takes CuPy only when it imports
*and* a CUDA device answers; otherwise it falls back to NumPy and says why in
one warning line.

Random numbers come from ``RNG``, a seeded generator whose state is a NumPy
bit-generator state on both backends, so a saved model resumes with exactly the
random stream it would have had.
"""

import os
import warnings

import numpy as np

__all__ = [
    "BackendFallbackWarning",
    "BackendUnavailable",
    "RNG",
    "asarray",
    "get_backend",
    "set_backend",
    "to_numpy",
    "xp",
]

_VALID = ("auto", "numpy", "cupy")


class BackendUnavailable(RuntimeError):
    """Raised when the CuPy backend is asked for but cannot work here."""


class BackendFallbackWarning(RuntimeWarning):
    """``auto`` fell back to NumPy; the message says why."""


_state = {"name": "numpy", "module": np}


def _probe_cupy():
    """Return (cupy_module, None) when CuPy works, else (None, reason)."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install
        return None, f"CuPy is not installed or does not import ({exc.__class__.__name__}: {exc})"
    try:
        n_devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return None, f"CuPy imports but no CUDA device answers ({exc.__class__.__name__}: {exc})"
    if n_devices < 1:
        return None, "CuPy imports but there is no CUDA device"
    return cupy, None


def set_backend(name="auto"):
    """Choose the array backend.

    Parameters
    ----------
    name : {"auto", "numpy", "cupy"}
        ``auto`` uses CuPy when it imports and a CUDA device answers, otherwise
        NumPy with one warning that says why. ``cupy`` raises
        ``BackendUnavailable`` when that cannot work.

    Returns
    -------
    str
        The backend now active, ``"numpy"`` or ``"cupy"``.
    """
    if not isinstance(name, str) or name.lower() not in _VALID:
        raise ValueError(f"set_backend: name must be one of {_VALID}, got {name!r}")
    name = name.lower()
    if name == "numpy":
        _state.update(name="numpy", module=np)
        return "numpy"
    cupy, reason = _probe_cupy()
    if cupy is None:
        if name == "cupy":
            raise BackendUnavailable(
                f"set_backend('cupy'): {reason}. Install the GPU extra "
                "(pip install 'dbnlib[gpu]') on a machine with an NVIDIA GPU, "
                "or use set_backend('numpy')."
            )
        # warn_explicit keeps it to one line: no source line is echoed under it.
        warnings.warn_explicit(
            f"using NumPy on the CPU because {reason}.", BackendFallbackWarning, "dbnlib.backend", 0
        )
        _state.update(name="numpy", module=np)
        return "numpy"
    _state.update(name="cupy", module=cupy)
    return "cupy"


def get_backend():
    """Return the name of the active backend: ``"numpy"`` or ``"cupy"``."""
    return _state["name"]


def xp():
    """Return the active array module (``numpy`` or ``cupy``)."""
    return _state["module"]


def asarray(x, dtype=None):
    """Put ``x`` on the active backend (no copy when it already lives there)."""
    return xp().asarray(x, dtype=dtype)


def to_numpy(x):
    """Return ``x`` as a NumPy array (or a Python scalar unchanged)."""
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return x
    get = getattr(x, "get", None)  # cupy.ndarray.get() copies to the host
    if callable(get) and type(x).__module__.startswith("cupy"):
        return get()
    return np.asarray(x)


class RNG:
    """A seeded random generator that works on both backends.

    Its state is always a NumPy ``PCG64`` state (see ``get_state``), so it can
    be saved and restored exactly. On CuPy, bulk draws are made on the GPU by a
    CuPy generator seeded from this stream, so no large array crosses the bus.

    Parameters
    ----------
    seed : int, None or RNG
        ``None`` draws a fresh seed from the operating system.
    """

    def __init__(self, seed=None):
        if isinstance(seed, RNG):
            seed = int(seed.integers(0, 2**63 - 1))
        self._np = np.random.Generator(np.random.PCG64(seed))

    # --- draws ---------------------------------------------------------
    def _device_gen(self):
        import cupy

        return cupy.random.default_rng(int(self._np.integers(0, 2**63 - 1)))

    def random(self, size, dtype=np.float64, out=None):
        """Uniform numbers in [0, 1) on the active backend."""
        if get_backend() == "cupy":
            return self._device_gen().random(size, dtype=dtype, out=out)
        return self._np.random(size, dtype=dtype, out=out)

    def normal(self, size, scale=1.0, dtype=np.float64):
        """Normal numbers N(0, scale**2) on the active backend."""
        if get_backend() == "cupy":
            z = self._device_gen().standard_normal(size, dtype=dtype)
        else:
            z = self._np.standard_normal(size, dtype=dtype)
        if scale != 1.0:
            z *= dtype(scale) if isinstance(dtype, type) else scale
        return z

    def permutation(self, n):
        """A random permutation of ``range(n)`` as a NumPy array (indices)."""
        return self._np.permutation(n)

    def integers(self, low, high=None, size=None):
        """Random integers on the host (for seeds and indices)."""
        return self._np.integers(low, high, size=size)

    # --- state ---------------------------------------------------------
    def get_state(self):
        """Return the generator state as a plain dict (JSON- and pickle-safe)."""
        return self._np.bit_generator.state

    def set_state(self, state):
        """Restore a state returned by ``get_state``."""
        self._np.bit_generator.state = state


def _init_from_env():
    name = os.environ.get("DBNLIB_BACKEND", "auto").strip().lower() or "auto"
    if name not in _VALID:
        raise ValueError(f"DBNLIB_BACKEND must be one of {_VALID}, got {name!r}")
    set_backend(name)


_init_from_env()
