"""The backend: choosing NumPy or CuPy, conversions, and the seeded RNG."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import dbnlib
from dbnlib import backend


def _cupy_works():
    cupy, _ = backend._probe_cupy()
    return cupy is not None


def test_numpy_backend_is_numpy():
    prev = backend.get_backend()
    try:
        assert backend.set_backend("numpy") == "numpy"
        assert backend.get_backend() == "numpy"
        assert backend.xp() is np
    finally:
        backend.set_backend(prev)


def test_bad_backend_name_is_refused():
    with pytest.raises(ValueError, match="one of"):
        backend.set_backend("tensorflow")


STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cupy_standin")


def _import_dbnlib(env_extra, flags=()):
    """``import dbnlib`` in a fresh interpreter; return (stdout, stderr, returncode)."""
    code = "import dbnlib, json; i = dbnlib.backend_info(); print(json.dumps([i.name, i.requested, i.reason]))"
    env = {k: v for k, v in os.environ.items() if k not in ("DBNLIB_BACKEND", "PYTHONPATH", "CUPY_STANDIN_DEVICES")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, *flags, "-c", code], env=env, capture_output=True, text=True)
    return out.stdout, out.stderr, out.returncode


@pytest.mark.skipif(_cupy_works(), reason="this machine has a working GPU")
def test_import_without_cupy_is_silent_even_under_w_error():
    stdout, stderr, rc = _import_dbnlib({"DBNLIB_BACKEND": "auto"}, flags=("-W", "error"))
    assert rc == 0, stderr
    assert stderr == ""
    name, requested, reason = json.loads(stdout)
    assert (name, requested) == ("numpy", "auto") and "CuPy is not installed" in reason


@pytest.mark.parametrize("asked", ["auto", "cupy"])
def test_cupy_installed_but_no_device_warns_once_and_falls_back(asked):
    """The stand-in plays a CuPy whose driver sees no GPU."""
    stdout, stderr, rc = _import_dbnlib({"DBNLIB_BACKEND": asked, "PYTHONPATH": STANDIN, "CUPY_STANDIN_DEVICES": "0"})
    assert rc == 0, stderr
    lines = [ln for ln in stderr.splitlines() if "BackendFallbackWarning" in ln]
    assert len(lines) == 1 and "no CUDA device answers" in lines[0], stderr
    assert json.loads(stdout)[0] == "numpy" and "no CUDA device answers" in json.loads(stdout)[2]


@pytest.mark.skipif(_cupy_works(), reason="this machine has a working GPU")
def test_cupy_asked_for_in_the_environment_but_missing_warns_and_imports():
    stdout, stderr, rc = _import_dbnlib({"DBNLIB_BACKEND": "cupy"})
    assert rc == 0, stderr
    assert "BackendFallbackWarning" in stderr and "DBNLIB_BACKEND=cupy but CuPy is not installed" in stderr
    assert json.loads(stdout)[:2] == ["numpy", "cupy"]


def test_cupy_with_a_device_is_taken_and_info_says_why():
    stdout, stderr, rc = _import_dbnlib({"DBNLIB_BACKEND": "auto", "PYTHONPATH": STANDIN}, flags=("-W", "error"))
    assert rc == 0, stderr
    name, requested, reason = json.loads(stdout)
    assert (name, requested) == ("cupy", "auto") and "sees 1 CUDA device" in reason


def test_backend_info_names_the_backend_in_one_line():
    prev = backend.get_backend()
    try:
        backend.set_backend("numpy")
        info = dbnlib.backend_info()
        assert info.name == "numpy" and info.requested == "numpy"
        assert str(info) == "dbnlib backend: numpy (NumPy was asked for)"
    finally:
        backend.set_backend(prev)


@pytest.mark.skipif(_cupy_works(), reason="this machine has a working GPU")
def test_auto_falls_back_to_numpy_without_cupy_silently():
    prev = backend.get_backend()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert backend.set_backend("auto") == "numpy"
        assert [w for w in caught if issubclass(w.category, backend.BackendFallbackWarning)] == []
        assert "CuPy is not installed" in backend.backend_info().reason
    finally:
        backend.set_backend(prev)


@pytest.mark.skipif(_cupy_works(), reason="this machine has a working GPU")
def test_asking_for_cupy_without_gpu_says_what_is_missing():
    with pytest.raises(backend.BackendUnavailable, match="CuPy|CUDA"):
        backend.set_backend("cupy")
    assert backend.get_backend() == "numpy"


def test_environment_variable_picks_backend_at_import():
    code = "import dbnlib, json; print(json.dumps(dbnlib.get_backend()))"
    env = dict(os.environ, DBNLIB_BACKEND="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == "numpy"
    assert "BackendFallbackWarning" not in out.stderr  # numpy was asked for: no warning
    env["DBNLIB_BACKEND"] = "fortran"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "DBNLIB_BACKEND must be one of" in bad.stderr


def test_to_numpy_and_asarray_round_trip(rng):
    a = rng.normal(size=(3, 4))
    b = backend.asarray(a)
    assert isinstance(backend.to_numpy(b), np.ndarray)
    np.testing.assert_array_equal(backend.to_numpy(b), a)
    assert backend.to_numpy(2.5) == 2.5


def test_rng_is_reproducible_and_state_round_trips():
    r1, r2 = dbnlib.RNG(7), dbnlib.RNG(7)
    np.testing.assert_array_equal(backend.to_numpy(r1.random((5, 3))), backend.to_numpy(r2.random((5, 3))))
    state = r1.get_state()
    a = backend.to_numpy(r1.normal((4,), scale=0.01, dtype=np.float32))
    json.dumps(state)  # the state is plain data
    r1.set_state(state)
    b = backend.to_numpy(r1.normal((4,), scale=0.01, dtype=np.float32))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32
    assert not np.array_equal(backend.to_numpy(dbnlib.RNG(8).random(5)), backend.to_numpy(dbnlib.RNG(7).random(5)))


def test_rng_accepts_generators_and_refuses_other_seeds():
    a = dbnlib.RNG(np.random.default_rng(5)).random(3)
    b = dbnlib.RNG(np.random.default_rng(5)).random(3)
    np.testing.assert_array_equal(backend.to_numpy(a), backend.to_numpy(b))
    assert dbnlib.RNG(np.int64(3)).integers(0, 100) == dbnlib.RNG(3).integers(0, 100)
    with pytest.raises(TypeError, match="RNG: seed must be an int, None"):
        dbnlib.RNG("seven")
    with pytest.raises(TypeError, match="got float"):
        dbnlib.RNG(1.5)
    with pytest.raises(ValueError, match="non-negative"):
        dbnlib.RNG(-1)


def test_on_host_draws_are_the_plain_draws_on_numpy():
    """``on_host=True`` (for initial parameters) gives the very numbers of the ordinary draw on NumPy."""
    prev = backend.get_backend()
    try:
        backend.set_backend("numpy")
        for dtype in (np.float32, np.float64):
            np.testing.assert_array_equal(dbnlib.RNG(4).normal((3, 5), scale=0.01, dtype=dtype),
                                          dbnlib.RNG(4).normal((3, 5), scale=0.01, dtype=dtype, on_host=True))
            np.testing.assert_array_equal(dbnlib.RNG(4).random((3, 5), dtype=dtype),
                                          dbnlib.RNG(4).random((3, 5), dtype=dtype, on_host=True))
    finally:
        backend.set_backend(prev)


def test_rng_copies_continue_the_same_stream():
    import copy
    import pickle

    r = dbnlib.RNG(11)
    r.random(4)
    c, p = copy.deepcopy(r), pickle.loads(pickle.dumps(r))
    x = backend.to_numpy(r.random(6))
    np.testing.assert_array_equal(backend.to_numpy(c.random(6)), x)
    np.testing.assert_array_equal(backend.to_numpy(p.random(6)), x)


def test_rng_draws_have_the_right_distribution():
    r = dbnlib.RNG(0)
    u = backend.to_numpy(r.random(200_000))
    z = backend.to_numpy(r.normal(200_000, scale=2.0))
    assert abs(u.mean() - 0.5) < 0.005 and 0 <= u.min() and u.max() < 1
    assert abs(z.std() - 2.0) < 0.02 and abs(z.mean()) < 0.02
    assert sorted(r.permutation(10).tolist()) == list(range(10))
