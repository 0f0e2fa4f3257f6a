"""Check web pages in headless Chromium: the book's pages and JupyterLab.

Used by tests/test_browser.py (the built site), tests/test_browser_lab.py
(JupyterLab) and tests/test_browser_selftest.py (which feeds these same
functions broken pages to show that they notice). Every check returns a list
of problems in words; an empty list means the page is fine.

Chromium is Debian's ``chromium`` (``.ci/run`` installs it), driven by
Playwright's Python API; nothing here downloads a browser. Every request that
leaves localhost is recorded and aborted, so a page that needs the internet
fails its check instead of silently loading from a CDN.
"""

import contextlib
import functools
import os
import re
import shutil
import socket
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
VIEWPORT = {"width": 1280, "height": 900}


def chromium_missing():
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM=)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory):
    """Serve ``directory`` over HTTP on a free localhost port; yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def chromium():
    """A headless Chromium context with a fresh profile that is deleted afterwards.

    Chromium's other files (crash reports, dconf) go to the same temporary
    folder, not to ~/.config and ~/.cache.
    """
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="chromium-") as tmp, sync_playwright() as pw:
        env = dict(os.environ, XDG_CONFIG_HOME=f"{tmp}/config", XDG_CACHE_HOME=f"{tmp}/cache")
        context = pw.chromium.launch_persistent_context(
            f"{tmp}/profile", executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport=VIEWPORT, env=env,
        )
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()


def is_local(url):
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "file", "chrome-extension"):
        return True
    return parts.hostname in LOCAL_HOSTS


class Watcher:
    """Record what goes wrong on a page: console errors, uncaught exceptions,
    failed requests, HTTP errors, and requests to other hosts (aborted)."""

    def __init__(self, page):
        self.page = page
        self.outside, self.console_errors, self.page_errors, self.failed, self.http_errors = [], [], [], [], []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("requestfailed", self._on_failed)
        page.on("response", self._on_response)
        page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort("blockedbyclient")

    def _on_console(self, msg):
        if msg.type == "error":
            self.console_errors.append(msg.text)

    def _on_failed(self, request):
        if is_local(request.url):  # outside requests are reported as such
            self.failed.append(f"{request.url} ({request.failure})")

    def _on_response(self, response):
        if response.status >= 400:
            self.http_errors.append(f"{response.url} (HTTP {response.status})")

    def clear(self):
        for found in (self.outside, self.console_errors, self.page_errors, self.failed, self.http_errors):
            found.clear()

    def problems(self):
        out = [f"request to a host other than localhost: {u}" for u in dict.fromkeys(self.outside)]
        out += [f"HTTP error: {u}" for u in dict.fromkeys(self.http_errors)]
        out += [f"failed request: {u}" for u in dict.fromkeys(self.failed)]
        out += [f"uncaught exception: {e}" for e in self.page_errors]
        out += [f"console error: {e}" for e in self.console_errors]
        return out


# --- what a loaded page must show -------------------------------------------------

_SETTLE_JS = """async (timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  const until = (ok) => new Promise((resolve) => {
    const poll = () => (ok() || Date.now() > deadline) ? resolve() : setTimeout(poll, 50);
    poll();
  });
  // MathJax 3 is loaded with `defer`; its startup promise resolves after the first typeset.
  await until(() => !document.querySelector('script[src*="mathjax"]')
                    || (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise));
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await Promise.race([window.MathJax.startup.promise.catch(() => null), until(() => false)]);
  }
  // Saved widget state: each view script gets a rendered widget in front of it.
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  await until(() => Array.from(views).every(
    (s) => s.parentElement && s.parentElement.querySelector('.jupyter-widgets, .widget-subarea > *')));
  await Promise.all(Array.from(document.images).map((img) => img.decode().catch(() => null)));
}"""

_IMAGES_JS = """() => Array.from(document.images)
  .filter((img) => !(img.complete && img.naturalWidth > 0))
  .map((img) => img.getAttribute('src') ? img.getAttribute('src').slice(0, 120) : '(no src)')"""

_MATH_JS = r"""() => {
  const root = document.querySelector('main, article, [role=main]') || document.body;
  const math = Array.from(root.querySelectorAll('.math'));
  const untypeset = math.filter((m) => !m.querySelector('mjx-container') && !m.closest('mjx-container'))
                        .map((m) => m.textContent.trim().slice(0, 80));
  const errors = Array.from(root.querySelectorAll('mjx-merror'))
                      .map((e) => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80));
  // MathJax draws an undefined macro such as \vv as red text (its MathML copy says so).
  const undefinedMacros = Array.from(root.querySelectorAll('mjx-assistive-mml mtext[mathcolor="red"], math mtext[mathcolor="red"]'))
                      .map((e) => e.textContent).filter((t) => t.startsWith('\\'));
  const clone = root.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml, .highlight, textarea')
       .forEach((e) => e.remove());
  return {count: root.querySelectorAll('mjx-container').length, untypeset, errors, undefinedMacros,
          text: clone.textContent};
}"""

# Raw TeX left in the visible text: display delimiters, \( \[ \begin{...}, or $...\command...$
_RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\\begin\{|\$[^$\n]{0,200}?\\[A-Za-z]+[^$\n]{0,200}?\$")


def settle(page, timeout_ms=20_000):
    """Wait until MathJax has typeset, the widgets are drawn and the images decoded."""
    page.evaluate(_SETTLE_JS, timeout_ms)


def image_problems(page):
    return [f"image did not load: {src}" for src in page.evaluate(_IMAGES_JS)]


def math_problems(page):
    found = page.evaluate(_MATH_JS)
    out = [f"formula not typeset by MathJax: {t!r}" for t in found["untypeset"]]
    out += [f"MathJax error in a formula: {e!r}" for e in found["errors"]]
    out += [f"undefined TeX macro: {m}" for m in dict.fromkeys(found["undefinedMacros"])]
    for m in list(_RAW_TEX.finditer(found["text"]))[:5]:
        start = max(0, m.start() - 40)
        out.append(f"raw TeX in the visible text: {found['text'][start:m.end() + 40]!r}")
    return out


_WIDGETS_JS = """() => Array.from(
    document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')).map((script, i) => {
  const area = script.parentElement;
  const widget = area && area.querySelector('.jupyter-widgets');
  const box = widget ? widget.getBoundingClientRect() : null;
  // A static twin (dbnlib.widgets.StaticTwin) in the same output replaces the
  // saved state, which _static/twins.css hides on the website.
  const twin = area && area.querySelector('.dbnlib-twin');
  const twinBox = twin ? twin.getBoundingClientRect() : null;
  // The notebook cell that holds the widget, and its neighbours in the page.
  let cell = script.closest('.cell') || area;
  const near = (el, step, n) => {
    const out = [];
    for (let e = el[step]; e && out.length < n; e = e[step]) out.push(e);
    return out;
  };
  const before = near(cell, 'previousElementSibling', 3);
  const after = near(cell, 'nextElementSibling', 3);
  const text = [...before, ...after].map((e) => e.innerText || '').join(' ');
  // The static figure: an image in one of the next two cells.
  const figure = after.slice(0, 2).some((e) => e.querySelector('img'));
  return {index: i, rendered: !!widget, visible: !!box && box.width > 0 && box.height > 0,
          controls: area ? area.querySelectorAll('.widget-slider, .widget-inline-hbox, .widget-box').length : 0,
          twin: !!twin, twinVisible: !!twinBox && twinBox.width > 0 && twinBox.height > 0,
          says_lab: /JupyterLab|make lab/.test(text), figure};
})"""


def widget_problems(page):
    """Each saved widget must render, say near it that its controls need
    JupyterLab, and have a static figure after it or a static twin. A widget
    with a static twin in its output may be hidden (the twin shows instead),
    but the twin must be visible; :func:`twin_problems` checks that the twin
    works."""
    out = []
    for w in page.evaluate(_WIDGETS_JS):
        name = f"widget {w['index'] + 1}"
        if not w["rendered"]:
            out.append(f"{name}: its saved state was not drawn (no .jupyter-widgets element)")
        elif w["twin"] and not w["twinVisible"]:
            out.append(f"{name}: its static twin is hidden or empty (is _static/twins.css loaded?)")
        elif not w["twin"] and (not w["visible"] or not w["controls"]):
            out.append(f"{name}: drawn but empty or invisible")
        if not w["says_lab"]:
            out.append(f"{name}: no text near it says that the controls need JupyterLab (`make lab`)")
        if not w["figure"] and not w["twin"]:  # a visible twin is itself the static figure
            out.append(f"{name}: no static figure (an <img>) in the cells after it, and no static twin")
    return out


_TWINS_JS = """() => Array.from(document.querySelectorAll('.dbnlib-twin')).map((twin) => {
  let frames = null;
  try { frames = JSON.parse(twin.getAttribute('data-frames')).length; } catch (e) { frames = null; }
  const sizes = Array.from(twin.querySelectorAll('input[type=range]')).map((r) => Number(r.max) - Number(r.min) + 1);
  return {frames, sizes};
})"""

_TWIN_STATE_JS = """async (twin) => {
  const img = twin.querySelector('img');
  await (img && img.decode ? img.decode().catch(() => null) : null);
  return {src: img ? img.getAttribute('src') : null, loaded: !!img && img.complete && img.naturalWidth > 0,
          said: Array.from(twin.querySelectorAll('output')).map((o) => o.textContent)};
}"""


def twin_problems(page):
    """Move every slider of every static twin through all its positions, with
    the keyboard as a reader would, and check that each step shows a new
    picture that loads and a label of the value; then put it back."""
    out = []
    for k, info in enumerate(page.evaluate(_TWINS_JS)):
        name = f"static twin {k + 1}"
        twin = page.locator(".dbnlib-twin").nth(k)
        if not info["sizes"]:
            out.append(f"{name}: no slider (<input type=range>)")
            continue
        expected = 1
        for n in info["sizes"]:
            expected *= n
        if info["frames"] != expected:
            out.append(f"{name}: data-frames holds {info['frames']} pictures, its sliders need {expected}")
            continue
        if not twin.is_visible():
            out.append(f"{name}: not shown (hidden or empty: is _static/twins.css loaded?)")
            continue
        twin.scroll_into_view_if_needed()
        for s in range(len(info["sizes"])):
            slider = twin.locator("input[type=range]").nth(s)
            start = slider.input_value()
            slider.focus()
            page.keyboard.press("Home")
            state = twin.evaluate(_TWIN_STATE_JS)
            seen = {state["src"]}
            for step in range(1, info["sizes"][s]):
                page.keyboard.press("ArrowRight")
                new = twin.evaluate(_TWIN_STATE_JS)
                if slider.input_value() != str(step):
                    out.append(f"{name}, slider {s + 1}: ArrowRight did not move it to position {step}")
                    break
                if new["src"] in seen:
                    out.append(f"{name}, slider {s + 1}: the picture did not change at position {step}")
                    break
                if not new["loaded"]:
                    out.append(f"{name}, slider {s + 1}: the picture at position {step} did not load")
                    break
                if new["said"] == state["said"]:
                    out.append(f"{name}, slider {s + 1}: the value shown did not change at position {step}")
                    break
                seen.add(new["src"])
                state = new
            slider.fill(start)  # back where the page started, for the screenshot
    return out


_WEIGHT_JS = """() => {
  const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
  return entries.map((e) => [e.name, e.encodedBodySize || e.transferSize || 0]);
}"""


def page_weight(page):
    """What the page has downloaded so far: (total bytes, [(url, bytes)] largest first).

    Data URIs (the twins' frames) count as part of the HTML that holds them.
    """
    sizes = sorted(((url, int(n)) for url, n in page.evaluate(_WEIGHT_JS)), key=lambda x: -x[1])
    return sum(n for _, n in sizes), sizes


def own_weight(sizes):
    """The bytes that belong to the page itself (its HTML and its figures), not
    the site-wide files under ``_static/`` (theme, MathJax, fonts, the widget
    scripts) that a reader's browser fetches once for the whole site."""
    return sum(n for url, n in sizes if "/_static/" not in urlsplit(url).path)


def weight_problems(page, max_bytes=None, max_total_bytes=None):
    """The page's own bytes must stay under ``max_bytes``, everything it
    downloads (site-wide files included) under ``max_total_bytes``."""
    total, sizes = page_weight(page)
    out = []
    largest = ", ".join(f"{urlsplit(u).path.rsplit('/', 1)[-1]} {n / 1e6:.2f} MB" for u, n in sizes[:3])
    if max_bytes is not None and own_weight(sizes) > max_bytes:
        out.append(f"the page's own HTML and figures weigh {own_weight(sizes) / 1e6:.2f} MB, more than "
                   f"{max_bytes / 1e6:.2f} MB")
    if max_total_bytes is not None and total > max_total_bytes:
        out.append(f"the page downloads {total / 1e6:.2f} MB in all, more than {max_total_bytes / 1e6:.2f} MB "
                   f"(largest: {largest})")
    return out


_FONTS_JS = """async () => {
  // Load every font the page's CSS declares, used on this page or not, the way
  // the browser would (first source in a format it reads); report the failures.
  const faces = Array.from(document.fonts);
  await Promise.all(faces.map((f) => f.status === 'unloaded' ? f.load().catch(() => null) : f.loaded.catch(() => null)));
  return faces.filter((f) => f.status === 'error')
              .map((f) => `${f.family} ${f.style} ${f.weight}`.replace(/"/g, ''));
}"""


def font_problems(page):
    """Every font the page declares loads from the site (fonts used only by
    icons or by other pages are loaded too). The failing file's URL is in the
    Watcher's report."""
    return [f"font did not load: {face}" for face in dict.fromkeys(page.evaluate(_FONTS_JS))]


def check_page(page, url, watcher, timeout_ms=20_000, max_bytes=None, max_total_bytes=None, idle_ms=60_000):
    """Load ``url`` and return everything wrong with it (empty when it is fine).

    A page whose network is not idle (no request for 500 ms) within ``idle_ms``
    is reported as never having stopped loading. The minute is for CI's two
    cores, where a parallel worker executing notebooks can slow the local
    server's answers to the heaviest pages past 20 s; a page that keeps loading
    is still caught.

    With ``max_bytes`` or ``max_total_bytes``, a page heavier than that is
    reported too (see :func:`weight_problems`; measured before the font check
    loads the fonts the page does not use).
    """
    watcher.clear()
    response = page.goto(url, wait_until="load")
    problems = []
    if response is None or not response.ok:
        problems.append(f"{url} answered {response.status if response else 'nothing'}")
    try:
        page.wait_for_load_state("networkidle", timeout=idle_ms)
    except Exception:  # a page that keeps loading is reported by what it loads
        problems.append("the page never stopped loading (network not idle)")
    settle(page, timeout_ms)
    problems += weight_problems(page, max_bytes, max_total_bytes)
    problems += image_problems(page) + math_problems(page) + widget_problems(page) + twin_problems(page)
    problems += font_problems(page)
    return list(dict.fromkeys(watcher.problems() + problems))


# --- the site as a whole ----------------------------------------------------------


def _path(url):
    return urlsplit(url).path


def navigation_problems(page, base, pages):
    """Click "next" from the first page to the last, then "previous" back.

    ``pages`` are the site's page names in reading order (``intro``,
    ``chapters/01_...``); the links must visit exactly them.
    """
    out = []
    page.goto(f"{base}/{pages[0]}.html")
    for direction, order, link in (("next", pages, "a.right-next"), ("previous", pages[::-1], "a.left-prev")):
        if _path(page.url) != f"/{order[0]}.html":
            out.append(f"expected to start the {direction} walk at {order[0]}.html, at {page.url}")
            return out
        for want in order[1:]:
            button = page.locator(link)
            if button.count() != 1:
                out.append(f"{_path(page.url)} has {button.count()} '{direction}' links, expected 1 (to {want}.html)")
                return out
            with page.expect_navigation(wait_until="domcontentloaded"):
                button.click()
            if _path(page.url) != f"/{want}.html":
                out.append(f"'{direction}' led to {_path(page.url)}, expected /{want}.html")
                return out
        if page.locator(link).count():
            out.append(f"the last page of the {direction} walk, {_path(page.url)}, still has a '{direction}' link")
    return out


def search_problems(page, base, word, expect_page, timeout_ms=15_000):
    """``search.html?q=word`` must list results, among them ``expect_page``."""
    page.goto(f"{base}/search.html?q={word}")
    try:
        page.wait_for_selector("#search-results ul.search li a", timeout=timeout_ms)
    except Exception:
        status = page.locator("#search-results").inner_text() if page.locator("#search-results").count() else ""
        return [f"search for {word!r} showed no results: {status.strip()[:200]!r}"]
    hrefs = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(a => a.href)")
    if not any(_path(h).endswith(f"/{expect_page}.html") for h in hrefs):
        return [f"search for {word!r} did not list {expect_page}.html: {hrefs[:10]}"]
    return []


def screenshot(page, path):
    """The first screen of the page, as a reader opening it sees it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path))
