"""A lab's whole experiment grid: declared once, run by the notebook or from the command line,
saved to a file and read back.

Each lab declares its grid in one module of `pragmatic.sim.labs`: `GRID = LabGrid(...)`, a list
of experiments, each a scenario run at every combination of the values in `vary`. An instructor
runs the whole grid at any size and saves it,

    python -m pragmatic.sim lab 02-heteroskedasticity --reps 100000

and the lab notebook, calling `lab_results(lab, reps=REPS)`, reads that file back instead of
recomputing when its settings (reps, seed, level, every experiment, the package version) are
the notebook's; otherwise it computes the grid and says why.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import __version__
from .engine import SimulationError, _progress_bar, simulate, simulate_scenario, versions

# Saved runs live in results/ at the top of the repository (git ignores it, so the site is
# always computed afresh); PRAGMATIC_RESULTS points elsewhere.
RESULTS = Path(os.environ.get("PRAGMATIC_RESULTS", Path(__file__).resolve().parents[2] / "results"))
MEAN_PARAMS = ("sigma", "fraction", "outlier_sd")  # the `mean` scenario's distribution parameters


@dataclass(frozen=True)
class Experiment:
    """One scenario, run at every combination of the values in `vary`.

    `fixed` holds the scenario's other parameters; `options` other arguments of the run (for
    `mean`: boot_reps); `reps_factor` scales the lab's replications for this experiment (cheap
    procedures can afford more).
    """

    name: str
    scenario: str
    vary: dict
    fixed: dict = field(default_factory=dict)
    procedures: tuple | None = None
    reps_factor: float = 1
    options: dict = field(default_factory=dict)

    def reps(self, reps: int) -> int:
        return max(1, round(reps * self.reps_factor))

    def settings(self) -> list[dict]:
        """Every combination of the varied values, with the fixed ones, in declaration order."""
        names = list(self.vary)
        return [{**self.fixed, **dict(zip(names, values))}
                for values in itertools.product(*(self.vary[k] for k in names))]

    def run(self, reps: int, seed: int, level: float, params: dict, progress,
            kernel=None) -> dict:
        """One `simulate` or `simulate_scenario` result for one setting (`kernel`: a
        replacement for the scenario's, for tests that feed a lab's checks a broken one)."""
        procedures = self.procedures
        options = dict(self.options, **({} if kernel is None else {"kernel": kernel}))
        if self.scenario == "mean":
            p = dict(params)
            dist, n = p.pop("dist"), p.pop("n")
            return simulate(dist, n, reps, seed, level=level,
                            params={k: p.pop(k) for k in MEAN_PARAMS if k in p},
                            procedures=procedures or ("t", "z"), progress=progress,
                            **options, **p)
        return simulate_scenario(self.scenario, reps, seed, level=level, procedures=procedures,
                                 progress=progress, **options, **params)

    def describe(self) -> dict:
        return {"name": self.name, "scenario": self.scenario,
                "vary": {k: list(v) for k, v in self.vary.items()}, "fixed": dict(self.fixed),
                "procedures": None if self.procedures is None else list(self.procedures),
                "reps_factor": self.reps_factor, "options": dict(self.options)}


@dataclass(frozen=True)
class LabGrid:
    """A lab's experiments, its seed and its level."""

    lab: str  # the page's name, e.g. "02-heteroskedasticity"
    experiments: tuple
    seed: int
    level: float = 0.95

    def experiment(self, name: str) -> Experiment:
        return next(e for e in self.experiments if e.name == name)

    def overview(self, reps: int) -> pd.DataFrame:
        """The grid for a reader: one row per experiment, what it varies and holds fixed, its
        procedures and its replications."""
        def text(values):
            return ", ".join(map(str, values))
        table = pd.DataFrame([
            {"experiment": e.name, "scenario": e.scenario, **e.options, **e.fixed,
             **{k: text(v) for k, v in e.vary.items()},
             "procedures": "all" if e.procedures is None else text(e.procedures),
             "replications each": f"{e.reps(reps):,}"}
            for e in self.experiments]).fillna("").set_index("experiment")
        last = ["procedures", "replications each"]
        return table[[c for c in table if c not in last] + last]

    def settings(self, reps: int) -> dict:
        """What a saved run must match to be read back (in JSON form)."""
        return json.loads(json.dumps({
            "lab": self.lab, "reps": reps, "seed": self.seed, "level": self.level,
            "pragmatic": __version__, "experiments": [e.describe() for e in self.experiments]}))

    def run(self, reps: int, progress: bool | None = None, kernels: dict | None = None) -> dict:
        """Every experiment at every setting; one progress bar over all replications.

        `kernels`: {experiment name: kernel} replacing those scenarios' kernels, for tests; a run
        with them is never one to save.
        """
        _check_reps(reps)
        work = [(e, s) for e in self.experiments for s in e.settings()]
        show = sys.stderr.isatty() if progress is None else progress
        results = []
        with _progress_bar(sum(e.reps(reps) for e, _ in work), show) as bar:
            for experiment, params in work:
                result = experiment.run(experiment.reps(reps), self.seed, self.level, params, bar,
                                        (kernels or {}).get(experiment.name))
                results.append({"experiment": experiment.name, "result": result})
        return {"settings": self.settings(reps), "versions": versions(),
                "saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "results": results}


def _check_reps(reps) -> None:
    if not (isinstance(reps, int) and not isinstance(reps, bool) and reps >= 1):
        raise SimulationError(f"reps must be a whole number >= 1, got {reps!r}")


def _labs() -> dict:
    from .labs import REGISTRY
    return REGISTRY


def get_grid(lab: str | LabGrid) -> LabGrid:
    if isinstance(lab, LabGrid):
        return lab
    if lab not in _labs():
        raise SimulationError(f"unknown lab {lab!r}; allowed: {', '.join(_labs())}")
    return _labs()[lab]


def default_path(lab: str) -> Path:
    return RESULTS / f"{lab}.json"


def to_table(run: dict) -> pd.DataFrame:
    """One row per experiment, setting and procedure: the parameters, the scores and the
    scenario's extra outputs (repeated on each procedure's row)."""
    rows = []
    for item in run["results"]:
        r = item["result"]
        for name, scores in r["results"].items():
            size = {"n": r["n"]} if r["scenario"] == "mean" else {}  # mean's params lack n
            route = {"route": r["route"]} if "route" in r else {}
            rows.append({"experiment": item["experiment"], "scenario": r["scenario"], **route,
                         **r["params"], **size, "observations": r["n"], "procedure": name,
                         "target": r["target"], "reps": r["reps"], **scores,
                         **r.get("extra", {})})
    return pd.DataFrame(rows)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(RESULTS.parent))
    except ValueError:
        return str(path)


def lab_results(lab: str | LabGrid, reps: int, path: str | Path | None = None,
                progress: bool | None = None) -> tuple[pd.DataFrame, str]:
    """The lab's whole grid as a tidy table, and a sentence saying where it came from.

    Read from `path` (default results/<lab>.json) when that file holds a run with exactly these
    settings; computed otherwise.
    """
    grid = get_grid(lab)
    _check_reps(reps)
    path = Path(path) if path is not None else default_path(grid.lab)
    wanted = grid.settings(reps)
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("settings") == wanted:
            return to_table(saved), (f"read from {_relative(path)}: {reps:,} replications, "
                                     f"saved {saved['saved']}")
        why = f"{_relative(path)} holds a run with other settings"
        if saved.get("settings", {}).get("reps") != reps:
            why += f" ({saved.get('settings', {}).get('reps')!r} replications, not {reps:,})"
    else:
        why = f"no saved run at {_relative(path)}"
    return to_table(grid.run(reps, progress)), f"computed in this run ({why})"


def save(run: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, indent=1, allow_nan=False) + "\n")
    return path


def main(argv, parser_class) -> int:
    """`python -m pragmatic.sim lab LAB --reps R [--out FILE]`: run a lab's whole grid, save it."""
    p = parser_class(prog="python -m pragmatic.sim lab",
                     description="Run a lab's whole experiment grid and save it; the lab notebook "
                                 "reads the file back when its settings match.")
    p.add_argument("lab", help=f"the lab; allowed: {', '.join(_labs())}")
    p.add_argument("--reps", type=int, required=True,
                   help="the lab's REPS (each experiment runs its multiple of it)")
    p.add_argument("--out", type=Path, help="where to save (default: results/LAB.json, the "
                                            "file the notebook looks for)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    try:
        grid = get_grid(args.lab)
        run = grid.run(args.reps, progress=False if args.no_progress else None)
    except SimulationError as err:
        p.error(str(err))
    out = save(run, args.out or default_path(grid.lab))
    cells = len(run["results"])
    print(f"{grid.lab}: {cells} settings at reps {args.reps:,}, saved to {out}")
    return 0
