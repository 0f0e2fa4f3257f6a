"""``cupy.random`` of the stand-in: CuPy's ``Generator`` API, on a NumPy Philox stream.

Only what CuPy's ``Generator`` offers is here (``random``, ``standard_normal``,
``integers``, ``uniform``, ``standard_exponential``); NumPy extras such as
``permutation`` or ``normal`` are missing, as they are on CuPy. Each generator
built is counted in ``cupy.counts()["generators"]``: on a GPU each one sets up
cuRAND states.
"""

import numpy as _np

from . import _counts, _unwrap_out, _wrap, ndarray


class BitGenerator:
    def __init__(self, seed=None):
        _counts["generators"] += 1
        self._seed = seed
        self._np = _np.random.Generator(_np.random.Philox(seed))


class XORWOW(BitGenerator):
    pass


class MRG32k3a(BitGenerator):
    pass


class Philox4x3210(BitGenerator):
    pass


def _size(size):
    return () if size is None else size


class Generator:
    """CuPy's ``cupy.random.Generator``: draws land on the device."""

    def __init__(self, bit_generator):
        if not isinstance(bit_generator, BitGenerator):
            raise TypeError(f"bit_generator must be a cupy.random.BitGenerator, got {type(bit_generator)}")
        self.bit_generator = bit_generator
        self._np = bit_generator._np

    def _draw(self, method, size, dtype, out, **kw):
        dtype = _np.dtype(dtype)
        if dtype not in (_np.float32, _np.float64):
            raise TypeError(f"Unsupported dtype {dtype} for {method}")
        if out is not None:
            if not isinstance(out, ndarray):
                raise TypeError(f"out must be cupy.ndarray, got {type(out)}")
            getattr(self._np, method)(dtype=dtype, out=out._a, **kw)
            return out
        return _wrap(_np.asarray(getattr(self._np, method)(size=_size(size), dtype=dtype, **kw)))

    def random(self, size=None, dtype=_np.float64, out=None):
        return self._draw("random", size, dtype, out)

    def standard_normal(self, size=None, dtype=_np.float64, out=None):
        return self._draw("standard_normal", size, dtype, out)

    def standard_exponential(self, size=None, dtype=_np.float64, method="inv", out=None):
        return self._draw("standard_exponential", size, dtype, out)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=_np.float64):
        u = self._np.random(size=_size(size), dtype=_np.dtype(dtype))
        return _wrap(_np.asarray(low + (high - low) * u, dtype=dtype))

    def integers(self, low, high=None, size=None, dtype=_np.int64, endpoint=False):
        return _wrap(_np.asarray(self._np.integers(low, high, size=size, dtype=dtype, endpoint=endpoint)))


def default_rng(seed=None):
    """A ``Generator`` on a fresh ``XORWOW`` bit generator (counted)."""
    if isinstance(seed, Generator):
        return seed
    if isinstance(seed, BitGenerator):
        return Generator(seed)
    return Generator(XORWOW(seed))


class RandomState:
    """CuPy's legacy generator (counted like the others)."""

    def __init__(self, seed=None):
        _counts["generators"] += 1
        self._np = _np.random.RandomState(None if seed is None else int(seed) % 2**32)

    def rand(self, *size, dtype=float):
        return _wrap(_np.asarray(self._np.random_sample(size).astype(dtype)))

    def randn(self, *size, dtype=float):
        return _wrap(_np.asarray(self._np.standard_normal(size).astype(dtype)))

    def random_sample(self, size=None, dtype=float):
        return _wrap(_np.asarray(self._np.random_sample(size)).astype(dtype))

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        return _wrap(_np.asarray(self._np.normal(loc, scale, size)).astype(dtype))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        return _wrap(_np.asarray(self._np.uniform(low, high, size)).astype(dtype))

    def randint(self, low, high=None, size=None, dtype=int):
        return _wrap(_np.asarray(self._np.randint(low, high, size)).astype(dtype))


_legacy = None


def _global():
    global _legacy
    if _legacy is None:
        _legacy = RandomState()
    return _legacy


def seed(seed=None):
    global _legacy
    _legacy = RandomState(seed)


def rand(*size, dtype=float):
    return _global().rand(*size, dtype=dtype)


def randn(*size, dtype=float):
    return _global().randn(*size, dtype=dtype)


def random(size=None, dtype=float):
    return _global().random_sample(size, dtype=dtype)


def normal(loc=0.0, scale=1.0, size=None, dtype=float):
    return _global().normal(loc, scale, size, dtype=dtype)


def uniform(low=0.0, high=1.0, size=None, dtype=float):
    return _global().uniform(low, high, size, dtype=dtype)


def randint(low, high=None, size=None, dtype=int):
    return _global().randint(low, high, size, dtype=dtype)


__all__ = ["BitGenerator", "Generator", "MRG32k3a", "Philox4x3210", "RandomState", "XORWOW", "default_rng",
           "normal", "rand", "randint", "randn", "random", "seed", "uniform", "_unwrap_out"]
