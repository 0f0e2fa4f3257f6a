"""Drop the second copy of an inline script that Sphinx 7.4 writes twice.

The browser tests (tests/test_browser.py) fail on any console error. Sphinx
7.4 writes an inline ``<script>`` twice when an extension adds it after the
builder started: it keeps one copy with ``filename=None`` and one with
``filename=''``, which do not compare equal. sphinx-thebe's
``const THEBE_JS_URL = ...`` is such a script, so every page threw
"Identifier 'THEBE_JS_URL' has already been declared". This keeps the first
copy of each script. (The theme's other console error, "Got invalid theme
mode", is fixed in _config.yml by ``html_context: default_mode``.)
"""


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        attrs = getattr(js, "attributes", {}) or {}
        key = (getattr(js, "filename", str(js)) or "", tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    if len(kept) != len(scripts):
        scripts[:] = kept  # in place: it is the builder's own list


def setup(app):
    # last, after the extensions that add their page scripts in this event
    app.connect("html-page-context", _drop_duplicate_scripts, priority=990)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
