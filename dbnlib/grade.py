"""Score exercise notebooks with the instructor's checks: ``make grade`` or ``dbnlib-grade``.

The learner's notebook supplies code, never scores. For each notebook the
grader starts a fresh kernel, runs the learner's code cells one by one (each
with a time limit; the learner's own ``grading.check`` cells are skipped), then
runs every exercise's checks from the instructor's manifest
(``grading/manifest.json``, hidden checks included) in a namespace of their
own, from the grader's private copy of ``dbnlib.grading``. Results come back
through a file whose name the learner's code never saw. An exercise whose
answer is missing scores 0 of its points; a loop or a dead kernel costs its
own exercise: the kernel is restarted, the learner's cells that worked are run
again, and grading goes on. From the command line::

    dbnlib-grade                                  # exercises/*.ipynb, a table, grade_report.json
    dbnlib-grade --class SUBMISSIONS --csv grades.csv -j 2
                                                  # SUBMISSIONS/<student>/<notebooks>: a CSV and feedback/

The exit status is 0 when grading ran (whatever the scores), 1 when grading
itself failed (no manifest, a kernel that does not start), 2 on bad arguments,
and with ``--only ID --require-full`` 3 when that exercise is not full marks
(what GitHub Classroom's autograding reads; single-learner mode only, ``--class``
exits 0 or 1).
"""

import argparse
import ast
import concurrent.futures
import csv
import io
import json
import logging
import multiprocessing
import os
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["GradingError", "grade_class", "grade_notebook", "grade_student", "load_manifest", "main"]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MANIFEST = Path("grading") / "manifest.json"
DEFAULT_TIMEOUT = 30


class GradingError(RuntimeError):
    """Grading itself failed (not the learner's answers)."""


def load_manifest(path=None):
    """Read the instructor's manifest (default ``grading/manifest.json`` here or in the course folder)."""
    candidates = [Path(path)] if path else [DEFAULT_MANIFEST, ROOT / DEFAULT_MANIFEST]
    for p in candidates:
        if p.is_file():
            return json.loads(p.read_text(encoding="utf-8"))
    raise GradingError(f"no grading manifest at {' or '.join(map(str, candidates))}; run `make exercises`")


def _write_atomic(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


# --- the kernel ------------------------------------------------------------------------

class _Kernel:
    """A kernel run with time limits; restarted after a timeout it ignores or a crash."""

    def __init__(self, cwd, kernel_name="python3"):
        self.cwd, self.kernel_name = str(cwd), kernel_name
        self.km = self.kc = None
        self.restarts = 0
        self.start()

    def start(self):
        from jupyter_client.manager import KernelManager

        env = dict(os.environ, DBNLIB_GRADING="1", MPLBACKEND="Agg", PYTHONWARNINGS="ignore",
                   OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
        self.km = KernelManager(kernel_name=self.kernel_name)
        self.km.log.setLevel(logging.CRITICAL)
        try:
            # The kernel's own output (transport warnings, tracebacks of a dying
            # kernel) goes nowhere: the grader reports through its own messages.
            self.km.start_kernel(cwd=self.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=120)
        except Exception as exc:
            self.stop()
            raise GradingError(f"the kernel {self.kernel_name!r} did not start: {exc}") from exc

    def stop(self):
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None and self.km.has_kernel:
            self.km.shutdown_kernel(now=True)
        self.km = self.kc = None

    def restart(self):
        self.restarts += 1
        self.stop()
        self.start()

    def run(self, code, timeout):
        """Run ``code``; return ``(status, message)``, status one of ok, error, timeout, dead.

        After ``timeout`` seconds the kernel is interrupted; a kernel still busy
        5 s later (a loop that swallows KeyboardInterrupt) or a dead one is
        restarted, with an empty namespace.
        """
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False, stop_on_error=False)
        deadline, error, interrupted = time.monotonic() + timeout, None, False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if interrupted:
                    self.restart()
                    return "timeout", f"did not finish in {timeout:g} s and ignored the interrupt (an endless loop?)"
                self.km.interrupt_kernel()
                interrupted, deadline = True, time.monotonic() + 5
                continue
            try:
                msg = self.kc.get_iopub_msg(timeout=min(remaining, 0.5))
            except queue.Empty:
                if not self.km.is_alive():
                    self.restart()
                    return "dead", "the kernel died (the process exited or was killed)"
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "error":
                error = f"{msg['content']['ename']}: {msg['content']['evalue']}"
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                break
        if interrupted:
            return "timeout", f"did not finish in {timeout:g} s (an endless loop?)"
        return ("error", error) if error else ("ok", None)


# --- one notebook ----------------------------------------------------------------------

def _is_check_call(source):
    """True for a cell that only calls ``grading.check(...)`` (the learner's visible check)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and all(
        isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
        and getattr(s.value.func, "attr", getattr(s.value.func, "id", None)) == "check"
        for s in body
    )


def _learner_cells(path):
    # Plain JSON (nbformat 4): importing nbformat costs seconds per process.
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise ValueError("not a version-4 Jupyter notebook")
    sources = []
    for cell in nb["cells"]:
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        if cell.get("cell_type") == "code" and src.strip() and not _is_check_call(src):
            sources.append(src)
    return sources


def _driver(trusted_source, notebook, exercise, result_path, nonce):
    nb = {"setup": notebook["setup"], "answers": notebook["answers"]}
    return (
        "def __dbnlib_grade():\n"
        "    import json, types\n"
        f"    m = types.ModuleType('dbnlib_grading_{nonce}')\n"
        f"    exec(compile({trusted_source!r}, 'dbnlib/grading.py (the grader copy)', 'exec'), m.__dict__)\n"
        "    m._THIS = m\n"
        f"    m._grade_exercise(json.loads({json.dumps(nb)!r}), json.loads({json.dumps(exercise)!r}),\n"
        f"                      globals(), {result_path!r}, {nonce!r})\n"
        "try:\n"
        "    __dbnlib_grade()\n"
        "finally:\n"
        "    del __dbnlib_grade\n"
    )


def _result(ex, status, points, message, parts=()):
    return dict(id=ex["id"], title=ex["title"], points=points, total=ex["points"], status=status,
                message=message or "", parts=list(parts))


def grade_notebook(path, notebook, timeout=DEFAULT_TIMEOUT, kernel_name="python3", workdir=None):
    """Score one learner notebook with the manifest's checks.

    Parameters
    ----------
    path : str or Path or None
        The learner's notebook; ``None`` (not submitted) scores 0 everywhere.
    notebook : dict
        Its manifest entry (``load_manifest()["notebooks"][k]``).
    timeout : float
        Seconds allowed for each learner cell and for each exercise's checks.
    workdir : str or Path, optional
        The kernel's working folder (default: the notebook's folder).

    Returns
    -------
    list of dict
        One entry per exercise of the manifest, in its order: ``id``,
        ``title``, ``points`` (never above ``total``), ``total``, ``status``
        (PASS, PARTIAL, FAIL, ERROR, TIMEOUT, MISSING or TAMPERED), ``message`` and
        ``parts`` (passed/total/message of each visible or hidden part).

    Raises
    ------
    GradingError
        When the kernel does not start.
    """
    exercises = notebook["exercises"]
    if path is None or not Path(path).is_file():
        return [_result(ex, "MISSING", 0, "notebook not submitted") for ex in exercises]
    try:
        cells = _learner_cells(path)
    except Exception as exc:  # not a notebook: the learner's file, not the grader, is broken
        return [_result(ex, "ERROR", 0, f"the notebook could not be read: {exc}") for ex in exercises]
    trusted = (Path(__file__).parent / "grading.py").read_text(encoding="utf-8")
    kernel = _Kernel(workdir or Path(path).parent, kernel_name)
    results_dir = Path(tempfile.mkdtemp(prefix="dbnlib-grade-"))
    try:
        good, cell_problems, baseline = [], [], {}

        def take_baseline():
            # Before any learner code: the identities of dbnlib's and NumPy's functions.
            path = str(results_dir / f"{secrets.token_hex(16)}.json")
            code = (f"def __dbnlib_baseline():\n    import types\n    m = types.ModuleType('dbnlib_grading_base')\n"
                    f"    exec(compile({trusted!r}, 'dbnlib/grading.py', 'exec'), m.__dict__)\n"
                    f"    m._baseline({path!r})\n__dbnlib_baseline()\ndel __dbnlib_baseline\n")
            status, message = kernel.run(code, max(timeout, 60))
            if status != "ok":
                raise GradingError(f"the grader's set-up failed in the kernel: {message}")
            baseline.clear()
            baseline.update(json.loads(Path(path).read_text(encoding="utf-8")))

        def replay():
            take_baseline()
            for k in good:
                if kernel.run(cells[k], timeout)[0] != "ok":
                    break

        take_baseline()

        for k, source in enumerate(cells):
            restarts = kernel.restarts
            status, message = kernel.run(source, timeout)
            if status == "ok":
                good.append(k)
            else:
                first = source.strip().splitlines()[0][:60]
                what = "raised " + message if status == "error" else message
                cell_problems.append(f"your cell starting `{first}` {what}")
                if kernel.restarts != restarts:
                    replay()
        out = []
        for ex in exercises:
            nonce = secrets.token_hex(16)
            result_path = str(results_dir / f"{secrets.token_hex(16)}.json")
            restarts = kernel.restarts
            status, message = kernel.run(_driver(trusted, notebook, ex, result_path, nonce), timeout)
            data = None
            if status == "ok" or status == "error":
                try:
                    data = json.loads(Path(result_path).read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    data = None
                if data is not None and data.get("nonce") != nonce:
                    data, message = None, "the results file was tampered with"
            if data is None:
                if kernel.restarts != restarts:
                    replay()
                label = {"timeout": "TIMEOUT", "dead": "ERROR"}.get(status, "ERROR")
                note = f"the check {message or 'did not report'}"
                out.append(_result(ex, label, 0, note))
                continue
            fingerprint = data.get("fingerprint", {})
            replaced = sorted(k for k in baseline if fingerprint.get(k) != baseline[k])
            if replaced:
                shown = ", ".join(replaced[:3]) + (f" and {len(replaced) - 3} more" if len(replaced) > 3 else "")
                out.append(_result(ex, "TAMPERED", 0, f"your code replaced {shown}; the checks compare with those "
                                   "functions, so they cannot be trusted and this exercise scores 0"))
                continue
            parts = data["parts"]
            points = sum(min(max(int(p["passed"]), 0), d["points"]) for p, d in zip(parts, ex["parts"]))
            points = min(points, ex["points"])
            messages = [("hidden check: " if p["hidden"] else "") + p["message"] for p in parts if p["message"]]
            label = "PASS" if points == ex["points"] else ("PARTIAL" if points > 0 else "FAIL")
            if any("not answered" in m for m in messages):
                label = "MISSING"
            message = "; ".join(messages)
            if label == "MISSING" and cell_problems:  # the likelier cause of a missing answer
                message += f" (note: {'; '.join(cell_problems)})"
            out.append(_result(ex, label, points, message, parts))
        return out
    finally:
        kernel.stop()
        shutil.rmtree(results_dir, ignore_errors=True)


def grade_student(folder, manifest, timeout=DEFAULT_TIMEOUT, kernel_name="python3", isolate=True):
    """Score every notebook of the manifest found in ``folder`` (a student's submission).

    With ``isolate`` the submission is copied into a fresh temporary folder
    first, so that the learner's code cannot touch the submissions, the
    grader's files or another student's run.

    Returns
    -------
    list of dict
        As ``grade_notebook``, every exercise of the manifest, with a
        ``notebook`` key.
    """
    folder = Path(folder)
    work = Path(tempfile.mkdtemp(prefix="dbnlib-student-")) if isolate else folder
    try:
        if isolate:
            shutil.copytree(folder, work, dirs_exist_ok=True, symlinks=False, ignore=shutil.ignore_patterns(".*"))
        rows = []
        for nb in manifest["notebooks"]:
            path = work / nb["notebook"]
            for r in grade_notebook(path if path.is_file() else None, nb, timeout, kernel_name, workdir=work):
                rows.append(dict(r, notebook=nb["notebook"]))
        return rows
    finally:
        if isolate:
            shutil.rmtree(work, ignore_errors=True)


def _grade_student_job(args):
    folder, manifest, timeout, kernel_name = args
    logging.disable(logging.CRITICAL)
    try:
        return folder, grade_student(folder, manifest, timeout, kernel_name), None
    except Exception as exc:
        return folder, None, f"{exc.__class__.__name__}: {exc}"


# --- reports ---------------------------------------------------------------------------

def _table(rows):
    buf = io.StringIO()
    width = max([len(f"{r['id']} {r['title']}") for r in rows] + [20])
    print(f"{'exercise':<{width}}  {'points':>6}  {'total':>5}  status", file=buf)
    for r in rows:
        name = f"{r['id']} {r['title']}"
        note = f"  {r['message'][:160]}" if r["status"] != "PASS" else ""
        print(f"{name:<{width}}  {r['points']:>6}  {r['total']:>5}  {r['status']}{note}", file=buf)
    got, total = sum(r["points"] for r in rows), sum(r["total"] for r in rows)
    print(f"{'total':<{width}}  {got:>6}  {total:>5}  {100 * got / max(total, 1):.0f} %", file=buf)
    return buf.getvalue()


def feedback_text(student, rows):
    """The feedback file of one student: every exercise's line and message."""
    lines = [f"Feedback for {student}", ""]
    for r in rows:
        line = f"Exercise {r['id']} ({r['title']}): {r['status']} {r['points']}/{r['total']}"
        lines.append(line + (f" - {r['message']}" if r["message"] else ""))
    got, total = sum(r["points"] for r in rows), sum(r["total"] for r in rows)
    lines += ["", f"Total: {got}/{total}"]
    return "\n".join(lines) + "\n"


def grade_class(submissions, manifest, csv_path, feedback_dir=None, jobs=1, timeout=DEFAULT_TIMEOUT,
                kernel_name="python3", log=print):  # fmt: skip
    """Grade one folder per student, in parallel, and write a CSV and feedback files.

    Parameters
    ----------
    submissions : str or Path
        A folder holding ``<student>/<notebook>.ipynb``.
    manifest : dict
        The instructor's manifest.
    csv_path : str or Path
        Where to write the grades: ``student``, one column per exercise,
        ``total``, ``max`` (and ``error``, empty unless grading failed).
    feedback_dir : str or Path, optional
        Where ``<student>.txt`` feedback files go (default ``feedback/`` next
        to the CSV).
    jobs : int
        Students graded at the same time, each in its own process and kernel.

    Returns
    -------
    dict
        ``{student: rows or None}``; ``None`` where grading itself failed.
    """
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise GradingError(f"--class must name a folder of student folders, got {submissions}")
    students = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise GradingError(f"{submissions} holds no student folders")
    feedback_dir = Path(feedback_dir) if feedback_dir else Path(csv_path).parent / "feedback"
    ids = [ex["id"] for nb in manifest["notebooks"] for ex in nb["exercises"]]
    results, errors = {}, {}
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=ctx) as pool:
        jobs_ = [pool.submit(_grade_student_job, (str(s), manifest, timeout, kernel_name)) for s in students]
        for fut in concurrent.futures.as_completed(jobs_):
            folder, rows, error = fut.result()
            name = Path(folder).name
            results[name] = rows
            if error:
                errors[name] = error
                log(f"{name}: grading failed: {error}")
                continue
            got, total = sum(r["points"] for r in rows), sum(r["total"] for r in rows)
            log(f"{name}: {got}/{total}")
            _write_atomic(feedback_dir / f"{name}.txt", feedback_text(name, rows))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", *ids, "total", "max", "error"])
    for name in sorted(results):
        rows = results[name]
        if rows is None:
            writer.writerow([name, *[""] * len(ids), "", "", errors[name]])
            continue
        points = {r["id"]: r["points"] for r in rows}
        writer.writerow([name, *[points[i] for i in ids], sum(points.values()), sum(r["total"] for r in rows), ""])
    _write_atomic(csv_path, buf.getvalue())
    return results


# --- the command -----------------------------------------------------------------------

def main(argv=None):
    logging.disable(logging.CRITICAL)  # no kernel-transport noise
    parser = argparse.ArgumentParser(prog="dbnlib-grade", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="learner notebooks (default: exercises/*.ipynb)")
    parser.add_argument("--manifest", help=f"the instructor's manifest (default {DEFAULT_MANIFEST})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds per learner cell and per exercise's checks (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--report", default="grade_report.json", help="the JSON report (single-learner mode)")
    parser.add_argument("--no-report", action="store_true", help="write no JSON report")
    parser.add_argument("--class", dest="klass", metavar="SUBMISSIONS", help="grade SUBMISSIONS/<student>/ folders")
    parser.add_argument("--csv", default="grades.csv", help="the class CSV (default grades.csv)")
    parser.add_argument("--feedback", help="folder of per-student feedback files (default: feedback/ beside the CSV)")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="students graded in parallel (default 1)")
    parser.add_argument("--only", metavar="ID", help="grade only this exercise (e.g. 1.1)")
    parser.add_argument("--require-full", action="store_true", help="with --only: exit 3 unless full marks")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"-j must be at least 1, got {args.jobs}")
    if args.timeout <= 0:
        parser.error(f"--timeout must be positive, got {args.timeout}")
    try:
        manifest = load_manifest(args.manifest)
        if args.only:
            manifest = dict(manifest, notebooks=[
                dict(nb, exercises=[ex for ex in nb["exercises"] if ex["id"] == args.only])
                for nb in manifest["notebooks"] if any(ex["id"] == args.only for ex in nb["exercises"])
            ])
            if not manifest["notebooks"]:
                parser.error(f"--only must name an exercise of the manifest, got {args.only!r}")
        if args.klass:
            results = grade_class(args.klass, manifest, args.csv, args.feedback, args.jobs, args.timeout)
            feedback = Path(args.feedback or Path(args.csv).parent / "feedback")
            print(f"grades written to {args.csv}; feedback in {feedback}")
            return 1 if any(r is None for r in results.values()) else 0
        paths = [Path(p) for p in args.notebooks] or sorted(Path("exercises").glob("*.ipynb"))
        by_name = {nb["notebook"]: nb for nb in manifest["notebooks"]}
        if args.only:
            paths = [p for p in paths if p.name in by_name] or [Path("exercises") / next(iter(by_name))]
        if not paths:
            parser.error("no exercise notebooks found; run from the course folder or name them")
        unknown = [str(p) for p in paths if p.name not in by_name]
        if unknown:
            parser.error(f"notebooks must be named as in the manifest ({', '.join(by_name)}), got {', '.join(unknown)}")
        started, report, rows = time.time(), {"notebooks": {}}, []
        for p in paths:
            res = grade_notebook(p, by_name[p.name], timeout=args.timeout)
            report["notebooks"][str(p)] = res
            rows += res
    except GradingError as exc:
        print(f"dbnlib-grade: grading failed: {exc}", file=sys.stderr)
        return 1
    got, total = sum(r["points"] for r in rows), sum(r["total"] for r in rows)
    report.update(points=got, total=total, seconds=round(time.time() - started, 1))
    print(_table(rows), end="")
    if not args.no_report:
        _write_atomic(args.report, json.dumps(report, indent=2) + "\n")
        print(f"report written to {args.report}")
    if args.only and args.require_full and got != total:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
