"""Both editions of the real book, with a marker in every solution.

The instructor edition (built once, strictly, in conftest.py) must show every marker. The
student edition must contain none of them in any file it writes (HTML, `_sources/`, notebooks,
caches). It is built from the same sources without executing them: executing them again would
double the suite's cost, and leaks are a matter of which sources and cells reach the build.
That the student edition also builds *strictly* is checked on a small book in test_edition.py,
and that no page quotes a number computed only in a solution in test_anatomy.py.
"""

import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from conftest import MARKER, REPO, html_dir


def test_the_instructor_edition_builds_strictly(editions):
    result = editions["instructor"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_student_edition_builds(editions):
    result = editions["student"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (html_dir(editions, "student") / "chapters/01-two-worlds.html").exists()


def test_markers_were_planted_in_every_page_with_solutions(editions):
    from test_anatomy import PAGES
    for page in PAGES:
        assert editions["planted"].get(f"{page}.html", 0) >= 3, page


def test_the_instructor_edition_shows_every_solution(editions):
    for page in editions["planted"]:
        html = (html_dir(editions, "instructor") / page).read_text()
        assert MARKER in html, page


def test_the_student_edition_contains_no_solution_anywhere(editions):
    out = editions["root"] / "student"
    leaks = [p for p in out.rglob("*") if p.is_file() and MARKER.encode() in p.read_bytes()]
    assert leaks == []
    # ... while the exercises themselves are still there.
    html = (html_dir(editions, "student") / "chapters/01-two-worlds.html").read_text()
    assert "ex-two-worlds-prior" in html
    assert not re.search(r'class="[^"]*\bsolution\b', html)


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.missing, self.count = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "img" and "logo" not in dict(attrs).get("class", ""):
            self.count += 1
            if not dict(attrs).get("alt", "").strip():
                self.missing.append(dict(attrs).get("src"))


def test_every_figure_has_alt_text(editions):
    total = 0
    for page in (html_dir(editions, "instructor")).rglob("*.html"):
        parser = _Images()
        parser.feed(page.read_text())
        assert parser.missing == [], f"{page.name}: images without alt text: {parser.missing}"
        total += parser.count
    assert total >= 5


def test_command_line_json_equals_the_labs_result_for_one_cell(editions):
    """The lab glues coverages from its grid; the command line must reproduce them exactly."""
    glued = json.loads((editions["root"] / "instructor" / "_build" / "jupyter_execute" / "labs"
                        / "01-t-interval.glue.json").read_text())
    setup = (REPO / "labs" / "01-t-interval.md").read_text()
    reps = int(re.search(r"^REPS = ([\d_]+)", setup, re.M).group(1).replace("_", ""))
    from pragmatic.sim.labs.t_interval import GRID
    assert re.search(r"^SEED = GRID\.seed$", setup, re.M)  # the lab's seed is its grid's
    seed = GRID.seed
    out = subprocess.run([sys.executable, "-m", "pragmatic.sim", "mean", "--dist", "lognormal",
                          "--n", "5", "--reps", str(reps), "--seed", str(seed), "--procedure", "t",
                          "--procedure", "boot-pct", "--procedure", "boot-t", "--json"],
                         capture_output=True, text=True, check=True)
    [cli] = [r["results"] for r in json.loads(out.stdout)]  # a list: one object per --n
    assert cli["t"]["coverage"] == float(glued["boot_t_logn_5"]["data"]["text/plain"])
    assert cli["boot-t"]["coverage"] == float(glued["boot_logn_5"]["data"]["text/plain"])
    assert cli["boot-pct"]["coverage"] == float(glued["pct_logn_5"]["data"]["text/plain"])
