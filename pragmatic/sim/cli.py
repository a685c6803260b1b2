"""Command line: `python -m pragmatic.sim mean --dist D --n N [--n N ...] --reps R --seed S`.

Bad input exits with code 2 and one line on stderr that names the value and what is allowed;
an unknown scenario is reported before anything else. `--json` prints a JSON list with one
object per `--n`.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _scenario(text: str) -> str:
    # A type check on the first positional runs before any option is checked or required.
    if text not in SCENARIOS:
        raise argparse.ArgumentTypeError(f"unknown scenario {text!r}; allowed: {', '.join(SCENARIOS)}")
    return text


def _default(dist: str, param: str):
    return f"{dict(DISTRIBUTIONS[dist].defaults)[param]:g}"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m pragmatic.sim",
                description="Coverage of interval procedures for a mean, by Monte Carlo in JAX.")
    p.add_argument("scenario", type=_scenario, help=f"what to simulate; allowed: {', '.join(SCENARIOS)}")
    p.add_argument("--dist", required=True,
                   help=f"data-generating distribution; allowed: {', '.join(DISTRIBUTIONS)}")
    p.add_argument("--n", type=_whole(2), action="append", required=True,
                   help="sample size (>= 2); repeat for several")
    p.add_argument("--reps", type=_whole(1), required=True, help="replications per n")
    p.add_argument("--seed", type=_whole(0), required=True, help="seed of the root key")
    p.add_argument("--level", type=_number, default=0.95,
                   help="nominal level, in (0, 1) (default: %(default)s)")
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
    p.add_argument("--chunk", type=_whole(1), help="replications per device call; no effect on "
                   "results (default: about 2**22 values of intermediates, 64 to 65,536)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list, one object per --n (default: a table)")
    return p


def _se(x: float | None) -> str:
    return "-" if x is None else f"{x:.2g}"  # a small standard error never shows as 0.0000


def _width(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"  # None: undefined, or a quantile off the histogram


def describe(result: dict) -> str:
    """The settings of a run in words, e.g. "mean of lognormal data (sigma = 1), target 1.64872;
    100,000 replications, seed 1, level 0.95, 199 bootstrap resamples"."""
    params = ", ".join(f"{k} = {v:g}" for k, v in result["params"].items() if k != "dist")
    data = f"{result['params']['dist']} data" + (f" ({params})" if params else "")
    text = (f"{result['scenario']} of {data}, target {result['target']:.6g}; "
            f"{result['reps']:,} replications, seed {result['seed']}, level {result['level']:g}")
    if any(p.startswith("boot") for p in result["procedures"]):
        text += f", {result['boot_reps']:,} bootstrap resamples"
    return text


def format_table(results: list[dict]) -> str:
    lines = [describe(results[0]),
             f"{'n':>6}  {'procedure':<9} {'coverage':>8} {'se':>7}  {'miss_low':>8} {'se':>7}  "
             f"{'miss_high':>9} {'se':>7}  {'mean_width':>10} {'se':>7}  {'median_width':>12}"]
    for r in results:
        for name, s in r["results"].items():
            lines.append(
                f"{r['n']:>6}  {name:<9} {s['coverage']:>8.4f} {_se(s['mc_se']):>7}  "
                f"{s['miss_low']:>8.4f} {_se(s['miss_low_mc_se']):>7}  "
                f"{s['miss_high']:>9.4f} {_se(s['miss_high_mc_se']):>7}  "
                f"{_width(s['mean_width']):>10} {_se(s['width_mc_se']):>7}  "
                f"{_width(s['width_median']):>12}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    repeated = sorted({n for n in args.n if args.n.count(n) > 1})
    if repeated:
        parser.error(f"--n {repeated[0]} is given more than once")
    params = {"sigma": args.sigma, "fraction": args.fraction, "outlier_sd": args.outlier_sd}
    try:
        results = [simulate(args.dist, n, args.reps, args.seed, level=args.level, params=params,
                            procedures=args.procedures or ("t", "z"), boot_reps=args.boot_reps,
                            chunk=args.chunk)
                   for n in args.n]
    except SimulationError as err:
        parser.error(str(err))
    text = json.dumps(results, indent=2, allow_nan=False) if args.json else format_table(results)
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (e.g. `head`) has gone: the Python docs' recipe, so that the flush at exit
        # does not raise again, and exit quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0
