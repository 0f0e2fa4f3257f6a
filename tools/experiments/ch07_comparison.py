"""Chapter 7's fair comparison: does greedy pre-training help, and where does a modern recipe match it?

    python tools/run_experiments.py ch07_comparison      # or: make experiments

Writes ``chapters/results/ch07_comparison.json`` (and ``ch07_comparison.npz``
with the validation curves), section by section, so a late failure keeps the
sections before it.

Protocol. ``load_mnist("5k")`` is split 4,000 / 1,000 with
``train_test_split(X, y, test_size=1000, random_state=0)``, as chapter 7 does;
the 4,000 are split again 3,000 / 1,000 (seed 1) into a training and a
validation set. Every network learns from the 3,000 training digits only (the
RBMs see their pixels, not their labels); every choice (learning rate,
momentum, number of updates) is made on the 1,000 validation digits; the
1,000 test digits are scored once, on the parameters each choice picked.

Every model gets the same budget: learning rate in {0.01, 0.1} x momentum in
{0.5, 0.9}, 15 epochs of minibatches of 50 with the validation error taken
after every epoch (the epoch with the lowest validation error is kept), and
the same L2 penalty 0.5 * 1e-5 * sum ||W||^2 (biases free). The four models
share the architecture 784-500-500-2000-10 of Hinton, Osindero & Teh (2006):

- ``dbn``: sigmoid units, hidden layers from a greedily pre-trained stack of
  RBMs (30 epochs each), softmax layer from N(0, 0.01^2);
- ``small``: sigmoid units, every weight from N(0, 0.01^2);
- ``glorot``: sigmoid units, Glorot & Bengio's (2010) uniform initialisation;
- ``relu_he``: ReLU units, He et al.'s (2015) N(0, 2 / n_in) initialisation.

Sections: gradient norms at initialisation; tuning and the test table
(seed 0), with training error, cross-entropy and penalty reported apart; the
frozen pre-trained features under logistic regression; few labels (100, 500,
1,000 of the 3,000 digits, pre-training on all 3,000 images, 600 updates with
the settings chosen above); depth (1, 2 and 3 hidden layers, pre-trained or
Glorot, each tuned on the same grid); two more seeds of the table. About 25
minutes on one free core. Afterwards ``python tools/experiments/ch07_comparison.py
seeds`` adds the few-label and depth sections for seeds 1 and 2 (about 4
minutes) and ``... longer`` the longer Glorot budget.
"""

import inspect
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("DBNLIB_BACKEND", "numpy")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dbnlib import DBN, MLP, to_numpy  # noqa: E402
from dbnlib.datasets import load_mnist, train_test_split  # noqa: E402

OUT = ROOT / "chapters" / "results"
SIZES = (784, 500, 500, 2000)
RBM_PARAMS = dict(learning_rate=0.05, n_epochs=30, batch_size=50, momentum=(0.5, 0.9), weight_decay=2e-4)
GRID = dict(learning_rate=(0.01, 0.1), momentum=(0.5, 0.9))
N_EPOCHS, BATCH, WEIGHT_DECAY = 15, 50, 1e-5
FEW_UPDATES, FEW_EVAL = 600, 30  # few labels: updates, and updates between validation checks
DEPTH_MODELS = ("dbn", "glorot")
MODELS = ("dbn", "small", "glorot", "relu_he")
FEW_LABELS = (100, 500, 1000)
EXTRA_SEEDS = (1, 2)
LR_C = (0.1, 1.0, 10.0)  # logistic-regression C tried on validation

# the MLP's L2 keyword is being renamed (l2 -> weight_decay); the trainer adds the penalty itself
_DECAY_KW = "weight_decay" if "weight_decay" in inspect.signature(MLP).parameters else "l2"


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, flush=True)


# ---------------------------------------------------------------- networks
def make_net(kind, sizes, seed, stack=None):
    """An MLP sizes + (10,) with the initialisation ``kind``; ``stack`` holds the RBMs' (W, b) for ``dbn``."""
    activation = "relu" if kind == "relu_he" else "sigmoid"
    init = {"dbn": "small", "small": "small", "glorot": "glorot", "relu_he": "he"}[kind]
    common = dict(activation=activation, output="softmax", dtype="float32", random_state=seed + 100,
                  **{_DECAY_KW: 0.0})  # fmt: skip
    try:
        net = MLP(tuple(sizes) + (10,), init=init, **common)
    except ValueError:  # an MLP without init="he": draw He's weights here
        net = MLP(tuple(sizes) + (10,), init="glorot", **common)
        rng = np.random.default_rng(seed + 100)
        for W, _ in net.params:
            W[...] = rng.normal(0, np.sqrt(2.0 / W.shape[0]), W.shape)
    if kind == "dbn":
        for (W, b), (W0, b0) in zip(net.params, stack[: len(sizes) - 1]):
            W[...], b[...] = W0, b0
    return net


def pretrain(X, seed, sizes=None):
    """The hidden layers' (W, b) of a greedily pre-trained DBN, as float32 NumPy copies."""
    t0, sizes = time.time(), sizes or SIZES
    dbn = DBN(sizes, rbm_params=RBM_PARAMS, random_state=seed).pretrain(X)
    stack = [(np.array(to_numpy(r.W), np.float32), np.array(to_numpy(r.b), np.float32)) for r in dbn.rbms]
    log(f"pre-trained {sizes} seed {seed} in {time.time() - t0:.0f} s")
    return stack


def snapshot(net):
    return [(W.copy(), b.copy()) for W, b in net.params]


def restore(net, snap):
    for (W, b), (W0, b0) in zip(net.params, snap):
        W[...], b[...] = W0, b0


def penalty(net):
    return float(0.5 * WEIGHT_DECAY * sum(float(np.vdot(W, W)) for W, _ in net.params))


def error(net, X, y):
    return float(1.0 - net.score(X, y))


def train(net, X, y, Xv, yv, learning_rate, momentum, n_updates, eval_every, seed):
    """Momentum SGD on cross-entropy + 0.5 * WEIGHT_DECAY * sum ||W||^2, keeping the parameters with the
    lowest validation error (checked every ``eval_every`` updates). v <- mu v - eta g; theta <- theta + v.
    With ``Xv=None`` nothing is validated and the last parameters are kept."""
    rng = np.random.default_rng(seed)
    vel = [(np.zeros_like(W), np.zeros_like(b)) for W, b in net.params]
    curve, best, step, n = [], (np.inf, 0, snapshot(net)), 0, len(X)
    diverged = False
    while step < n_updates and not diverged:
        order = rng.permutation(n)
        for start in range(0, n, BATCH):
            rows = order[start:start + BATCH]
            for (W, b), (dW, db), (vW, vb) in zip(net.params, net.gradients(X[rows], y[rows]), vel):
                dW += WEIGHT_DECAY * W
                vW *= momentum
                vW -= learning_rate * dW
                W += vW
                vb *= momentum
                vb -= learning_rate * db
                b += vb
            step += 1
            if Xv is None:
                pass
            elif step % eval_every == 0 or step == n_updates:
                if not all(np.isfinite(W).all() for W, _ in net.params):
                    diverged = True
                    curve.append((step, 1.0))
                    break
                with np.errstate(over="ignore", invalid="ignore"):
                    e = error(net, Xv, yv)
                curve.append((step, e))
                if e < best[0]:
                    best = (e, step, snapshot(net))
            if step >= n_updates:
                break
    if Xv is None:
        finite = all(np.isfinite(W).all() for W, _ in net.params)
        return dict(val_error=None, best_update=step, curve=[], diverged=not finite)
    restore(net, best[2])
    return dict(val_error=best[0], best_update=best[1], curve=curve, diverged=diverged)


def scores(net, Xa, ya, Xte, yte, fit):
    """Train error, cross-entropy and penalty apart, validation and test error of the kept parameters."""
    return dict(val_error=fit["val_error"], best_update=fit["best_update"], best_epoch=fit["best_update"] / (len(Xa) / BATCH),
                diverged=fit["diverged"], train_error=error(net, Xa, ya), train_cross_entropy=float(net.loss(Xa, ya)),
                train_penalty=penalty(net), test_error=error(net, Xte, yte))  # fmt: skip


# ---------------------------------------------------------------- sections
def gradient_norms(stack, X, y):
    out = {}
    for kind in MODELS:
        net = make_net(kind, SIZES, 0, stack)
        norms = np.asarray(to_numpy(net.layer_gradient_norms(X, y)), dtype=float)
        out[kind] = dict(norms=norms.tolist(), bottom_over_top=float(norms[0] / norms[-1]),
                         weight_norms=[float(np.linalg.norm(W)) for W, _ in net.params])  # fmt: skip
        log(f"gradient norms at init, {kind}: {' '.join(f'{x:.3g}' for x in norms)} "
            f"(bottom/top {norms[0] / norms[-1]:.3g})")
    return out


def tune(kind, stack, Xa, ya, Xv, yv, Xte, yte, sizes=None, seed=0, curves=None):
    """Every (learning rate, momentum) of GRID for N_EPOCHS; the best on validation is scored on test."""
    grid, best, sizes = [], None, sizes or SIZES
    per_epoch = int(np.ceil(len(Xa) / BATCH))
    for lr in GRID["learning_rate"]:
        for mu in GRID["momentum"]:
            t0 = time.time()
            net = make_net(kind, sizes, seed, stack)
            fit = train(net, Xa, ya, Xv, yv, lr, mu, N_EPOCHS * per_epoch, per_epoch, seed)
            grid.append(dict(learning_rate=lr, momentum=mu, val_error=fit["val_error"],
                             best_epoch=fit["best_update"] / per_epoch, diverged=fit["diverged"],
                             val_curve=[e for _, e in fit["curve"]]))  # fmt: skip
            if curves is not None:
                curves[f"{kind}_{len(sizes) - 1}_lr{lr}_mu{mu}"] = np.array(fit["curve"], dtype=float)
            log(f"  {kind} {sizes} lr {lr} mu {mu}: val {fit['val_error']:.3f} at epoch "
                f"{fit['best_update'] / per_epoch:.0f}{' (diverged)' if fit['diverged'] else ''} ({time.time() - t0:.0f} s)")
            if best is None or fit["val_error"] < best[0]["val_error"]:
                best = (fit, net, lr, mu)
    fit, net, lr, mu = best
    chosen = dict(learning_rate=lr, momentum=mu, **scores(net, Xa, ya, Xte, yte, fit))
    log(f"{kind} {sizes}: chosen lr {lr} mu {mu}: val {chosen['val_error']:.3f}, test {chosen['test_error']:.3f}, "
        f"train {chosen['train_error']:.4f}, CE {chosen['train_cross_entropy']:.4f} + penalty "
        f"{chosen['train_penalty']:.4f}")
    return dict(grid=grid, chosen=chosen)


def features(stack, X, depth):
    H = X
    for W, b in stack[:depth]:
        H = 1 / (1 + np.exp(-(H @ W + b)))
    return H


def frozen_features(stack, Xa, ya, Xv, yv, Xte, yte):
    """Logistic regression on the pixels (depth 0) and on each pre-trained layer, C chosen on validation."""
    from sklearn.linear_model import LogisticRegression

    out = []
    for depth in range(len(stack) + 1):
        Fa, Fv, Ft = (features(stack, Z, depth) for Z in (Xa, Xv, Xte))
        best = None
        for C in LR_C:
            t0 = time.time()
            clf = LogisticRegression(C=C, max_iter=200).fit(Fa, ya)
            e = 1 - clf.score(Fv, yv)
            log(f"  frozen depth {depth} C {C}: val {e:.3f} ({time.time() - t0:.0f} s)")
            if best is None or e < best[0]:
                best = (e, C, clf)
        e, C, clf = best
        out.append(dict(depth=depth, n_features=Fa.shape[1], C=C, val_error=e,
                        train_error=float(1 - clf.score(Fa, ya)), test_error=float(1 - clf.score(Ft, yte))))  # fmt: skip
        log(f"frozen depth {depth}: C {C}, val {e:.3f}, test {out[-1]['test_error']:.3f}")
    return out


def chosen_run(kind, sizes, stack, lr, mu, X, y, Xv, yv, Xa, ya, Xte, yte, seed, n_updates, eval_every):
    net = make_net(kind, sizes, seed, stack)
    fit = train(net, X, y, Xv, yv, lr, mu, n_updates, eval_every, seed)
    out = scores(net, X, y, Xte, yte, fit)
    out.update(learning_rate=lr, momentum=mu)
    return out


def load_splits():
    """Chapter 7's digits as float32 NumPy arrays: 3,000 training, 1,000 validation and 1,000 test digits."""
    X, y = load_mnist("5k")
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=1000, random_state=0)
    Xa, Xv, ya, yv = train_test_split(Xtr, ytr, test_size=1000, random_state=1)
    Xa, Xv, Xte = (np.asarray(to_numpy(Z), dtype=np.float32) for Z in (Xa, Xv, Xte))
    ya, yv, yte = (np.asarray(to_numpy(Z)) for Z in (ya, yv, yte))
    return Xa, ya, Xv, yv, Xte, yte


def main():
    t_start = time.time()
    OUT.mkdir(parents=True, exist_ok=True)
    Xa, ya, Xv, yv, Xte, yte = load_splits()
    res = dict(protocol=__doc__.split("Protocol. ")[1].split("\n\nSections")[0].replace("\n", " "),
               sizes=SIZES, rbm_params=RBM_PARAMS, grid=GRID, n_epochs=N_EPOCHS, batch_size=BATCH,
               weight_decay=WEIGHT_DECAY, n_train=len(Xa), n_val=len(Xv), n_test=len(Xte))  # fmt: skip
    curves = {}

    def save():
        res["runtime_seconds"] = time.time() - t_start
        (OUT / "ch07_comparison.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
        np.savez_compressed(OUT / "ch07_comparison.npz", **curves)

    stack0 = pretrain(Xa, 0)
    res["gradient_norms_at_init"] = gradient_norms(stack0, Xa[:1000], ya[:1000])
    save()

    # ---- the table, seed 0: every model tuned alike
    res["table"] = {}
    for kind in MODELS:
        res["table"][kind] = tune(kind, stack0, Xa, ya, Xv, yv, Xte, yte, curves=curves)
        save()
    from sklearn.svm import SVC

    t0 = time.time()
    svc = SVC(C=10.0).fit(Xa, ya)
    res["svc"] = dict(C=10.0, val_error=float(1 - svc.score(Xv, yv)), test_error=float(1 - svc.score(Xte, yte)),
                      train_error=float(1 - svc.score(Xa, ya)))  # fmt: skip
    log(f"SVC: val {res['svc']['val_error']:.3f} test {res['svc']['test_error']:.3f} ({time.time() - t0:.0f} s)")
    save()

    # ---- frozen features
    res["frozen_features"] = frozen_features(stack0, Xa, ya, Xv, yv, Xte, yte)
    save()

    # ---- few labels: the chosen settings, FEW_UPDATES updates, pre-training on all 3,000 images
    from sklearn.model_selection import train_test_split as sk_split

    per_epoch = int(np.ceil(len(Xa) / BATCH))
    res["few_labels"] = {"n_labels": list(FEW_LABELS)}
    for n in FEW_LABELS:
        rows = sk_split(np.arange(len(Xa)), train_size=n, stratify=ya, random_state=0)[0]
        res["few_labels"][str(n)] = {}
        for kind in MODELS:
            c = res["table"][kind]["chosen"]
            t0 = time.time()
            r = chosen_run(kind, SIZES, stack0, c["learning_rate"], c["momentum"], Xa[rows], ya[rows], Xv, yv, Xa, ya,
                           Xte, yte, 0, FEW_UPDATES, FEW_EVAL)  # fmt: skip
            res["few_labels"][str(n)][kind] = r
            log(f"few labels {n} {kind}: val {r['val_error']:.3f} test {r['test_error']:.3f} "
                f"train {r['train_error']:.3f} ({time.time() - t0:.0f} s)")
        save()

    # ---- depth: 1 and 2 hidden layers (3 is the table), pre-trained or not; each tuned on the same grid
    res["depth"] = {}
    for depth in (1, 2):
        sizes = SIZES[: depth + 1]
        res["depth"][str(depth)] = {kind: tune(kind, stack0, Xa, ya, Xv, yv, Xte, yte, sizes=sizes, curves=curves)
                                    for kind in DEPTH_MODELS}  # fmt: skip
        save()

    # ---- two more seeds of the table (new pre-training, new initialisation and minibatch order)
    res["seeds"] = {kind: {"0": res["table"][kind]["chosen"]} for kind in MODELS}
    for seed in EXTRA_SEEDS:
        stack = pretrain(Xa, seed)
        for kind in MODELS:
            c = res["table"][kind]["chosen"]
            r = chosen_run(kind, SIZES, stack, c["learning_rate"], c["momentum"], Xa, ya, Xv, yv, Xa, ya, Xte, yte,
                           seed, N_EPOCHS * per_epoch, per_epoch)  # fmt: skip
            res["seeds"][kind][str(seed)] = r
            log(f"seed {seed} {kind}: val {r['val_error']:.3f} test {r['test_error']:.3f}")
        save()
    log(f"done in {time.time() - t_start:.0f} s")
    save()


LONGER_EPOCHS = 60


def longer_budget():
    """A check, not part of the equal-budget table: the Glorot sigmoid net at the two settings that left the
    plateau, trained LONGER_EPOCHS epochs (seed 0), to tell a stalled baseline from a slow one. Added to the
    stored results as ``longer_budget``: ``python tools/experiments/ch07_comparison.py longer``."""
    Xa, ya, Xv, yv, Xte, yte = load_splits()
    res = json.loads((OUT / "ch07_comparison.json").read_text())
    per_epoch = int(np.ceil(len(Xa) / BATCH))
    rows = []
    for lr, mu in ((0.01, 0.9), (0.1, 0.5)):
        t0 = time.time()
        r = chosen_run("glorot", SIZES, None, lr, mu, Xa, ya, Xv, yv, Xa, ya, Xte, yte, 0, LONGER_EPOCHS * per_epoch,
                       per_epoch)  # fmt: skip
        r["n_epochs"] = LONGER_EPOCHS
        rows.append(dict(kind="glorot", **r))
        log(f"longer: glorot lr {lr} mu {mu}: val {r['val_error']:.3f} at epoch {r['best_epoch']:.0f}, "
            f"test {r['test_error']:.3f}, train {r['train_error']:.4f} ({time.time() - t0:.0f} s)")
    res["longer_budget"] = rows
    (OUT / "ch07_comparison.json").write_text(json.dumps(res, indent=1, default=float) + "\n")


def more_seeds():
    """A check, not part of the equal-budget table: the few-label and depth sections for the seeds of
    EXTRA_SEEDS, at the settings seed 0 chose (as the table's extra seeds are run). Each seed pre-trains
    its own stack and draws its own labelled subset (stratified, ``random_state=seed``); depth 3 is the
    table's own seed run. Added to the stored results as ``few_labels_seeds`` and ``depth_seeds``:
    ``python tools/experiments/ch07_comparison.py seeds``."""
    from sklearn.model_selection import train_test_split as sk_split

    t_start = time.time()
    Xa, ya, Xv, yv, Xte, yte = load_splits()
    res = json.loads((OUT / "ch07_comparison.json").read_text())
    per_epoch = int(np.ceil(len(Xa) / BATCH))
    few, deep = {}, {}
    for seed in EXTRA_SEEDS:
        stack = pretrain(Xa, seed)
        few[str(seed)] = {}
        for n in FEW_LABELS:
            rows = sk_split(np.arange(len(Xa)), train_size=n, stratify=ya, random_state=seed)[0]
            few[str(seed)][str(n)] = {}
            for kind in MODELS:
                c = res["table"][kind]["chosen"]
                r = chosen_run(kind, SIZES, stack, c["learning_rate"], c["momentum"], Xa[rows], ya[rows], Xv, yv,
                               Xa, ya, Xte, yte, seed, FEW_UPDATES, FEW_EVAL)  # fmt: skip
                few[str(seed)][str(n)][kind] = r
                log(f"seed {seed} few labels {n} {kind}: val {r['val_error']:.3f} test {r['test_error']:.3f}")
        deep[str(seed)] = {}
        for depth in (1, 2):
            deep[str(seed)][str(depth)] = {}
            for kind in DEPTH_MODELS:
                c = res["depth"][str(depth)][kind]["chosen"]
                r = chosen_run(kind, SIZES[: depth + 1], stack, c["learning_rate"], c["momentum"], Xa, ya, Xv, yv,
                               Xa, ya, Xte, yte, seed, N_EPOCHS * per_epoch, per_epoch)  # fmt: skip
                deep[str(seed)][str(depth)][kind] = r
                log(f"seed {seed} depth {depth} {kind}: val {r['val_error']:.3f} test {r['test_error']:.3f} "
                    f"train {r['train_error']:.4f}")
        res["few_labels_seeds"], res["depth_seeds"] = few, deep
        res["more_seeds_seconds"] = time.time() - t_start
        (OUT / "ch07_comparison.json").write_text(json.dumps(res, indent=1, default=float) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["longer"]:
        longer_budget()
    elif sys.argv[1:] == ["seeds"]:
        more_seeds()
    else:
        main()
