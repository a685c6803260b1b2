"""The student distribution: `python -m pragmatic.distribution DEST [--source S] [--homework H]`.

DEST becomes a git repository to push as the student repository (or branch) that editions.yml
names, and that the student edition's launch buttons open. It holds the student edition's
notebook pages as `.ipynb` (a launched page opens as a notebook), the course package, the
datasets, the files a hub image is built from, and each homework's student folder. It holds no
solution and no hidden test: the pages come from `pragmatic.edition`, and only otter's
`student/` folders are copied.

Run it again into the same DEST to add a commit on top: hub accounts that have already pulled
(nbgitpuller) merge the update instead of meeting unrelated history.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .cli import OneLineParser
from .edition import launch_targets, notebook_pages, student_edition

# Copied from the student edition as they are: what the notebooks import and read, and what
# repo2docker (Binder, a hub image) builds the environment from.
SHIPPED = ("pragmatic", "datasets", "requirements.txt", "requirements-gpu.txt", "runtime.txt",
           "postBuild", "pyproject.toml", "hub/overrides.json", "LICENSE", "CITATION.cff")
# Never in the distribution, even where a folder above is copied.
NEVER = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")

README = """# Assumptions First: student notebooks

The chapters and labs of *Assumptions First* as notebooks, with the course package
(`pragmatic/`) and the datasets. Open a notebook in JupyterLab and run it from the top.

- `chapters/`, `labs/`: the pages of the book, one notebook each.
- `homework/`: the assignments; each notebook says how to check your answers.
- To work on your own machine: `python3.11 -m venv .venv && .venv/bin/pip install -r
  requirements.txt && .venv/bin/pip install --no-build-isolation --no-deps -e .`, then
  `.venv/bin/jupyter lab`.

This repository is generated from the course's sources (`make student`); changes made here
are overwritten by the next release.
"""


def _git(dest: Path, *args: str) -> str:
    # An identity of our own, so that the commit does not depend on the machine's git config.
    command = ["git", "-c", "user.name=Assumptions First", "-c",
               "user.email=course@assumptions-first.invalid", "-C", str(dest), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def _fill(tree: Path, edition: Path, homework: Path | None) -> None:
    for page in notebook_pages(edition):
        target = tree / f"{page}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(edition / f"{page}.ipynb", target)
    for name in SHIPPED:
        path, target = edition / name, tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, target, ignore=NEVER)
        elif path.is_file():
            shutil.copy2(path, target)
    for student in sorted(homework.glob("*/student")) if homework else []:
        shutil.copytree(student, tree / "homework" / student.parent.name, ignore=NEVER)
    (tree / "README.md").write_text(README)
    (tree / ".gitignore").write_text("__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n.venv/\n")


def student_distribution(source: Path, dest: Path, homework: Path | None = None) -> Path:
    """Write the student distribution of the book at `source` into the git repository `dest`."""
    branch = launch_targets(source)["branch"]
    if homework is not None and not any(homework.glob("*/student")):
        raise ValueError(f"--homework {homework} holds no <assignment>/student folder: "
                         "run make homework first")
    with tempfile.TemporaryDirectory() as scratch:
        edition = Path(scratch) / "edition"
        student_edition(source, edition)
        if (dest / ".git").is_dir():  # a new release on top of the last one
            for path in dest.iterdir():
                if path.name != ".git":
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
        else:
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            _git(dest, "init", "--quiet", "--initial-branch", branch)
        _fill(dest, edition, homework)
    _git(dest, "add", "--all")
    if _git(dest, "status", "--porcelain"):
        _git(dest, "commit", "--quiet", "-m", f"Student distribution of {_describe(source)}")
    return dest


def _describe(source: Path) -> str:
    """The sources' commit, when they are a git checkout: a release says what it was made from."""
    result = subprocess.run(["git", "-C", str(source), "describe", "--always", "--dirty"],
                            capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else str(source)


def main(argv=None) -> int:
    parser = OneLineParser(prog="python -m pragmatic.distribution", description=__doc__)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--source", type=Path, default=Path("."))
    parser.add_argument("--homework", type=Path, help="the output of make homework")
    args = parser.parse_args(argv)
    if not (args.source / "_toc.yml").is_file():
        parser.error(f"--source {args.source} has no _toc.yml; give the book's folder")
    inside = args.dest.resolve().relative_to(args.source.resolve()).parts \
        if args.dest.resolve().is_relative_to(args.source.resolve()) else None
    if inside is not None and inside[:1] != ("_build",):
        parser.error(f"dest {args.dest} must be outside the sources or under _build/ "
                     "(for example _build/student-dist)")
    try:
        student_distribution(args.source, args.dest, args.homework)
    except ValueError as err:
        parser.error(str(err))
    release = _git(args.dest, "log", "--oneline", "-1").strip()
    print(f"student distribution in {args.dest}: {release}"
          + ("" if args.homework else " (no homework: add --homework _build/homework)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
