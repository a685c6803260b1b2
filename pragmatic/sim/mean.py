"""The kernel of lab 01: one replication of "draw a sample, build each interval, score it".

This is the code a student reads. Everything here is written for a single replication and a
single sample of size n; the engine (`pragmatic.sim.engine`) vectorises it over replications with
`jax.vmap`, hands replication i the key `fold_in(key(seed), i)`, and sums the scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
from scipy import stats

PROCEDURES = ("t", "z", "boot-t", "boot-pct")


# --- The theoretical world: distributions whose mean we know --------------------------------
# Each draw turns one key into n float32 values. A Student t value is Z / sqrt(chi2_k / k);
# jax.random.t (gamma rejection sampling) is many times slower on a CPU, so chi2_k is built
# from chi2_2 = -2 log U, an exponential, plus one squared normal when k is odd.

def draw_normal(key, n, params):
    return jax.random.normal(key, (n,))


def draw_lognormal(key, n, params):
    return jnp.exp(params["sigma"] * jax.random.normal(key, (n,)))


def draw_exponential(key, n, params):
    return jax.random.exponential(key, (n,))


def student_t_draw(df: int) -> Callable:
    def draw(key, n, params):
        k_z, k_u, k_odd = jax.random.split(key, 3)
        z = jax.random.normal(k_z, (n,))
        u = jax.random.uniform(k_u, (df // 2, n), minval=jnp.finfo(jnp.float32).tiny)  # (0, 1)
        chi2 = -2 * jnp.sum(jnp.log(u), axis=0)
        if df % 2:
            chi2 += jax.random.normal(k_odd, (n,)) ** 2
        return z / jnp.sqrt(chi2 / df)
    return draw


def contaminated_draw(one_sided: bool) -> Callable:
    """Normal values, a fraction of them replaced by gross errors: symmetric, or all upwards."""
    def draw(key, n, params):
        k_z, k_u = jax.random.split(key)
        z = jax.random.normal(k_z, (n,))
        is_outlier = jax.random.uniform(k_u, (n,)) < params["fraction"]
        outlier = params["outlier_sd"] * (jnp.abs(z) if one_sided else z)
        return jnp.where(is_outlier, outlier, z)
    return draw


@dataclass(frozen=True)
class Distribution:
    """A data-generating process with a known theoretical mean."""

    name: str
    description: str
    draw: Callable = field(repr=False)
    mean: Callable[[dict], float] = field(repr=False)
    defaults: tuple = ()  # (parameter, default value) pairs; a tuple keeps the class hashable


DISTRIBUTIONS = {
    d.name: d
    for d in [
        Distribution("normal", "N(0, 1)", draw_normal, lambda p: 0.0),
        Distribution("lognormal", "exp(sigma * Z), Z ~ N(0, 1)", draw_lognormal,
                     lambda p: math.exp(p["sigma"] ** 2 / 2), (("sigma", 1.0),)),
        Distribution("exponential", "Exponential(1)", draw_exponential, lambda p: 1.0),
        Distribution("t3", "Student t, 3 d.f.", student_t_draw(3), lambda p: 0.0),
        Distribution("t2", "Student t, 2 d.f. (infinite variance)", student_t_draw(2),
                     lambda p: 0.0),
        Distribution("contaminated", "(1 - fraction) N(0, 1) + fraction N(0, outlier_sd^2)",
                     contaminated_draw(one_sided=False), lambda p: 0.0,
                     (("fraction", 0.1), ("outlier_sd", 10.0))),
        # Its mean includes the errors: fraction * outlier_sd * E|Z|, E|Z| = sqrt(2 / pi).
        Distribution("contaminated-up",
                     "(1 - fraction) N(0, 1) + fraction |N(0, outlier_sd^2)|: errors all upwards",
                     contaminated_draw(one_sided=True),
                     lambda p: p["fraction"] * p["outlier_sd"] * math.sqrt(2 / math.pi),
                     (("fraction", 0.1), ("outlier_sd", 10.0))),
    ]
}


# --- The procedures -------------------------------------------------------------------------

@dataclass(frozen=True)
class Design:
    """What is fixed for a whole experiment: sample size, level and which intervals to build."""

    n: int
    level: float = 0.95
    procedures: tuple = ("t", "z")
    boot_reps: int = 199

    @property
    def t_crit(self) -> float:
        return float(stats.t.ppf((1 + self.level) / 2, self.n - 1))

    @property
    def z_crit(self) -> float:
        return float(stats.norm.ppf((1 + self.level) / 2))

    @property
    def bootstraps(self) -> bool:
        """Whether any bootstrap interval is asked for."""
        return "boot-t" in self.procedures or "boot-pct" in self.procedures

    @property
    def boot_rank(self) -> int:
        """k: the k-th smallest and k-th largest of B bootstrap statistics bound the interval."""
        # Rounded first so that, e.g., (99 + 1) * (1 - 0.9) / 2 = 4.999... counts as 5.
        return math.floor(round((self.boot_reps + 1) * (1 - self.level) / 2, 9))


def t_and_z_intervals(x, design: Design) -> dict:
    """x-bar -/+ crit * s / sqrt(n), crit from Student t (n - 1 d.f.) or normal."""
    xbar = jnp.mean(x)
    se = jnp.std(x, ddof=1) / jnp.sqrt(design.n)
    return {
        "t": (xbar - design.t_crit * se, xbar + design.t_crit * se),
        "z": (xbar - design.z_crit * se, xbar + design.z_crit * se),
    }


def resample(key, x, boot_reps: int):
    """boot_reps bootstrap resamples of x, one per row, drawn with replacement."""
    n = x.shape[0]
    return x[random_index(key, (boot_reps, n), n)]


def random_index(key, shape, n: int):
    """Indices in 0 ... n - 1, each with probability within 2**-32 of 1/n: one uniform 32-bit
    word per index, scaled by multiply-shift. jax.random.randint draws two words per index
    and takes remainders, which costs about 1.5 times as much on a CPU."""
    if n > 2**16:
        return jax.random.randint(key, shape, 0, n)
    return multiply_shift(jax.random.bits(key, shape), n)


def multiply_shift(u, n: int):
    """floor(u n / 2**32) for 32-bit words u, exactly, for n <= 2**16.

    Index i comes from the words u with i 2**32 <= u n < (i + 1) 2**32, of which there are
    ceil((i + 1) 2**32 / n) - ceil(i 2**32 / n): floor(2**32 / n) or one more. So for uniform
    u, P(i) is that count / 2**32 and differs from 1/n by less than 2**-32 (2.3e-10).
    u n needs 64 bits; with u = 2**16 high + low it is 2**16 high n + low n, and
    floor(u n / 2**32) = floor((high n + floor(low n / 2**16)) / 2**16), where every
    term stays below 2**32 when n <= 2**16.
    """
    high, low = u >> 16, u & 0xFFFF
    return (high * n + (low * n >> 16)) >> 16


def order_statistic(ordered, position, count):
    """The position-th smallest (1-based) of the first `count` sorted values;
    a fractional position interpolates between its two neighbours."""
    i = jnp.floor(position).astype(jnp.int32)
    below, above = ordered[i - 1], ordered[jnp.minimum(i, count - 1)]
    return below + (position - i) * (above - below)


def bootstrap_t_interval(x, resamples, design: Design):
    """Bootstrap-t: resampled (x-bar* - x-bar) / se* in place of Student t.

    The interval runs from x-bar - (r-th largest t*) se to x-bar - (r-th
    smallest t*) se, with r = k = floor((B + 1) (1 - level) / 2). A resample
    of one repeated value has no t* (se* = 0): it is dropped, as R's boot.ci
    drops non-finite statistics. The B' left keep the tail probability
    k / (B + 1): r = k (B' + 1) / (B + 1), interpolated between order
    statistics (r = k when none is dropped).
    Returns (lower, upper, whether any resample was dropped).
    """
    n, B, k = design.n, design.boot_reps, design.boot_rank
    xbar = jnp.mean(x)
    se = jnp.std(x, ddof=1) / jnp.sqrt(n)
    se_star = jnp.std(resamples, axis=1, ddof=1) / jnp.sqrt(n)
    t_star = (jnp.mean(resamples, axis=1) - xbar) / se_star
    # Test spread on the values: a rounded se* of equal values may not be 0.
    kept = jnp.max(resamples, axis=1) > jnp.min(resamples, axis=1)
    ordered = jnp.sort(jnp.where(kept, t_star, jnp.nan))  # NaN sorts last
    B_kept = jnp.sum(kept)
    r = jnp.clip(k * (B_kept + 1) / (B + 1), 1, B_kept)
    lower = xbar - order_statistic(ordered, B_kept + 1 - r, B_kept) * se
    upper = xbar - order_statistic(ordered, r, B_kept) * se
    # If all B were dropped (never seen for n >= 3), the interval is x-bar.
    none_left = B_kept == 0
    return (jnp.where(none_left, xbar, lower), jnp.where(none_left, xbar, upper),
            B_kept < B)


def percentile_interval(resamples, design: Design):
    """Percentile bootstrap: the k-th smallest and k-th largest of the B
    resampled means."""
    B, k = design.boot_reps, design.boot_rank
    means = jnp.sort(jnp.mean(resamples, axis=1))
    return means[k - 1], means[B - k]


def intervals(key, x, design: Design) -> dict:
    """Every requested interval for one sample: {procedure: (lower, upper,
    degenerate)}, degenerate meaning a bootstrap resample was dropped.

    Both bootstraps use the same resamples, so their results are paired.
    (The compiler drops the one not asked for.)
    """
    out = {name: (lower, upper, False)
           for name, (lower, upper) in t_and_z_intervals(x, design).items()}
    if design.bootstraps:
        resamples = resample(key, x, design.boot_reps)
        out["boot-t"] = bootstrap_t_interval(x, resamples, design)
        out["boot-pct"] = (*percentile_interval(resamples, design), False)
    return {name: out[name] for name in design.procedures}


def replicate(key, target, params, *, dist: Distribution, design: Design):
    """One replication: draw n values, build each interval, score it.

    Returns {procedure: (miss_low, miss_high, width, degenerate)}: whether
    the interval lies wholly below the target, wholly above it, its width,
    and whether a bootstrap resample was dropped. The data and bootstrap keys
    are split from the replication's key, so the t and z results are the same
    whether or not a bootstrap is computed.
    """
    k_data, k_boot = jax.random.split(key)
    x = dist.draw(k_data, design.n, params)
    return {
        name: (upper < target, lower > target, upper - lower, degenerate)
        for name, (lower, upper, degenerate) in intervals(k_boot, x, design).items()
    }


def draw_only(key, target, params, *, dist: Distribution, design: Design) -> dict:
    """The benchmark's floor: the same keys and draws as `replicate`, with the statistics removed.

    With a bootstrap it also draws the resamples, since drawing them is part of the method.
    """
    k_data, k_boot = jax.random.split(key)
    x = dist.draw(k_data, design.n, params)
    total = jnp.sum(x)  # consume every draw, so the compiler cannot skip generating any
    if design.bootstraps:
        total += jnp.sum(resample(k_boot, x, design.boot_reps))
    return {"draws": (total < target, total > target, jnp.abs(total), False)}
