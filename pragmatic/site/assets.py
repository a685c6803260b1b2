"""Sphinx extension: the site's JavaScript ships inside the site, so it works with no network.

MathJax (which typesets every formula) and Vega (which draws the labs' interactive charts) come
from the npm registry at the versions pinned in `package.json` (`make node_modules` runs
`npm ci`). This extension copies what the pages load from `node_modules/` into the built site's
`_static/vendor/` and points Sphinx at those copies instead of a CDN.
"""

import shutil
from pathlib import Path

from sphinx.errors import ExtensionError

# node_modules sits beside the package (installed editable), whichever folder is being built:
# the test suite and the student edition build copies of the sources that leave it behind.
NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
VENDOR = "vendor"
MATHJAX = "mathjax/es5"
MATHJAX_ENTRY = "tex-chtml.js"   # TeX in, HTML+CSS out: chosen by measurement (README, "The site")
# What tex-chtml.js never loads: the other combined builds, and the speech engine that only the
# accessibility menu's explorer asks for (the hidden MathML for screen readers is built in).
MATHJAX_UNUSED = shutil.ignore_patterns("sre", "*-full*", "mml-*", "tex-mml-*", "tex-svg*",
                                        "node-main.js", "latest.js", "*.map")
# Loaded on every page, in this order: vega-embed expects vega and vega-lite as globals.
SCRIPTS = ["vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js",
           "vega-embed/build/vega-embed.min.js"]


def _source(relative: str) -> Path:
    path = NODE_MODULES / relative
    if not path.exists():
        raise ExtensionError(f"{path} is missing: run `make node_modules` (npm ci) first")
    return path


def _configure(app, config) -> None:
    _source(MATHJAX)
    # Relative to _static/, where _copy puts it; Sphinx's own default is a CDN address.
    config.mathjax_path = f"{VENDOR}/mathjax/{MATHJAX_ENTRY}"
    # An unknown macro becomes a visible TeX error, which the browser tests catch, instead of
    # MathJax's default of printing its name in red as if it were typeset.
    mathjax = dict(config.mathjax3_config or {})
    mathjax["tex"] = {**mathjax.get("tex", {}), "packages": {"[-]": ["noundefined"]}}
    config.mathjax3_config = mathjax


def _add_scripts(app) -> None:
    for relative in SCRIPTS:
        _source(relative)
        app.add_js_file(f"{VENDOR}/{Path(relative).name}")


def _copy(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    vendor = Path(app.outdir) / "_static" / VENDOR
    shutil.copytree(_source(MATHJAX), vendor / "mathjax", ignore=MATHJAX_UNUSED,
                    dirs_exist_ok=True)
    for relative in SCRIPTS:
        shutil.copy2(_source(relative), vendor / Path(relative).name)


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _add_scripts)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
