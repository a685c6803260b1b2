"""The registry of scenarios: one module each, found here by name.

A scenario module defines `SCENARIO`, a `Scenario`: its parameters with their allowed ranges,
its draw and kernel (`replicate`), its procedures and its target. The engine
(`simulate_scenario`), the command line, the JSON and the progress bar take everything else from
here, so adding a scenario means adding one module (and its tests). Modules whose names start
with `_` hold shared code and are not scenarios.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

from scipy import stats

from ..engine import SimulationError


@dataclass(frozen=True)
class Param:
    """One parameter of a scenario, with its allowed range.

    A whole-number parameter is a size: it fixes array shapes, so it is part of the (static)
    design; any other parameter is a float32 value handed to the kernel. `repeat`: the command
    line takes it several times and prints one result for each value.
    """

    name: str
    help: str
    default: float | int | None = None  # None: required
    whole: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    repeat: bool = False

    @property
    def allowed(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        if self.low is not None and self.high is not None:
            return (f"{kind} in {'(' if self.low_open else '['}{self.low:g}, "
                    f"{self.high:g}{')' if self.high_open else ']'}")
        if self.low is not None:
            return f"{kind} {'>' if self.low_open else '>='} {self.low:g}"
        return kind

    def check(self, value):
        """The value, if allowed; otherwise a SimulationError that names it and the range."""
        if self.whole:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value))
        if ok and self.low is not None:
            ok = value > self.low if self.low_open else value >= self.low
        if ok and self.high is not None:
            ok = value < self.high if self.high_open else value <= self.high
        if not ok:
            raise SimulationError(f"{self.name} must be {self.allowed}, got {value!r}")
        return int(value) if self.whole else float(value)


@dataclass(frozen=True)
class Design:
    """What is fixed for a whole experiment: level, procedures and the sizes (whole-number
    parameters, which fix array shapes). `design["n"]` reads a size."""

    level: float
    procedures: tuple
    sizes: tuple = ()  # (name, value) pairs

    def __getitem__(self, name: str) -> int:
        return dict(self.sizes)[name]

    def t_crit(self, df: int) -> float:
        """Student t critical value with df degrees of freedom, for a two-sided interval."""
        return float(stats.t.ppf((1 + self.level) / 2, df))

    @property
    def z_crit(self) -> float:
        return float(stats.norm.ppf((1 + self.level) / 2))


def _no_check(params: dict) -> None:
    return None


def _no_extra(params: dict, *design) -> dict:
    return {}


@dataclass(frozen=True)
class Scenario:
    """A data-generating process, the interval procedures scored on it, and their target.

    `replicate(key, target, params, *, dist, design)` draws one dataset and returns
    {procedure: (miss_low, miss_high, width, degenerate)}, plus optionally "extra":
    {name: value}, per-replication values whose mean over replications is reported.

    `sufficient`, where the mathematics allows it, is a second kernel with the same signature
    and outputs that draws the data's sufficient statistics directly instead of the data, so
    that its cost does not grow with n; `sufficient_procedures` are the procedures it can
    score (the others need the raw data). Its extras must have the same means as the raw
    kernel's. The engine chooses between the two (`route`).
    """

    name: str
    description: str  # the model, in one line
    params: tuple  # of Param
    procedures: tuple
    replicate: Callable = field(repr=False)
    target: Callable[[dict], float] = field(repr=False)
    observations: Callable[[dict], int] = field(repr=False)  # data points per replication
    check: Callable[[dict], None] = field(default=_no_check, repr=False)  # across parameters
    extra: Callable[[dict], dict] = field(default=_no_extra, repr=False)  # from the settings
    extra_doc: tuple = ()  # (key, meaning) of every extra output
    # The command line: None for the generic one built from `params`; `mean` has its own.
    cli: object = field(default=None, repr=False)
    sufficient: Callable | None = field(default=None, repr=False)
    sufficient_procedures: tuple = ()
    # The sizes, and numbers computed from them (a critical value), that the sufficient kernel
    # takes as float32 values in `params` rather than as static sizes in `design`: one
    # compilation then serves every n. (settings, design) -> {name: number}.
    sufficient_inputs: Callable[[dict, Design], dict] = field(default=_no_extra, repr=False)

    def route(self, procedures: tuple, route: str = "auto") -> str:
        """"sufficient" or "raw": the kernel that scores `procedures` on the route asked for.

        auto is the sufficient route when the scenario has one and it scores every procedure,
        and the raw route otherwise.
        """
        routes = ("auto", "sufficient", "raw")
        if route not in routes:
            raise SimulationError(f"route must be one of {', '.join(routes)}, got {route!r}")
        if route == "raw":
            return route
        if self.sufficient is None:
            if route == "sufficient":
                raise SimulationError(f"{self.name} has no sufficient-statistics route; "
                                      "route must be auto or raw")
            return "raw"
        raw_only = [p for p in procedures if p not in self.sufficient_procedures]
        if route == "sufficient" and raw_only:
            raise SimulationError(
                f"route sufficient cannot score {raw_only[0]}: it needs the raw data; the "
                f"sufficient route scores {', '.join(self.sufficient_procedures)} "
                "(use route raw or auto)")
        return "raw" if raw_only else "sufficient"

    def resolve(self, given: dict) -> dict:
        """Every parameter: given or its default, each checked, then checked together."""
        given = {k: v for k, v in given.items() if v is not None}
        names = [p.name for p in self.params]
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise SimulationError(f"{self.name} takes no parameter {unknown[0]!r}; it takes: "
                                  f"{', '.join(names)}")
        resolved = {}
        for p in self.params:
            if p.name not in given and p.default is None:
                raise SimulationError(f"{self.name} needs {p.name} ({p.allowed})")
            resolved[p.name] = p.check(given.get(p.name, p.default))
        self.check(resolved)
        return resolved


def _load() -> dict:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: (m.name != "mean", m.name)):
        if not info.name.startswith("_"):
            scenario = importlib.import_module(f"{__name__}.{info.name}").SCENARIO
            found[scenario.name] = scenario
    return found


REGISTRY: dict[str, Scenario] = _load()
