"""JupyterLab in headless Chromium: the chapter-1 widget moves, an exercise check answers.

The server is started with the arguments of `make lab` (read from `make -n lab`),
plus what a test needs: a free localhost port, a token, no browser of its own,
and a temporary copy of chapters/ and exercises/ as its root, so that nothing
it runs or saves touches the repository. Jupyter's config, data, runtime and
settings folders and IPython's are temporary too.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

import browser_checks as bc  # tools/ is on sys.path: tests/conftest.py

# Without Chromium the tests are skipped, except in CI (which installs it: .ci/run).
MISSING = bc.chromium_missing()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(MISSING) and not os.environ.get("CI"), reason=str(MISSING))]

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "chapters/01_logistic_regression.ipynb"
EXERCISES = "exercises/01_logistic_regression.ipynb"
ROOT_DIR_OPTIONS = ("--notebook-dir", "--ServerApp.root_dir", "--ServerApp.notebook_dir")


def make_lab_args():
    """The arguments `make lab` gives `jupyter lab`: (options, root dir, files to open)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    out = subprocess.run(["make", "-n", "--no-print-directory", "lab"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    lines = [ln for ln in out.splitlines() if re.search(r"jupyter(-lab|\s+lab)\b", ln)]
    assert lines, f"`make -n lab` runs no `jupyter lab`:\n{out}"
    # Let the shell expand the line as make would (the `$(id -u)` test that adds --allow-root for root).
    argv = subprocess.run(["bash", "-c", 'printf "%s\\0" ' + lines[-1]], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.split("\0")[:-1]
    args = argv[argv.index("lab") + 1:] if "lab" in argv else argv[1:]
    options, root_dir, files = [], None, []
    for a in args:
        name, _, value = a.partition("=")
        if name in ROOT_DIR_OPTIONS:
            root_dir = value
        elif a.startswith("-"):
            options.append(a)
        else:
            files.append(a)
    return options, root_dir, files


def test_make_lab_opens_the_course_at_chapter_one():
    options, root_dir, files = make_lab_args()
    assert root_dir is not None and (ROOT / root_dir).resolve() == ROOT, "make lab should serve the course folder"
    assert files == [CHAPTER], files
    assert (ROOT / CHAPTER).exists() and (ROOT / EXERCISES).exists()
    assert "--no-browser" not in options  # a person gets a browser window
    if hasattr(os, "geteuid"):  # JupyterLab refuses to run as root without --allow-root
        assert ("--allow-root" in options) == (os.geteuid() == 0), options


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab on a copy of the course: yields (base URL, token)."""
    options, _, files = make_lab_args()
    tmp = tmp_path_factory.mktemp("lab")
    course = tmp / "course"
    for folder in ("chapters", "exercises"):
        shutil.copytree(ROOT / folder, course / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    # No "would you like to get Jupyter news?" pop-up over the notebook.
    notification = tmp / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), IPYTHONDIR=str(tmp / "ipython"),
    )
    port, token = bc.free_port(), secrets.token_hex(16)
    argv = [str(Path(sys.executable).with_name("jupyter")), "lab", *options, *files,
            f"--ServerApp.root_dir={course}", "--no-browser", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in argv:
        argv.append("--allow-root")  # CI containers run as root
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen(argv, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except Exception:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError("jupyter lab did not start:\n" + (tmp / "server.log").read_text()[-3000:])
                time.sleep(0.25)
        yield base, token, files[0]
    finally:
        server.terminate()  # the server shuts its kernels down on the way out
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def lab_page(lab):
    with bc.chromium() as context:
        page = context.new_page()
        bc.Watcher(page)  # aborts any request that leaves localhost
        yield page


# JavaScript run in the page; JupyterLab's application object is window.jupyterapp
# (--LabApp.expose_app_in_browser).
NOTEBOOK_READY = """(path) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(w && w.context && w.context.isReady && w.context.path === path && kernel
            && kernel.status === 'idle' && w.content && w.content.widgets.length > 0);
}"""
KERNEL_IDLE = """() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'"""
ALL_RUN = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  return Array.from(w.content.model.cells).every((c) => c.type !== 'code' || c.executionCount !== null)
         && w.sessionContext.session.kernel.status === 'idle';
}"""
ERRORS = """() => Array.from(window.jupyterapp.shell.currentWidget.content.model.cells).flatMap(
  (c) => c.type !== 'code' ? [] : c.outputs.toJSON().filter((o) => o.output_type === 'error')
                                   .map((o) => `${o.ename}: ${o.evalue}`))"""
COMMAND = "async ([id, args]) => { await window.jupyterapp.commands.execute(id, args || {}); }"
SHOW_CELL = """async (i) => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  nb.activeCellIndex = i;
  await nb.scrollToItem(i, 'start');
  document.querySelectorAll('[data-test-cell]').forEach((e) => e.removeAttribute('data-test-cell'));
  nb.widgets[i].node.setAttribute('data-test-cell', 'shown');
}"""
RUN_CELL = """async (i) => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  nb.activeCellIndex = i;
  await window.jupyterapp.commands.execute('notebook:run-cell');
}"""


def open_notebook(page, lab, path):
    base, token, _ = lab
    if "/lab" not in page.url:
        page.goto(f"{base}/lab/tree/{path}?token={token}")
    else:
        page.evaluate(COMMAND, ["docmanager:open", {"path": path}])
    page.wait_for_function(NOTEBOOK_READY, arg=path, timeout=90_000)


def first_cell(path, pattern):
    cells = nbformat.read(ROOT / path, as_version=4).cells
    return next(i for i, c in enumerate(cells) if c.cell_type == "code" and re.search(pattern, c.source))


def test_chapter_one_runs_and_its_slider_redraws_the_figure(lab, lab_page):
    page = lab_page
    _, _, opened = lab
    assert opened == CHAPTER
    open_notebook(page, lab, CHAPTER)  # the page `make lab` opens

    # Run > Run All Cells, from cleared outputs, and wait for the kernel to finish.
    page.evaluate(COMMAND, ["editmenu:clear-all"])
    page.evaluate(COMMAND, ["runmenu:run-all"])
    page.wait_for_function(ALL_RUN, timeout=180_000)
    assert page.evaluate(ERRORS) == []

    page.evaluate(SHOW_CELL, first_cell(CHAPTER, r"logistic_regression_explorer\("))
    cell = page.locator("[data-test-cell]")
    steps = cell.locator(".widget-slider", has=page.locator(".widget-label", has_text=re.compile(r"^\s*steps\s*$")))
    eta = cell.locator(".widget-slider", has=page.locator(".widget-label", has_text=re.compile(r"^\s*eta\s*$")))
    steps.locator(".noUi-handle").wait_for(timeout=30_000)
    assert eta.count() == 1
    figure = cell.locator(".widget-output img").first
    figure.wait_for(timeout=30_000)  # drawn by the kernel when the cell ran
    before_src, before_steps = figure.get_attribute("src"), steps.locator(".widget-readout").inner_text()

    # Drag the "steps" handle to the middle of its track, as a reader would.
    handle = steps.locator(".noUi-handle").bounding_box()
    track = steps.locator(".noUi-base").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + 0.5 * track["width"], handle["y"] + handle["height"] / 2, steps=8)
    page.mouse.up()

    # Each move re-runs the fit in the kernel and redraws; wait until the last redraw
    # is in: the kernel idle and the figure unchanged for a second.
    src, since, deadline = None, time.time(), time.time() + 90
    while time.time() < deadline:
        now_src = figure.get_attribute("src") if figure.count() else None
        if now_src != src or not page.evaluate(KERNEL_IDLE):
            src, since = now_src, time.time()
        elif time.time() - since > 1.0:
            break
        page.wait_for_timeout(100)
    after_steps = steps.locator(".widget-readout").inner_text()
    assert int(after_steps) > int(before_steps), (before_steps, after_steps)
    assert src is not None and src != before_src, "the figure was not redrawn after the slider moved"
    assert page.evaluate(ERRORS) == []
    bc.screenshot(page, ROOT / "_build" / "screenshots" / "lab_chapter_01_widget.png")


def test_an_untouched_exercise_check_says_not_done_yet(lab, lab_page):
    page = lab_page
    open_notebook(page, lab, EXERCISES)
    check = first_cell(EXERCISES, r"grading\.check")
    cell = nbformat.read(ROOT / EXERCISES, as_version=4).cells[check]
    assert cell.outputs == [], "exercise notebooks are saved without outputs"
    number = re.fullmatch(r'grading\.check\("([\d.]+)"\)', cell.source).group(1)
    checks = json.loads((ROOT / "exercises" / "checks.json").read_text())
    entry = next(ex for nb in checks["notebooks"] for ex in nb["exercises"] if ex["id"] == number)
    title, total = entry["title"], entry["points"]  # the visible check's points
    for i in range(check + 1):  # the imports, the learner's (empty) function, its check
        page.evaluate(RUN_CELL, i)
    page.wait_for_function(ALL_RUN.replace(".every(", ".slice(0, %d).every(" % (check + 1)), timeout=60_000)

    page.evaluate(SHOW_CELL, check)
    output = page.locator("[data-test-cell] .jp-OutputArea")
    expected = f"Exercise {number} ({title}): FAIL 0/{total} - not done yet"
    output.get_by_text(expected).first.wait_for(timeout=30_000)
    assert expected in output.inner_text()
    bc.screenshot(page, ROOT / "_build" / "screenshots" / "lab_exercise_01_check.png")
