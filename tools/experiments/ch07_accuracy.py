"""Chapter 7, issue 12 point 4: the DBN recipe chosen by ``ch07_comparison.py`` on all 4,000 training digits.

    python tools/run_experiments.py ch07_accuracy      (after ch07_comparison)

Reads the DBN's learning rate, momentum and number of fine-tuning epochs that
``chapters/results/ch07_comparison.json`` chose on the validation split (the
3,000 / 1,000 split of the 4,000 training digits), then, for seeds 0, 1 and 2,
pre-trains the 784-500-500-2000 stack on the 4,000 training digits (chapter 7's
RBM settings) and fine-tunes it with those settings for that many epochs on
the 4,000 labelled digits; the 1,000 test digits of the seed-0 split are scored
once per seed. The RBF SVM (C = 10) trained on the same 4,000 digits is the
reference. Writes ``chapters/results/ch07_accuracy.json``. About 12 minutes
on one core.
"""

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("DBNLIB_BACKEND", "numpy")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ch07_comparison as cmp  # noqa: E402

from dbnlib import to_numpy  # noqa: E402
from dbnlib.datasets import load_mnist, train_test_split  # noqa: E402

SEEDS = (0, 1, 2)


def main():
    t_start = time.time()
    chosen = json.loads((cmp.OUT / "ch07_comparison.json").read_text())["table"]["dbn"]["chosen"]
    lr, mu = chosen["learning_rate"], chosen["momentum"]
    n_epochs = max(1, int(round(chosen["best_epoch"])))
    X, y = load_mnist("5k")
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=1000, random_state=0)
    Xtr, Xte = (np.asarray(to_numpy(Z), dtype=np.float32) for Z in (Xtr, Xte))
    ytr, yte = np.asarray(to_numpy(ytr)), np.asarray(to_numpy(yte))
    res = dict(recipe=dict(sizes=cmp.SIZES, rbm_params=cmp.RBM_PARAMS, learning_rate=lr, momentum=mu,
                           n_epochs=n_epochs, batch_size=cmp.BATCH, weight_decay=cmp.WEIGHT_DECAY),
               n_train=len(Xtr), n_test=len(Xte), seeds=list(SEEDS), dbn={})  # fmt: skip
    per_epoch = int(np.ceil(len(Xtr) / cmp.BATCH))
    for seed in SEEDS:
        stack = cmp.pretrain(Xtr, seed)
        net = cmp.make_net("dbn", cmp.SIZES, seed, stack)
        # no validation set here: train the chosen number of epochs and keep the last parameters
        fit = cmp.train(net, Xtr, ytr, None, None, lr, mu, n_epochs * per_epoch, per_epoch, seed)
        res["dbn"][str(seed)] = dict(test_error=cmp.error(net, Xte, yte), train_error=cmp.error(net, Xtr, ytr),
                                     train_cross_entropy=float(net.loss(Xtr, ytr)), train_penalty=cmp.penalty(net),
                                     diverged=fit["diverged"])  # fmt: skip
        cmp.log(f"seed {seed}: DBN test error {res['dbn'][str(seed)]['test_error']:.3f}")
    from sklearn.svm import SVC

    res["svc_test_error"] = float(1 - SVC(C=10.0).fit(Xtr, ytr).score(Xte, yte))
    errs = [v["test_error"] for v in res["dbn"].values()]
    res["dbn_mean"], res["dbn_std"] = float(np.mean(errs)), float(np.std(errs, ddof=1))
    res["runtime_seconds"] = time.time() - t_start
    (cmp.OUT / "ch07_accuracy.json").write_text(json.dumps(res, indent=1) + "\n")
    cmp.log(f"DBN {res['dbn_mean']:.4f} +- {res['dbn_std']:.4f}, SVC {res['svc_test_error']:.3f}")


if __name__ == "__main__":
    main()
