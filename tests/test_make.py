"""The Makefile clears the execution cache when the package, the data or the pins change.

It clears Sphinx's saved environment too: with it, Sphinx reads only the pages whose source
changed, so every other page would keep the outputs of the old package without running again.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STAMP = "_build/.cache-stamp"


@pytest.fixture
def checkout(tmp_path):
    for item in ("Makefile", "requirements.txt", "pyproject.toml", "pragmatic", "datasets"):
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    return tmp_path


def stamp_with_cache(folder: Path) -> list[Path]:
    """Bring the stamp up to date, then fill the execution cache and Sphinx's environment."""
    subprocess.run(["make", "-s", STAMP], cwd=folder, check=True)
    saved = [folder / "_build" / ".jupyter_cache", folder / "_build" / ".doctrees"]
    for path in saved:
        path.mkdir(parents=True, exist_ok=True)
        (path / "entry").write_text("executed outputs")
    return saved


def touch_later(path: Path) -> None:
    later = time.time() + 5
    os.utime(path, (later, later))


def test_nothing_changed_keeps_the_cache(checkout):
    saved = stamp_with_cache(checkout)
    subprocess.run(["make", "-s", STAMP], cwd=checkout, check=True)
    assert all((path / "entry").exists() for path in saved)


@pytest.mark.parametrize("changed", ["requirements.txt", "pragmatic/sim/mean.py",
                                     "datasets/anscombe.csv"])
def test_a_change_clears_the_cache(checkout, changed):
    saved = stamp_with_cache(checkout)
    touch_later(checkout / changed)
    subprocess.run(["make", "-s", STAMP], cwd=checkout, check=True)
    assert not any(path.exists() for path in saved)
