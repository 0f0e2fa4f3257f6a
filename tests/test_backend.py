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


@pytest.mark.skipif(_cupy_works(), reason="this machine has a working GPU")
def test_auto_falls_back_to_numpy_with_one_warning():
    prev = backend.get_backend()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert backend.set_backend("auto") == "numpy"
        msgs = [str(w.message) for w in caught if issubclass(w.category, backend.BackendFallbackWarning)]
        assert len(msgs) == 1 and "because" in msgs[0] and "\n" not in msgs[0]
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


def test_rng_draws_have_the_right_distribution():
    r = dbnlib.RNG(0)
    u = backend.to_numpy(r.random(200_000))
    z = backend.to_numpy(r.normal(200_000, scale=2.0))
    assert abs(u.mean() - 0.5) < 0.005 and 0 <= u.min() and u.max() < 1
    assert abs(z.std() - 2.0) < 0.02 and abs(z.mean()) < 0.02
    assert sorted(r.permutation(10).tolist()) == list(range(10))
