"""The course's speed table: RBM epochs against peers and the GEMM floor.

    python benchmarks/bench.py                 # CPU (NumPy): the full table
    DBNLIB_BACKEND=cupy python benchmarks/bench.py --gpu   # GPU (CuPy) table, and the same machine's CPU
    python benchmarks/bench.py --quick         # a smaller table, for a smoke test
    python benchmarks/bench.py --standin --out /tmp/t.md   # the --gpu code path on the CPU stand-in of CuPy

For each size it times one epoch of RBM training, float32, on random binary
data, for:

- ``dbnlib CD-1`` and ``dbnlib PCD-1``: ``RBM.partial_fit`` (one epoch);
- ``sklearn``: scikit-learn's ``BernoulliRBM`` with ``n_iter=1`` on the same
  float32 data, batch size and rows (CPU only);
- ``plain``: a textbook CD-1 written below in a dozen lines of NumPy (CuPy);
- ``torch``: the same textbook CD-1 in PyTorch, when PyTorch is there (GPU);
- ``floor``: the five matrix products of CD-1 alone (up, down, up, and the two
  gradient products), each 2*B*V*H flops, into preallocated buffers: no
  implementation of CD-1 can beat it by more than its other work.

It prints times, the ratios peer/dbnlib (how many times faster dbnlib is) and
floor/dbnlib (the share of dbnlib's time spent in the necessary products), and
dbnlib's peak memory during the epoch (CPU: tracemalloc; GPU: CuPy's pool). It
also times one MLP training epoch and one DBN pre-training epoch
(784-500-500-2000). The table and a description of the machine are written to
``benchmarks/results/<date>-<cpu|gpu>.md``.

With ``--gpu`` the sizes are V=784, H=500, B=100/1,000/10,000 on 60,000 rows,
and each row also gives the same machine's CPU (NumPy, its default BLAS
threads): dbnlib CD-1 and the floor, and the GPU's speed-up over the CPU.
``--standin`` runs that code path on tests/cupy_standin (a strict CPU
stand-in for CuPy) with tiny sizes: a rehearsal of the GPU run, whose numbers
mean nothing.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
V = 784


# ----------------------------------------------------------------------------- the machine
def describe_machine(gpu):
    lines = [f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}"]
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines.append(f"- CPU: {cpu}, {os.cpu_count()} logical cores visible")
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)" for i in threadpool_info()
                if i.get("user_api") == "blas"]  # fmt: skip
        lines.append(f"- BLAS: {', '.join(blas) or 'unknown'}")
    except ImportError:
        lines.append("- BLAS: unknown (threadpoolctl missing)")
    try:
        import sklearn

        sk = f", scikit-learn {sklearn.__version__}"
    except ImportError:  # the GPU machine may not have it; only the CPU table needs it
        sk = ""
    lines.append(f"- Python {platform.python_version()}, NumPy {np.__version__}{sk}")
    if gpu:
        import cupy

        if getattr(cupy, "__standin__", False):
            lines.append("- no GPU: the CuPy stand-in of tests/cupy_standin (a rehearsal; its times are CPU times)")
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        lines.append(f"- GPU: {name}, CuPy {cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var):
            lines.append(f"- {var}={os.environ[var]}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- peers
def plain_cd1_epoch(xp, X, W, a, b, B, lr, rng_uniform):
    """Textbook CD-1, as a course would first write it: clear, allocation-happy."""
    for i in range(0, X.shape[0], B):
        v0 = X[i : i + B]
        ph0 = 1 / (1 + xp.exp(-(v0 @ W + b)))
        h0 = (rng_uniform(ph0.shape) < ph0).astype(W.dtype)
        pv1 = 1 / (1 + xp.exp(-(h0 @ W.T + a)))
        ph1 = 1 / (1 + xp.exp(-(pv1 @ W + b)))
        W += (lr / B) * (v0.T @ ph0 - pv1.T @ ph1)
        a += (lr / B) * (v0 - pv1).sum(0)
        b += (lr / B) * (ph0 - ph1).sum(0)


def gemm_floor_epoch(xp, X, W, B):
    """The five products of CD-1 and nothing else, into preallocated buffers."""
    H = W.shape[1]
    h = xp.empty((B, H), W.dtype)
    v = xp.empty((B, W.shape[0]), W.dtype)
    dW = xp.empty_like(W)
    for i in range(0, X.shape[0] - B + 1, B):
        v0 = X[i : i + B]
        xp.matmul(v0, W, out=h)  # up
        xp.matmul(h, W.T, out=v)  # down
        xp.matmul(v, W, out=h)  # up
        xp.matmul(v0.T, h, out=dW)  # positive statistics
        xp.matmul(v.T, h, out=dW)  # negative statistics


def torch_cd1_epoch(Xt, W, a, b, B, lr):
    import torch

    for i in range(0, Xt.shape[0], B):
        v0 = Xt[i : i + B]
        ph0 = torch.sigmoid(v0 @ W + b)
        h0 = (torch.rand_like(ph0) < ph0).to(W.dtype)
        pv1 = torch.sigmoid(h0 @ W.T + a)
        ph1 = torch.sigmoid(pv1 @ W + b)
        W += (lr / B) * (v0.T @ ph0 - pv1.T @ ph1)
        a += (lr / B) * (v0 - pv1).sum(0)
        b += (lr / B) * (ph0 - ph1).sum(0)


# ----------------------------------------------------------------------------- timing
class Timer:
    def __init__(self, gpu):
        self.gpu = gpu

    def sync(self):
        if self.gpu:
            import cupy

            cupy.cuda.Device().synchronize()
            try:
                import torch

                if torch.cuda.is_available():
                    torch.cuda.synchronize()
            except ImportError:
                pass

    def best(self, fn, repeat):
        """Best wall time of ``repeat`` runs of ``fn`` (after one warm-up run)."""
        fn()
        self.sync()
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            self.sync()
            times.append(time.perf_counter() - t)
        return min(times)


def peak_memory(fn, gpu):
    """Peak bytes allocated while ``fn`` runs (tracemalloc on the CPU, CuPy's pool on the GPU)."""
    if gpu:
        import cupy

        pool = cupy.get_default_memory_pool()
        pool.free_all_blocks()
        before = pool.used_bytes()
        fn()
        cupy.cuda.Device().synchronize()
        return max(pool.total_bytes() - before, 0)
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def rbm_rows(xp, n_rows, H, B, gpu, repeat, timer):
    import dbnlib

    rng = np.random.default_rng(0)
    X_np = (rng.random((n_rows, V)) < 0.2).astype(np.float32)
    X = xp.asarray(X_np)
    results = {}

    def make(persistent):
        return dbnlib.RBM(V, H, batch_size=B, n_epochs=1, learning_rate=0.01, persistent=persistent,
                          dtype="float32", random_state=0)  # fmt: skip

    cd, pcd = make(False), make(True)
    results["dbnlib CD-1"] = timer.best(lambda: cd.partial_fit(X), repeat)
    results["dbnlib PCD-1"] = timer.best(lambda: pcd.partial_fit(X), repeat)
    results["peak MiB"] = peak_memory(lambda: make(False).partial_fit(X), gpu) / 2**20

    W0 = (0.01 * rng.standard_normal((V, H))).astype(np.float32)
    W, a, b = xp.asarray(W0.copy()), xp.zeros(V, xp.float32), xp.zeros(H, xp.float32)
    if gpu:
        import cupy

        gen = cupy.random.default_rng(0)
        uniform = lambda shape: gen.random(shape, dtype=cupy.float32)  # noqa: E731
    else:
        gen = np.random.default_rng(0)
        uniform = lambda shape: gen.random(shape, dtype=np.float32)  # noqa: E731
    results["plain"] = timer.best(lambda: plain_cd1_epoch(xp, X, W, a, b, B, 0.01, uniform), repeat)
    results["floor"] = timer.best(lambda: gemm_floor_epoch(xp, X, xp.asarray(W0), B), repeat)
    if not gpu:
        from sklearn.neural_network import BernoulliRBM

        def sk():
            BernoulliRBM(n_components=H, batch_size=B, n_iter=1, learning_rate=0.01, random_state=0).fit(X_np)

        results["sklearn"] = timer.best(sk, max(1, repeat - 1))
    else:
        try:
            import torch

            if torch.cuda.is_available():
                Xt = torch.as_tensor(X_np, device="cuda")
                Wt = torch.as_tensor(W0.copy(), device="cuda")
                at, bt = torch.zeros(V, device="cuda"), torch.zeros(H, device="cuda")
                results["torch"] = timer.best(lambda: torch_cd1_epoch(Xt, Wt, at, bt, B, 0.01), repeat)
        except ImportError:
            pass
    return results


def cpu_rows(n_rows, H, B, repeat):
    """On a GPU machine, the same CD-1 epoch and floor on its CPU (NumPy, default BLAS threads)."""
    import dbnlib

    prev = dbnlib.get_backend()
    dbnlib.set_backend("numpy")
    try:
        rng = np.random.default_rng(0)
        X = (rng.random((n_rows, V)) < 0.2).astype(np.float32)
        timer = Timer(False)
        cd = dbnlib.RBM(V, H, batch_size=B, n_epochs=1, learning_rate=0.01, dtype="float32", random_state=0)
        W0 = (0.01 * rng.standard_normal((V, H))).astype(np.float32)
        return {"cpu CD-1": timer.best(lambda: cd.partial_fit(X), repeat),
                "cpu floor": timer.best(lambda: gemm_floor_epoch(np, X, W0, B), repeat)}  # fmt: skip
    finally:
        dbnlib.set_backend(prev)


def mlp_and_dbn(xp, n_rows, timer, repeat):
    import dbnlib

    rng = np.random.default_rng(0)
    X = (rng.random((n_rows, V)) < 0.2).astype(np.float32)
    y = rng.integers(0, 10, n_rows)
    mlp = dbnlib.MLP((V, 500, 500, 2000, 10), dtype="float32", batch_size=100, n_epochs=1, learning_rate=0.01,
                     momentum=0.9, random_state=0)  # fmt: skip
    t_mlp = timer.best(lambda: mlp.fit(X, y), repeat)

    def dbn_epoch():
        dbn = dbnlib.DBN((V, 500, 500, 2000), rbm_params=dict(n_epochs=1, batch_size=100, dtype="float32"),
                         random_state=0)  # fmt: skip
        dbn.pretrain(X)

    t_dbn = timer.best(dbn_epoch, max(1, repeat - 1))
    return t_mlp, t_dbn


# ----------------------------------------------------------------------------- main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpu", action="store_true", help="time the CuPy backend (needs a CUDA GPU)")
    p.add_argument("--quick", action="store_true", help="fewer sizes and rows: a smoke test")
    p.add_argument("--standin", action="store_true",
                   help="rehearse --gpu on the CPU stand-in of CuPy (tests/cupy_standin), tiny sizes")  # fmt: skip
    p.add_argument("--rows", type=int, default=None, help="rows per epoch (default 10,000 CPU, 60,000 GPU)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per entry; the best is kept")
    p.add_argument("--out", default=None, help="where to write the table (default benchmarks/results/DATE-KIND.md)")
    args = p.parse_args(argv)

    if args.standin:
        args.gpu = True
        sys.path.insert(0, str(HERE.parent / "tests" / "cupy_standin"))
    os.environ["DBNLIB_BACKEND"] = "cupy" if args.gpu else "numpy"
    import dbnlib

    dbnlib.set_backend("cupy" if args.gpu else "numpy")
    xp = dbnlib.xp()
    timer = Timer(args.gpu)
    rows = args.rows or (60_000 if args.gpu else 10_000)
    if args.standin:
        rows, sizes, repeat = min(rows, 1_000), [(50, 100), (50, 1000)], 1
    elif args.quick:
        rows, sizes, repeat = min(rows, 2_000), [(500, 100)], 1
    elif args.gpu:
        sizes, repeat = [(500, 100), (500, 1000), (500, 10_000)], args.repeat
    else:
        sizes, repeat = [(h, b) for h in (500, 2000) for b in (10, 100, 1000)], args.repeat

    peers = ["torch", "plain"] if args.gpu else ["sklearn", "plain"]
    header = (f"| H | B | dbnlib CD-1 s | dbnlib PCD-1 s | " + " | ".join(f"{p} s" for p in peers)
              + " | floor s | " + " | ".join(f"{p}/dbnlib" for p in peers) + " | floor/dbnlib | peak MiB |")  # fmt: skip
    if args.gpu:
        header += " CPU CD-1 s | CPU floor s | CPU/GPU (dbnlib) |"
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    kind = "standin" if args.standin else "gpu" if args.gpu else "cpu"
    out = Path(args.out) if args.out else HERE / "results" / f"{datetime.date.today().isoformat()}-{kind}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    machine, records, extra = describe_machine(args.gpu), [], []

    def write(**more):
        text = "\n".join([
            f"# Benchmark: {kind.upper()}{' (quick)' if args.quick else ''}",
            "",
            "Made by `python benchmarks/bench.py" + (" --standin" if args.standin else " --gpu" if args.gpu else "")
            + (" --quick" if args.quick else "") + "`." + ("" if more else " (incomplete: the run did not finish)"),
            "",
            "## Machine",
            "",
            machine,
            "",
            f"## RBM epoch: V={V}, {rows:,} rows, float32 (best of {repeat})",
            "",
            *lines,
            *extra,
            "",
        ])  # fmt: skip
        out.write_text(text)
        out.with_suffix(".json").write_text(json.dumps(dict(
            kind=kind, quick=args.quick, machine=machine, backend=dbnlib.get_backend(), rows=rows, repeat=repeat,
            rbm=records, complete=bool(more), **more), indent=1) + "\n")  # fmt: skip

    print(f"RBM epoch, V={V}, {rows:,} rows, float32, backend {dbnlib.get_backend()}", flush=True)
    print(header, flush=True)
    for H, B in sizes:
        r = rbm_rows(xp, rows, H, B, args.gpu, repeat, timer)
        if args.gpu:
            r.update(cpu_rows(rows, H, B, max(1, repeat - 2)))
        records.append(dict(H=H, B=B, rows=rows, **{k.replace(" ", "_"): v for k, v in r.items()}))
        cd = r["dbnlib CD-1"]
        cells = [f"{H}", f"{B}", f"{cd:.4f}", f"{r['dbnlib PCD-1']:.4f}"]
        cells += [f"{r[p]:.4f}" if p in r else "n/a" for p in peers]
        cells += [f"{r['floor']:.4f}"]
        cells += [f"{r[p] / cd:.2f}" if p in r else "n/a" for p in peers]
        cells += [f"{r['floor'] / cd:.2f}", f"{r['peak MiB']:.1f}"]
        if args.gpu:
            cells += [f"{r['cpu CD-1']:.4f}", f"{r['cpu floor']:.4f}", f"{r['cpu CD-1'] / cd:.1f}"]
        line = "| " + " | ".join(cells) + " |"
        lines.append(line)
        print(line, flush=True)
        write()  # after every row, so that a run cut short by a time limit still leaves its table
    t_mlp, t_dbn = mlp_and_dbn(xp, rows, timer, repeat if not args.quick else 1)
    extra += [
        "",
        f"- MLP 784-500-500-2000-10, one epoch of minibatch SGD (B=100, momentum), {rows:,} rows: {t_mlp:.3f} s",
        f"- DBN 784-500-500-2000, one pre-training epoch per layer (B=100, CD-1), {rows:,} rows: {t_dbn:.3f} s",
    ]
    for line in extra[1:]:
        print(line, flush=True)
    write(mlp_epoch_s=t_mlp, dbn_pretrain_epoch_s=t_dbn)
    print(f"written to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
