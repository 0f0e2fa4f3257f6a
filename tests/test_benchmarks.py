"""The benchmark scripts that measure the library against itself stay true to it."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import rbm_step_profile  # noqa: E402

import dbnlib  # noqa: E402
from dbnlib import training  # noqa: E402


@pytest.fixture
def small(monkeypatch):
    """A 784 x 20 RBM on 300 rows instead of the benchmark's 784 x 500 on 10,000."""
    monkeypatch.setattr(rbm_step_profile, "H", 20)
    return (np.random.default_rng(0).random((300, rbm_step_profile.V)) < 0.2).astype(np.float32)


def test_the_timed_copy_of_the_cd_step_trains_as_the_library(small):
    rbm_step_profile.check_copy(small)  # exits with a message when the copy and the library differ
    library = dbnlib.RBM(rbm_step_profile.V, 20, batch_size=50, n_epochs=2, random_state=0).fit(small)
    copy = rbm_step_profile.fit_with_step(rbm_step_profile.make_step([0.0] * 7), small, 50, 2)
    for name in "Wab":
        np.testing.assert_array_equal(dbnlib.to_numpy(getattr(copy, name)), dbnlib.to_numpy(getattr(library, name)))


def test_the_copy_check_stops_when_the_library_step_changes(small, monkeypatch):
    """A library step that trains differently (here: no weight decay) must make the script stop."""
    original = training._cd_step

    def changed(model, buf, lr, momentum):
        decay, model.weight_decay = model.weight_decay, 0.0
        try:
            original(model, buf, lr, momentum)
        finally:
            model.weight_decay = decay

    monkeypatch.setattr(training, "_cd_step", changed)
    with pytest.raises(SystemExit, match="no longer matches"):
        rbm_step_profile.check_copy(small)


def test_the_group_times_account_for_the_steps_and_nothing_twice(small):
    """Every group is timed (> 0), and the groups together take less than the fit around them."""
    totals = [0.0] * len(rbm_step_profile.GROUPS)
    start = time.perf_counter()
    rbm_step_profile.fit_with_step(rbm_step_profile.make_step(totals), small, 50, 2)
    fit = time.perf_counter() - start
    assert all(t > 0 for t in totals), dict(zip(rbm_step_profile.GROUPS, totals))
    assert sum(totals) < fit


def test_the_summary_reads_the_fastest_round_and_the_range():
    rounds = [{"GEMMs": 3.0, "fit": 6.0, "floor": 3.0}, {"GEMMs": 2.0, "fit": 4.0, "floor": 3.2},
              {"GEMMs": 2.5, "fit": 5.0, "floor": 2.5}]  # fmt: skip
    fastest, median, ratio = rbm_step_profile.summarize(rounds)
    assert fastest is rounds[1]
    assert median == {"GEMMs": 2.5, "fit": 5.0, "floor": 3.0}
    assert ratio == [0.5, 0.8, 0.5]
