"""The benchmark scripts that measure the library against itself stay true to it."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import rbm_step_ablation  # noqa: E402

import dbnlib  # noqa: E402
from dbnlib import training  # noqa: E402


@pytest.fixture
def X():
    return (np.random.default_rng(0).random((300, rbm_step_ablation.V)) < 0.2).astype(np.float32)


def fit_with(step, X):
    original = training._cd_step
    training._cd_step = step
    try:
        return dbnlib.RBM(rbm_step_ablation.V, 20, batch_size=50, n_epochs=2, random_state=0).fit(X)
    finally:
        training._cd_step = original


def test_the_ablation_copy_of_the_cd_step_trains_as_the_library(X, monkeypatch):
    monkeypatch.setattr(rbm_step_ablation, "H", 20)
    rbm_step_ablation.check_copy(X)  # exits with a message when the copy and the library differ
    library = dbnlib.RBM(rbm_step_ablation.V, 20, batch_size=50, n_epochs=2, random_state=0).fit(X)
    copy = fit_with(rbm_step_ablation.make_step(()), X)
    np.testing.assert_array_equal(dbnlib.to_numpy(copy.W), dbnlib.to_numpy(library.W))


@pytest.mark.parametrize("group", ["uniforms", "biases", "sigmoids", "W"])
def test_each_ablated_group_changes_the_training(X, group):
    """Each switch really removes work: the weights (or biases) come out different."""
    full = fit_with(rbm_step_ablation.make_step(()), X)
    with np.errstate(all="ignore"):
        cut = fit_with(rbm_step_ablation.make_step((group,)), X) if group != "sigmoids" else None
    if cut is None:  # without sigmoids the fit diverges: that is a change too
        with np.errstate(all="ignore"), pytest.raises(dbnlib.TrainingDiverged):
            fit_with(rbm_step_ablation.make_step((group,)), X)
        return
    same = all(np.array_equal(dbnlib.to_numpy(getattr(full, n)), dbnlib.to_numpy(getattr(cut, n))) for n in "Wab")
    assert not same
