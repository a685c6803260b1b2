"""The build is strict: a failing cell or stray stderr fails it; a tagged stderr cell does not."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
JB = Path(sys.executable).parent / "jupyter-book"

CELLS = {
    "clean": "print('hello')",
    "failing": "1 / 0",
    "stderr": "import sys; print('a stray message', file=sys.stderr)",
    "warning": "import warnings; warnings.warn('a stray warning')",
    "tagged": ":tags: [remove-stderr]\n\nimport sys; print('expected', file=sys.stderr)",
    "raises": ":tags: [raises-exception]\n\nraise ValueError('meant to fail')",
}


def tiny_book(folder: Path, cell: str) -> Path:
    """A one-page book that uses the course's own _config.yml."""
    folder.mkdir()
    shutil.copy(REPO / "_config.yml", folder)
    shutil.copy(REPO / "references.bib", folder)
    (folder / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (folder / "page.md").write_text(
        "---\njupytext:\n  text_representation:\n    format_name: myst\n"
        "kernelspec:\n  name: python3\n  display_name: Python 3\n---\n\n# Page\n\n"
        f"```{{code-cell}} ipython3\n{cell}\n```\n")
    return folder


@pytest.mark.parametrize("name, passes", [("clean", True), ("failing", False), ("stderr", False),
                                          ("warning", False), ("tagged", True), ("raises", True)])
def test_build_outcome(tmp_path, name, passes):
    book = tiny_book(tmp_path / name, CELLS[name])
    result = subprocess.run([str(JB), "build", "-W", "-n", "--keep-going", str(book)],
                            capture_output=True, text=True, timeout=600)
    assert (result.returncode == 0) == passes, result.stdout[-2000:] + result.stderr[-2000:]
