"""Load a course dataset from datasets/, after checking its checksum and columns.

    >>> from pragmatic.data import load
    >>> anscombe = load("anscombe")

Nothing is downloaded: every dataset ships as a CSV beside its data card and its entry in
datasets/manifest.json (file, sha256, columns).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pandas as pd


class DataError(ValueError):
    """A dataset is unknown, missing, or not the file the manifest describes."""


def data_dir() -> Path:
    """datasets/ of this checkout, or the folder named by PRAGMATIC_DATA."""
    if "PRAGMATIC_DATA" in os.environ:
        return Path(os.environ["PRAGMATIC_DATA"])
    return Path(__file__).resolve().parent.parent / "datasets"


def manifest(folder: Path | None = None) -> dict:
    folder = folder or data_dir()
    path = folder / "manifest.json"
    if not path.exists():
        raise DataError(f"no dataset manifest at {path}; set PRAGMATIC_DATA to the datasets/ folder")
    return json.loads(path.read_text())


def load(name: str, folder: Path | None = None) -> pd.DataFrame:
    """The dataset `name` as a DataFrame; DataError if it is unknown, altered or incomplete."""
    folder = folder or data_dir()
    entries = manifest(folder)
    if name not in entries:
        raise DataError(f"unknown dataset {name!r}; available: {', '.join(sorted(entries))}")
    entry = entries[name]
    path = folder / entry["file"]
    if not path.exists():
        raise DataError(f"dataset file {path} is missing")
    payload = path.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != entry["sha256"]:
        raise DataError(f"{path} does not match its checksum in manifest.json "
                        f"(sha256 {digest[:12]}..., expected {entry['sha256'][:12]}...)")
    df = pd.read_csv(io.BytesIO(payload))
    if list(df.columns) != entry["columns"]:
        raise DataError(f"{path} has columns {list(df.columns)}, expected {entry['columns']}")
    return df
