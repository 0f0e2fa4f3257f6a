"""Chapter 7, issue 12 point 4: choose the DBN's fine-tuning recipe on validation digits only.

    python tools/experiments/ch07_recipe.py [--cache DIR]

Protocol. ``load_mnist("5k")`` is split 4,000 / 1,000 with
``train_test_split(X, y, test_size=1000, random_state=0)`` (chapter 7's split);
the 1,000 test digits are never looked at here. The 4,000 are split again
3,000 / 1,000 (``random_state=1``, as ``ch07_comparison.py`` does) into a
training and a validation set.

For seeds 0, 1 and 2, ``DBN((784, 500, 500, 2000), random_state=seed)``
pre-trains on the 3,000 training images with dbnlib's RBM defaults (chapter
7's: learning rate 0.05, 30 epochs, batches of 50, momentum 0.5 then 0.9,
weight decay 2e-4). Every candidate fine-tuning recipe then starts from a copy
of that stack through ``DBN.to_mlp`` (so the MLP is seeded exactly as
``DBN.fit`` seeds it) and trains epoch by epoch with ``MLP.partial_fit``
(which continues the same run, velocity included), for up to ``MAX_EPOCHS``
epochs; the validation error is read after every epoch.

The candidates share learning rate 0.1, momentum 0.9, batches of 50 and
weight decay 1e-5 (the settings ``ch07_comparison.py`` chose for the DBN) and
differ in dropout: none, 50 % of the hidden units, or 50 % of the hidden
units and 20 % of the pixels. The recipe
is the candidate and number of epochs (one of ``EPOCH_CHOICES``; a default
cannot stop early, so it must be a fixed number) with the lowest validation
error averaged over the three seeds. ``--cache DIR`` keeps the pre-trained
stacks (``DBN.pretrain``'s checkpoints) under DIR for reruns. The RBF SVM
(``SVC(C=10)``) trained on the 3,000 digits is scored on the same validation
digits, for reference.

Writes ``chapters/results/ch07_recipe.json``. About 10 minutes on one core.
"""

import argparse
import copy
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

from dbnlib import DBN  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ch07_comparison import load_splits  # noqa: E402  (chapter 7's 3,000 / 1,000 / 1,000 split)

OUT = ROOT / "chapters" / "results"
SIZES = (784, 500, 500, 2000)
SEEDS = (0, 1, 2)
MAX_EPOCHS = 50
EPOCH_CHOICES = (10, 20, 30, 40, 50)
COMMON = dict(learning_rate=0.1, momentum=0.9, weight_decay=1e-5, batch_size=50)
CANDIDATES = {  # Hinton et al. (2012) dropped 50 % of the hidden units and 20 % of the pixels
    "no dropout": dict(dropout=0.0, input_dropout=0.0),
    "dropout 0.5": dict(dropout=0.5, input_dropout=0.0),
    "dropout 0.5, input dropout 0.2": dict(dropout=0.5, input_dropout=0.2),
}


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, flush=True)


def validation_curve(dbn, params, Xa, ya, Xv, yv, n_epochs):
    """Validation error after each of ``n_epochs`` fine-tuning epochs, from a copy of the pre-trained ``dbn``."""
    mlp = copy.deepcopy(dbn).to_mlp(10, n_epochs=0, **params)
    curve = []
    for _ in range(n_epochs):
        mlp.partial_fit(Xa, ya)
        curve.append(float(1.0 - mlp.score(Xv, yv)))
    Xa_err = float(1.0 - mlp.score(Xa, ya))
    return curve, Xa_err


def main(cache=None):
    t_start = time.time()
    Xa, ya, Xv, yv, _, _ = load_splits()  # the test digits are left alone
    res = dict(sizes=SIZES, seeds=list(SEEDS), n_train=len(Xa), n_val=len(Xv), common=COMMON,
               epoch_choices=list(EPOCH_CHOICES), candidates={})  # fmt: skip
    stacks = {}
    for seed in SEEDS:
        t0 = time.time()
        folder = None if cache is None else Path(cache) / f"val_s{seed}"
        stacks[seed] = DBN(SIZES, random_state=seed).pretrain(Xa, checkpoint_dir=folder)
        log(f"pre-trained seed {seed} ({time.time() - t0:.0f} s)")
    for name, cand in CANDIDATES.items():
        params = dict(COMMON, **cand)
        entry = dict(params=params, val_curves={}, final_train_error={})
        for seed in SEEDS:
            t0 = time.time()
            curve, tr = validation_curve(stacks[seed], params, Xa, ya, Xv, yv, MAX_EPOCHS)
            entry["val_curves"][str(seed)], entry["final_train_error"][str(seed)] = curve, tr
            log(f"{name}, seed {seed}: val error at epochs {EPOCH_CHOICES}: "
                f"{' '.join(f'{curve[e - 1]:.3f}' for e in EPOCH_CHOICES)} ({time.time() - t0:.0f} s)")
        mean_curve = np.mean([entry["val_curves"][str(s)] for s in SEEDS], axis=0)
        entry["mean_val_curve"] = mean_curve.tolist()
        entry["mean_val_at_choices"] = {str(e): float(mean_curve[e - 1]) for e in EPOCH_CHOICES}
        res["candidates"][name] = entry
        (OUT / "ch07_recipe.json").write_text(json.dumps(res, indent=1) + "\n")  # keep what is done
    best = min(((name, e) for name in res["candidates"] for e in EPOCH_CHOICES),
               key=lambda ne: res["candidates"][ne[0]]["mean_val_at_choices"][str(ne[1])])  # fmt: skip
    name, n_epochs = best
    res["chosen"] = dict(candidate=name, n_epochs=n_epochs, **res["candidates"][name]["params"],
                         mean_val_error=res["candidates"][name]["mean_val_at_choices"][str(n_epochs)],
                         val_error_per_seed=[res["candidates"][name]["val_curves"][str(s)][n_epochs - 1]
                                             for s in SEEDS])  # fmt: skip
    from sklearn.svm import SVC  # the reference of ch07_accuracy.py, on the same validation digits

    res["svc_C"] = 10.0
    res["svc_val_error"] = float(1.0 - SVC(C=res["svc_C"]).fit(Xa, ya).score(Xv, yv))
    res["runtime_seconds"] = time.time() - t_start
    (OUT / "ch07_recipe.json").write_text(json.dumps(res, indent=1) + "\n")
    log(f"chosen: {name}, {n_epochs} epochs, mean validation error {res['chosen']['mean_val_error']:.4f}; "
        f"SVC {res['svc_val_error']:.3f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None, help="folder for the pre-trained stacks' checkpoints")
    main(ap.parse_args().cache)
