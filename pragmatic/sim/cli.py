"""Command line: `python -m pragmatic.sim SCENARIO [options]`, e.g.
`python -m pragmatic.sim mean --dist D --n N [--n N ...] --reps R --seed S`, or
`python -m pragmatic.sim lab LAB --reps R` for a lab's whole grid (`pragmatic.sim.grid`).

The scenario comes first; its options come from the registry (`pragmatic.sim.scenarios`):
`mean` has its own parser (`build_parser`), every other scenario one built from its declared
parameters (`scenario_parser`). Bad input exits with code 2 and one line on stderr that names
the value and what is allowed; an unknown scenario is reported before anything else. `--json`
prints a JSON list with one object per `--n` (or per value of the scenario's repeatable size).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..cli import OneLineParser
from .engine import SimulationError, simulate, simulate_scenario
from .mean import DISTRIBUTIONS, PROCEDURES


def _registry() -> dict:
    from .scenarios import REGISTRY  # here, not above: the scenario modules import this one
    return REGISTRY


def _whole(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {low}, got {text!r}")
        return value
    return parse


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}")


def _scenario(text: str) -> str:
    # A type check on the first positional runs before any option is checked or required.
    if text not in _registry():
        raise argparse.ArgumentTypeError(
            f"unknown scenario {text!r}; allowed: {', '.join(_registry())}")
    return text


def _default(dist: str, param: str):
    return f"{dict(DISTRIBUTIONS[dist].defaults)[param]:g}"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m pragmatic.sim",
                description="Coverage of interval procedures, by Monte Carlo in JAX. These are "
                            "the options of the scenario `mean`; `python -m pragmatic.sim "
                            "SCENARIO --help` shows another's; `python -m pragmatic.sim lab "
                            "--help` runs a lab's whole grid.")
    p.add_argument("scenario", type=_scenario,
                   help=f"what to simulate; allowed: {', '.join(_registry())}")
    p.add_argument("--dist", required=True,
                   help=f"data-generating distribution; allowed: {', '.join(DISTRIBUTIONS)}")
    p.add_argument("--n", type=_whole(2), action="append", required=True,
                   help="sample size (>= 2); repeat for several")
    _add_run_options(p, "n")
    p.add_argument("--procedure", action="append", dest="procedures",
                   help=f"interval to score; repeat for several, in the order to report; allowed: "
                        f"{', '.join(PROCEDURES)} (default: t, z)")
    p.add_argument("--boot-reps", type=_whole(1), default=199,
                   help="bootstrap resamples per replication (default: %(default)s)")
    p.add_argument("--sigma", type=_number,
                   help=f"lognormal: sigma of log X (default: {_default('lognormal', 'sigma')})")
    p.add_argument("--fraction", type=_number, help="contaminated, contaminated-up: fraction of outliers "
                   f"(default: {_default('contaminated', 'fraction')})")
    p.add_argument("--outlier-sd", type=_number, help="contaminated, contaminated-up: standard deviation of the "
                   f"outliers (default: {_default('contaminated', 'outlier_sd')})")
    _add_output_options(p, "--n")
    return p


def _add_run_options(p: argparse.ArgumentParser, size: str) -> None:
    p.add_argument("--reps", type=_whole(1), required=True, help=f"replications per {size}")
    p.add_argument("--seed", type=_whole(0), required=True, help="seed of the root key")
    p.add_argument("--level", type=_number, default=0.95,
                   help="nominal level, in (0, 1) (default: %(default)s)")


def _add_output_options(p: argparse.ArgumentParser, size: str) -> None:
    p.add_argument("--chunk", type=_whole(1), help="replications per call, split over the "
                   "devices; no effect on results (default: about 2**22 values of "
                   "intermediates per device, 64 to 65,536 replications per device)")
    p.add_argument("--devices", type=_integer,
                   help="local devices to shard replications over; no effect on results "
                        "(default: all of the default backend)")
    p.add_argument("--json", action="store_true",
                   help=f"print a JSON list, one object per {size} (default: a table)")


def scenario_parser(spec) -> argparse.ArgumentParser:
    """The parser of a registered scenario, built from its declared parameters."""
    p = OneLineParser(prog=f"python -m pragmatic.sim {spec.name}",
                      description=f"{spec.name}: {spec.description}.")
    p.add_argument("scenario", type=_scenario, help=f"what to simulate: {spec.name}")
    for param in spec.params:
        parse = _integer if param.whole else _number
        text = f"{param.help}; {param.allowed}"
        if param.repeat:
            text += "; repeat for several"
        if param.default is not None:
            text += f" (default: {param.default:g})"
        p.add_argument(f"--{param.name.replace('_', '-')}", dest=param.name, type=parse,
                       action="append" if param.repeat else "store",
                       required=param.default is None, help=text)
    size = next(param.name for param in spec.params if param.repeat)
    _add_run_options(p, size)
    p.add_argument("--procedure", action="append", dest="procedures",
                   help=f"interval to score; repeat for several, in the order to report; allowed: "
                        f"{', '.join(spec.procedures)} (default: all, in that order)")
    if spec.sufficient is not None:
        p.add_argument("--route", choices=("auto", "sufficient", "raw"), default="auto",
                       help="sufficient: draw the sufficient statistics, not the data (cost "
                            "independent of n; scores only "
                            f"{', '.join(spec.sufficient_procedures)}); raw: draw the data; "
                            "auto: sufficient if it scores every procedure asked for "
                            "(default: %(default)s)")
    _add_output_options(p, f"--{size}")
    return p


def _se(x: float | None) -> str:
    return "-" if x is None else f"{x:.2g}"  # a small standard error never shows as 0.0000


def _width(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"  # None: undefined, or a quantile off the histogram


def describe(result: dict) -> str:
    """The settings of a run in words, e.g. "mean of lognormal data (sigma = 1), target 1.64872;
    100,000 replications, seed 1, level 0.95, 199 bootstrap resamples"."""
    if result["scenario"] == "mean":
        params = ", ".join(f"{k} = {v:g}" for k, v in result["params"].items() if k != "dist")
        data = f"of {result['params']['dist']} data" + (f" ({params})" if params else "")
    else:
        data = f"({', '.join(f'{k} = {v:g}' for k, v in result['params'].items())})"
    text = (f"{result['scenario']} {data}, target {result['target']:.6g}; "
            f"{result['reps']:,} replications, seed {result['seed']}, level {result['level']:g}")
    if result.get("route") == "sufficient":
        text += ", sufficient statistics drawn in place of the data"
    if any(p.startswith("boot") for p in result["procedures"]):
        text += f", {result['boot_reps']:,} bootstrap resamples"
    for key, value in result.get("extra", {}).items():
        text += f"; {key} {_width(value) if 'mc_se' not in key else _se(value)}"
    return text


def format_table(results: list[dict], size: str = "n") -> str:
    """One row per procedure and value of the size (`n`, or e.g. `groups`)."""
    wide = max(9, *(len(name) for r in results for name in r["results"]))
    size_wide = max(6, *(len(str(r["params"].get(size, r["n"]))) for r in results))
    lines = [describe(results[0]),
             f"{size:>{size_wide}}  {'procedure':<{wide}} {'coverage':>8} {'se':>7}  {'miss_low':>8} "
             f"{'se':>7}  {'miss_high':>9} {'se':>7}  {'mean_width':>10} {'se':>7}  "
             f"{'median_width':>12}"]
    for r in results:
        value = r["params"].get(size, r["n"])
        for name, s in r["results"].items():
            lines.append(
                f"{value:>{size_wide}}  {name:<{wide}} {s['coverage']:>8.4f} {_se(s['mc_se']):>7}  "
                f"{s['miss_low']:>8.4f} {_se(s['miss_low_mc_se']):>7}  "
                f"{s['miss_high']:>9.4f} {_se(s['miss_high_mc_se']):>7}  "
                f"{_width(s['mean_width']):>10} {_se(s['width_mc_se']):>7}  "
                f"{_width(s['width_median']):>12}")
    return "\n".join(lines)


def _repeated(parser, option: str, values: list) -> None:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        parser.error(f"{option} {repeated[0]} is given more than once")


def run_mean(parser, args) -> list[dict]:
    _repeated(parser, "--n", args.n)
    params = {"sigma": args.sigma, "fraction": args.fraction, "outlier_sd": args.outlier_sd}
    return [simulate(args.dist, n, args.reps, args.seed, level=args.level, params=params,
                     procedures=args.procedures or ("t", "z"), boot_reps=args.boot_reps,
                     chunk=args.chunk, devices=args.devices)
            for n in args.n]


def run_scenario(spec, parser, args) -> list[dict]:
    size = next(param.name for param in spec.params if param.repeat)
    _repeated(parser, f"--{size}", getattr(args, size))
    params = {param.name: getattr(args, param.name) for param in spec.params}
    return [simulate_scenario(spec.name, args.reps, args.seed, level=args.level,
                              procedures=args.procedures, chunk=args.chunk,
                              devices=args.devices, route=getattr(args, "route", "auto"),
                              **(params | {size: value}))
            for value in getattr(args, size)]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # The scenario comes first; an unknown one (or none, as with --help alone) goes to mean's
    # parser, which reports it before anything else.
    first = next((a for a in argv if not a.startswith("-")), "mean")
    if first == "lab":  # a lab's whole grid (pragmatic.sim.grid)
        from . import grid
        argv.remove("lab")
        return grid.main(argv, OneLineParser)
    spec = _registry().get(first)
    size = "n"
    if spec is None or spec.cli is not None:
        parser = build_parser()
        args = parser.parse_args(argv)
        run = lambda: run_mean(parser, args)
    else:
        parser = scenario_parser(spec)
        args = parser.parse_args(argv)
        run = lambda: run_scenario(spec, parser, args)
        size = next(param.name for param in spec.params if param.repeat)
    try:
        results = run()
    except SimulationError as err:
        parser.error(str(err))
    text = json.dumps(results, indent=2, allow_nan=False) if args.json else format_table(results, size)
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (e.g. `head`) has gone: the Python docs' recipe, so that the flush at exit
        # does not raise again, and exit quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0
