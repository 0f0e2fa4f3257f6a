"""Chapter 6's long experiments: CD-1 against PCD on MNIST, and the practical questions.

    python tools/run_experiments.py ch06_cd.py      # or: make experiments

Writes, under chapters/results/:

- ``ch06_cd.json``: for three 784-500 models (CD-1, PCD-1, and PCD-1 with the
  learning rate decaying linearly to zero as in Tieleman 2008; 25 epochs on
  the 4,000 binarized training digits of ``load_mnist("5k")``) their per-epoch
  ``history_``, the held-out AIS log-likelihood (10,000 temperatures, 100 runs),
  reconstruction error and pseudo-log-likelihood of the 1,000 held-out digits
  (AIS repeated with three seeds, each with its effective number of runs);
  and one sweep per practical question (learning rate, momentum, weight decay,
  hidden units, batch size), each a 784-100 CD-1 model trained 10 epochs with
  one setting changed, scored the same way with a cheaper AIS (2,000
  temperatures, 50 runs) and, from the other side, RAISE (reverse AIS,
  Burda, Grosse & Salakhutdinov 2015; 2,000 temperatures, one run per digit)
  on the first 100 held-out digits: ``interval_same_digits`` is [RAISE, AIS]
  on those 100 digits, the interval chapter 6 prints for each sweep model
  (not widened by AIS's standard error, unlike the field of that name in
  ``ch06_likelihood.json``).
- ``ch06_cd.npz``: the first 100 filters (columns of W) of each model, 100
  samples of each (PCD: its persistent chain; CD-1: 100 chains of 1,000 Gibbs
  sweeps from random pixels), in float16 / uint8 to stay small.

Everything is seeded, so a rerun on the same machine gives the same numbers
(to BLAS rounding). It takes about 11 minutes on one core (`make experiments` runs
it with one BLAS thread).
"""

import json
import time
from pathlib import Path

import numpy as np

from dbnlib import RBM, datasets, to_numpy
from dbnlib._validation import TrainingDiverged
from dbnlib.ais import base_rate_bias, raise_log_likelihood

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "chapters" / "results"

BASE = dict(learning_rate=0.05, momentum=(0.5, 0.9), weight_decay=1e-4, batch_size=100)
MAIN = dict(n_hidden=500, n_epochs=25, ais=dict(n_betas=10000, n_runs=100))
SWEEP = dict(n_hidden=100, n_epochs=10, ais=dict(n_betas=2000, n_runs=50), raise_digits=100)
QUESTIONS = {
    "learning_rate": [0.005, 0.02, 0.05, 0.2, 1.0],
    "momentum": [0.0, 0.5, [0.5, 0.9]],
    "weight_decay": [0.0, 1e-4, 1e-3, 1e-2],
    "n_hidden": [25, 100, 250, 500],
    "batch_size": [10, 50, 100, 500],
}


def effective_runs(log_weights):
    """(sum w)^2 / sum w^2 of the AIS importance weights: near 1 when one run dominates the estimate."""
    w = np.exp(np.asarray(log_weights) - np.max(log_weights))
    return float(w.sum() ** 2 / (w**2).sum())


def score(model, X_train, X_test, ais, seeds=(0,), raise_digits=0):
    """Held-out AIS log-likelihood (nats per digit), its AIS std, reconstruction error and PLL.

    With several seeds, AIS is repeated independently; the first seed's run gives
    the headline numbers, the others go to ``test_log_likelihood_other_seeds``.
    With ``raise_digits`` > 0, RAISE with the same temperatures on the first
    ``raise_digits`` held-out digits gives the lower end of an interval whose
    upper end is AIS on the same digits (``interval_same_digits``).
    """
    free_rows = np.asarray(to_numpy(model.free_energy(X_test)), dtype=np.float64)
    free = float(np.mean(free_rows))
    runs = [model.log_partition("ais", data=X_train, random_state=seed, **ais) for seed in seeds]
    res = runs[0]
    recon = float(np.mean((to_numpy(model.reconstruct(X_test)) - X_test) ** 2))
    out = {"test_log_likelihood": -free - res.log_z, "log_z": res.log_z, "log_z_std": res.log_z_std,
           "ais_effective_runs": effective_runs(res.log_weights),
           "test_reconstruction_error": recon, "test_pseudo_log_likelihood": model.pseudo_log_likelihood(X_test)}
    if len(runs) > 1:
        out["test_log_likelihood_other_seeds"] = [-free - r.log_z for r in runs[1:]]
        out["ais_effective_runs_other_seeds"] = [effective_runs(r.log_weights) for r in runs[1:]]
    if raise_digits:
        W, a, b = (np.asarray(to_numpy(x), dtype=np.float64) for x in (model.W, model.a, model.b))
        rs = raise_log_likelihood(W, a, b, base_rate_bias(X_train.mean(axis=0)), X_test[:raise_digits],
                                  n_betas=ais["n_betas"], n_runs=1, random_state=10)  # fmt: skip
        ais_same = float(-free_rows[:raise_digits].mean() - res.log_z)
        out["raise"] = dict(n_digits=raise_digits, test_log_likelihood=rs.log_likelihood, ais_same_digits=ais_same)
        out["interval_same_digits"] = [rs.log_likelihood, ais_same]
    return out


def train(X_train, X_test, n_hidden, n_epochs, persistent=False, decay=False, **params):
    """Fit an RBM; with ``decay`` the learning rate falls linearly to lr / n_epochs in the last epoch."""
    model = RBM(784, n_hidden, n_epochs=n_epochs, persistent=persistent, random_state=0, **params)
    if not decay:
        return model.fit(X_train, X_test)
    model.set_params(n_epochs=1)
    for epoch in range(n_epochs):  # one epoch per call: the first from fresh weights, then warm_start continues
        model.set_params(learning_rate=params["learning_rate"] * (n_epochs - epoch) / n_epochs, warm_start=epoch > 0)
        model.fit(X_train, X_test)
    return model


def main():
    started = time.time()
    X, y = datasets.load_mnist("5k", binarize=True)
    X_train, X_test, _, _ = datasets.train_test_split(X, y, test_size=1000, random_state=0)
    results = {"data": "load_mnist('5k', binarize=True), train_test_split(test_size=1000, random_state=0)",
               "n_train": len(X_train), "n_test": len(X_test), "base": BASE,
               "main": {"n_hidden": MAIN["n_hidden"], "n_epochs": MAIN["n_epochs"], "ais": MAIN["ais"]},
               "sweep": {"n_hidden": SWEEP["n_hidden"], "n_epochs": SWEEP["n_epochs"], "ais": SWEEP["ais"],
                         "raise_digits": SWEEP["raise_digits"]},
               "models": {}, "questions": {}}
    arrays = {}
    for name, persistent, decay in (("cd1", False, False), ("pcd", True, False), ("pcd_decay", True, True)):
        t0 = time.time()
        model = train(X_train, X_test, MAIN["n_hidden"], MAIN["n_epochs"], persistent=persistent, decay=decay,
                      **BASE)
        entry = {"history": model.history_, "train_seconds": time.time() - t0}
        entry.update(score(model, X_train, X_test, MAIN["ais"], seeds=(0, 1, 2)))
        entry["train_log_likelihood"] = -float(np.mean(to_numpy(model.free_energy(X_train)))) - entry["log_z"]
        results["models"][name] = entry
        arrays[f"{name}_filters"] = to_numpy(model.W[:, :100]).T.astype(np.float16)
        if persistent:
            samples = model.persistent_chain_
        else:
            start = (np.random.default_rng(0).random((100, 784)) < 0.5).astype(np.float64)
            samples = model.gibbs(start, steps=1000, rng=0)
        arrays[f"{name}_samples"] = to_numpy(samples).astype(np.uint8)
        print(f"{name}: test LL {entry['test_log_likelihood']:.2f} +- {entry['log_z_std']:.3f} "
              f"({time.time() - t0:.0f} s)", flush=True)

    for question, values in QUESTIONS.items():
        rows = []
        for value in values:
            t0 = time.time()
            params = dict(BASE, n_hidden=SWEEP["n_hidden"], n_epochs=SWEEP["n_epochs"])
            params[question] = tuple(value) if isinstance(value, list) else value
            row = {"value": value}
            try:
                model = train(X_train, X_test, **params)
                row.update(score(model, X_train, X_test, SWEEP["ais"], raise_digits=SWEEP["raise_digits"]))
                row["free_energy_gap"] = model.history_["free_energy_gap"][-1]
            except TrainingDiverged as exc:
                row["diverged"] = str(exc)
            row["seconds"] = time.time() - t0
            rows.append(row)
            print(f"{question}={value}: {row.get('test_log_likelihood', 'diverged')} "
                  f"{row.get('interval_same_digits', '')}", flush=True)
        results["questions"][question] = rows

    results["total_seconds"] = time.time() - started
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ch06_cd.json").write_text(json.dumps(results, indent=1) + "\n")
    np.savez_compressed(OUT / "ch06_cd.npz", **arrays)
    print(f"wrote {OUT / 'ch06_cd.json'} and ch06_cd.npz after {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
