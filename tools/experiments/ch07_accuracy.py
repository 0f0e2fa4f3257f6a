"""Chapter 7, issue 12 point 4: dbnlib's default DBN, scored once on chapter 7's test digits.

    python tools/experiments/ch07_accuracy.py [--cache DIR]      (after ch07_recipe.py)

The fine-tuning recipe was chosen on validation digits by ``ch07_recipe.py``
(``chapters/results/ch07_recipe.json``) and is dbnlib's default: this script
checks that first, and stops if the two differ. Then it trains
``DBN((784, 500, 500, 2000), random_state=seed).fit(X_train, y_train)`` with
default arguments, for seeds 0, 1 and 2, on the 4,000 training digits of
chapter 7's split (``train_test_split(X, y, test_size=1000, random_state=0)``
of ``load_mnist("5k")``) and scores the 1,000 test digits once per seed. The
RBF SVM (``sklearn.svm.SVC(C=10)``) trained on the same 4,000 digits is the
reference.

A second check that the default carries over: another stratified 4,000 /
1,000 split of MNIST-5k (``random_state=1``), the default DBN (seeds 0, 1
and 2) against the same SVM there.

Training error, cross-entropy and the penalty are stored apart. ``--cache
DIR`` keeps the pre-trained stacks (``DBN.fit``'s checkpoints) for reruns;
the result is the same with or without it. Writes
``chapters/results/ch07_accuracy.json``. About 8 minutes on one core.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("DBNLIB_BACKEND", "numpy")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dbnlib import DBN, to_numpy  # noqa: E402
from dbnlib import dbn as dbn_module  # noqa: E402
from dbnlib.datasets import load_mnist, train_test_split  # noqa: E402

OUT = ROOT / "chapters" / "results"
SIZES = (784, 500, 500, 2000)
SEEDS = (0, 1, 2)
OTHER_SPLIT = 1  # random_state of the second 4,000 / 1,000 split
SVC_C = 10.0


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, flush=True)


def check_defaults_are_the_recipe():
    """The chosen fine-tuning recipe of ch07_recipe.json, after checking it is dbnlib's default."""
    chosen = json.loads((OUT / "ch07_recipe.json").read_text())["chosen"]
    recipe = {k: chosen[k] for k in dbn_module._FINE_TUNE_DEFAULTS}
    if recipe != dbn_module._FINE_TUNE_DEFAULTS:
        raise SystemExit(f"dbnlib's fine-tuning defaults {dbn_module._FINE_TUNE_DEFAULTS} are not the recipe "
                         f"chosen on validation {recipe}; make them equal first")  # fmt: skip
    return recipe


def error(model, X, y):
    return float(np.mean(np.asarray(to_numpy(model.predict(X))) != y))


def default_dbn(Xtr, ytr, Xte, yte, seed, cache):
    """DBN(SIZES, random_state=seed).fit with default arguments; errors and loss terms."""
    t0 = time.time()
    dbn = DBN(SIZES, random_state=seed).fit(Xtr, ytr, checkpoint_dir=cache)
    data, penalty = dbn.mlp_.loss_terms(Xtr, np.searchsorted(dbn.classes_, ytr))
    return dict(test_error=error(dbn, Xte, yte), train_error=error(dbn, Xtr, ytr), train_cross_entropy=data,
                train_penalty=penalty, seconds=time.time() - t0)  # fmt: skip


def svc_error(Xtr, ytr, Xte, yte):
    from sklearn.svm import SVC

    return float(1.0 - SVC(C=SVC_C).fit(Xtr, ytr).score(Xte, yte))


def split(X, y, random_state):
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=1000, random_state=random_state)
    return (np.asarray(to_numpy(Xtr), np.float32), np.asarray(to_numpy(Xte), np.float32),
            np.asarray(to_numpy(ytr)), np.asarray(to_numpy(yte)))  # fmt: skip


def main(cache=None):
    t_start = time.time()
    recipe = check_defaults_are_the_recipe()
    X, y = load_mnist("5k")
    Xtr, Xte, ytr, yte = split(X, y, 0)
    res = dict(recipe=dict(sizes=SIZES, rbm_params=dbn_module._RBM_DEFAULTS, **recipe),
               n_train=len(Xtr), n_test=len(Xte), seeds=list(SEEDS), dbn={})  # fmt: skip
    for seed in SEEDS:
        folder = None if cache is None else Path(cache) / f"test_s{seed}"
        res["dbn"][str(seed)] = r = default_dbn(Xtr, ytr, Xte, yte, seed, folder)
        log(f"seed {seed}: DBN test error {r['test_error']:.3f}, training error {r['train_error']:.4f} "
            f"({r['seconds']:.0f} s)")
    res["svc_C"] = SVC_C
    res["svc_test_error"] = svc_error(Xtr, ytr, Xte, yte)
    errs = [v["test_error"] for v in res["dbn"].values()]
    res["dbn_mean"], res["dbn_std"] = float(np.mean(errs)), float(np.std(errs, ddof=1))
    res["dbn_below_svc_every_seed"] = bool(max(errs) < res["svc_test_error"])
    log(f"DBN {res['dbn_mean']:.4f} +- {res['dbn_std']:.4f}, SVC {res['svc_test_error']:.3f}")
    (OUT / "ch07_accuracy.json").write_text(json.dumps(res, indent=1) + "\n")

    Xo, Xoe, yo, yoe = split(X, y, OTHER_SPLIT)
    other = dict(random_state=OTHER_SPLIT, dbn={}, svc_test_error=svc_error(Xo, yo, Xoe, yoe))
    for seed in SEEDS:
        folder = None if cache is None else Path(cache) / f"other_s{seed}"
        other["dbn"][str(seed)] = r = default_dbn(Xo, yo, Xoe, yoe, seed, folder)
        log(f"other split, seed {seed}: DBN test error {r['test_error']:.3f}")
    errs = [v["test_error"] for v in other["dbn"].values()]
    other["dbn_mean"], other["dbn_std"] = float(np.mean(errs)), float(np.std(errs, ddof=1))
    res["other_split"] = other
    log(f"other split: DBN {other['dbn_mean']:.4f} +- {other['dbn_std']:.4f}, SVC {other['svc_test_error']:.3f}")
    res["runtime_seconds"] = time.time() - t_start
    (OUT / "ch07_accuracy.json").write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None, help="folder for the pre-trained stacks' checkpoints")
    main(ap.parse_args().cache)
