"""The math-renderer measurement (`pragmatic.site.math_bench`) on two hand-made pages laid out as
the KaTeX site writes them, no book build: every candidate typesets every formula of a clean
page, its byte count is the files it loaded, and formulas a renderer cannot typeset are counted
as failures. About 15 s: one load per page and candidate in the system Chromium.
"""

from types import SimpleNamespace

import pytest

from pragmatic.site import assets, math_bench
from pragmatic.site.assets import NODE_MODULES

# As the site writes a page with formulas (pragmatic.site.assets): KaTeX's stylesheet and
# deferred scripts from _static/vendor/katex/, the inline script that typesets `.math` elements,
# and formulas in span.math / div.math inside a top section MyST marks for MathJax to ignore.
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Formulas</title>
<link rel="stylesheet" type="text/css" href="_static/vendor/katex/katex.min.css" />
<script defer="defer" src="_static/vendor/katex/katex.min.js"></script>
<script defer="defer" src="_static/vendor/katex/contrib/auto-render.min.js"></script>
<script>%s</script>
</head><body><section class="tex2jax_ignore mathjax_ignore">
%%s
<pre><code>print("\\(this stays TeX: it is code\\)")</code></pre>
</section></body></html>
""" % assets.TYPESET
CLEAN = [
    r'<p>The mean <span class="math notranslate nohighlight">\(\bar{x} = \frac{1}{n}'
    r'\sum_{i=1}^n x_i\)</span> and <span class="math notranslate nohighlight">\(\hat\beta '
    r'\sim \mathcal{N}\big(\beta, \sigma^2 (X^\top X)^{-1}\big)\)</span>.</p>',
    r'<div class="math notranslate nohighlight">\[\begin{aligned} p(\theta \mid y) &amp;'
    r'\propto p(y \mid \theta)\, p(\theta) \\ t &amp;= \frac{\bar{x} - \mu_0}{s / \sqrt{n}}'
    r'\end{aligned}\]</div>',
    r'<div class="math notranslate nohighlight">\[\operatorname{E}[\hat\sigma^2] \approx '
    r'\tfrac{n-1}{n}\,\sigma^2, \qquad \text{coverage} = \Pr(\theta \in C)\]</div>',
]
# A malformed formula (two superscripts) and an unknown macro: no renderer can typeset them.
PLANTED = CLEAN + [r'<p><span class="math notranslate nohighlight">\(x^2^3\)</span> and '
                   r'<span class="math notranslate nohighlight">\(\notamacro{x}\)</span></p>']
RENDERERS = [c.name for c in math_bench.CANDIDATES]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The two pages, with `_static/vendor/` copied from node_modules as the build copies it."""
    site = tmp_path_factory.mktemp("site")
    assets._copy(SimpleNamespace(builder=SimpleNamespace(format="html"), outdir=site), None)
    (site / "clean.html").write_text(PAGE % "\n".join(CLEAN))
    (site / "planted.html").write_text(PAGE % "\n".join(PLANTED))
    return site


@pytest.fixture(scope="module")
def measured(site, chrome):
    assert math_bench.heaviest(site, 1) == [("planted.html", 6)]  # four clean, two planted
    return math_bench.measure(site, ["clean.html", "planted.html"], repeats=1, warmup=False,
                              chrome=chrome)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_every_formula_typeset(measured, renderer):
    result = measured["results"][renderer]["clean.html"]
    assert result["formulas"] == 4
    assert result["failures"] == 0
    assert result["tex"] == [], f"{renderer} left TeX in the text"
    assert result["problems"] == []
    assert 0 < result["gzip"] < result["bytes"]
    # Times only exist and are positive: their order depends on the machine's load (one
    # load, on a busy machine, once put the renderer's start after its end).
    assert result["typeset_ms"] > 0 and result["fonts_ms"] > 0


def test_katex_bytes_are_the_site_files_loaded(measured, site):
    result = measured["results"]["katex"]["clean.html"]
    files = [name for name, _, _ in result["files"]]
    for name in assets.KATEX_FILES:
        assert f"_static/vendor/katex/{name}" in files
    assert any(name.endswith(".woff2") for name in files), "fonts not counted"
    assert all(name.startswith("_static/vendor/katex/") for name in files)
    assert result["bytes"] == sum((site / name).stat().st_size for name in files)


@pytest.mark.parametrize("renderer", ["mathjax-chtml", "mathjax-svg"])
def test_mathjax_bytes_are_its_own_files(measured, renderer):
    # In KaTeX's place: none of KaTeX's files, nor the bench's stub and configuration, counted.
    result = measured["results"][renderer]["clean.html"]
    files = [name for name, _, _ in result["files"]]
    entry = "tex-chtml.js" if renderer == "mathjax-chtml" else "tex-svg.js"
    assert f"mathjax/es5/{entry}" in files
    assert all(name.startswith("mathjax/es5/") for name in files)
    if renderer == "mathjax-chtml":
        assert any(name.endswith(".woff") for name in files), "fonts not counted"
    assert result["bytes"] == sum((NODE_MODULES / name).stat().st_size for name in files)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_formulas_that_fail_are_counted(measured, renderer):
    # The site's KaTeX leaves both as TeX; MathJax, configured as the site had it, typesets an
    # merror for each.
    assert measured["results"][renderer]["planted.html"]["failures"] == 2


def test_build_time_katex_has_no_javascript(measured):
    static = measured["results"]["katex-static (est.)"]["clean.html"]
    katex = measured["results"]["katex"]["clean.html"]
    javascript = sum(size for name, size, _ in katex["files"] if name.endswith(".js"))
    assert static["html_growth"] > 0  # and so the clock stopped after KaTeX had typeset
    assert static["bytes"] == katex["bytes"] - javascript + static["html_growth"]
    assert "katex-static (est.)" in math_bench.table(measured)


@pytest.mark.parametrize("args, named", [(["--site", "/nonexistent"], "/nonexistent"),
                                         (["--repeats", "0"], "--repeats"),
                                         (["--top", "-1"], "--top")])
def test_bad_input_is_one_line_naming_the_value(args, named, capsys):
    with pytest.raises(SystemExit) as exit_:
        math_bench.main(args)
    assert exit_.value.code == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert named in message
