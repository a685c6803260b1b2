"""The experiment grid of each lab, one module each, found here by the lab's name.

A module defines `GRID`, a `pragmatic.sim.grid.LabGrid` whose `lab` is the page's name
(`labs/<lab>.md`). The notebook reads it with `lab_results(lab, reps=REPS)`; an instructor runs
it with `python -m pragmatic.sim lab <lab> --reps R`.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..grid import LabGrid


def _load() -> dict[str, LabGrid]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        grid = importlib.import_module(f"{__name__}.{info.name}").GRID
        found[grid.lab] = grid
    return dict(sorted(found.items()))


REGISTRY: dict[str, LabGrid] = _load()
