"""The built website in headless Chromium: every page of _toc.yml, offline.

The site is built into a temporary folder exactly as tests/test_book.py does,
served from a thread on a free localhost port, and read by Debian's Chromium
through Playwright. Any request to another host is aborted and fails the page.
A screenshot of each page's first screen is kept in _build/screenshots/.
Each widget's static twin (dbnlib.widgets.StaticTwin) is moved through every
position of its sliders, and each page must stay under MAX_PAGE_BYTES of its
own and MAX_TOTAL_BYTES in all.
"""

import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_book import ROOT, build, toc_files  # noqa: E402

import browser_checks as bc  # noqa: E402  (tools/ is on sys.path: tests/conftest.py)

# Without Chromium the tests are skipped, except in CI (which installs it: .ci/run).
MISSING = bc.chromium_missing()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(MISSING) and not os.environ.get("CI"), reason=str(MISSING))]

SCREENSHOTS = ROOT / "_build" / "screenshots"


def reading_order():
    """Every page of _toc.yml in the order "next" visits them, sections included
    (the API reference's module pages are sections of its index)."""
    import yaml

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                yield entry["file"]
            yield from walk(entry.get("sections", []))

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]] + list(walk(c for part in toc["parts"] for c in part["chapters"]))
    assert set(toc_files()) <= set(pages), pages
    return pages


PAGES = reading_order()
# What a page may weigh: its own HTML (with the twins' frames) and figures, and
# everything it downloads, site-wide files included (theme, MathJax, fonts and
# the 4.4 MB of scripts that draw saved widget state), uncompressed.
MAX_PAGE_BYTES = 2_000_000
MAX_TOTAL_BYTES = 12_000_000


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    with bc.serve(build(tmp_path_factory.mktemp("book"))) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with bc.chromium() as context:
        yield context


@pytest.fixture
def page(browser):
    page = browser.new_page()
    watcher = bc.Watcher(page)
    yield page, watcher
    page.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_with_figures_math_and_widgets(page, base_url, name):
    page, watcher = page
    problems = bc.check_page(page, f"{base_url}/{name}.html", watcher, max_bytes=MAX_PAGE_BYTES,
                             max_total_bytes=MAX_TOTAL_BYTES)
    bc.screenshot(page, SCREENSHOTS / f"{Path(name).name}.png")
    assert not problems, f"{name}.html:\n  " + "\n  ".join(problems)


def test_index_forwards_to_the_first_page(page, base_url):
    page, watcher = page
    page.goto(f"{base_url}/index.html")
    page.wait_for_url(re.compile(rf"/{re.escape(PAGES[0])}\.html$"))
    assert not watcher.problems()


def test_next_and_previous_walk_the_whole_book(page, base_url):
    page, watcher = page
    assert not bc.navigation_problems(page, base_url, PAGES)
    assert not watcher.outside


@pytest.fixture
def first_chapter_word():
    import nbformat

    first = PAGES[1]
    path = ROOT / f"{first}.ipynb"
    text = nbformat.read(path, as_version=4).cells[0].source if path.exists() else (ROOT / f"{first}.md").read_text()
    title = re.search(r"^# (.+)$", text, re.M).group(1)
    return first, max(re.findall(r"[A-Za-z]+", title), key=len).lower()


def test_search_page_finds_the_first_chapter(page, base_url, first_chapter_word):
    """search.html?q=<word> lists results, among them the chapter the word comes from."""
    page, watcher = page
    chapter, word = first_chapter_word
    problems = bc.search_problems(page, base_url, word, chapter) + watcher.problems()
    assert not problems, "\n".join(problems)


def test_widget_pages_use_no_cdn(base_url):
    """Pages with widgets load require.js and embed-amd.js from the site itself."""
    import urllib.request

    for name in PAGES:
        html = urllib.request.urlopen(f"{base_url}/{name}.html").read().decode()
        if "application/vnd.jupyter.widget-state+json" not in html:
            continue
        scripts = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
        assert any("_static/widgets/embed-amd.js" in s for s in scripts), (name, scripts)
        assert not [s for s in scripts if "://" in s], (name, scripts)


WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'


def test_every_widget_has_a_static_twin_that_moves_offline(page, base_url):
    """Each saved ipywidget has a twin beside it, shown instead of the frozen
    widget, whose sliders swap the figure with no kernel and no network."""
    page, watcher = page
    found = {}
    for name in PAGES:
        page.goto(f"{base_url}/{name}.html", wait_until="load")
        bc.settle(page)
        n_widgets = page.locator(WIDGET_VIEW).count()
        twins = page.locator(".dbnlib-twin")
        if not n_widgets:
            assert twins.count() == 0, f"{name}: a static twin without a widget"
            continue
        found[name] = twins.count()
        assert twins.count() == n_widgets, f"{name}: {n_widgets} widgets but {twins.count()} static twins"
        for k in range(n_widgets):
            area = page.locator(WIDGET_VIEW).nth(k).locator("xpath=..")
            assert area.locator(".dbnlib-twin").is_visible(), f"{name}: widget {k + 1}'s twin is not shown"
            assert not area.locator(".widget-subarea").is_visible(), f"{name}: widget {k + 1}'s frozen state still shows"
            # One step of the first slider, by hand: the picture and the value shown change.
            twin = area.locator(".dbnlib-twin")
            before = twin.locator("img").get_attribute("src"), twin.locator("output").first.inner_text()
            slider = twin.locator("input[type=range]").first
            slider.focus()
            page.keyboard.press("End" if slider.input_value() != slider.get_attribute("max") else "Home")
            after = twin.locator("img").get_attribute("src"), twin.locator("output").first.inner_text()
            assert after[0] != before[0] and after[1] != before[1], f"{name}: twin {k + 1} did not change"
        assert not bc.twin_problems(page), (name, bc.twin_problems(page))
    assert not watcher.problems()
    # The chapters that have ipywidgets today (1, 2, 4, 5 and 6) all have their twins.
    assert len(found) >= 5, found


def test_page_weights_are_reported(page, base_url, capsys):
    """Every page stays under MAX_PAGE_BYTES of its own and MAX_TOTAL_BYTES in
    all; the weights are printed for the record."""
    page, _ = page
    weights = {}
    for name in PAGES:
        page.goto(f"{base_url}/{name}.html", wait_until="load")
        page.wait_for_load_state("networkidle")
        total, sizes = bc.page_weight(page)
        weights[name] = bc.own_weight(sizes), total
    with capsys.disabled():
        print("\npage weights (own / in all): " + ", ".join(
            f"{Path(n).name} {own / 1e6:.2f} / {total / 1e6:.2f} MB" for n, (own, total) in weights.items()))
    heavy = {n: w for n, w in weights.items() if w[0] > MAX_PAGE_BYTES or w[1] > MAX_TOTAL_BYTES}
    assert not heavy, heavy
    assert min(own for own, _ in weights.values()) > 10_000  # the measure sees the pages at all
