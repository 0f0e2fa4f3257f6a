"""Chapter 6's log-likelihoods with intervals: AIS from above, RAISE from below, exact values on a small model.

    python tools/run_experiments.py ch06_likelihood      # or: make experiments

Writes ``chapters/results/ch06_likelihood.json`` and ``ch06_likelihood.npz``.

1. Three 784-500 RBMs trained as chapter 6 trains them (25 epochs, learning
   rate 0.05, momentum 0.5 then 0.9, weight decay 1e-4, batches of 100, on the
   4,000 binarised training digits of ``load_mnist("5k")``): CD-1, CD-10 and
   PCD-1. For each, the held-out log-likelihood is bracketed two ways:

   - AIS (Salakhutdinov & Murray 2008) from the base-rate model of the
     training digits, 6,000 temperatures, two independent estimates of 100
     runs each, pooled; with the effective sample size (ESS) of the weights.
     AIS's log Z errs downwards, so its log-likelihood errs upwards.
   - RAISE (Burda, Grosse & Salakhutdinov 2015), reverse AIS from each of
     the first 100 test digits with the same 6,000 temperatures; it errs
     downwards. AIS is scored on the same 100 digits, and the per-digit gap
     RAISE - AIS gives a paired standard error.

2. A 784-12 RBM, small enough for the exact log-likelihood (2^12 hidden
   states), trained 15 epochs by CD-1, CD-10, PCD-1 and by the exact
   gradient (minibatch data term, exact model term), with the same learning
   rate, momentum, decay, batch size and initial weights (each run shuffles
   its own minibatches); exact training and test
   log-likelihood after every epoch (the curves go to the npz).

Seeds are fixed; about 20 minutes on one core of the 2-core machine.
``python tools/experiments/ch06_likelihood.py small`` (or ``main``) reruns
one part and keeps the stored results of the other.
"""

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

from dbnlib import RBM, datasets, to_numpy  # noqa: E402
from dbnlib.ais import ais_log_partition, base_rate_bias, effective_sample_size, raise_log_likelihood  # noqa: E402

OUT = ROOT / "chapters" / "results"
BASE = dict(learning_rate=0.05, momentum=(0.5, 0.9), weight_decay=1e-4, batch_size=100)
METHODS = {"cd1": dict(k=1), "cd10": dict(k=10), "pcd1": dict(k=1, persistent=True)}
MAIN = dict(n_hidden=500, n_epochs=25, n_betas=6000, ais_runs=100, ais_seeds=(0, 1), n_raise=100, raise_runs=1)
SMALL = dict(n_hidden=12, n_epochs=15)


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, flush=True)


def mean_neg_free_energy(model, X):
    return -float(np.mean(to_numpy(model.free_energy(X))))


def bracket(model, X_train, X_test):
    """AIS (pooled over seeds) and RAISE estimates of the held-out log-likelihood of one RBM."""
    a_base = base_rate_bias(X_train.mean(axis=0))
    W, a, b = (np.asarray(to_numpy(x), dtype=np.float64) for x in (model.W, model.a, model.b))
    neg_f = np.asarray(-to_numpy(model.free_energy(X_test)), dtype=np.float64)  # -F(v) per test digit
    out = {"ais": [], "log_z_base": None}
    log_w = []
    for seed in MAIN["ais_seeds"]:
        t0 = time.time()
        res = ais_log_partition(W, a, b, a_base, n_betas=MAIN["n_betas"], n_runs=MAIN["ais_runs"], random_state=seed)
        log_w.append(res.log_weights)
        out["log_z_base"] = res.log_z_base
        out["ais"].append(dict(seed=seed, log_z=res.log_z, log_z_std=res.log_z_std, ess=res.ess,
                               test_log_likelihood=float(neg_f.mean() - res.log_z), seconds=time.time() - t0))
        log(f"  AIS seed {seed}: log Z {res.log_z:.2f} +- {res.log_z_std:.3f}, ESS {res.ess:.1f} of "
            f"{MAIN['ais_runs']}, test LL {neg_f.mean() - res.log_z:.2f} ({time.time() - t0:.0f} s)")
    log_w = np.concatenate(log_w)
    shift = log_w.max()
    w = np.exp(log_w - shift)
    log_z = out["log_z_base"] + shift + float(np.log(w.mean()))
    log_z_std = float(w.std(ddof=1) / (np.sqrt(len(w)) * w.mean()))
    out["pooled"] = dict(n_runs=len(w), log_z=log_z, log_z_std=log_z_std, ess=effective_sample_size(log_w),
                         test_log_likelihood=float(neg_f.mean() - log_z))  # fmt: skip

    t0 = time.time()
    n = MAIN["n_raise"]
    rs = raise_log_likelihood(W, a, b, a_base, X_test[:n], n_betas=MAIN["n_betas"], n_runs=MAIN["raise_runs"],
                              random_state=10)  # fmt: skip
    ais_rows = neg_f[:n] - log_z  # AIS's log p(v) of the same digits
    gap = rs.log_p - ais_rows
    out["raise"] = dict(n_digits=n, n_runs=MAIN["raise_runs"], test_log_likelihood=rs.log_likelihood,
                        ais_same_digits=float(ais_rows.mean()), gap_mean=float(gap.mean()),
                        gap_std_error=float(gap.std(ddof=1) / np.sqrt(n)), seconds=time.time() - t0)  # fmt: skip
    log(f"  RAISE on {n} digits: {rs.log_likelihood:.2f}; AIS on the same digits {ais_rows.mean():.2f}; "
        f"gap {gap.mean():.2f} +- {out['raise']['gap_std_error']:.2f} ({time.time() - t0:.0f} s)")
    # RAISE .. AIS widened by two AIS standard errors (chapter 6 prints RAISE .. ais_same_digits instead;
    # ch06_cd.json's field of the same name is RAISE .. AIS, not widened)
    out["interval_same_digits"] = [rs.log_likelihood, float(ais_rows.mean() + 2 * log_z_std)]
    out["raise_log_p"] = rs.log_p
    out["ais_log_weights"] = log_w
    return out


# ---------------------------------------------------------------- the small model, exactly
def exact_model_term(W, a, b):
    """<v h^T>, <v>, <h> under the RBM, summing over all 2^n_hidden hidden states."""
    n_h = W.shape[1]
    H = ((np.arange(2**n_h)[:, None] >> np.arange(n_h)) & 1).astype(np.float64)
    act = H @ W.T + a  # (2^n_h, n_visible)
    log_p = H @ b + np.logaddexp(0, act).sum(axis=1)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    ev = 1 / (1 + np.exp(-act))  # E[v | h]
    pv = ev * p[:, None]
    return pv.T @ H, pv.sum(axis=0), p @ H


def train_exact(X, X_test, n_hidden, n_epochs, seed, curve):
    """SGD on the exact log-likelihood gradient, with the RBM class's update rule and batch size (its own shuffles)."""
    model = RBM(784, n_hidden, dtype="float64", random_state=seed, **BASE)
    try:  # the visible biases start from the data, as RBM.fit starts them (Hinton's guide, section 8)
        model._init_visible_bias(X)
    except AttributeError:
        model.a[...] = base_rate_bias(X.mean(axis=0))
    W, a, b = (np.array(to_numpy(x)) for x in (model.W, model.a, model.b))
    vW, va, vb = np.zeros_like(W), np.zeros_like(a), np.zeros_like(b)
    rng = np.random.default_rng(seed)
    # check the hand-written gradient against dbnlib's once
    ref = model.exact_gradient(X[:200])
    h0 = 1 / (1 + np.exp(-(X[:200] @ W + b)))
    mW, ma, mb = exact_model_term(W, a, b)
    mine = (X[:200].T @ h0 / 200 - mW, X[:200].mean(0) - ma, h0.mean(0) - mb)
    for r, g in zip(ref, mine):
        np.testing.assert_allclose(to_numpy(r), g, rtol=1e-6, atol=1e-9)
    lr, bs = BASE["learning_rate"], BASE["batch_size"]
    for epoch in range(n_epochs):
        mom = BASE["momentum"][0] if epoch < 5 else BASE["momentum"][1]
        order = rng.permutation(len(X))
        for start in range(0, len(X), bs):
            Xb = X[order[start:start + bs]]
            h = 1 / (1 + np.exp(-(Xb @ W + b)))
            mW, ma, mb = exact_model_term(W, a, b)
            vW *= mom
            vW += lr * (Xb.T @ h / len(Xb) - mW)
            va *= mom
            va += lr * (Xb.mean(0) - ma)
            vb *= mom
            vb += lr * (h.mean(0) - mb)
            W *= 1 - lr * BASE["weight_decay"]  # as RBM._cd_step: decay outside the momentum, then the step
            W += vW
            a += va
            b += vb
        model.W[...], model.a[...], model.b[...] = W, a, b
        curve(model)
    return model


def small_model_curves(X_train, X_test):
    out = {}
    for name in (*METHODS, "exact"):
        t0 = time.time()
        train_ll, test_ll = [], []

        def curve(model):
            train_ll.append(float(model.log_likelihood(X_train)))
            test_ll.append(float(model.log_likelihood(X_test)))

        if name == "exact":
            start = RBM(784, SMALL["n_hidden"], dtype="float64", random_state=0, **BASE)
            curve(start)
            train_exact(X_train, X_test, SMALL["n_hidden"], SMALL["n_epochs"], 0, curve)
        else:
            model = RBM(784, SMALL["n_hidden"], dtype="float64", random_state=0, **BASE, **METHODS[name])
            curve(model)
            for _ in range(SMALL["n_epochs"]):
                model.partial_fit(X_train)  # one epoch; the first call sets the visible biases from the data
                curve(model)
        out[name] = dict(train_log_likelihood=train_ll, test_log_likelihood=test_ll, seconds=time.time() - t0)
        log(f"small {name}: test LL by epoch {' '.join(f'{x:.1f}' for x in test_ll)} ({time.time() - t0:.0f} s)")
    return out


def main(sections=("small", "main")):
    """Run the named sections; with only some of them, the stored results of the others are kept."""
    started = time.time()
    X, y = datasets.load_mnist("5k", binarize=True)
    X_train, X_test, _, _ = datasets.train_test_split(X, y, test_size=1000, random_state=0)
    X_train, X_test = (np.asarray(to_numpy(x), dtype=np.float64) for x in (X_train, X_test))
    results = {"data": "load_mnist('5k', binarize=True), train_test_split(test_size=1000, random_state=0)",
               "n_train": len(X_train), "n_test": len(X_test), "base": BASE, "main": MAIN, "small": SMALL,
               "methods": METHODS, "models": {}}  # fmt: skip
    arrays = {}
    if set(sections) != {"small", "main"} and (OUT / "ch06_likelihood.json").exists():
        old = json.loads((OUT / "ch06_likelihood.json").read_text())
        results.update({k: old[k] for k in ("small_model", "models") if k in old})
        with np.load(OUT / "ch06_likelihood.npz") as stored:
            arrays.update(stored)

    if "small" in sections:
        results["small_model"] = small_model_curves(X_train, X_test)
        for name, curves in results["small_model"].items():
            for key in ("train_log_likelihood", "test_log_likelihood"):
                arrays[f"small_{name}_{key}"] = np.array(curves[key])
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "ch06_likelihood.json").write_text(json.dumps(results, indent=1) + "\n")
        np.savez_compressed(OUT / "ch06_likelihood.npz", **arrays)

    for name, extra in (METHODS.items() if "main" in sections else ()):
        t0 = time.time()
        model = RBM(784, MAIN["n_hidden"], n_epochs=MAIN["n_epochs"], random_state=0, **BASE, **extra).fit(X_train)
        train_s = time.time() - t0
        log(f"{name}: trained in {train_s:.0f} s")
        entry = bracket(model, X_train, X_test)
        arrays[f"{name}_raise_log_p"] = entry.pop("raise_log_p")
        arrays[f"{name}_ais_log_weights"] = entry.pop("ais_log_weights")
        entry["train_seconds"] = train_s
        entry["train_log_likelihood_ais"] = mean_neg_free_energy(model, X_train) - entry["pooled"]["log_z"]
        results["models"][name] = entry
        p = entry["pooled"]
        log(f"{name}: test LL (AIS, {p['n_runs']} runs) {p['test_log_likelihood']:.2f} +- {p['log_z_std']:.2f}, "
            f"ESS {p['ess']:.1f}; RAISE {entry['raise']['test_log_likelihood']:.2f} vs AIS "
            f"{entry['raise']['ais_same_digits']:.2f} on the same {MAIN['n_raise']} digits")
        OUT.mkdir(parents=True, exist_ok=True)  # write as we go: a late failure keeps the earlier models
        (OUT / "ch06_likelihood.json").write_text(json.dumps(results, indent=1) + "\n")
        np.savez_compressed(OUT / "ch06_likelihood.npz", **arrays)

    results["total_seconds"] = time.time() - started
    (OUT / "ch06_likelihood.json").write_text(json.dumps(results, indent=1) + "\n")
    np.savez_compressed(OUT / "ch06_likelihood.npz", **arrays)
    log(f"wrote {OUT / 'ch06_likelihood.json'} and ch06_likelihood.npz after {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or ("small", "main"))
