"""Where a default ``RBM.fit`` spends the time its matrix products do not (issue 11, point 7).

    python benchmarks/rbm_step_ablation.py            # B=10 and B=100, the default BLAS threads
    python benchmarks/rbm_step_ablation.py --quick    # 1 epoch, 1 repeat, B=100: a smoke test

``rbm_fit_floor.py`` measures how far a whole fit is from the five GEMMs of
CD-1. This script says where the difference goes, by taking work away: it
runs the same fit (V=784, H=500, 10,000 binary float32 rows, default
arguments) with the library's CD-1 step replaced by ``step`` below, a copy
of ``dbnlib.training._cd_step`` for CD-1 in which one group of operations
can be switched off:

- ``uniforms``: the draw of the B x H uniform numbers of the hidden sample;
- ``biases``: the three bias additions and the bias gradients and updates;
- ``sigmoids``: the three in-place sigmoids;
- ``W passes``: the four elementwise passes over V x H (velocity times
  momentum, plus the gradient, weight decay, W plus velocity);
- ``all four``: every group above at once: what is left is the five GEMMs
  (as the floor, but inside the fit), the sample comparison, the scaling of
  the hidden rows, the minibatch gather and Python.

A fit without a group computes nonsense, so for every variant the per-epoch
monitors and the divergence check are switched off too (they cost the same in
all variants and are timed by ``rbm_fit_floor.py``'s fit/loop columns). The
copy is checked against the library first: with nothing switched off it must
give the library's weights bit for bit, or the script stops. Variants and the
floor are timed in turn, ``--repeat`` times, best kept; the time a group costs
is its variant's saving against ``full``.

Writes ``benchmarks/results/<date>-cpu-rbm-step-ablation.md`` and ``.json``.
"""

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import V, describe_machine, gemm_floor_epoch  # noqa: E402

H, ROWS = 500, 10_000
GROUPS = {"full": (), "uniforms": ("uniforms",), "biases": ("biases",), "sigmoids": ("sigmoids",),
          "W passes": ("W",), "all four": ("uniforms", "biases", "sigmoids", "W")}  # fmt: skip


def make_step(skip):
    """``training._cd_step`` for CD-1 without momentum switching, with the groups in ``skip`` left out."""
    from dbnlib.numerics import sigmoid_inplace

    def activate(x, bias):
        if "biases" not in skip:
            x += bias
        if "sigmoids" not in skip:
            sigmoid_inplace(x)

    def step(model, buf, lr, momentum):
        B, W = buf.rows, model.W
        v0, v_neg, h0, h_neg = buf.vv[:B], buf.vv[B:], buf.hh[:B], buf.hh[B:]
        if "uniforms" not in skip:
            model.rng_.random(buf.u.shape, dtype=buf.u.dtype, out=buf.u)
        np.matmul(v0, W, out=h0)
        activate(h0, model.b)
        h_s = np.less(buf.u[0], h0, out=buf.h_s)
        np.matmul(h_s, W.T, out=v_neg)
        activate(v_neg, model.a)
        np.matmul(v_neg, W, out=h_neg)
        activate(h_neg, model.b)
        scale = lr / B
        if "biases" not in skip:
            da = v0.sum(axis=0) - v_neg.sum(axis=0)
        h0 *= scale
        h_neg *= -scale
        np.matmul(buf.vv.T, buf.hh, out=buf.G)
        if "W" not in skip:
            model.velocity_W_ *= momentum
            model.velocity_W_ += buf.G
            W *= 1 - lr * model.weight_decay
            W += model.velocity_W_
        if "biases" not in skip:
            model.velocity_a_ *= momentum
            model.velocity_a_ += scale * da
            model.velocity_b_ *= momentum
            model.velocity_b_ += buf.hh.sum(axis=0)
            model.a += model.velocity_a_
            model.b += model.velocity_b_

    return step


def check_copy(X):
    """The copy with nothing switched off must train exactly as the library does."""
    import dbnlib
    from dbnlib import training

    library = dbnlib.RBM(V, H, batch_size=100, n_epochs=1, random_state=0).fit(X[:2000])
    original = training._cd_step
    training._cd_step = make_step(())
    try:
        copy = dbnlib.RBM(V, H, batch_size=100, n_epochs=1, random_state=0).fit(X[:2000])
    finally:
        training._cd_step = original
    if not (np.array_equal(library.W, copy.W) and np.array_equal(library.b, copy.b)):
        sys.exit("rbm_step_ablation.py: the copy of _cd_step no longer matches dbnlib.training; update make_step")


def measure(X, B, n_epochs, repeat):
    """Best microseconds per minibatch step of each variant and of the floor, timed in turn."""
    import dbnlib
    from dbnlib import training

    saved = training._cd_step, training._check_diverged, training._record
    training._check_diverged = lambda model, method, snapshot: snapshot
    training._record = lambda model, X, X_val, seconds: model.history_["reconstruction_error"].append(0.0)
    W0 = (0.01 * np.random.default_rng(1).standard_normal((V, H))).astype(np.float32)
    steps = n_epochs * -(-ROWS // B)
    best = dict.fromkeys([*GROUPS, "floor"], float("inf"))
    try:
        with np.errstate(all="ignore"):  # the variants without sigmoids overflow; their numbers are not used
            for _ in range(repeat + 1):  # the first round warms up and is not counted
                for name, skip in GROUPS.items():
                    training._cd_step = make_step(skip)
                    start = time.perf_counter()
                    dbnlib.RBM(V, H, batch_size=B, n_epochs=n_epochs, random_state=0).fit(X)
                    best[name] = min(best[name], time.perf_counter() - start)
                start = time.perf_counter()
                for _ in range(n_epochs):
                    gemm_floor_epoch(np, X, W0, B)
                best["floor"] = min(best["floor"], time.perf_counter() - start)
    finally:
        training._cd_step, training._check_diverged, training._record = saved
    return {name: 1e6 * seconds / steps for name, seconds in best.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 epoch, 1 repeat, B=100 only: a smoke test")
    p.add_argument("--repeat", type=int, default=3, help="timed rounds; the best of each variant is kept")
    p.add_argument("--epochs", type=int, default=3, help="epochs per fit")
    p.add_argument("--batch-sizes", default="10,100", help="comma-separated minibatch sizes (default 10,100)")
    p.add_argument("--out", default=None, help="the .md to write (default results/DATE-cpu-rbm-step-ablation.md)")
    args = p.parse_args(argv)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.quick:
        args.epochs, args.repeat, batch_sizes = 1, 1, [100]

    os.environ["DBNLIB_BACKEND"] = "numpy"
    import dbnlib

    dbnlib.set_backend("numpy")
    X = (np.random.default_rng(0).random((ROWS, V)) < 0.2).astype(np.float32)
    check_copy(X)
    out = Path(args.out) if args.out else HERE / "results" / f"{datetime.date.today().isoformat()}-cpu-rbm-step-ablation.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python benchmarks/rbm_step_ablation.py", *(sys.argv[1:] if argv is None else argv)])
    load_start = os.getloadavg()
    results = {B: measure(X, B, args.epochs, args.repeat) for B in batch_sizes}

    header = "| B | variant | µs per step | saving against full | floor/variant |"
    lines = [header, "|---|---|---|---|---|"]
    for B, r in results.items():
        for name in GROUPS:
            saving = "" if name == "full" else f"{r['full'] - r[name]:.0f}"
            label = name if name in ("full", "all four") else f"without {name}"
            if name == "all four":
                label = "without all four"
            lines.append(f"| {B} | {label} | {r[name]:.0f} | {saving} | {r['floor'] / r[name]:.2f} |")
        lines.append(f"| {B} | floor (five GEMMs) | {r['floor']:.0f} |  | 1.00 |")
    text = "\n".join([
        "# Where RBM.fit's time goes beyond its GEMMs: CPU",
        "",
        f"Made by `{command}`.",
        "",
        "## Machine",
        "",
        describe_machine(gpu=False),
        f"- load average (1, 5, 15 min) at the start: {' '.join(f'{x:.2f}' for x in load_start)}; "
        f"at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "",
        f"## V={V}, H={H}, {ROWS:,} binary float32 rows, CD-1, default BLAS threads, {args.epochs} epochs, "
        f"best of {args.repeat}",
        "",
        "Each variant is the default fit with one group of operations left out (monitors and the",
        "divergence check off in all); `saving` is what the group costs per minibatch step.",
        "",
        *lines,
        "",
    ])  # fmt: skip
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(dict(
        machine=describe_machine(gpu=False), V=V, H=H, rows=ROWS, epochs=args.epochs, repeat=args.repeat,
        quick=args.quick, load_start=load_start, load_end=os.getloadavg(),
        us_per_step={str(B): r for B, r in results.items()}), indent=1) + "\n")  # fmt: skip
    print("\n".join(lines))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
