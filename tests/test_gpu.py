"""CPU and GPU agree: the same inputs give the same numbers on NumPy and on CuPy.

Runs only where CuPy sees a CUDA device (``benchmarks/gpu_check.sh`` runs it);
elsewhere it is skipped, and says why.
"""

import numpy as np
import pytest

import dbnlib
from dbnlib import backend

cupy, why = backend._probe_cupy()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(cupy is None, reason=f"no GPU: {why}")]

RTOL = 1e-5  # float32 on two devices


@pytest.fixture
def on_both():
    """Call ``fn`` under each backend with NumPy inputs; return both results as NumPy."""
    prev = backend.get_backend()

    def run(fn):
        out = {}
        for name in ("numpy", "cupy"):
            backend.set_backend(name)
            res = fn()
            out[name] = [backend.to_numpy(r) for r in (res if isinstance(res, (list, tuple)) else [res])]
        return out["numpy"], out["cupy"]

    yield run
    backend.set_backend(prev)


def _rbm(n_v, n_h, seed=0):
    rng = np.random.default_rng(seed)
    W = (0.3 * rng.standard_normal((n_v, n_h))).astype(np.float32)
    a = (0.1 * rng.standard_normal(n_v)).astype(np.float32)
    b = (0.1 * rng.standard_normal(n_h)).astype(np.float32)

    def make():
        rbm = dbnlib.RBM(n_v, n_h, dtype="float32", random_state=0)
        rbm.W, rbm.a, rbm.b = (dbnlib.asarray(x) for x in (W, a, b))
        return rbm

    return make, rng


def test_rbm_quantities_agree(on_both):
    make, rng = _rbm(784, 500)
    v = (rng.random((64, 784)) < 0.3).astype(np.float32)
    h = (rng.random((64, 500)) < 0.5).astype(np.float32)

    def quantities():
        rbm = make()
        V, Hh = dbnlib.asarray(v), dbnlib.asarray(h)
        return rbm.energy(V, Hh), rbm.free_energy(V), rbm.prob_h_given_v(V), rbm.prob_v_given_h(Hh)

    cpu, gpu = on_both(quantities)
    for c, g in zip(cpu, gpu):
        np.testing.assert_allclose(g, c, rtol=RTOL, atol=1e-6)


def test_exact_gradient_and_log_z_agree(on_both):
    make, rng = _rbm(12, 6)
    X = (rng.random((40, 12)) < 0.4).astype(np.float32)

    def exact():
        rbm = make()
        return list(rbm.exact_gradient(dbnlib.asarray(X))) + [np.float64(rbm.log_partition())]

    cpu, gpu = on_both(exact)
    for c, g in zip(cpu, gpu):
        np.testing.assert_allclose(g, c, rtol=RTOL, atol=1e-6)


def test_mlp_gradients_agree(on_both):
    rng = np.random.default_rng(1)
    X = rng.random((32, 64)).astype(np.float32)
    y = rng.integers(0, 10, 32)

    def grads():
        mlp = dbnlib.MLP((64, 40, 30, 10), dtype="float32", random_state=3, init="glorot")
        return [g for pair in mlp.gradients(dbnlib.asarray(X), y) for g in pair] + [np.float64(mlp.loss(X, y))]

    cpu, gpu = on_both(grads)
    for c, g in zip(cpu, gpu):
        np.testing.assert_allclose(g, c, rtol=RTOL, atol=1e-6)


def test_training_runs_on_the_gpu_and_learns():
    prev = backend.get_backend()
    try:
        backend.set_backend("cupy")
        from dbnlib import datasets

        X, _ = datasets.load_mnist("5k")
        rbm = dbnlib.RBM(784, 100, n_epochs=3, random_state=0).fit(X[:2000])
        err = rbm.history_["reconstruction_error"]
        assert type(rbm.W).__module__.startswith("cupy") and err[-1] < err[0]
    finally:
        backend.set_backend(prev)
