"""Serve the ipywidgets embedding scripts from the site itself, not from CDNs.

myst-nb draws a notebook's saved widget state with two scripts, by default
require.js from cdnjs and @jupyter-widgets/html-manager's embed-amd.js from
jsdelivr. This extension puts local copies of both (vendored in
``static/widgets/``, see README.md here), with ``embed-config.js`` that points
them at their own files and lets the widgets typeset with MathJax 3, into the
site's ``_static/widgets/``; ``nb_ipywidgets_js`` in ``_config.yml`` makes the
pages with widgets load the three.

The files are added to ``html_static_path`` when the builder starts, not by a
top-level ``_static/`` folder: Jupyter Book would load every ``.js`` found in
``_static/`` on every page, and require.js must only be on pages with widgets.

``widgets_offline_check`` (on by default) warns, so that
``--warningiserror`` fails the build, when a script in ``nb_ipywidgets_js``
still points outside the site.
"""

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


def _add_static_path(app):
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def _check_scripts(app, config):
    if not config.widgets_offline_check:
        return
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    for url in getattr(config, "nb_ipywidgets_js", None) or {}:
        if "://" in url or url.startswith("//"):
            logger.warning(
                "nb_ipywidgets_js loads %s from outside the site; point it at the copy in "
                "_static/widgets/ (see _ext/widgets_offline/README.md)", url,
            )
        elif not (STATIC / url).is_file():
            logger.warning("nb_ipywidgets_js names %s, which is not in %s", url, STATIC)


def setup(app):
    app.add_config_value("widgets_offline_check", True, "html")
    app.connect("builder-inited", _add_static_path)
    app.connect("config-inited", _check_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
