"""The command line of `python -m pragmatic.bench`: one measuring child process per thread
setting, whose rows are merged into one table or JSON list."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time

from . import __doc__ as DOC
from .report import print_rows
from .timing import THREADS, child_env, pin_to_one_core

SECTIONS = ("mean", "scenarios", "generators", "routes")
GOALS = {"vs_rng_floor": ("<=", 1.25), "speedup_vs_numpy": (">=", 1.5),
         "speedup_vs_loop": (">=", 100)}
LIKE_WITH_LIKE = ("Only the one-thread figures compare like with like: NumPy's generator and "
                  "statistics run on one thread, while XLA uses every core it is allowed.")


def build_parser():
    from ..sim.cli import OneLineParser, _whole
    from ..sim.mean import DISTRIBUTIONS
    from ..sim.scenarios import REGISTRY
    p = OneLineParser(prog="python -m pragmatic.bench", description=DOC,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per row")
    p.add_argument("--reps", type=int, default=2**20,
                   help="replications for t/z (default 2**20); the bootstrap-t runs reps/256 "
                        "and each other scenario reps/4")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (median)")
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
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--memory", action="store_true",
                   help="instead, report the peak memory of a 10**8-replication run")
    p.add_argument("--child", choices=THREADS, help=argparse.SUPPRESS)
    return p


def measure(args) -> list[dict]:
    """Every row of the sections asked for, in this process (one thread setting)."""
    from . import generators, mean, routes, scenarios

    def log(row):
        if not args.quiet:
            label = row.get("kernel") or row.get("what") or f"{row.get('scenario')} n={row['n']}"
            print(f"[threads={args.child}] {row.get('section', 'kernel')} {label} {row.get('setting', '')}",
                  file=sys.stderr, flush=True)

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
        rows += routes.rows(args.repeats, log=log)
    return [{"section": "kernel", **r} if "section" not in r else r for r in rows]


def child_argv(args, threads: str) -> list[str]:
    argv = ["--child", threads, "--reps", str(args.reps), "--repeats", str(args.repeats),
            "--loop-reps", str(args.loop_reps)]
    for option in ("section", "dist", "scenario"):
        for value in getattr(args, option) or ():
            argv += [f"--{option}", value]
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


# --- the table ----------------------------------------------------------------------------------

def _f(x, digits=2, width=6):
    if x is None or not isinstance(x, (int, float)) or not math.isfinite(x):
        return f"{'–':>{width}}"
    return f"{x:>{width}.{digits}f}" if abs(x) < 1000 else f"{x:>{width}.0f}"


def _pair(by_threads, key, digits=2):
    """'all-core | one-thread' figures of one row."""
    return " ".join(_f(by_threads.get(t, {}).get(key), digits) for t in THREADS)


def format_table(rows: list[dict], machine: dict | None = None) -> str:
    threads_run = [t for t in THREADS if any(r["threads"] == t for r in rows)]
    lines = [*([f"Machine: {machine}"] if machine else []),
             f"Each ratio twice: JAX on all cores | JAX on one core ({' | '.join(threads_run)}). "
             + LIKE_WITH_LIKE,
             "Goals: " + ", ".join(f"{k} {op} {v:g}" for k, (op, v) in GOALS.items())
             + "; seconds are medians of interleaved repeats after compilation."]
    kernels = {}
    for r in rows:
        if r["section"] == "kernel":
            kernels.setdefault((r["family"], r["kernel"], r["setting"]), {})[r["threads"]] = r
    if kernels:
        lines.append(f"{'kernel':<11} {'setting':<26} {'reps':>8} {'kernel s':>13} "
                     f"{'vs_rng_floor':>13} {'speedup_vs_numpy':>16} {'speedup_vs_loop':>15} "
                     f"{'kernel cpu/wall':>15}")
        for (family, kernel, setting), by in kernels.items():
            any_row = next(iter(by.values()))
            seconds = {t: {"s": r["seconds"]["kernel"]} for t, r in by.items()}
            cpu = {t: {"c": r["cpu_per_wall"]["kernel"]} for t, r in by.items()}
            lines.append(f"{kernel:<11} {setting:<26} {any_row['reps']:>8} "
                         f"{_pair(seconds, 's', 3):>13} {_pair(by, 'vs_rng_floor'):>13} "
                         f"{_pair(by, 'speedup_vs_numpy'):>16} "
                         f"{' '.join(_f(by.get(t, {}).get('speedup_vs_loop'), 0) for t in THREADS):>15} "
                         f"{_pair(cpu, 'c'):>15}")
    generators = [r for r in rows if r["section"] == "generator"]
    if generators:
        lines.append("")
        lines.append(f"{'generator (16 reps values)':<38} {'threads':>7} {'jax s':>7} "
                     f"{'randint s':>9} {'numpy s':>7} {'numpy/jax':>9} {'randint/mult-shift':>18}")
        for r in generators:
            s = r["seconds"]
            jax_s = s.get("jax", s.get("jax_multiply_shift"))
            lines.append(f"{r['what']:<38} {r['threads']:>7} {_f(jax_s, 3, 7)} "
                         f"{_f(s.get('jax_randint'), 3, 9)} {_f(s.get('numpy'), 3, 7)} "
                         f"{_f(r.get('numpy_over_jax'), 2, 9)} "
                         f"{_f(r.get('randint_over_multiply_shift'), 2, 18)}")
        lines.append("numpy/jax above 1: JAX draws faster; jax s for indices is the "
                     "multiply-shift draw (pragmatic.sim.mean.random_index)")
    route_rows = [r for r in rows if r["section"] == "route"]
    if route_rows:
        lines.append("")
        lines.append(f"{'route: omitted':<16} {'threads':>7} {'reps':>6} {'sufficient s':>12} "
                     f"{'raw s':>8} {'raw/sufficient':>14}")
        for r in route_rows:
            if not r["available"]:
                lines.append(f"{'n = ' + format(r['n'], ','):<16} {r['threads']:>7} {r['note']}")
                continue
            s = r["seconds"]
            lines.append(f"{'n = ' + format(r['n'], ','):<16} {r['threads']:>7} {r['reps']:>6} "
                         f"{_f(s['sufficient'], 3, 12)} {_f(s['raw'], 3, 8)} "
                         f"{_f(r['raw_over_sufficient'], 1, 14)}")
    return "\n".join(lines)
