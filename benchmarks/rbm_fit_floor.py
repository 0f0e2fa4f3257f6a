"""How close a whole ``RBM.fit`` comes to its matrix products (issue 11, point 7).

    python benchmarks/rbm_fit_floor.py            # B=10 and B=100, one BLAS thread and all of them
    python benchmarks/rbm_fit_floor.py --quick    # 2 epochs, 1 repeat: a smoke test of the script
    python benchmarks/rbm_fit_floor.py --threads all --epochs 3   # shorter, default BLAS threads only

A new user's run: V=784, H=500, 10,000 binary float32 rows, and
``RBM(784, 500, batch_size=B, random_state=0).fit(X)`` with every other
argument at its default (10 epochs, CD-1, momentum, weight decay), so the
timing includes input validation, the data fingerprint, the per-epoch
monitors and the divergence check. The floor is the same number of epochs of
the five matrix products of CD-1 alone (``bench.gemm_floor_epoch``: up, down,
up and the two gradient products, into preallocated buffers); floor/fit is the
share of the fit spent in products that no CD-1 can avoid. A third column,
``loop``, times ``partial_fit`` once per epoch (the training loop without the
monitors), which splits the rest between the loop and the monitors.

Floor, fit and loop are timed in turn in the same process (so that a change in
the machine's load hits all three), ``--repeat`` times, and the best of each
is kept; the range of floor/fit within the rounds goes beside it, since this
shared machine has slow phases that hit a fit and a floor differently. Each table is made with one BLAS thread and with the default number
(threadpoolctl). The load average is written next to the numbers: on a shared
machine, read them with it. The table goes to
``benchmarks/results/<date>-cpu-rbm-fit-floor.md`` (and ``.json``).
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


def blas_threads():
    """The BLAS thread counts now in force, as threadpoolctl reports them."""
    from threadpoolctl import threadpool_info

    return sorted({i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"})


def measure(X, B, n_epochs, repeat):
    """Best seconds of the floor, the whole fit and the bare loop, timed in turn; and every round's seconds."""
    import dbnlib

    W0 = (0.01 * np.random.default_rng(1).standard_normal((V, H))).astype(np.float32)

    def floor():
        for _ in range(n_epochs):
            gemm_floor_epoch(np, X, W0, B)

    def fit():
        kwargs = {} if n_epochs == 10 else {"n_epochs": n_epochs}  # 10 is the default
        dbnlib.RBM(V, H, batch_size=B, random_state=0, **kwargs).fit(X)

    looped = dbnlib.RBM(V, H, batch_size=B, random_state=0)

    def loop():
        for _ in range(n_epochs):
            looped.partial_fit(X)

    runs = {"floor": floor, "fit": fit, "loop": loop}
    for fn in runs.values():  # warm-up: imports, BLAS threads, first allocations
        fn()
    rounds = []
    for _ in range(repeat):
        times = {}
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name] = time.perf_counter() - start
        rounds.append(times)
    best = {name: min(r[name] for r in rounds) for name in runs}
    return best, rounds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2 epochs, 1 repeat, B=100 only: a smoke test")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each; the best is kept")
    p.add_argument("--epochs", type=int, default=10, help="epochs of fit and floor (10 is RBM's default)")
    p.add_argument("--threads", choices=("1", "all", "both"), default="both",
                   help="BLAS threads: one, the default number, or both tables (default)")  # fmt: skip
    p.add_argument("--batch-sizes", default="10,100", help="comma-separated minibatch sizes (default 10,100)")
    p.add_argument("--out", default=None, help="the .md to write (default results/DATE-cpu-rbm-fit-floor.md)")
    args = p.parse_args(argv)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    thread_limits = {"1": (1,), "all": (None,), "both": (1, None)}[args.threads]  # None: leave the default alone
    if args.quick:
        args.epochs, args.repeat, batch_sizes = 2, 1, [100]

    os.environ["DBNLIB_BACKEND"] = "numpy"
    import dbnlib
    from threadpoolctl import threadpool_limits

    dbnlib.set_backend("numpy")
    X = (np.random.default_rng(0).random((ROWS, V)) < 0.2).astype(np.float32)
    out = Path(args.out) if args.out else HERE / "results" / f"{datetime.date.today().isoformat()}-cpu-rbm-fit-floor.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = describe_machine(gpu=False)
    command = " ".join(["python benchmarks/rbm_fit_floor.py", *(sys.argv[1:] if argv is None else argv)])
    load_start = os.getloadavg()
    header = ("| BLAS threads | B | floor s | fit s | loop s | floor/fit | floor/loop | floor/fit range over rounds "
              "| load (1 min) |")
    lines, records = [header, "|" + "---|" * (header.count("|") - 1)], []
    print(header, flush=True)

    def write(done):
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        text = "\n".join([
            "# RBM.fit against its GEMM floor: CPU",
            "",
            f"Made by `{command}`" + ("." if done else " (incomplete: the run did not finish)."),
            "",
            "## Machine",
            "",
            machine,
            f"- load average (1, 5, 15 min) at the start: {' '.join(f'{x:.2f}' for x in load_start)}; "
            f"at the end: {load}",
            "",
            f"## V={V}, H={H}, {ROWS:,} binary float32 rows, {args.epochs} epochs, best of {args.repeat}",
            "",
            "fit: `RBM(784, 500, batch_size=B, random_state=0).fit(X)`, defaults otherwise. floor: the five",
            "CD-1 matrix products per minibatch alone. loop: `partial_fit` once per epoch (no monitors).",
            "floor s, fit s, loop s: the best round of each; the range is floor/fit within each round",
            "(floor and fit timed one after the other), lowest to highest.",
            "",
            *lines,
            "",
        ])  # fmt: skip
        out.write_text(text)
        out.with_suffix(".json").write_text(json.dumps(dict(
            machine=machine, V=V, H=H, rows=ROWS, epochs=args.epochs, repeat=args.repeat, quick=args.quick,
            load_start=load_start, load_end=os.getloadavg(), rows_timed=records, complete=done), indent=1) + "\n")

    for threads in thread_limits:
        for B in batch_sizes:
            with threadpool_limits(limits=threads, user_api="blas"):
                n_threads = blas_threads()
                best, rounds = measure(X, B, args.epochs, args.repeat)
            load = os.getloadavg()[0]
            records.append(dict(blas_threads=n_threads, B=B, load_1min=load, **best, rounds=rounds))
            ratios = [r["floor"] / r["fit"] for r in rounds]
            cells = ["/".join(map(str, n_threads)), f"{B}", f"{best['floor']:.3f}", f"{best['fit']:.3f}",
                     f"{best['loop']:.3f}", f"{best['floor'] / best['fit']:.2f}", f"{best['floor'] / best['loop']:.2f}",
                     f"{min(ratios):.2f} to {max(ratios):.2f}", f"{load:.1f}"]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
            write(done=False)  # after every row, so that a run cut short still leaves its table
    write(done=True)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
