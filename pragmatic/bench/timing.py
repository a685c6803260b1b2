"""Timing side by side, and the two thread settings every ratio is measured under.

NumPy's generator runs on one thread; XLA on the CPU uses every core it is allowed. A ratio
between them therefore compares like with like only when JAX is held to one core too.
"""

from __future__ import annotations

import os
import platform
import statistics
import time

THREADS = ("all", "1")  # JAX on every core; JAX (and everything else) on one core

# Environment of a one-thread run. XLA_FLAGS alone did not hold XLA:CPU to one thread here
# (CPU time / wall time stayed at 1.7-1.8 on 2 cores), so the run is also pinned to one core
# with sched_setaffinity before JAX starts: XLA sizes its thread pool from the affinity mask.
ONE_THREAD_ENV = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
}


def child_env(threads: str) -> dict:
    """The environment of a measuring child process for a thread setting."""
    env = dict(os.environ)
    if threads == "1":
        flags = env.get("XLA_FLAGS", "")
        env.update(ONE_THREAD_ENV)
        env["XLA_FLAGS"] = f"{flags} {ONE_THREAD_ENV['XLA_FLAGS']}".strip()
    return env


def pin_to_one_core() -> None:
    """Run this process (and what it starts) on one core: the lowest it may use."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def interleaved_medians(fns: dict, repeats: int, warmup: bool = True) -> tuple[dict, dict]:
    """Median seconds of each function, timed in turn within each round so that drift hits all
    alike; and each function's CPU time over wall time across its timed calls (about 1 when it
    ran on one thread, up to the number of cores when it used them all)."""
    if warmup:
        for fn in fns.values():
            fn()  # compile and warm up
    times = {name: [] for name in fns}
    cpu = dict.fromkeys(fns, 0.0)
    for _ in range(repeats):
        for name, fn in fns.items():
            # CPU time is read inside the wall-clock interval, so that the clocks' own cost
            # cannot push a one-core call's CPU/wall above 1 when the call is short.
            t0 = time.perf_counter()
            c0 = time.process_time()
            fn()
            cpu[name] += time.process_time() - c0
            times[name].append(time.perf_counter() - t0)
    return ({name: statistics.median(t) for name, t in times.items()},
            {name: cpu[name] / sum(times[name]) for name in fns})


def time_once(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def machine() -> dict:
    from ..sim.engine import versions
    return {**versions(), "cpu_count": os.cpu_count(),
            "cores_allowed": len(os.sched_getaffinity(0)), "machine": platform.machine(),
            "processor": _cpu_model() or platform.processor() or platform.machine(),
            "load_average_1min": os.getloadavg()[0]}


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def kernel_row(*, run_kernel, run_floor, run_numpy, run_loop, loop_reps: int, reps: int,
               repeats: int, **labels) -> dict:
    """Time a JAX kernel, its random-number floor and its NumPy twin side by side, and a
    per-replication loop once on `loop_reps` replications (scaled to `reps`); the three ratios.

    vs_rng_floor = kernel / floor (goal <= 1.25), speedup_vs_numpy = numpy / kernel (goal
    >= 1.5), speedup_vs_loop = loop / kernel (goal >= 100); and numpy_over_floor = numpy /
    floor, what speedup_vs_numpy would be if the statistics cost nothing.
    """
    seconds, cpu = interleaved_medians(
        {"kernel": run_kernel, "floor": run_floor, "numpy": run_numpy}, repeats)
    seconds["loop"] = time_once(run_loop) * reps / loop_reps
    return {**labels, "reps": reps, "loop_reps_timed": loop_reps, "seconds": seconds,
            "cpu_per_wall": cpu,
            "vs_rng_floor": seconds["kernel"] / seconds["floor"],
            "speedup_vs_numpy": seconds["numpy"] / seconds["kernel"],
            "speedup_vs_loop": seconds["loop"] / seconds["kernel"],
            # the most speedup_vs_numpy could be with statistics for free: the floor's bound
            "numpy_over_floor": seconds["numpy"] / seconds["floor"]}
