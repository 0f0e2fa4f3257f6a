"""Defaults that train: each model, with default arguments, lands within 1.5 points of scikit-learn.

On scikit-learn's 8x8 digits (X / 16, stratified 70/30 split) for two splits,
``LogisticRegression()``, ``MLP([64, 100, 10])`` and ``DBN([64, 100, 100])``
are compared with ``LogisticRegression(max_iter=2000)``, ``MLPClassifier((100,))``
and ``MLPClassifier((100, 100))``, all fitted here on the same split.
``benchmarks/defaults.py`` does the measuring and prints the table.
"""

import importlib.util
import json
from pathlib import Path

import pytest

# Passed explicitly to the constructors until they have these values as their defaults; then each
# entry becomes {} and the test checks the constructors' own defaults. (Issue 10, point 1.)
DEFAULTS_UNDER_TEST = {"LogisticRegression": {}, "MLP": {}, "DBN": {}}
SPLIT_SEEDS = (13, 0)


def _load_benchmark():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "defaults.py"
    spec = importlib.util.spec_from_file_location("benchmarks_defaults", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()


@pytest.mark.slow
@pytest.mark.parametrize("seed", SPLIT_SEEDS)
def test_defaults_within_margin_of_scikit_learn(seed):
    rows = bench.compare(seed, DEFAULTS_UNDER_TEST)
    table = "\n".join(f"{r['model']:22s} {r['ours']:5.1f}   {r['peer']:34s} {r['theirs']:5.1f}" for r in rows)
    assert [r["model"] for r in rows] == ["LogisticRegression()", "MLP([64, 100, 10])", "DBN([64, 100, 100])"]
    for r in rows:
        assert r["theirs"] > 90, f"the scikit-learn peer itself failed on split {seed}:\n{table}"
        assert r["ours"] >= r["theirs"] - bench.MARGIN, (
            f"{r['model']} is {r['theirs'] - r['ours']:.1f} points below {r['peer']} on split {seed} "
            f"(at most {bench.MARGIN} allowed):\n{table}"
        )


def test_the_dbn_defaults_are_chapter_7s_recipe():
    """DBN([784, 500, 500, 2000]).fit(X, y) trains chapter 7's model: the stored recipe, read back.

    The one difference: 50 fine-tuning epochs, where chapter 7's validation chose 25 among 25/50/75/100 by
    a validation error of 2.9 % against 3.0 % at 50 (one image in 1000). On the digits, 25 epochs leave the
    DBN up to 1.9 points below its peer on split 13; 50 keep it within 0.1 point.
    """
    stored = json.loads((Path(__file__).resolve().parents[1] / "chapters" / "results" / "ch07_dbn.json").read_text())
    from dbnlib import dbn as dbn_module

    dbn = DEFAULTS_UNDER_TEST["DBN"] or dict(rbm_params=dbn_module._RBM_DEFAULTS,
                                             fine_tune_params=dbn_module._FINE_TUNE_DEFAULTS)
    rbm_params = {k: tuple(v) if isinstance(v, list) else v for k, v in stored["rbm_params"].items()}
    assert dbn["rbm_params"] == rbm_params
    fine_tune = {("weight_decay" if k == "l2" else k): v for k, v in stored["ft_base"].items()}
    fine_tune["learning_rate"] = stored["chosen"]["dbn"]["learning_rate"]
    assert {k: v for k, v in dbn["fine_tune_params"].items() if k != "n_epochs"} == fine_tune
    n_epochs = dbn["fine_tune_params"]["n_epochs"]
    if stored["chosen"]["dbn"]["n_epochs"] != n_epochs:  # until chapter 7 is re-run with the new default
        lr, sizes = fine_tune["learning_rate"], tuple(stored["sizes"])
        curve = next(c for c in stored["tuning"]["dbn"] if tuple(c["sizes"]) == sizes and c["learning_rate"] == lr)
        best = min(curve["val_error"].values())
        assert curve["val_error"][str(n_epochs)] <= best + 0.002, "the default's validation error is not near the best"
