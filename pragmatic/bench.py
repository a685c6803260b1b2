"""Benchmark: `python -m pragmatic.bench [--json] [--reps R] [--repeats K]`.

For each kernel (t/z intervals; bootstrap-t) and each distribution, at n = 30 in float32, it
times, side by side in one run and after compilation (median of K interleaved repeats):

- kernel: the JAX kernel through the engine (`simulate`);
- floor:  the same engine, keys, chunks and dtype with the statistics removed (drawing only);
- numpy:  the same computation in NumPy, vectorised per chunk, in float32;
- loop:   a per-replication statsmodels loop (float64), timed on a subset and scaled.

and reports vs_rng_floor = kernel / floor, speedup_vs_numpy = numpy / kernel and
speedup_vs_loop = loop / kernel. Ratios, not seconds, are what carry across machines.
"""

from __future__ import annotations

import json
import math
import platform
import statistics
import sys
import time

import numpy as np
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from .sim.cli import OneLineParser
from .sim.engine import default_chunk, make_design, simulate, versions
from .sim.mean import DISTRIBUTIONS, draw_only

N = 30
LEVEL = 0.95


def numpy_draw(rng: np.random.Generator, name: str, shape, dtype=np.float32):
    """NumPy draws built the same way as the JAX kernel's."""
    z = rng.standard_normal(shape, dtype=dtype)
    if name == "normal":
        return z
    if name == "lognormal":
        return np.exp(dtype(1.0) * z)
    if name == "exponential":
        return rng.standard_exponential(shape, dtype=dtype)
    if name in ("t3", "t2"):
        df = int(name[1])
        u = 1 - rng.random((df // 2, *shape), dtype=dtype)  # in (0, 1]
        chi2 = -2 * np.sum(np.log(u), axis=0)
        if df % 2:
            chi2 += rng.standard_normal(shape, dtype=dtype) ** 2
        return z / np.sqrt(chi2 / dtype(df))
    if name in ("contaminated", "contaminated-up"):
        outlier = dtype(10.0) * (np.abs(z) if name == "contaminated-up" else z)
        return np.where(rng.random(shape, dtype=dtype) < dtype(0.1), outlier, z)
    raise ValueError(f"unknown distribution {name!r}")


def numpy_t_z(name: str, reps: int, chunk: int, seed: int) -> dict:
    """The t/z kernel in NumPy: draw a chunk, build both intervals, count and sum in float64."""
    rng = np.random.default_rng(seed)
    target = DISTRIBUTIONS[name].mean(dict(DISTRIBUTIONS[name].defaults))
    crit = {"t": np.float32(stats.t.ppf(0.975, N - 1)), "z": np.float32(stats.norm.ppf(0.975))}
    covered = {k: 0 for k in crit}
    width = {k: 0.0 for k in crit}
    for start in range(0, reps, chunk):
        x = numpy_draw(rng, name, (min(chunk, reps - start), N))
        xbar = x.mean(axis=1)
        se = x.std(axis=1, ddof=1) / np.float32(math.sqrt(N))
        for k, c in crit.items():
            covered[k] += int(np.count_nonzero(np.abs(xbar - np.float32(target)) <= c * se))
            width[k] += float(np.sum((2 * c * se).astype(np.float64)))
    return {k: (covered[k] / reps, width[k] / reps) for k in crit}


def numpy_boot_t(name: str, reps: int, chunk: int, seed: int, boot_reps: int = 199) -> float:
    """Bootstrap-t in NumPy, vectorised over a chunk of replications and their resamples."""
    rng = np.random.default_rng(seed)
    target = DISTRIBUTIONS[name].mean(dict(DISTRIBUTIONS[name].defaults))
    k = make_design(N, LEVEL, ("boot-t",), boot_reps).boot_rank
    covered = 0
    for start in range(0, reps, chunk):
        m = min(chunk, reps - start)
        x = numpy_draw(rng, name, (m, N))
        xbar = x.mean(axis=1)
        se = x.std(axis=1, ddof=1) / np.float32(math.sqrt(N))
        idx = rng.integers(0, N, (m, boot_reps, N))
        res = np.take_along_axis(x[:, None, :], idx, axis=2)
        se_star = res.std(axis=2, ddof=1) / np.float32(math.sqrt(N))
        diff = res.mean(axis=2) - xbar[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = np.where(se_star > 0, diff / se_star, np.where(diff >= 0, np.inf, -np.inf))
        t_star.sort(axis=1)
        lower = xbar - t_star[:, boot_reps - k] * se
        upper = xbar - t_star[:, k - 1] * se
        covered += int(np.count_nonzero((lower <= target) & (target <= upper)))
    return covered / reps


def loop_statsmodels(name: str, reps: int, seed: int, boot: bool) -> None:
    """One replication at a time, with statsmodels (and a plain bootstrap-t loop if asked)."""
    rng = np.random.default_rng(seed)
    for _ in range(reps):
        x = numpy_draw(rng, name, (N,), dtype=np.float64)
        d = DescrStatsW(x)
        d.tconfint_mean(alpha=1 - LEVEL)
        d.zconfint_mean(alpha=1 - LEVEL)
        if boot:
            idx = rng.integers(0, N, (199, N))
            [DescrStatsW(x[row]).std_mean for row in idx]


def _interleaved_medians(fns: dict, repeats: int) -> dict:
    """Median seconds of each function, timed in turn within each round so drift hits all alike."""
    for fn in fns.values():
        fn()  # compile and warm up
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def run(reps: int = 2**21, boot_reps_fraction: int = 256, repeats: int = 5,
        loop_reps: int = 300, dists=tuple(DISTRIBUTIONS), kernels=("t/z", "boot-t")) -> list[dict]:
    rows = []
    for kernel in kernels:
        procedures = ("t", "z") if kernel == "t/z" else ("boot-t",)
        r = reps if kernel == "t/z" else max(reps // boot_reps_fraction, 1)
        chunk = default_chunk(make_design(N, LEVEL, procedures))
        for name in dists:
            run_kernel = lambda: simulate(name, N, r, 0, procedures=procedures, chunk=chunk)
            run_floor = lambda: simulate(name, N, r, 0, procedures=procedures, chunk=chunk,
                                         kernel=draw_only)
            if kernel == "t/z":
                run_numpy = lambda: numpy_t_z(name, r, chunk, 0)
            else:
                run_numpy = lambda: numpy_boot_t(name, r, chunk, 0)
            seconds = _interleaved_medians(
                {"kernel": run_kernel, "floor": run_floor, "numpy": run_numpy}, repeats)
            m = loop_reps if kernel == "t/z" else max(loop_reps // 10, 1)
            t0 = time.perf_counter()
            loop_statsmodels(name, m, 0, boot=kernel == "boot-t")
            seconds["loop"] = (time.perf_counter() - t0) * r / m
            rows.append({
                "kernel": kernel, "dist": name, "n": N, "reps": r, "dtype": "float32",
                "chunk": chunk, "loop_reps_timed": m, "seconds": seconds,
                "vs_rng_floor": seconds["kernel"] / seconds["floor"],
                "speedup_vs_numpy": seconds["numpy"] / seconds["kernel"],
                "speedup_vs_loop": seconds["loop"] / seconds["kernel"],
            })
    return rows


def peak_memory(reps: int = 10**8, n: int = 5) -> dict:
    """Peak resident memory of one command-line run of `reps` replications, in a child process."""
    import resource
    import subprocess
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pragmatic.sim", "mean", "--dist", "normal", "--n", str(n),
                    "--reps", str(reps), "--seed", "1", "--json"], check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return {"reps": reps, "n": n, "seconds": seconds, "peak_rss_mib": peak_kib / 1024}


def machine() -> dict:
    import os
    return {**versions(), "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "processor": platform.processor() or platform.machine()}


def format_table(rows: list[dict]) -> str:
    lines = [f"n = {N}, float32; seconds are medians after compilation; {machine()}",
             f"{'kernel':<7} {'dist':<13} {'reps':>9} {'kernel s':>9} {'floor s':>8} "
             f"{'vs_rng_floor':>12} {'speedup_vs_numpy':>16} {'speedup_vs_loop':>15}"]
    for r in rows:
        s = r["seconds"]
        lines.append(f"{r['kernel']:<7} {r['dist']:<13} {r['reps']:>9} {s['kernel']:>9.3f} "
                     f"{s['floor']:>8.3f} {r['vs_rng_floor']:>12.2f} "
                     f"{r['speedup_vs_numpy']:>16.2f} {r['speedup_vs_loop']:>15.0f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = OneLineParser(prog="python -m pragmatic.bench", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per row")
    parser.add_argument("--reps", type=int, default=2**21, help="replications for t/z (default 2**21)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (median)")
    parser.add_argument("--dist", action="append", choices=list(DISTRIBUTIONS),
                        help="only these distributions (repeatable; default all)")
    parser.add_argument("--memory", action="store_true",
                        help="instead, report the peak memory of a 10**8-replication run")
    args = parser.parse_args(argv)
    if args.memory:
        print(json.dumps({**peak_memory(), "machine": machine()}, indent=2))
        return 0
    if args.reps < 64 or args.repeats < 1:
        parser.exit(2, f"{parser.prog}: error: --reps must be >= 64 and --repeats >= 1, "
                       f"got {args.reps} and {args.repeats}\n")
    rows = run(reps=args.reps, repeats=args.repeats, dists=tuple(args.dist or DISTRIBUTIONS))
    if args.json:
        print(json.dumps([{**r, "machine": machine()} for r in rows], indent=2))
    else:
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
