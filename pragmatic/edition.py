"""Build editions of the book: `python -m pragmatic.edition student DEST [--source SRC]`.

The student edition is a copy of the book's sources with every `{solution}` block, every
```{only} instructor``` block and the instructors' page deleted. Hiding solutions at build time
is not enough: with launch buttons on, sphinx-book-theme puts the executed notebook of each page
in `_sources/`, solutions included.

Its launch buttons and repository button point at the student distribution (`editions.yml`),
and each notebook page gets an unexecuted `.ipynb` twin, which sphinx-book-theme's launch links
prefer to the `.md`: a launched page opens as a notebook. `pragmatic.distribution` ships those
twins.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import jupytext
import yaml

from .cli import OneLineParser

# Folders and files that are not part of the book's sources.
# (homework/ holds the homework's master notebooks, solutions and hidden tests included.)
SKIP = shutil.ignore_patterns(".git", ".venv", "node_modules", "_build", "tests", ".ci",
                              "__pycache__", "*.egg-info", ".pytest_cache", ".ipynb_checkpoints",
                              "homework")
_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}(?P<argument>.*)$")
# Pages only instructors read: left out of the student edition (file and table of contents).
INSTRUCTOR_PAGES = ("instructors",)
LAUNCH_KEYS = ("repository", "branch", "binderhub_url", "jupyterhub_url")


def _block_end(lines: list[str], i: int, fence: str) -> int:
    """Index of the line that closes the fenced block opened on line i."""
    closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    end = next((j for j in range(i + 1, len(lines)) if closing.match(lines[j])), None)
    if end is None:
        raise ValueError(f"line {i + 1}: block is never closed")
    return end


def _tags(lines: list[str], i: int) -> list[str]:
    """The :tags: option of the directive opened on line i, if any."""
    for line in lines[i + 1:]:
        if not line.lstrip().startswith(":"):
            break
        key, _, value = line.strip()[1:].partition(":")
        if key == "tags":
            return [t.strip(" '\"") for t in value.strip().strip("[]").split(",")]
    return []


def _for_instructors(lines: list[str], i: int, match) -> bool:
    """Whether the block opened on line i is a solution, a solution cell or instructor-only."""
    name = match["name"]
    return (name == "solution"
            or name == "code-cell" and "solution" in _tags(lines, i)
            or name == "only" and match["argument"].strip() == "instructor")


def strip_solutions(text: str) -> str:
    """Delete every `{solution}` directive, code cell tagged `solution` and `{only} instructor`.

    A code cell that computes numbers quoted only in a solution carries the tag `solution`,
    so that its code, too, stays out of the student edition.
    """
    out, lines, i = [], text.splitlines(keepends=True), 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if match and match["name"] in ("solution-start", "solution-end"):
            raise ValueError(f"line {i + 1}: gated {{{match['name']}}} blocks are not supported; "
                             "use the {solution} directive")
        if match and _for_instructors(lines, i, match):
            i = _block_end(lines, i, match["fence"]) + 1
            continue
        out.append(lines[i])
        i += 1
    return "".join(out)


def launch_targets(source: Path) -> dict:
    """The student edition's repository, branch, Binder and hub, from `source`/editions.yml."""
    path = source / "editions.yml"
    if not path.is_file():
        raise ValueError(f"{path} is missing: it names the student edition's launch targets")
    student = (yaml.safe_load(path.read_text()) or {}).get("student") or {}
    missing = [key for key in LAUNCH_KEYS if not isinstance(student.get(key), str)]
    if missing:
        raise ValueError(f"{path}: student needs {', '.join(LAUNCH_KEYS)}; "
                         f"missing or not text: {', '.join(missing)}")
    return student


def toc_files(toc: dict) -> list[str]:
    """Every `file:` of a Jupyter Book _toc.yml, in reading order."""
    files = [toc["root"]] if "root" in toc else []
    for entry in toc.get("parts", []) + toc.get("chapters", []) + toc.get("sections", []):
        if "file" in entry:
            files.append(entry["file"])
        files += toc_files({key: entry[key] for key in ("chapters", "sections") if key in entry})
    return files


def notebook_pages(book: Path) -> list[str]:
    """The pages of the book that are notebooks (MyST markdown whose header names a kernel)."""
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    return [page for page in toc_files(toc)
            if (book / f"{page}.md").is_file()
            and "kernelspec" in jupytext.read(book / f"{page}.md").metadata]


def write_notebook(page: Path, out: Path) -> None:
    """The unexecuted notebook of a MyST page, without jupytext's pairing metadata."""
    notebook = jupytext.read(page)
    notebook.metadata.pop("jupytext", None)
    for number, cell in enumerate(notebook.cells):  # stable ids: a release diffs only what changed
        cell.id = f"cell-{number}"
    jupytext.write(notebook, out, fmt="ipynb")


def _drop_pages(toc: dict, pages: tuple[str, ...]) -> dict:
    for key in ("parts", "chapters", "sections"):
        if key in toc:
            toc[key] = [_drop_pages(entry, pages) for entry in toc[key]
                        if entry.get("file") not in pages]
    return toc


def _configure(dest: Path, targets: dict, notebooks: list[str]) -> None:
    """Point the copy's _config.yml at the student distribution and mark it the student edition."""
    path = dest / "_config.yml"
    config = yaml.safe_load(path.read_text())
    # The distribution holds the book at its root, so a link's path is the page's own.
    config["repository"].update(url=targets["repository"], branch=targets["branch"],
                                path_to_book="")
    config["launch_buttons"].update(binderhub_url=targets["binderhub_url"],
                                    jupyterhub_url=targets["jupyterhub_url"])
    config["sphinx"].setdefault("config", {})["course_edition"] = "student"
    # The .ipynb twins are for the launch links and the distribution, not pages of their own.
    config["exclude_patterns"] = (config.get("exclude_patterns", [])
                                  + [f"{page}.ipynb" for page in notebooks])
    path.write_text("# The student edition's configuration, written by pragmatic.edition.\n"
                    + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


def student_edition(source: Path, dest: Path) -> list[Path]:
    """Copy the book from `source` to `dest` with solutions removed; return the pages changed."""
    targets = launch_targets(source)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest, ignore=SKIP)
    toc = yaml.safe_load((dest / "_toc.yml").read_text())
    toc = _drop_pages(toc, INSTRUCTOR_PAGES)
    (dest / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    for page in INSTRUCTOR_PAGES:
        (dest / f"{page}.md").unlink(missing_ok=True)
    changed = []
    for page in sorted(dest.rglob("*.md")):
        text = page.read_text()
        try:
            stripped = strip_solutions(text)
        except ValueError as err:
            raise ValueError(f"{page.relative_to(dest)}: {err}") from None
        if stripped != text:
            page.write_text(stripped)
            changed.append(page)
    notebooks = notebook_pages(dest)
    for page in notebooks:
        write_notebook(dest / f"{page}.md", dest / f"{page}.ipynb")
    _configure(dest, targets, notebooks)
    return changed


def main(argv=None) -> int:
    parser = OneLineParser(prog="python -m pragmatic.edition", description=__doc__)
    parser.add_argument("edition", choices=["student"])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--source", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    if not (args.source / "_toc.yml").exists():
        parser.exit(2, f"{parser.prog}: error: {args.source} has no _toc.yml; give the book's folder\n")
    if args.dest.resolve() == args.source.resolve():
        parser.exit(2, f"{parser.prog}: error: dest {args.dest} must differ from the source\n")
    try:
        changed = student_edition(args.source, args.dest)
    except ValueError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    print(f"student edition in {args.dest}: solutions removed from {len(changed)} page(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
