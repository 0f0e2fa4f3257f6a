"""Where a default ``RBM.fit`` spends its time, step by step (issue 11, point 7).

    python benchmarks/rbm_step_profile.py            # B=10 and B=100, the default BLAS threads
    python benchmarks/rbm_step_profile.py --quick    # 1 epoch, 1 round, B=100: a smoke test

``rbm_fit_floor.py`` measures how far a whole fit is from the five GEMMs of
CD-1. This script says where the difference goes. It runs the same fit
(V=784, H=500, 10,000 binary float32 rows, default arguments) with the
library's CD-1 step replaced by ``step`` below: a copy of
``dbnlib.training._cd_step`` for CD-1 that reads the clock between groups of
operations and adds each interval to its group's total:

- ``uniforms``: the draw of the B x H uniform numbers of the hidden sample;
- ``GEMMs``: the four matrix products (up, down, up, and the one stacked
  product that gives both gradient statistics);
- ``bias + sigmoid``: the three bias additions and in-place sigmoids;
- ``sample``: the comparison of uniforms and probabilities;
- ``scaling``: the visible-bias gradient and the scaling of the hidden rows;
- ``W passes``: the four elementwise passes over V x H (velocity times
  momentum, plus the gradient, weight decay, W plus velocity);
- ``bias updates``: the momentum updates of both bias vectors;
- ``outside the step``: the whole fit's time minus its steps: input checks,
  the data fingerprint, shuffles, the gather of each minibatch's rows,
  the per-epoch monitors and Python's loop.

Every group is timed inside the same steps, so a change of the machine's
speed during a run (this shared machine has slow phases of a second or more)
falls on all groups alike, and the shares stay comparable. (An earlier script,
``rbm_step_ablation.py``, left one group out per fit and compared whole fits;
fits timed at different moments differed by more than the groups cost, which
made it overstate the passes over W about threefold at B=100.) The clock reads cost
about a microsecond per step. The copy is checked against the library first:
it must give the library's weights bit for bit, or the script stops. Each
round also times the floor (``bench.gemm_floor_epoch``) right after the fit.
The table gives the fastest round (the fit with the least total time: the
machine at its quietest) and the median of the rounds; the .json keeps every
round.

Writes ``benchmarks/results/<date>-cpu-rbm-step-profile.md`` and ``.json``.
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import V, describe_machine, gemm_floor_epoch  # noqa: E402

H, ROWS = 500, 10_000
GROUPS = ("uniforms", "GEMMs", "bias + sigmoid", "sample", "scaling", "W passes", "bias updates")


def make_step(totals):
    """``training._cd_step`` for CD-1 without sparsity, adding each group's seconds to ``totals``."""
    from dbnlib.numerics import sigmoid_inplace

    clock = time.perf_counter
    uniforms, gemms, activations, sample, scaling, w_passes, bias_updates = range(len(GROUPS))

    def step(model, buf, lr, momentum):
        B, W = buf.rows, model.W
        v0, v_neg, h0, h_neg = buf.vv[:B], buf.vv[B:], buf.hh[:B], buf.hh[B:]
        t0 = clock()
        model.rng_.random(buf.u.shape, dtype=buf.u.dtype, out=buf.u)
        t1 = clock()
        totals[uniforms] += t1 - t0
        np.matmul(v0, W, out=h0)
        t2 = clock()
        h0 += model.b
        sigmoid_inplace(h0)
        t3 = clock()
        h_s = np.less(buf.u[0], h0, out=buf.h_s)
        t4 = clock()
        np.matmul(h_s, W.T, out=v_neg)
        t5 = clock()
        v_neg += model.a
        sigmoid_inplace(v_neg)
        t6 = clock()
        np.matmul(v_neg, W, out=h_neg)
        t7 = clock()
        h_neg += model.b
        sigmoid_inplace(h_neg)
        t8 = clock()
        scale = lr / B
        da = v0.sum(axis=0) - v_neg.sum(axis=0)
        h0 *= scale
        h_neg *= -scale
        t9 = clock()
        np.matmul(buf.vv.T, buf.hh, out=buf.G)
        t10 = clock()
        model.velocity_W_ *= momentum
        model.velocity_W_ += buf.G
        W *= 1 - lr * model.weight_decay
        W += model.velocity_W_
        t11 = clock()
        model.velocity_a_ *= momentum
        model.velocity_a_ += scale * da
        model.velocity_b_ *= momentum
        model.velocity_b_ += buf.hh.sum(axis=0)
        model.a += model.velocity_a_
        model.b += model.velocity_b_
        t12 = clock()
        totals[gemms] += (t2 - t1) + (t5 - t4) + (t7 - t6) + (t10 - t9)
        totals[activations] += (t3 - t2) + (t6 - t5) + (t8 - t7)
        totals[sample] += t4 - t3
        totals[scaling] += t9 - t8
        totals[w_passes] += t11 - t10
        totals[bias_updates] += t12 - t11

    return step


def fit_with_step(step, X, B, n_epochs):
    """A default ``RBM.fit`` (``n_epochs`` epochs) with ``step`` in place of the library's CD step."""
    import dbnlib
    from dbnlib import training

    original = training._cd_step
    training._cd_step = step
    try:
        return dbnlib.RBM(V, H, batch_size=B, n_epochs=n_epochs, random_state=0).fit(X)
    finally:
        training._cd_step = original


def check_copy(X):
    """The timed copy must train exactly as the library does."""
    import dbnlib

    library = dbnlib.RBM(V, H, batch_size=100, n_epochs=1, random_state=0).fit(X[:2000])
    copy = fit_with_step(make_step([0.0] * len(GROUPS)), X[:2000], 100, 1)
    if not (np.array_equal(library.W, copy.W) and np.array_equal(library.a, copy.a)
            and np.array_equal(library.b, copy.b)):  # fmt: skip
        sys.exit("rbm_step_profile.py: the timed copy of _cd_step no longer matches dbnlib.training; update make_step")


def measure(X, B, n_epochs, rounds):
    """Per round: microseconds per step of each group, of the rest of the fit, of the fit and of the floor."""
    W0 = (0.01 * np.random.default_rng(1).standard_normal((V, H))).astype(np.float32)
    steps = n_epochs * -(-ROWS // B)
    fit_with_step(make_step([0.0] * len(GROUPS)), X, B, 1)  # warm-up: buffers, BLAS threads
    records = []
    for _ in range(rounds):
        totals = [0.0] * len(GROUPS)
        start = time.perf_counter()
        fit_with_step(make_step(totals), X, B, n_epochs)
        fit = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(n_epochs):
            gemm_floor_epoch(np, X, W0, B)
        floor = time.perf_counter() - start
        us = {name: 1e6 * t / steps for name, t in zip(GROUPS, totals)}
        us["outside the step"] = 1e6 * (fit - sum(totals)) / steps
        us["fit"], us["floor"] = 1e6 * fit / steps, 1e6 * floor / steps
        records.append(us)
    return records


def summarize(records):
    """The fastest round (least fit time), each group's share of it, and the median of the rounds."""
    fastest = min(records, key=lambda r: r["fit"])
    median = {key: statistics.median(r[key] for r in records) for key in records[0]}
    ratio = [r["floor"] / r["fit"] for r in records]
    return fastest, median, ratio


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 epoch, 1 round, B=100 only: a smoke test")
    p.add_argument("--rounds", type=int, default=5, help="timed fits per batch size")
    p.add_argument("--epochs", type=int, default=3, help="epochs per fit")
    p.add_argument("--batch-sizes", default="10,100", help="comma-separated minibatch sizes (default 10,100)")
    p.add_argument("--out", default=None, help="the .md to write (default results/DATE-cpu-rbm-step-profile.md)")
    args = p.parse_args(argv)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.quick:
        args.epochs, args.rounds, batch_sizes = 1, 1, [100]

    os.environ["DBNLIB_BACKEND"] = "numpy"
    import dbnlib

    dbnlib.set_backend("numpy")
    X = (np.random.default_rng(0).random((ROWS, V)) < 0.2).astype(np.float32)
    check_copy(X)
    out = Path(args.out) if args.out else HERE / "results" / f"{datetime.date.today().isoformat()}-cpu-rbm-step-profile.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python benchmarks/rbm_step_profile.py", *(sys.argv[1:] if argv is None else argv)])
    load_start = os.getloadavg()
    results = {B: measure(X, B, args.epochs, args.rounds) for B in batch_sizes}

    lines = ["| B | group | µs per step, fastest round | share of that fit | µs per step, median of the rounds |",
             "|---|---|---|---|---|"]
    for B, records in results.items():
        fastest, median, ratio = summarize(records)
        for name in (*GROUPS, "outside the step", "fit"):
            label = "whole fit" if name == "fit" else name
            lines.append(f"| {B} | {label} | {fastest[name]:.0f} | {100 * fastest[name] / fastest['fit']:.1f} % "
                         f"| {median[name]:.0f} |")  # fmt: skip
        lines.append(f"| {B} | floor (five GEMMs, timed after each fit) | {min(r['floor'] for r in records):.0f} "
                     f"(fastest) | | {median['floor']:.0f} |")  # fmt: skip
        lines.append(f"| {B} | floor/fit: fastest floor / fastest fit; range over rounds | "
                     f"{min(r['floor'] for r in records) / fastest['fit']:.2f} | | "
                     f"{min(ratio):.2f} to {max(ratio):.2f} |")  # fmt: skip
    text = "\n".join([
        "# Where RBM.fit's time goes: CPU",
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
        f"{args.rounds} rounds",
        "",
        "Each group is timed inside every step of a default fit; `outside the step` is the rest of the",
        "fit (input checks, shuffles, minibatch gathers, monitors, Python's loop). The fastest round is",
        "the fit with the least total time; the floor is timed right after each fit. Every round's",
        "numbers are in the .json file.",
        "",
        *lines,
        "",
    ])  # fmt: skip
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(dict(
        machine=describe_machine(gpu=False), V=V, H=H, rows=ROWS, epochs=args.epochs, rounds=args.rounds,
        quick=args.quick, load_start=load_start, load_end=os.getloadavg(), groups=[*GROUPS, "outside the step"],
        us_per_step={str(B): records for B, records in results.items()}), indent=1) + "\n")  # fmt: skip
    print("\n".join(lines))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
