"""The static website: it builds with warnings as errors and shows every chapter."""

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


def build(out):
    """Build the book into ``out`` exactly as `make book` does (warnings are errors)."""
    jb = Path(sys.executable).with_name("jupyter-book")
    res = subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(out), "--warningiserror", "--nitpick", "--keep-going"],
        capture_output=True, text=True,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return out / "_build" / "html"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build(tmp_path_factory.mktemp("book"))


class Titles(HTMLParser):
    def __init__(self):
        super().__init__()
        self.in_nav, self.depth, self.links = False, 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "nav" and "bd-docs-nav" in (a.get("class") or ""):
            self.in_nav = True
        if self.in_nav and tag == "a":
            self.links.append([a.get("href"), ""])

    def handle_endtag(self, tag):
        if tag == "nav":
            self.in_nav = False

    def handle_data(self, data):
        if self.in_nav and self.links:
            self.links[-1][1] += data


def chapter_titles():
    import nbformat

    titles = []
    for f in toc_files()[1:]:
        p = ROOT / f"{f}.ipynb"
        if not p.exists():
            p = ROOT / f"{f}.md"
            text = p.read_text()
        else:
            text = nbformat.read(p, as_version=4).cells[0].source
        titles.append(re.search(r"^# (.+)$", text, re.M).group(1).strip())
    return titles


def test_every_toc_page_is_built_and_in_the_navigation(site):
    # index.html forwards to the root page, whose sidebar lists the course
    assert f'url={toc_files()[0]}.html' in (site / "index.html").read_text()
    parser = Titles()
    parser.feed((site / f"{toc_files()[0]}.html").read_text())
    nav = [(h, " ".join(t.split())) for h, t in parser.links]
    for f in toc_files():
        assert (site / f"{f}.html").exists(), f"{f}.html was not built"
    nav_text = " | ".join(t for _, t in nav)
    for title in chapter_titles():
        assert title in nav_text, f"chapter title {title!r} missing from the navigation: {nav_text}"


def test_chapters_are_numbered_one_to_eight_in_order(site):
    parser = Titles()
    parser.feed((site / f"{toc_files()[0]}.html").read_text())
    numbered = [t.strip() for _, t in parser.links if re.match(r"\s*\d+\.", t)]
    assert [int(t.split(".")[0]) for t in numbered] == list(range(1, 9)), numbered


def test_chapter_one_shows_its_saved_outputs(site):
    html = (site / "chapters" / "01_logistic_regression.html").read_text()
    assert html.count("<img") >= 5  # the committed figures
    assert "same loss curve: True" in html
    assert "$$" not in re.sub(r"<script.*?</script>", "", html, flags=re.S) or "math" in html
