"""One full build of the real book, shared by the tests that need executed pages.

Executing every page is the expensive part of the suite (minutes per page), so it happens once:
the instructor edition is built strictly, from an empty execution cache, with a marker planted
in every solution. `test_book.py` checks that build and a student edition made from the same
sources; `test_notebooks.py` reads the notebooks that build executed.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
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


def build(source: Path, output: Path, strict: bool = True) -> subprocess.CompletedProcess:
    flags = ["-W", "-n", "--keep-going"] if strict else ["--keep-going"]
    return subprocess.run([str(BIN / "jupyter-book"), "build", *flags, str(source),
                           "--path-output", str(output)],
                          capture_output=True, text=True, timeout=3600)


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    """The real book, with markers planted, built strictly and executed from scratch."""
    root = tmp_path_factory.mktemp("book")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=SKIP)
    planted = {}
    for page in source.rglob("*.md"):
        text, count = plant(page.read_text())
        if count:
            page.write_text(text)
            planted[page.relative_to(source).with_suffix(".html").as_posix()] = count
    return {"root": root, "source": source, "planted": planted,
            "instructor": build(source, root / "instructor")}


@pytest.fixture(scope="session")
def editions(book):
    """Both editions: the student one made from the same planted sources (not executed)."""
    root = book["root"]
    student_src = root / "student-src"
    subprocess.run([sys.executable, "-m", "pragmatic.edition", "student", str(student_src),
                    "--source", str(book["source"])], check=True, capture_output=True)
    config = student_src / "_config.yml"
    text = config.read_text()
    assert "execute_notebooks: cache" in text
    config.write_text(text.replace("execute_notebooks: cache", "execute_notebooks: 'off'"))
    return {**book, "student": build(student_src, root / "student", strict=False)}


def html_dir(editions, name):
    return editions["root"] / name / "_build" / "html"


@pytest.fixture(scope="session")
def chrome():
    """One headless Chromium for the whole session (pragmatic.site.browser)."""
    from pragmatic.site.browser import browser

    with browser() as chromium:
        yield chromium


@pytest.fixture(scope="session")
def site(editions, chrome):
    """The instructor edition's site, served on loopback: `base` URL, `root` folder, `chrome`."""
    from pragmatic.site.browser import serve

    assert editions["instructor"].returncode == 0, editions["instructor"].stderr[-3000:]
    root = html_dir(editions, "instructor")
    with serve(root) as base:
        yield {"base": base, "root": root, "chrome": chrome}


@pytest.fixture(scope="session")
def homework(tmp_path_factory):
    """The homework masters built by otter assign, two at a time (a minute or two), once."""
    out = tmp_path_factory.mktemp("homework") / "built"
    result = subprocess.run([sys.executable, "-m", "pragmatic.homework", "assign",
                             str(REPO / "homework"), "--out", str(out), "--jobs", "2"],
                            capture_output=True, text=True, cwd=REPO, timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _strings(value):
    """Every string inside nested dicts and lists."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def text_of(path: Path) -> str:
    """A file's text; for a notebook also every string in it decoded (JSON escapes quotes)."""
    raw = path.read_text(errors="replace")
    if path.suffix != ".ipynb":
        return raw
    return "\n".join([raw, *_strings(dict(nbformat.read(path, as_version=4)))])
