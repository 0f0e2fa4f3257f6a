"""The static website: it builds with warnings as errors and shows every chapter."""

import html as html_lib
import inspect
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
    # Sphinx's smart quotes turn ' into a typographic apostrophe in the navigation
    nav = [(h, " ".join(t.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"').split()))
           for h, t in parser.links]
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


def display_equations(notebook):
    """The $$...$$ blocks in a notebook's markdown cells, code spans left out."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    md = re.sub(r"```.*?```", "", md, flags=re.S)
    md = re.sub(r"`[^`\n]*`", "", md)
    return re.findall(r"\$\$.+?\$\$", md, flags=re.S)


@pytest.mark.parametrize("chapter", [f for f in toc_files() if f.startswith("chapters/")])
def test_every_display_equation_is_rendered_as_math(site, chapter):
    # dollarmath turns each $$...$$ into one MathJax block; if it were off, the
    # dollars would reach the page as text and the blocks would be missing.
    html = (site / f"{chapter}.html").read_text()
    body = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    n_source = len(display_equations(ROOT / f"{chapter}.ipynb"))
    n_rendered = body.count('<div class="math notranslate nohighlight">')
    assert "$$" not in body, f"{chapter}: raw $$ on the page"
    assert n_rendered == n_source, f"{chapter}: {n_source} display equations in the notebook, {n_rendered} rendered"
    # MathJax itself is served by the site (sphinx-mathjax-offline), not a CDN.
    assert re.search(r'<script[^>]+src="[^"]*_static/[^"]*mathjax[^"]*"', html, flags=re.I), chapter


# ---------------------------------------------------------------- API reference

def api_pages():
    """The docs/api/ pages listed in _toc.yml, in the book's order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    for part in toc["parts"]:
        for c in part["chapters"]:
            if c["file"] == "docs/api/index":
                return [s["file"] for s in c.get("sections", [])]
    return []


def public_modules():
    return sorted(p.stem for p in (ROOT / "dbnlib").glob("*.py") if not p.stem.startswith("_"))


def test_every_public_dbnlib_module_has_an_api_page_in_the_toc():
    documented = {}
    for page in api_pages():
        text = (ROOT / f"{page}.md").read_text()
        for mod in re.findall(r"^\.\. automodule:: dbnlib\.(\w+)", text, flags=re.M):
            documented[mod] = page
    missing = [m for m in public_modules() if m not in documented]
    assert not missing, (
        f"dbnlib modules without an API page: {missing}. Add docs/api/<module>.md "
        "(copy docs/api/ais.md and change the module name) and list it under "
        "docs/api/index in _toc.yml, in the book's order."
    )
    stale = [m for m in documented if m not in public_modules()]
    assert not stale, f"API pages document modules that no longer exist: {stale}"


def test_nitpick_ignores_no_dbnlib_reference():
    # External types (numpy.ndarray, ...) cannot resolve offline and are ignored;
    # a broken reference to a dbnlib name must still fail the build.
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    patterns = cfg.get("nitpick_ignore_regex", [])
    assert patterns, "nitpick_ignore_regex is gone from _config.yml"
    for role in ("py:class", "py:func", "py:meth", "py:obj", "py:mod"):
        for target in ("dbnlib.no_such_name", "dbnlib.RBM.no_such_method"):
            hit = [p for p in patterns if re.fullmatch(p[0], role) and re.fullmatch(p[1], target)]
            assert not hit, f"{role} {target} would be ignored by {hit}"
    assert any(re.fullmatch(p[0], "py:class") and re.fullmatch(p[1], "numpy.ndarray") for p in patterns)


def test_api_pages_are_built_and_the_index_lists_them_in_the_books_order(site):
    names = [p.split("/")[-1] for p in api_pages()]
    assert names, "no sections under docs/api/index in _toc.yml"
    for page in ["docs/api/index", *api_pages()]:
        assert (site / f"{page}.html").exists(), f"{page}.html was not built"
    html = (site / "docs/api/index.html").read_text()
    article = html[html.index("<article"):]
    linked = []
    for name in re.findall(r'href="(\w+)\.html"', article):
        if name in names and name not in linked:
            linked.append(name)
    assert linked == names, f"the index table lists {linked}, _toc.yml has {names}"


def test_an_autodoc_entry_has_its_docstring_and_a_source_link(site):
    html = (site / "docs/api/numerics.html").read_text()
    # the entry: a signature anchored at the full name, then the numpydoc text
    entry = html.split('id="dbnlib.numerics.sigmoid"', 1)
    assert len(entry) == 2, "no autodoc entry for dbnlib.numerics.sigmoid"
    after = entry[1][: entry[1].find("</dl>") + 1 or None]
    text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", after)).split())
    import dbnlib.numerics

    first_line = inspect.getdoc(dbnlib.numerics.sigmoid).splitlines()[0]
    first_words = " ".join(re.sub(r"``?", "", first_line).split()[:4])
    assert first_words in text, f"{first_words!r} not in the entry: {text[:500]}"
    assert re.search(r"sigmoid\s*\(\s*z", text), f"no signature sigmoid(z, ...): {text[:200]}"
    # viewcode: [source] leads to the highlighted module, which has the function
    link = re.search(r'href="([^"]*_modules/dbnlib/numerics\.html#sigmoid)"', after)
    assert link, "no [source] link from dbnlib.numerics.sigmoid"
    source = (site / "docs/api" / link.group(1).split("#")[0]).resolve()
    assert source.exists(), source
    src = source.read_text()
    assert 'id="sigmoid"' in src and "sigmoid" in re.sub(r"<[^>]+>", "", src)


def test_a_chapter_style_cross_reference_resolves_to_the_entry(site):
    # {py:func}`dbnlib.sigmoid` (the name chapters import) lands on the entry of
    # dbnlib.numerics.sigmoid, where it is defined (docs/_ext/api_links.py).
    for page, prefix in (("docs/api/index.html", ""), ("intro.html", "docs/api/")):
        html = (site / page).read_text()
        assert re.search(
            rf'<a class="reference internal" href="{prefix}numerics\.html#dbnlib\.numerics\.sigmoid"[^>]*>'
            r'<code class="xref py py-func[^"]*"><span class="pre">dbnlib\.sigmoid\(\)</span>',
            html,
        ), f"{page}: {{py:func}}`dbnlib.sigmoid` did not become a link to its entry"


# ---------------------------------------------------------------- make help

def test_make_help_lists_every_target_with_one_line():
    # `make help` is generated from the `## ` comments, so a target without one
    # is missing from it; this test names which.
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, flags=re.M).group(1).split()
    res = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "help"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    listed = dict(re.findall(r"^  make (\S+)\s+(.+)$", res.stdout, flags=re.M))
    missing = [t for t in phony if t not in listed]
    assert not missing, f"targets without a '## ' line in the Makefile: {missing}\n{res.stdout}"
    assert all(len(d) > 10 for d in listed.values()), listed
