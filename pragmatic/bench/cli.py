"""The command line of `python -m pragmatic.bench`: one measuring child process per thread
setting, whose rows are merged into one table or JSON list."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from . import __doc__ as DOC
from .report import print_rows
from .table import format_table
from .timing import THREADS, child_env, pin_to_one_core

SECTIONS = ("mean", "scenarios", "generators", "routes", "seeds")


def build_parser():
    from ..sim.cli import OneLineParser, _whole
    from ..sim.mean import DISTRIBUTIONS
    from ..sim.scenarios import REGISTRY
    p = OneLineParser(prog="python -m pragmatic.bench", description=DOC,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per row")
    p.add_argument("--reps", type=int, default=2**18,
                   help="replications for t/z (default 2**18); the bootstrap-t runs reps/256, "
                        "each other scenario reps/4, and the generators draw 16 reps values")
    p.add_argument("--repeats", type=int, default=5,
                   help="timed repeats per figure, interleaved (median; default 5)")
    p.add_argument("--loop-reps", type=_whole(10), default=300,
                   help="replications of the statsmodels loop actually timed (default 300; "
                        "the bootstrap-t loop runs a tenth)")
    p.add_argument("--threads", choices=("both", *THREADS), default="both",
                   help="JAX on every core ('all'), on one core ('1'), or both (default)")
    p.add_argument("--section", action="append", choices=SECTIONS,
                   help="only these parts (repeatable; default all)")
    p.add_argument("--dist", action="append", choices=list(DISTRIBUTIONS),
                   help="mean: only these distributions (repeatable; default all)")
    p.add_argument("--scenario", action="append",
                   choices=[name for name, s in REGISTRY.items() if s.cli is None],
                   help="only these registered scenarios (repeatable; default all)")
    p.add_argument("--route-n", type=_whole(5), action="append",
                   help="routes: n for the sufficient-statistics route against the raw one "
                        "(repeatable; default 10**4 and 10**6)")
    p.add_argument("--seeds", type=_whole(1),
                   help="seeds: how many seeds to train per formulation (default: reps/1024, "
                        "from 4 to 256)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--memory", action="store_true",
                   help="instead, report the peak memory of a 10**8-replication run")
    p.add_argument("--child", choices=THREADS, help=argparse.SUPPRESS)
    return p


def measure(args) -> list[dict]:
    """Every row of the sections asked for, in this process (one thread setting)."""
    from . import generators, mean, routes, scenarios
    from . import seeds as seed_training

    def log(row):
        if not args.quiet:
            label = row.get("kernel") or row.get("what") or f"{row.get('scenario')} n={row['n']}"
            print(f"[threads={args.child}] {row.get('section', 'kernel')} {label} "
                  f"{row.get('setting', '')}", file=sys.stderr, flush=True)

    sections = args.section or SECTIONS
    rows = []
    if "mean" in sections:
        rows += mean.rows(args.reps, args.repeats, args.loop_reps,
                          dists=tuple(args.dist or mean.DISTRIBUTIONS), log=log)
    if "scenarios" in sections:
        rows += scenarios.rows(max(args.reps // 4, 1), args.repeats, args.loop_reps,
                               names=args.scenario, log=log)
    if "generators" in sections:
        rows += generators.rows(16 * args.reps, args.repeats, log=log)
    if "routes" in sections:
        rows += routes.rows(args.repeats, sizes=tuple(args.route_n or routes.SIZES), log=log)
    if "seeds" in sections:
        rows += seed_training.rows(args.seeds or seed_training.n_seeds(args.reps), args.repeats,
                                   log=log)
    return [{"section": "kernel", **r} if "section" not in r else r for r in rows]


def child_argv(args, threads: str) -> list[str]:
    argv = ["--child", threads, "--reps", str(args.reps), "--repeats", str(args.repeats),
            "--loop-reps", str(args.loop_reps)]
    for option in ("section", "dist", "scenario", "route_n"):
        for value in getattr(args, option) or ():
            argv += [f"--{option.replace('_', '-')}", str(value)]
    if args.seeds:
        argv += ["--seeds", str(args.seeds)]
    return argv + (["--quiet"] if args.quiet else [])


def run_child(args, threads: str) -> dict:
    """Measure in a fresh process: with JAX on every core, or pinned to one core."""
    out = subprocess.run([sys.executable, "-m", "pragmatic.bench", *child_argv(args, threads)],
                         env=child_env(threads), stdout=subprocess.PIPE, text=True,
                         preexec_fn=pin_to_one_core if threads == "1" else None)
    if out.returncode != 0:
        raise SystemExit(f"python -m pragmatic.bench: the measuring process for threads="
                         f"{threads} failed (exit code {out.returncode})")
    return json.loads(out.stdout)


def peak_memory(reps: int = 10**8, n: int = 5) -> dict:
    """Peak resident memory of one command-line run of `reps` replications, in a child process."""
    import resource
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pragmatic.sim", "mean", "--dist", "normal", "--n", str(n),
                    "--reps", str(reps), "--seed", "1", "--json"], check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return {"reps": reps, "n": n, "seconds": seconds, "peak_rss_mib": peak_kib / 1024}


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.memory:
        from .timing import machine
        print(json.dumps({**peak_memory(), "machine": machine()}, indent=2))
        return 0
    if args.reps < 64 or args.repeats < 1:
        parser.exit(2, f"{parser.prog}: error: --reps must be >= 64 and --repeats >= 1, "
                       f"got {args.reps} and {args.repeats}\n")
    if args.child:
        from .timing import machine
        rows = [{**r, "threads": args.child} for r in measure(args)]
        print(json.dumps({"rows": rows, "machine": machine()}))
        return 0
    rows, machines = [], {}
    for threads in (THREADS if args.threads == "both" else (args.threads,)):
        got = run_child(args, threads)
        rows += got["rows"]
        machines[threads] = got["machine"]
    machine = {**machines.get("all", next(iter(machines.values()))),
               "cores_allowed": {t: m["cores_allowed"] for t, m in machines.items()},
               "load_average_1min": {t: m["load_average_1min"] for t, m in machines.items()}}
    return print_rows(rows, args.json, lambda rows: format_table(rows, machine), machine)
