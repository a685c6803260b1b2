"""The Makefile clears the execution cache when the package, the data or the pins change."""

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


def stamp_with_cache(folder: Path) -> Path:
    """Bring the stamp up to date, then put something in the execution cache."""
    subprocess.run(["make", "-s", STAMP], cwd=folder, check=True)
    cache = folder / "_build" / ".jupyter_cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "entry").write_text("executed outputs")
    return cache


def touch_later(path: Path) -> None:
    later = time.time() + 5
    os.utime(path, (later, later))


def test_nothing_changed_keeps_the_cache(checkout):
    cache = stamp_with_cache(checkout)
    subprocess.run(["make", "-s", STAMP], cwd=checkout, check=True)
    assert (cache / "entry").exists()


@pytest.mark.parametrize("changed", ["requirements.txt", "pragmatic/sim/mean.py",
                                     "datasets/anscombe.csv"])
def test_a_change_clears_the_cache(checkout, changed):
    cache = stamp_with_cache(checkout)
    touch_later(checkout / changed)
    subprocess.run(["make", "-s", STAMP], cwd=checkout, check=True)
    assert not cache.exists()
