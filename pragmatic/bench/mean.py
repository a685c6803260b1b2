"""The mean scenario's kernels (lab 1): t/z intervals and the bootstrap-t, at n = 30 in float32.

Their floor is `pragmatic.sim.mean.draw_only` (the same keys and draws, resample indices
included, with the statistics removed); their NumPy twins draw a chunk of samples at once and
build the same intervals; their loop calls statsmodels' DescrStatsW once per sample.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from ..sim.engine import default_chunk, make_design, simulate
from ..sim.mean import DISTRIBUTIONS, draw_only
from .timing import kernel_row

N = 30
LEVEL = 0.95
BOOT_REPS = 199
KERNELS = ("t/z", "boot-t")
BOOT_FRACTION = 256  # the bootstrap-t runs reps / 256 replications (each resamples 199 times)


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
    """The t/z kernel in NumPy: draw a chunk, build both intervals, count and sum in float64.

    Returns {procedure: (coverage, mean width)}.
    """
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


def numpy_boot_t(name: str, reps: int, chunk: int, seed: int, boot_reps: int = BOOT_REPS) -> float:
    """Bootstrap-t in NumPy, vectorised over a chunk of replications and their resamples.

    Returns the coverage.
    """
    rng = np.random.default_rng(seed)
    target = DISTRIBUTIONS[name].mean(dict(DISTRIBUTIONS[name].defaults))
    k = make_design(N, LEVEL, ("boot-t",), boot_reps).boot_rank
    covered = 0
    for start in range(0, reps, chunk):
        m = min(chunk, reps - start)
        x = numpy_draw(rng, name, (m, N))
        xbar = x.mean(axis=1)
        se = x.std(axis=1, ddof=1) / np.float32(math.sqrt(N))
        idx = rng.integers(0, N, (m, boot_reps, N), dtype=np.int32)  # NumPy's own index draw
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
            idx = rng.integers(0, N, (BOOT_REPS, N))
            [DescrStatsW(x[row]).std_mean for row in idx]


def rows(reps: int, repeats: int, loop_reps: int, dists=tuple(DISTRIBUTIONS),
         kernels=KERNELS, log=None) -> list[dict]:
    """One row per kernel and distribution (see `timing.kernel_row`)."""
    out = []
    for kernel in kernels:
        procedures = ("t", "z") if kernel == "t/z" else ("boot-t",)
        r = reps if kernel == "t/z" else max(reps // BOOT_FRACTION, 1)
        m = loop_reps if kernel == "t/z" else max(loop_reps // 10, 1)
        chunk = default_chunk(make_design(N, LEVEL, procedures))
        for name in dists:
            numpy = ((lambda: numpy_t_z(name, r, chunk, 0)) if kernel == "t/z"
                     else (lambda: numpy_boot_t(name, r, chunk, 0)))
            out.append(kernel_row(
                run_kernel=lambda: simulate(name, N, r, 0, procedures=procedures, chunk=chunk),
                run_floor=lambda: simulate(name, N, r, 0, procedures=procedures, chunk=chunk,
                                       kernel=draw_only),
                run_numpy=numpy,
                run_loop=lambda: loop_statsmodels(name, m, 0, boot=kernel == "boot-t"),
                loop_reps=m, reps=r, repeats=repeats,
                family="mean", kernel=kernel, setting=name, n=N, dtype="float32", chunk=chunk))
            if log:
                log(out[-1])
    return out
