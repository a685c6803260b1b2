"""Full builds of both editions, from an empty execution cache, with a marker in every solution.

The instructor edition must show every marker; the student edition must contain none of them,
in any file it writes (HTML, `_sources/`, executed notebooks, caches).
"""

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pragmatic.edition import SKIP, _OPEN, _block_end, _tags

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MARKER = "SOLUTION-MARKER-7f3a"


def plant(text: str) -> tuple[str, int]:
    """Put MARKER inside every {solution} block and every code cell tagged `solution`."""
    lines, out, planted, i = text.splitlines(keepends=True), [], 0, 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        is_cell = match and match["name"] == "code-cell" and "solution" in _tags(lines, i)
        if match and (match["name"] == "solution" or is_cell):
            end = _block_end(lines, i, match["fence"])
            head = i + 1
            while head < end and lines[head].lstrip().startswith(":"):
                head += 1
            mark = f"# {MARKER}\n" if is_cell else f"\n{MARKER}\n\n"
            out += lines[i:head] + ["\n" if is_cell else "", mark] + lines[head:end + 1]
            planted += 1
            i = end + 1
            continue
        out.append(lines[i])
        i += 1
    return "".join(out), planted


def build(source: Path, output: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "jupyter-book"), "build", "-W", "-n", "--keep-going",
                           str(source), "--path-output", str(output)],
                          capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="session")
def editions(tmp_path_factory):
    root = tmp_path_factory.mktemp("editions")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=SKIP)
    planted = {}
    for page in source.rglob("*.md"):
        text, count = plant(page.read_text())
        if count:
            page.write_text(text)
            planted[page.relative_to(source).with_suffix(".html").as_posix()] = count
    instructor = build(source, root / "instructor")
    subprocess.run([sys.executable, "-m", "pragmatic.edition", "student", str(root / "student-src"),
                    "--source", str(source)], check=True, capture_output=True)
    student = build(root / "student-src", root / "student")
    return {"root": root, "planted": planted, "instructor": instructor, "student": student}


def html_dir(editions, name):
    return editions["root"] / name / "_build" / "html"


@pytest.mark.parametrize("name", ["instructor", "student"])
def test_the_edition_builds_strictly(editions, name):
    result = editions[name]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_markers_were_planted_in_every_page_with_solutions(editions):
    for page in ["chapters/01-two-worlds.html", "labs/01-t-interval.html"]:
        assert editions["planted"].get(page, 0) >= 3


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
    seed = int(re.search(r"^SEED = (\d+)", setup, re.M).group(1))
    out = subprocess.run([sys.executable, "-m", "pragmatic.sim", "mean", "--dist", "lognormal",
                          "--n", "5", "--reps", str(reps), "--seed", str(seed), "--procedure", "t",
                          "--procedure", "boot-pct", "--procedure", "boot-t", "--json"],
                         capture_output=True, text=True, check=True)
    [cli] = [r["results"] for r in json.loads(out.stdout)]  # a list: one object per --n
    assert cli["t"]["coverage"] == float(glued["boot_t_logn_5"]["data"]["text/plain"])
    assert cli["boot-t"]["coverage"] == float(glued["boot_logn_5"]["data"]["text/plain"])
    assert cli["boot-pct"]["coverage"] == float(glued["pct_logn_5"]["data"]["text/plain"])
