"""CPU and GPU agree: the same inputs give the same numbers on NumPy and on CuPy.

Written for device arrays: results are brought to the host with
``backend.to_numpy`` before any NumPy comparison, and parameters are put into
models with ``set_weights`` (never ``model.W[...] = numpy_array``), so an error
here is a real CuPy-path error, not a test that mixes host and device.

Runs only where CuPy sees a CUDA device (``benchmarks/gpu_check.sh`` runs it);
elsewhere it is skipped, and says why. ``bash benchmarks/gpu_check.sh
--standin`` runs it on the CPU stand-in (tests/cupy_standin) to check the file
itself before a GPU is at hand.
"""

import numpy as np
import pytest

import dbnlib
from dbnlib import backend

cupy, why = backend._probe_cupy()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(cupy is None, reason=f"no GPU: {why}")]

RTOL, ATOL = 1e-5, 1e-6  # float32 on two devices


def host(x):
    """A result as a float64 NumPy array (a device array is copied with .get())."""
    return np.asarray(backend.to_numpy(x), dtype=np.float64)


@pytest.fixture
def on_both():
    """``on_both(fn)`` runs ``fn()`` under NumPy and under CuPy; returns both results as host arrays."""
    prev = backend.get_backend()

    def run(fn):
        out = {}
        for name in ("numpy", "cupy"):
            backend.set_backend(name)
            res = fn()
            res = res if isinstance(res, (list, tuple)) else [res]
            if name == "cupy":
                assert all(not isinstance(r, np.ndarray) for r in res), "the CuPy path returned host arrays"
            out[name] = [host(r) for r in res]
        return out["numpy"], out["cupy"]

    yield run
    backend.set_backend(prev)


@pytest.fixture
def on_gpu():
    prev = backend.get_backend()
    backend.set_backend("cupy")
    yield cupy
    backend.set_backend(prev)


def assert_agree(cpu, gpu):
    for i, (c, g) in enumerate(zip(cpu, gpu, strict=True)):
        np.testing.assert_allclose(g, c, rtol=RTOL, atol=ATOL, err_msg=f"result {i}")


def _params(n_v, n_h, seed=0):
    rng = np.random.default_rng(seed)
    return dict(W=(0.3 * rng.standard_normal((n_v, n_h))).astype(np.float32),
                a=(0.1 * rng.standard_normal(n_v)).astype(np.float32),
                b=(0.1 * rng.standard_normal(n_h)).astype(np.float32))  # fmt: skip


def test_rbm_quantities_agree(on_both):
    rng = np.random.default_rng(1)
    v = (rng.random((64, 784)) < 0.3).astype(np.float32)
    h = (rng.random((64, 500)) < 0.5).astype(np.float32)
    params = _params(784, 500)

    def quantities():
        rbm = dbnlib.RBM(784, 500, dtype="float32", random_state=0).set_weights(**params)
        V, H = dbnlib.asarray(v), dbnlib.asarray(h)
        return rbm.energy(V, H), rbm.free_energy(V), rbm.prob_h_given_v(V), rbm.prob_v_given_h(H)

    assert_agree(*on_both(quantities))


def test_exact_gradient_and_log_z_agree(on_both):
    x = (np.random.default_rng(2).random((40, 12)) < 0.4).astype(np.float32)
    params = _params(12, 6)

    def exact():
        rbm = dbnlib.RBM(12, 6, dtype="float32", random_state=0).set_weights(**params)
        return [*rbm.exact_gradient(dbnlib.asarray(x)), np.float64(rbm.log_partition())]

    assert_agree(*on_both(exact))


def test_mlp_gradients_agree(on_both):
    rng = np.random.default_rng(3)
    x, y = rng.random((32, 64)).astype(np.float32), rng.integers(0, 10, 32)
    sizes = (64, 40, 30, 10)
    weights = [((0.2 * rng.standard_normal((i, o))).astype(np.float32), (0.1 * rng.standard_normal(o)).astype(np.float32))
               for i, o in zip(sizes[:-1], sizes[1:])]  # fmt: skip

    def grads():
        mlp = dbnlib.MLP(sizes, dtype="float32", random_state=3, init="glorot")
        for layer, (W, b) in enumerate(weights):
            mlp.set_weights(layer, W=W, b=b)
        return [g for pair in mlp.gradients(dbnlib.asarray(x), y) for g in pair] + [np.float64(mlp.loss(x, y))]

    assert_agree(*on_both(grads))


@pytest.mark.parametrize("model", ["RBM", "MLP"])
def test_same_random_state_gives_the_same_initial_parameters(on_both, model):
    def initial():
        if model == "RBM":
            m = dbnlib.RBM(784, 500, dtype="float32", random_state=7)
            return m.W, m.a, m.b
        m = dbnlib.MLP((784, 300, 10), dtype="float32", init="glorot", random_state=7)
        return [p for pair in m.params for p in pair]

    cpu, gpu = on_both(initial)
    for c, g in zip(cpu, gpu, strict=True):
        np.testing.assert_array_equal(g, c)


def test_rng_keeps_one_generator_and_its_state_round_trips(on_gpu):
    r = dbnlib.RNG(5)
    u = r.random((1000, 100), dtype=np.float32)
    assert isinstance(u, cupy.ndarray) and u.dtype == np.float32
    gen = r._device_gen()
    r.random((10,))
    assert r._device_gen() is gen  # not rebuilt per draw
    state = r.get_state()
    a = host(r.random((5, 7))), host(r.normal((4,), scale=3.0, dtype=np.float32))
    r.set_state(state)
    b = host(r.random((5, 7))), host(r.normal((4,), scale=3.0, dtype=np.float32))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    m = host(r.random(1_000_000, dtype=np.float32)).mean()
    assert abs(m - 0.5) < 0.002


def test_training_runs_on_the_gpu_and_learns(on_gpu):
    """CD-1 on noisy copies of 10 binary prototypes (no download): reconstruction error falls."""
    rng = np.random.default_rng(4)
    protos = rng.random((10, 784)) < 0.2
    X = protos[rng.integers(0, 10, 3000)] ^ (rng.random((3000, 784)) < 0.05)
    rbm = dbnlib.RBM(784, 100, n_epochs=3, learning_rate=0.05, random_state=0).fit(X.astype(np.float32))
    err = rbm.history_["reconstruction_error"]
    assert isinstance(rbm.W, cupy.ndarray)
    assert err[-1] < 0.8 * err[0], err


def test_mlp_and_dbn_train_on_the_gpu(on_gpu):
    rng = np.random.default_rng(5)
    protos = (rng.random((3, 64)) < 0.3).astype(np.float32)
    y = rng.integers(0, 3, 600)
    X = np.abs(protos[y] - (rng.random((600, 64)) < 0.05)).astype(np.float32)
    mlp = dbnlib.MLP((64, 32, 3), n_epochs=20, learning_rate=0.5, batch_size=50, random_state=0).fit(X, y)
    assert mlp.score(X, y) > 0.9
    dbn = dbnlib.DBN((64, 32, 16), rbm_params=dict(n_epochs=2, batch_size=50),
                     fine_tune_params=dict(n_epochs=10, batch_size=50, learning_rate=0.5), random_state=0).fit(X, y)
    assert isinstance(dbn.rbms[0].W, cupy.ndarray) and dbn.score(X, y) > 0.9
