"""The CuPy stand-in (tests/cupy_standin) is as strict as CuPy about the host/device border.

If the stand-in let through what CuPy refuses, every CuPy-path test built on it
would prove nothing; these tests make sure it refuses, and counts.
"""

import copy
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

STANDIN = Path(__file__).resolve().parent / "cupy_standin"


@pytest.fixture(scope="module")
def cp():
    """The stand-in module, imported under its own name without touching sys.modules['cupy']."""
    sys.path.insert(0, str(STANDIN))
    saved = sys.modules.pop("cupy", None), {k: sys.modules.pop(k) for k in list(sys.modules) if k.startswith("cupy.")}
    try:
        import cupy

        assert cupy.__standin__
        yield cupy
    finally:
        sys.path.remove(str(STANDIN))
        for k in [k for k in sys.modules if k == "cupy" or k.startswith("cupy.")]:
            del sys.modules[k]
        if saved[0] is not None:
            sys.modules["cupy"] = saved[0]
        sys.modules.update(saved[1])


@pytest.fixture
def a(cp):
    cp.reset_counts()
    return cp.arange(6, dtype=cp.float32).reshape(2, 3)


def test_implicit_conversion_to_numpy_is_refused(cp, a):
    for convert in (np.asarray, np.array, lambda x: np.testing.assert_allclose(x, 0)):
        with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
            convert(a)


@pytest.mark.parametrize(
    "op",
    [
        lambda d, h: d + h,
        lambda d, h: h * d,
        lambda d, h: d @ h.T,
        lambda d, h: np.exp(d) - h,
        lambda d, h: np.add(d, h),
        lambda d, h: np.concatenate([d, h]),
        lambda d, h: np.where(d > 0, d, h),
        lambda d, h: d < np.zeros(()),  # even a 0-d NumPy array is not a scalar to CuPy
    ],
    ids=["add", "rmul", "matmul", "ufunc", "np.add", "concatenate", "where", "0-d"],
)
def test_numpy_operands_are_refused(cp, a, op):
    with pytest.raises(TypeError, match="Unsupported type"):
        op(a, np.ones((2, 3), np.float32))


def test_module_functions_refuse_host_arrays_and_out(cp, a):
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.exp(np.ones(3))
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.matmul(a, np.ones((3, 2)))
    with pytest.raises(TypeError, match="output must be cupy.ndarray"):
        cp.multiply(a, 2, out=np.empty((2, 3), np.float32))


def test_fill_with_a_host_array_is_refused_with_cupys_message(cp, a):
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[...] = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[0] = np.ones(3, np.float32)
    a[...] = 2.0  # scalars and device arrays are fine
    a[0] = cp.zeros(3, dtype=cp.float32)
    assert a.sum().item() == 6.0


def test_scalars_mix_and_results_stay_on_the_device(cp, a):
    for r in (a * 2, 2.0 * a, np.float32(2) * a, np.exp(a), np.mean(a), a.sum(axis=0), a[0, 1], cp.linalg.norm(a)):
        assert type(r) is cp.ndarray
    assert cp.counts() == {"syncs": 0, "h2d": 0, "generators": 0}


def test_numbers_are_numpys(cp, a):
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal((a @ a.T + 1).get(), host @ host.T + 1)
    np.testing.assert_array_equal(cp.asnumpy(np.log1p(a)), np.log1p(host))


def test_every_device_to_host_transfer_is_counted(cp, a):
    s = a.sum()
    float(s), int(s), bool(s), s.item(), a.tolist(), a.get(), cp.asnumpy(a), f"{s:.2f}", repr(a), str(a)
    assert cp.counts()["syncs"] == 10
    pickle.dumps(a)
    assert cp.counts()["syncs"] == 11
    copy.deepcopy(a)  # a device copy: no sync
    assert cp.counts()["syncs"] == 11
    assert all(site.startswith(__file__) for site in cp.sync_sites())  # the caller's line is recorded
    assert all("cupy_standin/cupy/" not in site for site in cp.sync_sites())  # the caller's line, not the stand-in's
    cp.reset_counts()
    assert cp.counts()["syncs"] == 0 and cp.sync_sites() == {}


def test_host_to_device_copies_are_counted(cp, a):
    cp.asarray(np.ones(3))
    cp.asarray([1.0, 2.0])
    a[np.array([1, 0])]  # a host index array is copied over, as on CuPy
    assert cp.asarray(a) is a  # already on the device: no copy
    assert cp.counts()["h2d"] == 3


def test_random_has_cupys_generator_api_and_counts_generators(cp):
    cp.reset_counts()
    g = cp.random.default_rng(3)
    u = g.random((4, 5), dtype=cp.float32)
    z = g.standard_normal(100, dtype=cp.float64)
    out = cp.empty((2, 2), dtype=cp.float32)
    assert g.random(out.shape, dtype=out.dtype, out=out) is out
    assert type(u) is cp.ndarray and u.dtype == np.float32 and z.dtype == np.float64
    assert not hasattr(g, "permutation") and not hasattr(g, "normal")  # not in CuPy's Generator
    cp.random.default_rng(4)
    assert cp.counts()["generators"] == 2
    np.testing.assert_array_equal(cp.random.default_rng(3).random((4, 5), dtype=cp.float32).get(), u.get())


def test_device_count_follows_the_environment(cp, monkeypatch):
    assert cp.cuda.runtime.getDeviceCount() == 1
    monkeypatch.setenv("CUPY_STANDIN_DEVICES", "0")
    with pytest.raises(cp.cuda.runtime.CUDARuntimeError):
        cp.cuda.runtime.getDeviceCount()
