"""Command line: `python -m pragmatic.sim mean --dist D --n N [--n N ...] --reps R --seed S`.

Bad input exits with code 2 and one line on stderr that names the value and what is allowed.
"""

from __future__ import annotations

import argparse
import json
import sys

from .engine import SimulationError, simulate
from .mean import DISTRIBUTIONS, PROCEDURES

SCENARIOS = ("mean",)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but bad input gets one line on stderr (no usage block) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


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


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m pragmatic.sim",
                description="Coverage of interval procedures for a mean, by Monte Carlo in JAX.")
    p.add_argument("scenario", help=f"what to simulate; allowed: {', '.join(SCENARIOS)}")
    p.add_argument("--dist", required=True,
                   help=f"data-generating distribution; allowed: {', '.join(DISTRIBUTIONS)}")
    p.add_argument("--n", type=_whole(2), action="append", required=True,
                   help="sample size (>= 2); repeat for several")
    p.add_argument("--reps", type=_whole(1), required=True, help="replications per n")
    p.add_argument("--seed", type=_whole(0), required=True, help="seed of the root key")
    p.add_argument("--level", type=_number, default=0.95, help="nominal level, in (0, 1)")
    p.add_argument("--procedure", action="append", dest="procedures",
                   help=f"interval to score; repeat for several; allowed: {', '.join(PROCEDURES)}"
                        " (default: t and z)")
    p.add_argument("--boot-reps", type=_whole(1), default=199,
                   help="bootstrap resamples per replication for boot-t (default 199)")
    p.add_argument("--sigma", type=_number, help="lognormal: sigma of log X (default 1)")
    p.add_argument("--fraction", type=_number,
                   help="contaminated: fraction of outliers (default 0.1)")
    p.add_argument("--outlier-sd", type=_number,
                   help="contaminated: standard deviation of the outliers (default 10)")
    p.add_argument("--chunk", type=_whole(1), help="replications per device call (no effect on results)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def format_table(results: list[dict]) -> str:
    first = results[0]
    lines = [f"scenario {first['scenario']}: {first['params']}, target {first['target']:.6g}, "
             f"{first['reps']} reps, seed {first['seed']}, level {first['level']}",
             f"{'n':>6}  {'procedure':<9} {'coverage':>9} {'mc_se':>8} {'mean_width':>11} "
             f"{'width_mc_se':>11}"]
    for r in results:
        for name, s in r["results"].items():
            lines.append(f"{r['n']:>6}  {name:<9} {s['coverage']:>9.4f} {s['mc_se']:>8.4f} "
                         f"{s['mean_width']:>11.4f} {s['width_mc_se']:>11.4f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.scenario not in SCENARIOS:
        parser.error(f"unknown scenario {args.scenario!r}; allowed: {', '.join(SCENARIOS)}")
    params = {"sigma": args.sigma, "fraction": args.fraction, "outlier_sd": args.outlier_sd}
    try:
        results = [simulate(args.dist, n, args.reps, args.seed, level=args.level, params=params,
                            procedures=args.procedures or ("t", "z"), boot_reps=args.boot_reps,
                            chunk=args.chunk)
                   for n in args.n]
    except SimulationError as err:
        parser.error(str(err))
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    else:
        print(format_table(results))
    return 0
