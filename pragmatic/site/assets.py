"""Sphinx extension: the site's JavaScript ships inside the site, so it works with no network.

KaTeX (which typesets every formula) and Vega (which draws the labs' interactive charts) come
from the npm registry at the versions pinned in `package.json` (`make node_modules` runs
`npm ci`). This extension copies what the pages load from `node_modules/` into the built site's
`_static/vendor/`, and makes KaTeX the math renderer in place of MathJax from a CDN.

KaTeX rather than MathJax, by measurement (`python -m pragmatic.site.math_bench`, README "The
site"): on our most formula-heavy pages it loads about 2.4 times fewer bytes and typesets
sooner, and it typesets every formula in the book.
"""

import json
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.ext.mathjax import html_visit_displaymath, html_visit_math

# node_modules sits beside the package (installed editable), whichever folder is being built:
# the test suite and the student edition build copies of the sources that leave it behind.
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
VENDOR = "vendor"
KATEX = "katex/dist"
KATEX_FILES = ["katex.min.js", "katex.min.css", "contrib/auto-render.min.js"]
# Loaded on every page, in this order: vega-embed expects vega and vega-lite as globals.
SCRIPTS = ["vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js",
           "vega-embed/build/vega-embed.min.js"]
# Sphinx writes each formula as \(...\) or \[...\] inside an element of class "math" (the
# MathJax visitors, reused). A formula KaTeX cannot parse keeps its TeX source, and auto-render
# reports it on the console: both are visible to a reader and to the browser tests.
TYPESET = """document.addEventListener("DOMContentLoaded", () => {
  const options = %s;
  document.querySelectorAll(".math").forEach(e => renderMathInElement(e, options));
});""" % json.dumps({"delimiters": [{"left": "\\(", "right": "\\)", "display": False},
                                    {"left": "\\[", "right": "\\]", "display": True}],
                     "throwOnError": True})


def _source(relative: str) -> Path:
    path = NODE_MODULES / relative
    if not path.exists():
        raise ExtensionError(f"{path} is missing: run `make node_modules` (npm ci) first")
    return path


def _configure(app, config) -> None:
    for name in KATEX_FILES:
        _source(f"{KATEX}/{name}")
    config.html_math_renderer = "katex"


def _add_scripts(app) -> None:
    for relative in SCRIPTS:
        _source(relative)
        app.add_js_file(f"{VENDOR}/{Path(relative).name}")


def _install_katex(app, pagename, templatename, context, doctree) -> None:
    """KaTeX on the pages that have formulas, as Sphinx does for MathJax."""
    if app.builder.format != "html" or not app.env.get_domain("math").has_equations(pagename):
        return
    app.builder.add_css_file(f"{VENDOR}/katex/katex.min.css")
    for name in ("katex.min.js", "contrib/auto-render.min.js"):
        app.builder.add_js_file(f"{VENDOR}/katex/{name}", defer="defer")
    app.builder.add_js_file("", body=TYPESET)


def _copy(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    vendor = Path(app.outdir) / "_static" / VENDOR
    for name in KATEX_FILES:
        (vendor / "katex" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(_source(f"{KATEX}/{name}"), vendor / "katex" / name)
    # Every browser we serve reads woff2; the woff and ttf copies would only add weight.
    shutil.copytree(_source(f"{KATEX}/fonts"), vendor / "katex" / "fonts",
                    ignore=shutil.ignore_patterns("*.woff", "*.ttf"), dirs_exist_ok=True)
    for relative in SCRIPTS:
        shutil.copy2(_source(relative), vendor / Path(relative).name)


def setup(app):
    app.setup_extension("sphinx.ext.mathjax")  # its config values, read by the visitors
    app.add_html_math_renderer("katex", (html_visit_math, None), (html_visit_displaymath, None))
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _add_scripts)
    app.connect("html-page-context", _install_katex)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
