"""Sphinx extension: two Jupyter Book 1 defects that every page shows in the browser's console.

- sphinx-thebe registers its inline configuration twice, and the second `const THEBE_JS_URL`
  throws "Identifier has already been declared" on every page.
- pydata-sphinx-theme is given an empty default colour mode, and logs "Got invalid theme mode"
  on a reader's first visit; "auto" follows the reader's system setting, light or dark.
"""


def _default_mode(app, config) -> None:
    # A template variable of the theme's, not a theme option.
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}


def _unique_scripts(app, pagename, templatename, context, doctree) -> None:
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
    # Late, after the extensions that add scripts while a page is written.
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
