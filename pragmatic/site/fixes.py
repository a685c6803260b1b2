"""Sphinx extension: what the browser tests found wrong with a Jupyter Book 1 page.

In every page's console:
- sphinx-thebe registers its inline configuration twice, and the second `const THEBE_JS_URL`
  throws "Identifier has already been declared" on every page.
- pydata-sphinx-theme is given an empty default colour mode, and logs "Got invalid theme mode"
  on a reader's first visit; "auto" follows the reader's system setting, light or dark.

To axe-core (WCAG 2.1 AA): docutils marks each bibliography entry with the deprecated ARIA role
"doc-biblioentry" inside a role="list", which must hold list items.

At a phone's width: the only visible button for the table of contents did nothing, because the
theme wires only the first of two such buttons (static/fixes.js); long inline code and wide
display formulas pushed the page sideways (static/fixes.css).
"""

from pathlib import Path


def _default_mode(app, config) -> None:
    # A template variable of the theme's, not a theme option.
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}


def _static(app, config) -> None:
    config.html_static_path = [*config.html_static_path, str(Path(__file__).parent / "static")]


def _page(app, pagename, templatename, context, doctree) -> None:
    _unique_scripts(context)
    if "body" in context:
        context["body"] = context["body"].replace('role="doc-biblioentry"', 'role="listitem"')


def _unique_scripts(context) -> None:
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        # The file name and attributes (an inline script's body is one); not the priority.
        key = (str(script.filename or ""), tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


def setup(app):
    app.connect("config-inited", _default_mode)
    app.connect("config-inited", _static)
    app.add_css_file("fixes.css")
    app.add_js_file("fixes.js")
    # Late, after the extensions that add scripts while a page is written.
    app.connect("html-page-context", _page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
