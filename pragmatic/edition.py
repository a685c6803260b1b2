"""Build editions of the book: `python -m pragmatic.edition student DEST [--source SRC]`.

The student edition is a copy of the book's sources with every `{solution}` block deleted.
Hiding solutions at build time is not enough: with launch buttons on, sphinx-book-theme puts
the executed notebook of each page in `_sources/`, solutions included.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from .sim.cli import OneLineParser

# Folders and files that are not part of the book's sources.
SKIP = shutil.ignore_patterns(".git", ".venv", "node_modules", "_build", "tests", ".ci", "__pycache__",
                              "*.egg-info", ".pytest_cache", ".ipynb_checkpoints")
_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}")


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


def strip_solutions(text: str) -> str:
    """Delete every `{solution}` directive and every code cell tagged `solution`.

    A code cell that computes numbers quoted only in a solution carries the tag `solution`,
    so that its code, too, stays out of the student edition.
    """
    out, lines, i = [], text.splitlines(keepends=True), 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if match and match["name"] in ("solution-start", "solution-end"):
            raise ValueError(f"line {i + 1}: gated {{{match['name']}}} blocks are not supported; "
                             "use the {solution} directive")
        if match and (match["name"] == "solution"
                      or match["name"] == "code-cell" and "solution" in _tags(lines, i)):
            i = _block_end(lines, i, match["fence"]) + 1
            continue
        out.append(lines[i])
        i += 1
    return "".join(out)


def student_edition(source: Path, dest: Path) -> list[Path]:
    """Copy the book from `source` to `dest` with solutions removed; return the pages changed."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest, ignore=SKIP)
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
