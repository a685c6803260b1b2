"""The built site as a reader meets it: in the system's Chromium, served on loopback, with every
request to the outside world refused (`pragmatic.site.browser`, `pragmatic.site.checks`).

Both editions: every formula is typeset with no network. The instructor edition, which is
executed, also: no console errors or failed requests, internal links, anchors and images that
resolve, alt text on every image, zero axe-core WCAG 2.1 AA violations in the light and the dark
theme, no sideways scrolling at 1280 px and 390 px, and a table of contents that opens on a
phone. A small book with planted faults shows that each check can fail.
"""

import shutil

import pytest
from PIL import Image

from conftest import build, html_dir
from pragmatic.site.checks import (check_axe, check_images, check_links, check_loaded,
                                   check_math, check_site, check_width, pages)
from pragmatic.site.browser import PHONE, OfflinePage, serve

KINDS = ["math", "requests", "axe", "width", "links", "images", "dark", "phone"]


@pytest.fixture(scope="session")
def instructor_problems(site):
    return check_site(site["root"], site["chrome"])


@pytest.mark.parametrize("kind", KINDS)
def test_the_instructor_site_passes(instructor_problems, kind):
    assert instructor_problems[kind] == [], "\n".join(instructor_problems[kind])


def test_every_page_of_the_book_was_checked(site):
    checked = pages(site["root"])
    for page in ("index.html", "chapters/01-two-worlds.html", "labs/05-bayes-coverage.html",
                 "status.html", "references.html"):
        assert page in checked


def test_the_student_site_typesets_every_formula_offline(editions, chrome):
    root = html_dir(editions, "student")
    found = check_site(root, chrome, math_only=True)
    assert found["math"] == [], "\n".join(found["math"])
    assert found["requests"] == [], "\n".join(found["requests"])


# A small book: one clean page, and one with a planted fault for each check.
CONFIG = """title: Faults
only_build_toc_files: true
execute:
  execute_notebooks: 'off'
parse:
  myst_enable_extensions: [dollarmath, amsmath]
sphinx:
  extra_extensions: [pragmatic.site.assets, pragmatic.site.fixes]
"""
TOC = "format: jb-book\nroot: index\nchapters:\n  - file: clean\n  - file: faults\n"
CLEAN = """# Clean

(a-target)=
## A section

The mean is $\\bar{x} = \\frac{1}{n}\\sum_i x_i$, and

$$ \\hat\\beta = (X^\\top X)^{-1} X^\\top y. $$

![An opaque square](opaque.png)

Back to [the section](#a-target) and [the start](index.md).
"""
FAULTS = """# Faults

A formula with a macro TeX does not know: $\\notamacro{x}$.

<a href="missing.html">a broken link</a> and <a href="clean.html#nowhere">a missing anchor</a>.

<img src="_images/opaque.png">

![A figure with a transparent background](clear.png)

<div style="width: 2000px">A block wider than any phone.</div>
"""


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    source = tmp_path_factory.mktemp("faulty")
    for name, text in {"_config.yml": CONFIG, "_toc.yml": TOC, "index.md": "# Start\n",
                       "clean.md": CLEAN, "faults.md": FAULTS}.items():
        (source / name).write_text(text)
    Image.new("RGB", (40, 40), "white").save(source / "opaque.png")
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(source / "clear.png")
    result = build(source, source / "out", strict=False)
    root = source / "out" / "_build" / "html"
    assert (root / "faults.html").exists(), result.stderr[-3000:]
    return root


def test_the_file_checks_pass_a_clean_page_and_catch_each_planted_fault(faulty):
    assert check_links(faulty, "clean.html") == []
    assert check_images(faulty, "clean.html") == []
    links = check_links(faulty, "faults.html")
    assert any("missing.html resolves to nothing" in p for p in links), links
    assert any("no anchor #nowhere" in p for p in links), links
    images = check_images(faulty, "faults.html")
    assert any("_images/opaque.png has no alt text" in p for p in images), images
    assert any("clear.png is transparent" in p for p in images), images


def test_the_browser_checks_pass_a_clean_page_and_catch_each_planted_fault(faulty, chrome):
    with serve(faulty) as base:
        with OfflinePage(chrome, base, PHONE) as offline:
            offline.open("clean.html")
            assert check_math(offline, "clean.html") == []
            assert check_loaded(offline, "clean.html") == []
            assert check_width(offline, "clean.html") == []
        with OfflinePage(chrome, base, PHONE) as offline:
            offline.open("faults.html")
            math = check_math(offline, "faults.html")
            assert any("1 of 1 formulas untypeset" in p for p in math), math
            assert any("TeX source" in p for p in math), math
            assert any("notamacro" in p for p in check_loaded(offline, "faults.html"))
            assert any("image-alt" in p for p in check_axe(offline, "faults.html"))
            assert any("390 px" in p for p in check_width(offline, "faults.html"))


def test_a_site_without_its_math_renderer_shows_raw_tex_and_fails(faulty, chrome, tmp_path):
    broken = tmp_path / "html"
    shutil.copytree(faulty, broken)
    shutil.rmtree(broken / "_static" / "vendor" / "katex")
    with serve(broken) as base, OfflinePage(chrome, base) as offline:
        offline.open("clean.html")
        math = check_math(offline, "clean.html")
        assert any("2 of 2 formulas untypeset" in p for p in math), math
        assert any("TeX source" in p for p in math), math
        assert any("katex.min.js" in p for p in check_loaded(offline, "clean.html"))
