"""A strict CPU stand-in for CuPy, for proving dbnlib's CuPy path without a GPU.

Put ``tests/cupy_standin`` first on ``sys.path`` (or ``PYTHONPATH``) and
``import cupy`` gives this module. Its ``ndarray`` wraps a NumPy array and is
as strict as CuPy about the border between host and device:

- ``numpy.asarray(x)``, ``numpy.array(x)`` and anything else that needs
  ``__array__`` raise ``TypeError`` (CuPy's message: use ``.get()``);
- a NumPy array as an operand of arithmetic, a ufunc, ``@`` or a NumPy
  function called on device arrays raises ``TypeError`` (``Unsupported type``);
- ``a[...] = numpy_array`` raises CuPy's ``ValueError`` ("non-scalar
  numpy.ndarray cannot be used for fill");
- ``cupy.random`` has CuPy's ``Generator`` API (``default_rng``, ``random``,
  ``standard_normal``, ``integers``, ``uniform``), not NumPy's full one.

Python and NumPy scalars mix freely with device arrays, as on CuPy. NumPy
functions applied to device arrays alone run here and return device arrays
(CuPy's ``__array_ufunc__`` / ``__array_function__`` do the same).

It counts, in module-level counters (``counts()``, ``reset_counts()``):

- ``syncs``: device-to-host transfers, each of which waits for the GPU:
  ``.get()``, ``asnumpy``, ``.item()``, ``.tolist()``, ``float``/``int``/
  ``bool``/``complex`` of an array, ``format``, ``repr``/``str``, pickling;
- ``h2d``: host-to-device copies (``asarray`` of host data, a NumPy index
  array, ``.set()``);
- ``generators``: ``cupy.random`` generators built (on a GPU each is a
  cuRAND state set-up).

``sync_sites()`` tells which source lines paid the syncs. The environment
variable ``CUPY_STANDIN_DEVICES`` (default 1) sets how many CUDA devices
``cuda.runtime.getDeviceCount()`` reports; 0 makes it raise, as CuPy does on
a machine whose driver sees no GPU.

What it does not model: asynchrony, device memory, streams, kernels, dtypes
CuPy lacks. NumPy does the arithmetic, so numbers agree with NumPy exactly;
only the random streams differ (``cupy.random`` is a Philox stream here).
"""

import collections
import os
import sys
import types

import numpy as _np

__version__ = "14.0.0+standin"
__standin__ = True  # lets tests tell this module from a real CuPy

_NUMPY_ARRAY_MSG = (
    "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array explicitly."
)
_FILL_MSG = "non-scalar numpy.ndarray cannot be used for fill"

# ----------------------------------------------------------------------------- counters
_counts = collections.Counter()
_sync_sites = collections.Counter()
_HERE = os.path.dirname(os.path.abspath(__file__))


def counts():
    """Return a copy of the counters: ``syncs``, ``h2d`` and ``generators``."""
    return {key: _counts.get(key, 0) for key in ("syncs", "h2d", "generators")}


def reset_counts():
    """Set every counter (and the record of sync sites) back to zero."""
    _counts.clear()
    _sync_sites.clear()


def sync_sites():
    """Return ``{"file:line": count}`` of the code outside this module that paid a sync."""
    return dict(_sync_sites)


def _caller_site():
    frame = sys._getframe(2)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _HERE:
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _sync():
    _counts["syncs"] += 1
    _sync_sites[_caller_site()] += 1


# ----------------------------------------------------------------------------- the border
_SCALARS = (bool, int, float, complex, _np.generic)


def _unwrap(x, what="operand"):
    """The NumPy data behind a device array; scalars pass; host arrays are refused."""
    if isinstance(x, ndarray):
        return x._a
    if x is None or isinstance(x, _SCALARS):
        return x
    if isinstance(x, _np.ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    if isinstance(x, (list, tuple)):
        raise TypeError(f"Unsupported type {type(x)}")
    return x


def _unwrap_tree(x):
    """Unwrap device arrays inside (nested) lists and tuples; refuse host arrays."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, _np.ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap_tree(i) for i in x)
    return x


def _unwrap_out(kwargs):
    out = kwargs.get("out")
    if out is None:
        return kwargs, None
    outs = out if isinstance(out, tuple) else (out,)
    for o in outs:
        if o is not None and not isinstance(o, ndarray):
            raise TypeError(f"output must be cupy.ndarray, got {type(o)}")
    kwargs = dict(kwargs)
    kwargs["out"] = tuple(None if o is None else o._a for o in outs) if isinstance(out, tuple) else out._a
    return kwargs, out


def _host_data(x):
    """What ``asarray``/``array`` copy to the device: host data, or device arrays inside lists."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, (list, tuple)):
        return type(x)(_host_data(i) for i in x)
    return x


def _wrap(x):
    """Put NumPy results on the 'device': arrays and NumPy scalars become device arrays."""
    if isinstance(x, _np.ndarray):
        return ndarray._from(x)
    if isinstance(x, _np.generic):
        return ndarray._from(_np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(i) for i in x)
    if isinstance(x, list):
        return [_wrap(i) for i in x]
    return x


def _call(func, args, kwargs):
    kwargs, out = _unwrap_out(kwargs)
    args = tuple(_unwrap_tree(a) for a in args)
    kwargs = {k: v if k == "out" else _unwrap_tree(v) for k, v in kwargs.items()}
    result = func(*args, **kwargs)
    return out if out is not None else _wrap(result)


def _index(key):
    """Indices may be device arrays, or host arrays and lists (CuPy copies those over)."""
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    if isinstance(key, ndarray):
        return key._a
    if isinstance(key, (_np.ndarray, list)):
        _counts["h2d"] += 1
        return _np.asarray(key)
    return key


# ----------------------------------------------------------------------------- ndarray
def _binary(ufunc, reflected=False):
    def op(self, other):
        other = _unwrap(other)
        return _wrap(ufunc(other, self._a) if reflected else ufunc(self._a, other))

    return op


def _inplace(ufunc):
    def op(self, other):
        ufunc(self._a, _unwrap(other), out=self._a)
        return self

    return op


def _unary(ufunc):
    return lambda self: _wrap(ufunc(self._a))


class ndarray:
    """A device array: a NumPy array behind CuPy's border checks."""

    __slots__ = ("_a",)
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = _np.empty(shape, dtype=dtype, order=order)

    @classmethod
    def _from(cls, a):
        obj = cls.__new__(cls)
        obj._a = a
        return obj

    # --- what CuPy refuses
    def __array__(self, *args, **kwargs):
        raise TypeError(_NUMPY_ARRAY_MSG)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        kwargs, out = _unwrap_out(kwargs)
        inputs = tuple(_unwrap(x) for x in inputs)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        return out if out is not None else _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        for t in types:
            if not issubclass(t, ndarray):
                raise TypeError(f"Unsupported type {t}")
        return _call(func, args, kwargs)

    # --- host transfers (each one a sync)
    def get(self, stream=None, order="C", out=None):
        """Copy to the host: a NumPy array (a device-to-host sync)."""
        _sync()
        if out is not None:
            out[...] = self._a
            return out
        return _np.array(self._a, order=order)

    def set(self, arr, stream=None):
        _counts["h2d"] += 1
        self._a[...] = _np.asarray(arr)

    def item(self, *args):
        _sync()
        return self._a.item(*args)

    def tolist(self):
        _sync()
        return self._a.tolist()

    def __float__(self):
        _sync()
        return float(self._a)

    def __int__(self):
        _sync()
        return int(self._a)

    def __complex__(self):
        _sync()
        return complex(self._a)

    def __bool__(self):
        _sync()
        return bool(self._a)

    def __format__(self, spec):
        _sync()
        return format(self._a[()] if self._a.ndim == 0 else self._a, spec)

    def __repr__(self):
        _sync()
        return repr(self._a)

    def __str__(self):
        _sync()
        return str(self._a)

    def __reduce__(self):
        _sync()
        return (_rebuild, (_np.array(self._a),))

    def __copy__(self):
        return ndarray._from(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray._from(self._a.copy())

    # --- shape and type
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray._from(self._a.T))
    device = property(lambda self: cuda.Device(0))

    @property
    def base(self):
        return None if self._a.base is None else ndarray._from(self._a.base)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (ndarray._from(row) if isinstance(row, _np.ndarray) else _wrap(row) for row in self._a)

    # --- indexing
    def __getitem__(self, key):
        return _wrap(self._a[_index(key)])

    def __setitem__(self, key, value):
        if isinstance(value, _np.ndarray) and value.ndim > 0:
            raise ValueError(_FILL_MSG)
        if isinstance(value, (list, tuple)):
            raise ValueError(_FILL_MSG)
        self._a[_index(key)] = _unwrap(value)

    def fill(self, value):
        if isinstance(value, _np.ndarray) and value.ndim > 0:
            raise ValueError(_FILL_MSG)
        self._a.fill(_unwrap(value))

    # --- methods that stay on the device
    def __getattr__(self, name):
        if name.startswith("_") or name in ("tobytes", "tofile", "dump", "dumps", "ctypes", "data"):
            raise AttributeError(f"cupy.ndarray stand-in has no attribute {name!r}")
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)
        return lambda *args, **kwargs: _call(attr, args, kwargs)

    # --- operators
    __add__, __radd__, __iadd__ = _binary(_np.add), _binary(_np.add, True), _inplace(_np.add)
    __sub__, __rsub__, __isub__ = _binary(_np.subtract), _binary(_np.subtract, True), _inplace(_np.subtract)
    __mul__, __rmul__, __imul__ = _binary(_np.multiply), _binary(_np.multiply, True), _inplace(_np.multiply)
    __truediv__, __rtruediv__ = _binary(_np.true_divide), _binary(_np.true_divide, True)
    __itruediv__ = _inplace(_np.true_divide)
    __floordiv__, __rfloordiv__ = _binary(_np.floor_divide), _binary(_np.floor_divide, True)
    __ifloordiv__ = _inplace(_np.floor_divide)
    __mod__, __rmod__, __imod__ = _binary(_np.remainder), _binary(_np.remainder, True), _inplace(_np.remainder)
    __pow__, __rpow__, __ipow__ = _binary(_np.power), _binary(_np.power, True), _inplace(_np.power)
    __matmul__, __rmatmul__ = _binary(_np.matmul), _binary(_np.matmul, True)
    __and__, __rand__, __iand__ = _binary(_np.bitwise_and), _binary(_np.bitwise_and, True), _inplace(_np.bitwise_and)
    __or__, __ror__, __ior__ = _binary(_np.bitwise_or), _binary(_np.bitwise_or, True), _inplace(_np.bitwise_or)
    __xor__, __rxor__, __ixor__ = _binary(_np.bitwise_xor), _binary(_np.bitwise_xor, True), _inplace(_np.bitwise_xor)
    __lshift__, __rlshift__ = _binary(_np.left_shift), _binary(_np.left_shift, True)
    __rshift__, __rrshift__ = _binary(_np.right_shift), _binary(_np.right_shift, True)
    __ilshift__, __irshift__ = _inplace(_np.left_shift), _inplace(_np.right_shift)
    __lt__, __le__ = _binary(_np.less), _binary(_np.less_equal)
    __gt__, __ge__ = _binary(_np.greater), _binary(_np.greater_equal)
    __eq__, __ne__ = _binary(_np.equal), _binary(_np.not_equal)
    __neg__, __pos__, __abs__ = _unary(_np.negative), _unary(_np.positive), _unary(_np.absolute)
    __invert__ = _unary(_np.invert)

    def __imatmul__(self, other):
        self._a[...] = _np.matmul(self._a, _unwrap(other))
        return self


ndarray.__module__ = "cupy"


def _rebuild(a):
    return ndarray._from(a)


# ----------------------------------------------------------------------------- module functions
def asarray(a, dtype=None, order=None, *, blocking=False):
    """Put ``a`` on the device; a host array or list is copied over (counted in ``h2d``)."""
    if isinstance(a, ndarray):
        if dtype is None or _np.dtype(dtype) == a.dtype:
            return a
        return ndarray._from(a._a.astype(dtype))
    if not isinstance(a, _SCALARS):
        _counts["h2d"] += 1
    return ndarray._from(_np.array(_host_data(a), dtype=dtype, order=order or "K", copy=True))


def array(obj, dtype=None, copy=True, order="K", ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        return ndarray._from(_np.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))
    if not isinstance(obj, _SCALARS):
        _counts["h2d"] += 1
    return ndarray._from(_np.array(_host_data(obj), dtype=dtype, order=order, ndmin=ndmin))


ascontiguousarray = asarray


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    """Copy a device array to the host (a sync); host data passes through."""
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return _np.asarray(a, order=order)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else _np


class _Ufunc:
    """A NumPy ufunc that accepts device arrays and refuses host arrays."""

    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__

    def __call__(self, *args, **kwargs):
        kwargs, out = _unwrap_out(kwargs)
        result = self._uf(*(_unwrap(a) for a in args), **kwargs)
        return out if out is not None else _wrap(result)

    def __getattr__(self, name):
        method = getattr(self._uf, name)
        if not callable(method):
            return method
        return lambda *args, **kwargs: _call(method, args, kwargs)


def _host_ok_creation(f):
    """Creation functions that take shapes and scalars only."""
    return lambda *args, **kwargs: _wrap(f(*args, **kwargs))


class _Namespace(types.ModuleType):
    """A submodule (``linalg``) whose functions take and give device arrays."""

    def __init__(self, name, np_module):
        super().__init__(name)
        self._np_module = np_module

    def __getattr__(self, name):
        return _lookup(getattr(self._np_module, name))


def _lookup(attr):
    if isinstance(attr, _np.ufunc):
        return _Ufunc(attr)
    if isinstance(attr, type) or not callable(attr):
        return attr  # dtypes, constants, finfo, ...
    return lambda *args, **kwargs: _call(attr, args, kwargs)


_CREATION = ("empty", "zeros", "ones", "full", "arange", "linspace", "logspace", "eye", "identity", "tri")
for _name in _CREATION:
    globals()[_name] = _host_ok_creation(getattr(_np, _name))

linalg = _Namespace("cupy.linalg", _np.linalg)


def __getattr__(name):
    """Every other NumPy name: functions act on device arrays, the rest is NumPy's own."""
    if name.startswith("__") or name in ("random", "cuda", "testing", "fft"):
        raise AttributeError(name)
    try:
        attr = getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'cupy' (stand-in) has no attribute {name!r}") from None
    globals()[name] = wrapped = _lookup(attr)  # looked up once: the next access is a plain attribute
    return wrapped


import importlib  # noqa: E402

# Not ``from . import``: that would ask __getattr__ above and get NumPy's modules.
cuda = importlib.import_module(__name__ + ".cuda")
random = importlib.import_module(__name__ + ".random")


class _MemoryPool:
    def free_all_blocks(self):
        pass

    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0


_pool = _MemoryPool()


def get_default_memory_pool():
    return _pool
