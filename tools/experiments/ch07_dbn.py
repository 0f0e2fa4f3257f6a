"""Chapter 7's long experiments: the DBN against its rivals on the MNIST 5k digits.

    python tools/experiments/ch07_dbn.py          (or: make experiments)

Writes ``chapters/results/ch07_dbn.json`` (every number the chapter prints)
and ``chapters/results/ch07_dbn.npz`` (generated digits and features for its
figures). One BLAS thread; 19 minutes on the 2-core AMD EPYC that made the
committed results.

Protocol. The 5,000 digits are split 4,000 / 1,000 with
``train_test_split(X, y, test_size=1000, random_state=0)``. Hyperparameters
are chosen on a validation split carved out of the 4,000 training digits
(3,000 / 1,000, seed 1); the test digits are used once, for the final table.
"""

import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("DBNLIB_BACKEND", "numpy")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dbnlib import DBN, MLP, LogisticRegression, to_numpy  # noqa: E402
from dbnlib.datasets import load_mnist, train_test_split  # noqa: E402
from dbnlib.rbm import RBM  # noqa: E402

OUT = ROOT / "chapters" / "results"
SIZES = None  # the architecture chosen on the validation split
SEEDS = (0, 1, 2)
ARCHITECTURES = ((784, 500, 500, 2000), (784, 1000, 1000))  # Hinton, Osindero & Teh (2006); a wide pair
RBM_PARAMS = dict(learning_rate=0.05, n_epochs=30, batch_size=50, momentum=(0.5, 0.9), weight_decay=2e-4)
FT_BASE = dict(momentum=0.9, weight_decay=1e-5, batch_size=50)
LR_GRID = (0.05, 0.1)  # fine-tuning learning rates tried on the validation split
EPOCH_GRID = (25, 50, 75, 100)  # fine-tuning lengths tried on the validation split


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, flush=True)


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def copy_rbms(dbn):
    """A DBN with the same pre-trained RBMs, as copies (fine-tuning changes the RBMs in place)."""
    twin = DBN(dbn.layer_sizes, rbm_params=dbn.rbm_params, fine_tune_params=dbn.fine_tune_params,
               random_state=dbn.random_state)  # fmt: skip
    twin.rbms = [RBM._from_state(*_copied(rbm._state())) for rbm in dbn.rbms]
    twin.layers_done_ = dbn.layers_done_
    return twin


def _copied(state):
    meta, arrays = state
    return json.loads(json.dumps(meta)), {k: v.copy() for k, v in arrays.items()}


def error(model, X, y):
    return float(1.0 - model.score(X, y))


def tune_curve(make_mlp, Xtr, ytr, Xva, yva):
    """Validation error after each length in EPOCH_GRID, training in chunks (velocity restarts per chunk)."""
    mlp, done, errs = make_mlp(), 0, {}
    for n in EPOCH_GRID:
        mlp.n_epochs = n - done
        mlp.fit(Xtr, ytr)
        done = n
        errs[n] = error(mlp, Xva, yva)
    return errs


def random_mlp(sizes, lr, n_epochs, seed, init="small"):
    return MLP(tuple(sizes) + (10,), activation="sigmoid", output="softmax", init=init, dtype="float32",
               learning_rate=lr, n_epochs=n_epochs, random_state=seed + 100, warm_start=True,
               **FT_BASE)  # fmt: skip  (warm_start: tune_curve trains in chunks)


def main():
    t_start = time.time()
    OUT.mkdir(parents=True, exist_ok=True)
    X, y = load_mnist("5k")
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=1000, random_state=0)
    res = dict(machine=cpu_model(), blas_threads=1, rbm_params=RBM_PARAMS, ft_base=FT_BASE,
               seeds=SEEDS, n_train=len(Xtr), n_test=len(Xte))  # fmt: skip

    # ---- 1. tuning on a validation split of the training digits (no test digits here)
    Xa, Xv, ya, yv = train_test_split(Xtr, ytr, test_size=1000, random_state=1)
    tuning = {"dbn": {}, "mlp": {}, "mlp_glorot": {}}
    for sizes in ARCHITECTURES:
        log("tuning: pre-training", sizes, "on 3,000 digits")
        dbn_val = DBN(sizes, rbm_params=RBM_PARAMS, random_state=0).pretrain(Xa)
        for lr in LR_GRID:
            key = (sizes, lr)
            tuning["dbn"][key] = tune_curve(lambda: copy_rbms(dbn_val).to_mlp(10, learning_rate=lr, **FT_BASE),
                                            Xa, ya, Xv, yv)  # fmt: skip
            log("tuning dbn", key, tuning["dbn"][key])

    def best(curves):
        return min(((k, n) for k in curves for n in curves[k]), key=lambda kn: (curves[kn[0]][kn[1]], kn[1]))

    (sizes, dbn_lr), dbn_epochs = best(tuning["dbn"])
    global SIZES
    SIZES = sizes
    for lr in LR_GRID:  # the random-init MLPs get the same architecture and the same search
        for key, init in (("mlp", "small"), ("mlp_glorot", "glorot")):
            tuning[key][(sizes, lr)] = tune_curve(lambda: random_mlp(sizes, lr, 1, 0, init), Xa, ya, Xv, yv)
            log("tuning", key, lr, tuning[key][(sizes, lr)])
    (_, mlp_lr), mlp_epochs = best(tuning["mlp"])
    (_, glorot_lr), glorot_epochs = best(tuning["mlp_glorot"])
    res["sizes"] = sizes
    res["tuning"] = {k: [dict(sizes=kk[0], learning_rate=kk[1], val_error={str(n): e for n, e in c.items()})
                         for kk, c in v.items()] for k, v in tuning.items()}  # fmt: skip
    res["chosen"] = dict(sizes=sizes, dbn=dict(learning_rate=dbn_lr, n_epochs=dbn_epochs),
                         mlp=dict(learning_rate=mlp_lr, n_epochs=mlp_epochs),
                         mlp_glorot=dict(learning_rate=glorot_lr, n_epochs=glorot_epochs))  # fmt: skip
    log("chosen", res["chosen"])

    # ---- 2. the comparison table: test error over seeds
    errors = {k: [] for k in ("logreg", "mlp", "mlp_glorot", "dbn", "sk_mlp", "sk_rbm_lr", "svc")}
    pretrained = {}
    norms = {}
    for seed in SEEDS:
        log("seed", seed)
        errors["logreg"].append(error(LogisticRegression(learning_rate=0.1, n_epochs=50, batch_size=50,
                                                         random_state=seed).fit(Xtr, ytr), Xte, yte))  # fmt: skip
        t0 = time.time()
        dbn = DBN(SIZES, rbm_params=RBM_PARAMS, random_state=seed).pretrain(Xtr)
        pretrain_s = time.time() - t0
        pretrained[seed] = copy_rbms(dbn)
        mlp = dbn.to_mlp(10, learning_rate=dbn_lr, n_epochs=dbn_epochs, **FT_BASE)
        rnd = random_mlp(SIZES, mlp_lr, mlp_epochs, seed)
        if seed == 0:
            norms = dict(dbn=to_numpy(mlp.layer_gradient_norms(Xtr[:1000], ytr[:1000])).tolist(),
                         random=to_numpy(rnd.layer_gradient_norms(Xtr[:1000], ytr[:1000])).tolist())  # fmt: skip
            res["pretrain_seconds"] = pretrain_s
        t0 = time.time()
        errors["dbn"].append(error(mlp.fit(Xtr, ytr), Xte, yte))
        if seed == 0:
            res["finetune_seconds"] = time.time() - t0
            res["dbn_loss_curve"] = mlp.loss_curve_
        errors["mlp"].append(error(rnd.fit(Xtr, ytr), Xte, yte))
        glorot = random_mlp(SIZES, glorot_lr, glorot_epochs, seed, "glorot")
        if seed == 0:
            res["mlp_loss_curve"] = rnd.loss_curve_
            norms["glorot"] = to_numpy(glorot.layer_gradient_norms(Xtr[:1000], ytr[:1000])).tolist()
        errors["mlp_glorot"].append(error(glorot.fit(Xtr, ytr), Xte, yte))
        errors.update(sklearn_rows(seed, Xtr, ytr, Xte, yte, errors))
        log({k: v[-1] for k, v in errors.items()})
    res["errors"] = errors
    res["gradient_norms"] = norms

    # ---- 3. few labels: pre-training on all 4,000 images, fine-tuning on a few labelled ones
    few = {"n_labels": [100, 500, 1000], "dbn": [], "random": [], "glorot": []}
    for n in few["n_labels"]:
        e_dbn, e_rnd, e_glo = [], [], []
        for seed in SEEDS:
            rows = train_test_split(Xtr, ytr, test_size=len(Xtr) - n, random_state=seed)
            Xl, yl = rows[0], rows[2]
            m = copy_rbms(pretrained[seed]).to_mlp(10, learning_rate=dbn_lr, n_epochs=100, **FT_BASE)
            e_dbn.append(error(m.fit(Xl, yl), Xte, yte))
            e_rnd.append(error(random_mlp(SIZES, mlp_lr, 100, seed).fit(Xl, yl), Xte, yte))
            e_glo.append(error(random_mlp(SIZES, glorot_lr, 100, seed, "glorot").fit(Xl, yl), Xte, yte))
        few["dbn"].append(e_dbn)
        few["random"].append(e_rnd)
        few["glorot"].append(e_glo)
        log("few labels", n, np.mean(e_dbn), np.mean(e_rnd), np.mean(e_glo))
    res["few_labels"] = few

    # ---- 4. local minima: spread of the final loss over seeds, with and without pre-training
    res["local_minima"] = local_minima(Xtr, ytr, Xte, yte)

    # ---- 5. generation and features, from seed 0's pre-trained (not fine-tuned) DBN
    gen = pretrained[0]
    samples = to_numpy(gen.sample(100, steps=1000, random_state=0))
    features, W = {}, None
    for i, rbm in enumerate(gen.rbms):  # a unit of layer i + 1 in pixel space: its weights through the layers below
        W = rbm.W if W is None else W @ rbm.W
        features[f"features_{i + 1}"] = W[:, :64].T.astype(np.float16)
    np.savez_compressed(OUT / "ch07_dbn.npz", samples=samples.astype(np.float16), **features)
    res["runtime_seconds"] = time.time() - t_start
    (OUT / "ch07_dbn.json").write_text(json.dumps(res, indent=1, default=float))
    log("done in", res["runtime_seconds"], "s")


def sklearn_rows(seed, Xtr, ytr, Xte, yte, errors):
    from sklearn.linear_model import LogisticRegression as SkLR
    from sklearn.neural_network import BernoulliRBM, MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC

    out = {k: list(errors[k]) for k in ("sk_mlp", "sk_rbm_lr", "svc")}
    out["sk_mlp"].append(1 - MLPClassifier((500,), random_state=seed).fit(Xtr, ytr).score(Xte, yte))
    pipe = Pipeline([("rbm", BernoulliRBM(n_components=500, learning_rate=0.06, n_iter=20, random_state=seed)),
                     ("lr", SkLR(C=10.0, max_iter=2000))])  # fmt: skip
    out["sk_rbm_lr"].append(1 - pipe.fit(Xtr, ytr).score(Xte, yte))
    out["svc"].append(1 - SVC(C=10.0).fit(Xtr, ytr).score(Xte, yte))  # deterministic: the same every seed
    return out


def local_minima(Xtr, ytr, Xte, yte, n_seeds=5, n_rows=1000):
    """Final training loss and test error of a 784-500-500-10 net on 1,000 digits, five seeds each start
    (pre-trained, small random weights, Glorot's initialisation), all fine-tuned alike (lr 0.1, 50 epochs)."""
    sizes, X, y = (784, 500, 500), Xtr[:n_rows], ytr[:n_rows]
    out = {"sizes": sizes, "n_rows": n_rows}
    out.update({f"{k}_{w}": [] for k in ("dbn", "random", "glorot") for w in ("loss", "error")})
    for seed in range(n_seeds):
        dbn = DBN(sizes, rbm_params=RBM_PARAMS, random_state=seed).pretrain(X)
        m = dbn.to_mlp(10, learning_rate=0.1, n_epochs=50, **FT_BASE).fit(X, y)
        r = MLP(sizes + (10,), dtype="float32", learning_rate=0.1, n_epochs=50, random_state=seed + 100,
                **FT_BASE).fit(X, y)  # fmt: skip
        g = MLP(sizes + (10,), init="glorot", dtype="float32", learning_rate=0.1, n_epochs=50,
                random_state=seed + 100, **FT_BASE).fit(X, y)  # fmt: skip
        for key, net in (("dbn", m), ("random", r), ("glorot", g)):
            out[f"{key}_loss"].append(net.loss(X, y))
            out[f"{key}_error"].append(error(net, Xte, yte))
        log("local minima seed", seed, out["dbn_loss"][-1], out["random_loss"][-1])
    return out


if __name__ == "__main__":
    main()
