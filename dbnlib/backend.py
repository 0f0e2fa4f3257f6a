"""The one door every array goes through: NumPy on the CPU, CuPy on a GPU.

Every numeric module in dbnlib asks this module for its array module
(``xp()``) instead of importing NumPy or CuPy itself, so the same code runs on
a laptop and on a GPU. Conversion back to NumPy (``to_numpy``) happens only at
the edges: plotting, printing and saving.

The backend is chosen once at import from the environment variable
``DBNLIB_BACKEND`` (``auto``, ``numpy`` or ``cupy``; default ``auto``) and can
be changed later with ``set_backend``. ``auto`` takes CuPy only when it imports
*and* a CUDA device answers. Falling back to NumPy is silent when CuPy is
simply not installed (the ordinary laptop); it is one warning line
(``BackendFallbackWarning``) when CuPy is installed but no device answers, or
when ``DBNLIB_BACKEND=cupy`` asked for it. ``backend_info()`` says which
backend is active and why.

Random numbers come from ``RNG``: a NumPy ``PCG64`` stream on the host, plus,
on CuPy, one device generator seeded from it (see ``RNG`` for what is saved and
what is the same on both backends).
"""

import dataclasses
import os
import warnings

import numpy as np

__all__ = [
    "BackendFallbackWarning",
    "BackendInfo",
    "BackendUnavailable",
    "RNG",
    "asarray",
    "backend_info",
    "get_backend",
    "set_backend",
    "to_numpy",
    "xp",
]

_VALID = ("auto", "numpy", "cupy")


class BackendUnavailable(RuntimeError):
    """Raised when the CuPy backend is asked for but cannot work here."""


class BackendFallbackWarning(RuntimeWarning):
    """dbnlib fell back to NumPy although CuPy is installed or was asked for; the message says why."""


@dataclasses.dataclass(frozen=True)
class BackendInfo:
    """Which backend is active and why (what ``backend_info()`` returns).

    Attributes
    ----------
    name : {"numpy", "cupy"}
        The active backend.
    requested : {"auto", "numpy", "cupy"}
        What was asked for (``DBNLIB_BACKEND`` or the last ``set_backend``).
    reason : str
        Why ``name`` is active, in one sentence.
    cupy_version : str or None
        CuPy's version when CuPy imports, else None.
    n_devices : int
        CUDA devices CuPy sees (0 when CuPy is missing or sees none).
    """

    name: str
    requested: str
    reason: str
    cupy_version: str | None = None
    n_devices: int = 0

    def __str__(self):
        return f"dbnlib backend: {self.name} ({self.reason})"


_state = {"name": "numpy", "module": np, "info": BackendInfo("numpy", "numpy", "not chosen yet")}


def _probe_cupy():
    """Return ``(cupy_module, None)`` when CuPy works, else ``(None, reason)``.

    ``reason`` starts with "CuPy is not installed" exactly when there is no
    ``cupy`` module at all: the one case ``auto`` falls back without a word.
    """
    try:
        import cupy
    except ModuleNotFoundError as exc:
        if exc.name == "cupy":
            return None, "CuPy is not installed"
        return None, f"CuPy does not import ({exc.__class__.__name__}: {exc})"
    except Exception as exc:  # a broken CUDA install raises ImportError, OSError, RuntimeError, ...
        return None, f"CuPy does not import ({exc.__class__.__name__}: {exc})"
    try:
        n_devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return None, f"CuPy imports but no CUDA device answers ({exc.__class__.__name__}: {exc})"
    if n_devices < 1:
        return None, "CuPy imports but there is no CUDA device"
    return cupy, None


def _use(name, module, requested, reason, n_devices=0):
    cupy_version = getattr(module, "__version__", None) if name == "cupy" else None
    _state.update(name=name, module=module, info=BackendInfo(name, requested, reason, cupy_version, n_devices))
    return name


def _fall_back(requested, reason, loud):
    if loud:
        # warn_explicit keeps it to one line: no source line is echoed under it.
        warnings.warn_explicit(
            f"using NumPy on the CPU because {reason}.", BackendFallbackWarning, "dbnlib.backend", 0
        )
    return _use("numpy", np, requested, f"fell back to NumPy: {reason}")


def set_backend(name="auto"):
    """Choose the array backend.

    Parameters
    ----------
    name : {"auto", "numpy", "cupy"}
        ``auto`` uses CuPy when it imports and a CUDA device answers, otherwise
        NumPy: silently when CuPy is not installed, with one
        ``BackendFallbackWarning`` when CuPy is installed but unusable.
        ``cupy`` raises ``BackendUnavailable`` when that cannot work.

    Returns
    -------
    str
        The backend now active, ``"numpy"`` or ``"cupy"``.
    """
    if not isinstance(name, str) or name.lower() not in _VALID:
        raise ValueError(f"set_backend: name must be one of {_VALID}, got {name!r}")
    name = name.lower()
    if name == "numpy":
        return _use("numpy", np, "numpy", "NumPy was asked for")
    cupy, reason = _probe_cupy()
    if cupy is None:
        if name == "cupy":
            raise BackendUnavailable(
                f"set_backend('cupy'): {reason}. Install the GPU extra "
                "(pip install 'dbnlib[gpu]') on a machine with an NVIDIA GPU, "
                "or use set_backend('numpy')."
            )
        return _fall_back("auto", reason, loud=not reason.startswith("CuPy is not installed"))
    n = cupy.cuda.runtime.getDeviceCount()
    why = "CuPy was asked for" if name == "cupy" else "auto: CuPy imports"
    return _use("cupy", cupy, name, f"{why} and sees {n} CUDA device{'s' * (n != 1)}", n)


def get_backend():
    """Return the name of the active backend: ``"numpy"`` or ``"cupy"``."""
    return _state["name"]


def backend_info():
    """Say which backend is active and why.

    Returns
    -------
    BackendInfo
        ``str()`` of it is one line, e.g. ``dbnlib backend: numpy (fell back
        to NumPy: CuPy is not installed)``; its fields are ``name``,
        ``requested``, ``reason``, ``cupy_version`` and ``n_devices``.
    """
    return _state["info"]


def xp():
    """Return the active array module (``numpy`` or ``cupy``)."""
    return _state["module"]


def asarray(x, dtype=None):
    """Put ``x`` on the active backend (no copy when it already lives there)."""
    return xp().asarray(x, dtype=dtype)


def _is_device_array(x):
    return type(x).__module__.split(".")[0] == "cupy" and callable(getattr(x, "get", None))


def to_numpy(x):
    """Return ``x`` as a NumPy array (or a Python scalar unchanged).

    A CuPy array is copied to the host with ``.get()``: one device-to-host
    transfer, which waits for the GPU. Keep it out of training loops.
    """
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return x
    if _is_device_array(x):
        return x.get()
    return np.asarray(x)


class RNG:
    """A seeded random generator that works on both backends.

    On the host it is a NumPy ``PCG64`` generator. On CuPy, bulk draws
    (``random``, ``normal``) come from *one* CuPy generator per ``RNG``,
    seeded from the host stream the first time it is needed; it is not rebuilt
    per draw (each build is a cuRAND set-up on the GPU).

    What is the same on both backends: everything drawn on the host, which is
    ``permutation``, ``integers`` and any ``random``/``normal`` drawn with
    ``on_host=True`` (meant for initial parameters: drawn from the ``PCG64``
    stream, then copied to the device once). So the same seed gives the same
    initial parameters on NumPy and CuPy. What differs: the noise of training
    (``random``/``normal`` without ``on_host``), which comes from the device
    stream on CuPy.

    What is saved: ``get_state`` returns the ``PCG64`` state, a plain dict, on
    both backends. On CuPy the device generator's own state cannot be read
    back, so ``get_state`` also ends the current device stream: the next
    device draw reseeds it from the host stream at the saved point. Hence
    ``set_state(get_state())`` replays exactly the draws that followed the
    save, on either backend; on CuPy a save changes the device noise that
    follows it (not its distribution).

    Parameters
    ----------
    seed : int, None, numpy.random.Generator or RNG
        ``None`` draws a fresh seed from the operating system; a Generator or
        an ``RNG`` gives one seed drawn from it.
    """

    def __init__(self, seed=None):
        if isinstance(seed, (RNG, np.random.Generator)):
            seed = int(seed.integers(0, 2**63 - 1))
        elif seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(
                f"RNG: seed must be an int, None, a numpy.random.Generator or an RNG, got {type(seed).__name__}"
            )
        elif seed is not None and seed < 0:
            raise ValueError(f"RNG: seed must be a non-negative int, got {seed}")
        self._np = np.random.Generator(np.random.PCG64(seed))
        self._dev = None  # the CuPy generator, built on the first device draw

    # --- draws ---------------------------------------------------------
    def _device_gen(self):
        """This RNG's CuPy generator (built once, from a seed drawn from the host stream)."""
        if self._dev is None:
            import cupy

            self._dev = cupy.random.default_rng(int(self._np.integers(0, 2**63 - 1)))
        return self._dev

    def _on_device(self, on_host):
        return not on_host and get_backend() == "cupy"

    def random(self, size, dtype=np.float64, out=None, on_host=False):
        """Uniform numbers in [0, 1) on the active backend.

        Parameters
        ----------
        size : int or tuple of int
        dtype : float32 or float64
        out : array of the active backend, optional
            Written in place and returned (not with ``on_host``).
        on_host : bool
            Draw from the host stream and copy the result to the device once:
            the same numbers on NumPy and CuPy. For initial parameters, not for
            per-minibatch noise.
        """
        if self._on_device(on_host):
            return self._device_gen().random(size, dtype=dtype, out=out)
        if out is not None and on_host and get_backend() == "cupy":
            raise ValueError("RNG.random: out= cannot be combined with on_host=True on CuPy; assign the result")
        u = self._np.random(size, dtype=dtype, out=out)
        return asarray(u) if on_host else u

    def normal(self, size, scale=1.0, dtype=np.float64, on_host=False):
        """Normal numbers N(0, scale**2) on the active backend (``on_host``: as in ``random``)."""
        if self._on_device(on_host):
            z = self._device_gen().standard_normal(size, dtype=dtype)
        else:
            z = self._np.standard_normal(size, dtype=dtype)
        if scale != 1.0:
            z *= np.dtype(dtype).type(scale)
        return asarray(z) if on_host else z

    def permutation(self, n):
        """A random permutation of ``range(n)`` as a NumPy array (indices, on the host)."""
        return self._np.permutation(n)

    def integers(self, low, high=None, size=None):
        """Random integers on the host (for seeds and indices)."""
        return self._np.integers(low, high, size=size)

    # --- state ---------------------------------------------------------
    def get_state(self):
        """Return the generator state as a plain dict (JSON- and pickle-safe).

        On CuPy this also ends the current device stream (see the class
        docstring), so that ``set_state`` of it replays what follows.
        """
        self._dev = None
        return self._np.bit_generator.state

    def set_state(self, state):
        """Restore a state returned by ``get_state``."""
        self._np.bit_generator.state = state
        self._dev = None

    def __getstate__(self):
        # copy/deepcopy/pickle: the host state only (a CuPy generator does not pickle);
        # the device stream of both copies restarts from it, as after get_state.
        return {"state": self.get_state()}

    def __setstate__(self, d):
        self._np = np.random.Generator(np.random.PCG64())
        self._dev = None
        self.set_state(d["state"])


def _init_from_env():
    """Choose the backend at import: ``DBNLIB_BACKEND`` never makes ``import dbnlib`` fail for want of a GPU."""
    name = os.environ.get("DBNLIB_BACKEND", "auto").strip().lower() or "auto"
    if name not in _VALID:
        raise ValueError(f"DBNLIB_BACKEND must be one of {_VALID}, got {name!r}")
    if name == "cupy":
        cupy, reason = _probe_cupy()
        if cupy is None:  # asked for in the environment: say so loudly, but let the import work
            _fall_back("cupy", f"DBNLIB_BACKEND=cupy but {reason}", loud=True)
            return
    set_backend(name)


_init_from_env()
