"""The browser checks catch what they are meant to catch.

Tiny pages, each with one fault (a broken image, a formula MathJax never
typeset, a request to another host, ...), are served from a temporary folder
and fed to the same functions that tests/test_browser.py runs on the book
(tools/browser_checks.py). Each fault must be reported, and a page without
faults must pass.
"""

import importlib.util
import os
import struct
import zlib
from pathlib import Path

import pytest

import browser_checks as bc  # tools/ is on sys.path: tests/conftest.py

ROOT = Path(__file__).resolve().parents[1]

# Without Chromium the tests are skipped, except in CI (which installs it: .ci/run).
MISSING = bc.chromium_missing()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(MISSING) and not os.environ.get("CI"), reason=str(MISSING))]



def tiny_png(width=4, height=3, rgb=b"\xcc\x22\x22"):
    """A small PNG of one colour (red by default), written by hand."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + rgb * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


MATHJAX = (
    '<script>window.MathJax = {tex: {macros: {vv: "\\\\mathbf{v}"}}};</script>'
    '<script defer src="mathjax/tex-chtml.js"></script>'
)
GOOD_BODY = """
<h1>A page</h1>
<p>Inline math <span class="math notranslate nohighlight">\\(x^2 + \\vv\\)</span> and a display:</p>
<div class="math notranslate nohighlight">\\[ \\sum_{i=1}^{N} w_i x_i \\]</div>
<p>Code may show TeX: <code>$$ y $$</code></p>
<pre>$$ \\frac{1}{2} $$</pre>
<img src="figure.png" alt="a figure">
"""
WIDGET_STATE = """<script type="application/vnd.jupyter.widget-state+json">{"version_major": 2, "version_minor": 0, "state": {}}</script>"""


def twin(frames=None, sizes=(3,), initial=None):
    """The HTML of a static twin (dbnlib.widgets.StaticTwin) over one-colour
    pictures, one colour per frame unless ``frames`` (PNG bytes) is given."""
    from dbnlib.widgets import StaticTwin

    n = 1
    for k in sizes:
        n *= k
    frames = frames if frames is not None else [tiny_png(rgb=bytes([40 * i % 256, 90, 200 - 10 * i])) for i in range(n)]
    controls = [(f"control {c}", [f"value {i}" for i in range(k)]) for c, k in enumerate(sizes)]
    html = StaticTwin(frames, controls, initial or (0,) * len(sizes), caption="Moving this needs JupyterLab (make lab)",
                      alt="a picture").html()
    return html


TWIN_HEAD = MATHJAX + '<link rel="stylesheet" href="twins.css"><script src="twins.js"></script>'
WIDGET_VIEW = ('<script type="application/vnd.jupyter.widget-view+json">'
               '{"version_major": 2, "version_minor": 0, "model_id": "abc"}</script>')
DRAWN_WIDGET = ('<div class="widget-subarea"><div class="jupyter-widgets widget-slider" '
                'style="width:200px;height:20px">slider</div></div>')


def widget_with_twin(twin_html):
    """A drawn widget with its twin in the same output, as myst-nb writes it, a
    sentence before it and a static figure after it."""
    return (GOOD_BODY + "<p>Moving the slider needs JupyterLab (<code>make lab</code>).</p>"
            f'<div class="cell"><div class="cell_output">{DRAWN_WIDGET}{WIDGET_VIEW}'
            f'<div class="output text_html">{twin_html}</div></div></div>'
            '<div class="cell"><img src="figure.png"></div>')


def page_html(body, head=MATHJAX):
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body><main>{body}</main></body></html>"


PAGES = {
    "good": page_html(GOOD_BODY),
    "broken_image": page_html(GOOD_BODY.replace('src="figure.png"', 'src="no-such-figure.png"')),
    "untypeset": page_html("<p>Here MathJax is never loaded:</p>"
                           '<div class="math notranslate nohighlight">\\[ E = mc^2 \\]</div>'
                           "<p>$$ a^2 + b^2 = c^2 $$</p>", head=""),
    "raw_dollars": page_html(GOOD_BODY + "<p>A formula the parser missed: $\\sigma(z) = 1/(1+e^{-z})$ here.</p>"),
    "tex_error": page_html(GOOD_BODY + '<p><span class="math">\\(x^2^3\\)</span></p>'),
    "undefined_macro": page_html(GOOD_BODY + '<p><span class="math">\\(\\vv + \\notamacro\\)</span></p>'),
    "outside_script": page_html(GOOD_BODY + '<script src="https://cdn.jsdelivr.net/npm/requirejs@2.3.8/require.js"></script>'),
    "outside_image": page_html(GOOD_BODY + '<img src="https://example.org/figure.png">'),
    "outside_font": page_html(GOOD_BODY, head=MATHJAX + "<style>@font-face {font-family: Far; "
                              "src: url(https://fonts.example.com/far.woff2);} body {font-family: Far;}</style>"),
    "unused_missing_font": page_html(GOOD_BODY, head=MATHJAX + "<style>@font-face {font-family: Gone; "
                                     "src: url(fonts/gone.woff2) format('woff2');}</style>"),
    "console_error": page_html(GOOD_BODY + "<script>console.error('something broke');</script>"),
    "exception": page_html(GOOD_BODY + "<script>undefinedFunction();</script>"),
    "widget_not_drawn": page_html(
        GOOD_BODY + '<div class="cell"><div class="output"><script type="application/vnd.jupyter.widget-view+json">'
        '{"version_major": 2, "version_minor": 0, "model_id": "abc"}</script></div></div>', head=MATHJAX + WIDGET_STATE),
    "widget_drawn_alone": page_html(
        GOOD_BODY + '<div class="cell"><div class="output"><div class="widget-subarea"><div class="jupyter-widgets '
        'widget-slider" style="width:200px;height:20px">slider</div></div><script type="application/vnd.jupyter.widget-view+json">'
        '{"version_major": 2, "version_minor": 0, "model_id": "abc"}</script></div></div>', head=MATHJAX + WIDGET_STATE),
    "widget_well_placed": page_html(
        GOOD_BODY + "<p>Moving the slider needs JupyterLab (<code>make lab</code>).</p>"
        '<div class="cell"><div class="output"><div class="widget-subarea"><div class="jupyter-widgets '
        'widget-slider" style="width:200px;height:20px">slider</div></div><script type="application/vnd.jupyter.widget-view+json">'
        '{"version_major": 2, "version_minor": 0, "model_id": "abc"}</script></div></div>'
        '<div class="cell"><img src="figure.png"></div>', head=MATHJAX + WIDGET_STATE),
}
PAGES.update({
    "twin_good": page_html(widget_with_twin(twin(sizes=(3, 2), initial=(1, 0))), head=TWIN_HEAD + WIDGET_STATE),
    "twin_stuck": page_html(GOOD_BODY + twin(frames=[tiny_png()] * 3), head=TWIN_HEAD),
    "twin_bad_frame": page_html(GOOD_BODY + twin(frames=[tiny_png(), b"not a png", tiny_png(rgb=b"\x00\x00\xff")]),
                                head=TWIN_HEAD),
    "twin_without_script": page_html(GOOD_BODY + twin(), head=MATHJAX + '<link rel="stylesheet" href="twins.css">'),
    "twin_hidden": page_html(widget_with_twin(twin()), head=MATHJAX + '<script src="twins.js"></script>' + WIDGET_STATE),
})

# page -> texts that must all appear in what the checks report for it
EXPECTED = {
    "broken_image": ["image did not load: no-such-figure.png", "HTTP error"],
    "untypeset": ["formula not typeset by MathJax", "raw TeX in the visible text"],
    "raw_dollars": ["raw TeX in the visible text: ", "\\sigma"],
    "tex_error": ["MathJax error in a formula"],
    "undefined_macro": ["undefined TeX macro: \\notamacro"],
    "outside_script": ["request to a host other than localhost: https://cdn.jsdelivr.net/npm/requirejs"],
    "outside_image": ["request to a host other than localhost: https://example.org/figure.png"],
    "outside_font": ["request to a host other than localhost: https://fonts.example.com/far.woff2",
                     "font did not load: Far"],
    "unused_missing_font": ["font did not load: Gone", "HTTP error: ", "/fonts/gone.woff2 (HTTP 404)"],
    "console_error": ["console error: something broke"],
    "exception": ["uncaught exception: ", "undefinedFunction"],
    "widget_not_drawn": ["widget 1: its saved state was not drawn", "widget 1: no text near it says",
                         "widget 1: no static figure"],
    "widget_drawn_alone": ["widget 1: no text near it says", "widget 1: no static figure"],
    "twin_stuck": ["static twin 1, slider 1: the picture did not change at position 1"],
    "twin_bad_frame": ["static twin 1, slider 1: the picture at position 1 did not load"],
    "twin_without_script": ["static twin 1, slider 1: the picture did not change at position 1"],
    "twin_hidden": ["widget 1: its static twin is hidden or empty"],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    (root / "figure.png").write_bytes(tiny_png())
    for name in ("twins.js", "twins.css"):  # the book's own twin script and style
        (root / name).write_text((ROOT / "_static" / name).read_text())
    spec = importlib.util.find_spec("sphinx-mathjax-offline")  # the book's own local MathJax
    (root / "mathjax").symlink_to(Path(spec.submodule_search_locations[0]) / "static" / "mathjax")
    for name, html in PAGES.items():
        (root / f"{name}.html").write_text(html)
    for i, (nxt, prev) in enumerate([("p2", None), ("p3", "p1"), (None, "p2")], start=1):
        links = (f'<a class="right-next" href="{nxt}.html">next</a>' if nxt else "") + (
            f'<a class="left-prev" href="{prev}.html">previous</a>' if prev else "")
        (root / f"p{i}.html").write_text(page_html(f"<p>page {i}</p>{links}", head=""))
    (root / "p2_loop.html").write_text(page_html('<a class="right-next" href="p1.html">next</a>', head=""))
    # a figure fetched again every 100 ms: the network is never idle for 500 ms
    (root / "keeps_loading.html").write_text(page_html(
        GOOD_BODY + "<script>setInterval(() => fetch('figure.png?' + Date.now()), 100);</script>"))
    with bc.serve(root) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with bc.chromium() as context:
        yield context


@pytest.fixture
def page(browser):
    page = browser.new_page()
    yield page, bc.Watcher(page)
    page.close()


def test_a_page_without_faults_passes(site, page):
    page, watcher = page
    assert bc.check_page(page, f"{site}/good.html", watcher) == []
    assert page.locator("mjx-container").count() == 2  # the checks really saw typeset math


def test_a_widget_with_its_sentence_and_figure_passes(site, page):
    page, watcher = page
    assert bc.check_page(page, f"{site}/widget_well_placed.html", watcher) == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fault_is_reported(site, page, name):
    page, watcher = page
    problems = bc.check_page(page, f"{site}/{name}.html", watcher, timeout_ms=3_000)
    report = "\n".join(problems)
    for words in EXPECTED[name]:
        assert words in report, f"{name}: {words!r} not reported; got:\n{report}"


def test_a_page_that_keeps_loading_is_reported(site, page):
    """The network-idle wait is long (a minute, for CI's busy cores) but not endless."""
    page, watcher = page
    problems = bc.check_page(page, f"{site}/keeps_loading.html", watcher, timeout_ms=3_000, idle_ms=2_000)
    assert "the page never stopped loading (network not idle)" in problems, problems


def test_an_outside_request_is_aborted_not_sent(site, page):
    page, watcher = page
    bc.check_page(page, f"{site}/outside_script.html", watcher)
    # require.js would define window.requirejs had the request gone out
    assert page.evaluate("typeof window.requirejs") == "undefined"


def test_navigation_check_follows_next_and_previous(site, page):
    page, _ = page
    assert bc.navigation_problems(page, site, ["p1", "p2", "p3"]) == []
    problems = bc.navigation_problems(page, site, ["p1", "p2_loop", "p3"])
    assert problems and "expected /p2_loop.html" in problems[0], problems
    problems = bc.navigation_problems(page, site, ["p1", "p2"])
    assert problems and "still has a 'next' link" in problems[0], problems


def test_search_check_reports_a_page_without_results(site, page):
    page, _ = page
    problems = bc.search_problems(page, site, "anything", "p1", timeout_ms=2_000)  # there is no search.html here
    assert problems and "showed no results" in problems[0], problems


def test_a_working_twin_passes_and_really_swaps_its_picture(site, page):
    page, watcher = page
    assert bc.check_page(page, f"{site}/twin_good.html", watcher) == []
    twin = page.locator(".dbnlib-twin")
    assert twin.is_visible() and not page.locator(".widget-subarea").is_visible()  # twins.css swaps them
    img, sliders = twin.locator("img"), twin.locator("input[type=range]")
    assert sliders.count() == 2
    # Started at (1, 0): frame 1 * 2 + 0 = 2. The second slider moves by one frame, the first by two.
    assert (img.get_attribute("data-frame") or "2") == "2" and twin.locator("output").first.inner_text() == "value 1"
    start = img.get_attribute("src")
    sliders.nth(1).focus()
    page.keyboard.press("ArrowRight")
    assert img.get_attribute("data-frame") == "3" and img.get_attribute("src") != start
    assert twin.locator("output").nth(1).inner_text() == "value 1"
    sliders.nth(0).focus()
    page.keyboard.press("End")
    assert img.get_attribute("data-frame") == "5" and twin.locator("output").first.inner_text() == "value 2"
    assert watcher.problems() == []


def test_a_twin_with_too_few_frames_is_reported(site, page):
    page, _ = page
    # The first slider (3 positions x 2 of the second = 6 frames) gains 3 positions the frames lack.
    page.goto(f"{site}/twin_good.html")
    page.evaluate("document.querySelector('.dbnlib-twin input[type=range]').max = '5'")
    problems = bc.twin_problems(page)
    assert problems and "data-frames holds 6 pictures, its sliders need 12" in problems[0], problems


def test_a_heavy_page_is_reported(site, page):
    page, watcher = page
    assert bc.check_page(page, f"{site}/good.html", watcher, max_bytes=50_000_000, max_total_bytes=50_000_000) == []
    problems = bc.check_page(page, f"{site}/good.html", watcher, max_bytes=1_000)
    assert any(p.startswith("the page's own HTML and figures weigh ") for p in problems), problems
    problems = bc.check_page(page, f"{site}/good.html", watcher, max_total_bytes=1_000)
    assert any(p.startswith("the page downloads ") and "tex-chtml.js" in p for p in problems), problems
    total, sizes = bc.page_weight(page)
    assert total == sum(n for _, n in sizes) > 1_000
    # Site-wide files under _static/ count in the total only, not in the page's own weight.
    assert bc.own_weight([("http://127.0.0.1:1/_static/theme.js", 500), ("http://127.0.0.1:1/p.html", 70),
                          ("http://127.0.0.1:1/_images/f.png", 30)]) == 100
