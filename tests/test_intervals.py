"""The kernel's formulas against statsmodels and closed forms, on single datasets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from pragmatic.sim.mean import (DISTRIBUTIONS, Design, bootstrap_t_interval, order_statistic,
                                percentile_interval, resample, t_and_z_intervals)

CASES = [(n, level, seed) for n in (2, 5, 30, 200) for level in (0.8, 0.95, 0.99) for seed in (0, 1)]


def sample(n, seed):
    return np.random.default_rng(seed).lognormal(size=n)  # skewed, so any slip shows


@pytest.mark.parametrize("n, level, seed", CASES)
def test_t_and_z_match_statsmodels_in_float64(n, level, seed):
    x = sample(n, seed)
    ref = DescrStatsW(x)
    with jax.enable_x64(True):
        got = t_and_z_intervals(jnp.asarray(x, dtype=jnp.float64), Design(n, level))
        got = {k: np.array(v, dtype=np.float64) for k, v in got.items()}
    np.testing.assert_allclose(got["t"], ref.tconfint_mean(alpha=1 - level), rtol=1e-10, atol=0)
    np.testing.assert_allclose(got["z"], ref.zconfint_mean(alpha=1 - level), rtol=1e-10, atol=0)


@pytest.mark.parametrize("n, level, seed", CASES)
def test_float32_agrees_with_float64(n, level, seed):
    x = sample(n, seed)
    got = t_and_z_intervals(jnp.asarray(x, dtype=jnp.float32), Design(n, level))
    ref = DescrStatsW(x)
    np.testing.assert_allclose(np.array(got["t"]), ref.tconfint_mean(alpha=1 - level), rtol=1e-5)
    np.testing.assert_allclose(np.array(got["z"]), ref.zconfint_mean(alpha=1 - level), rtol=1e-5)


def rank(B, level):
    return int(np.floor(round((B + 1) * (1 - level) / 2, 9)))


def bootstrap_t_reference(x, resamples, level):
    """A plain NumPy bootstrap-t: drop resamples without spread, then read the ends off the
    remaining B' t* at tail probability k / (B + 1), interpolating between order statistics."""
    n, B = len(x), len(resamples)
    xbar, se = x.mean(), x.std(ddof=1) / np.sqrt(n)
    kept = [r for r in resamples if r.max() > r.min()]
    t_star = [(r.mean() - xbar) / (r.std(ddof=1) / np.sqrt(n)) for r in kept]
    b = len(t_star)
    r = min(max(rank(B, level) * (b + 1) / (B + 1), 1), b)
    # the r-th smallest (1-based, interpolated) is numpy's linear quantile at (r - 1) / (b - 1)
    smallest = lambda pos: np.quantile(t_star, (pos - 1) / (b - 1)) if b > 1 else t_star[0]
    return xbar - smallest(b + 1 - r) * se, xbar - smallest(r) * se, b < B


def bootstrap_t(x, resamples, design):
    with jax.enable_x64(True):
        got = bootstrap_t_interval(jnp.asarray(x, dtype=jnp.float64),
                                   jnp.asarray(resamples, dtype=jnp.float64), design)
        return [np.asarray(v).item() for v in got]


@pytest.mark.parametrize("n, level, B", [(5, 0.95, 199), (30, 0.9, 99), (200, 0.95, 399)])
def test_bootstrap_t_matches_numpy_reference(n, level, B):
    x = sample(n, 7)
    with jax.enable_x64(True):
        resamples = np.array(resample(jax.random.key(11), jnp.asarray(x, dtype=jnp.float64), B))
    got = bootstrap_t(x, resamples, Design(n, level, ("boot-t",), B))
    np.testing.assert_allclose(got[:2], bootstrap_t_reference(x, resamples, level)[:2], rtol=1e-10)


def test_bootstrap_t_drops_resamples_without_spread():
    """A hand example: B = 19, level 0.8, so k = 2; three resamples of one repeated value are
    dropped, leaving B' = 16 and r = 2 * 17 / 20 = 1.7, between the 1st and 2nd order statistics."""
    x = np.array([1.0, 2.0, 4.0, 8.0])
    rng = np.random.default_rng(3)
    resamples = x[rng.integers(0, 4, (19, 4))]
    resamples[[2, 9, 15]] = [[2.0] * 4, [8.0] * 4, [1.0] * 4]
    resamples[[0, 1, 3]] = x  # no other resample without spread (checked below)
    assert sum(r.max() == r.min() for r in resamples) == 3
    design = Design(4, 0.8, ("boot-t",), 19)
    got = bootstrap_t(x, resamples, design)
    want = bootstrap_t_reference(x, resamples, 0.8)
    np.testing.assert_allclose(got[:2], want[:2], rtol=1e-12)
    assert got[2] and want[2]  # degenerate
    # and by hand: the interpolated 1.7-th smallest t* gives the upper end
    t_star = np.sort([(r.mean() - x.mean()) / (r.std(ddof=1) / 2) for r in resamples
                      if r.max() > r.min()])
    upper = x.mean() - (t_star[0] + 0.7 * (t_star[1] - t_star[0])) * x.std(ddof=1) / 2
    assert got[1] == pytest.approx(upper, rel=1e-12)


def test_bootstrap_t_without_drops_uses_the_kth_order_statistics():
    x = sample(10, 2)
    resamples = x[np.random.default_rng(4).integers(0, 10, (199, 10))]
    lower, upper, degenerate = bootstrap_t(x, resamples, Design(10, 0.95, ("boot-t",), 199))
    se = x.std(ddof=1) / np.sqrt(10)
    t_star = np.sort([(r.mean() - x.mean()) / (r.std(ddof=1) / np.sqrt(10)) for r in resamples])
    assert not degenerate
    assert (lower, upper) == pytest.approx((x.mean() - t_star[194] * se, x.mean() - t_star[4] * se),
                                           rel=1e-12)


def test_bootstrap_t_with_every_resample_dropped_is_the_point_xbar():
    x = np.array([1.0, 2.0, 4.0])
    resamples = np.repeat(np.resize(x, 13)[:, None], 3, axis=1)  # rows of one repeated value
    lower, upper, degenerate = bootstrap_t(x, resamples, Design(3, 0.9, ("boot-t",), 13))
    assert lower == upper == pytest.approx(x.mean()) and degenerate


def test_order_statistic_interpolates_and_ignores_the_dropped_tail():
    ordered = jnp.array([1.0, 2.0, 4.0, jnp.nan, jnp.nan])  # three kept, two dropped
    assert float(order_statistic(ordered, 1.5, 3)) == 1.5
    assert float(order_statistic(ordered, 2.25, 3)) == 2.5
    assert float(order_statistic(ordered, 3.0, 3)) == 4.0  # the last kept value, not NaN


@pytest.mark.parametrize("n, level, B", [(2, 0.95, 199), (5, 0.95, 199), (30, 0.9, 99)])
def test_percentile_interval_matches_numpy_on_the_same_resamples(n, level, B):
    x = sample(n, 5)
    with jax.enable_x64(True):
        resamples = resample(jax.random.key(2), jnp.asarray(x, dtype=jnp.float64), B)
        got = np.array(percentile_interval(resamples, Design(n, level, ("boot-pct",), B)))
    means = np.sort(np.asarray(resamples).mean(axis=1))
    k = rank(B, level)
    np.testing.assert_allclose(got, [means[k - 1], means[B - k]], rtol=1e-12)


def test_resamples_are_drawn_from_the_sample():
    x = jnp.arange(7.0)
    r = np.asarray(resample(jax.random.key(0), x, 500))
    assert r.shape == (500, 7) and set(np.unique(r)) == set(range(7))


def test_bootstrap_rank_is_the_order_statistic_convention():
    assert Design(10, 0.95, boot_reps=199).boot_rank == 5
    assert Design(10, 0.90, boot_reps=99).boot_rank == 5
    assert Design(10, 0.95, boot_reps=39).boot_rank == 1


CDFS = {
    "normal": stats.norm.cdf,
    "lognormal": stats.lognorm(s=1.0).cdf,
    "exponential": stats.expon.cdf,
    "t3": stats.t(3).cdf,
    "t2": stats.t(2).cdf,
    "contaminated": lambda v: 0.9 * stats.norm.cdf(v) + 0.1 * stats.norm.cdf(v / 10),
    "contaminated-up": lambda v: 0.9 * stats.norm.cdf(v) + 0.1 * stats.halfnorm(scale=10).cdf(v),
}


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_draws_follow_their_distribution(name):
    """Kolmogorov-Smirnov against the closed-form CDF (fixed seed, so not flaky)."""
    dist = DISTRIBUTIONS[name]
    params = {k: jnp.float32(v) for k, v in dist.defaults}
    x = np.asarray(dist.draw(jax.random.key(5), 200_000, params), dtype=np.float64)
    assert stats.kstest(x, CDFS[name]).pvalue > 1e-3


def test_one_sided_contamination_target_is_its_mean():
    mixture_mean = 0.9 * 0 + 0.1 * stats.halfnorm(scale=10).mean()
    assert DISTRIBUTIONS["contaminated-up"].mean({"fraction": 0.1, "outlier_sd": 10.0}) == \
        pytest.approx(mixture_mean, rel=1e-12)


@pytest.mark.parametrize("sigma", [0.25, 1.0, 1.5])
def test_lognormal_target_is_its_mean(sigma):
    dist = DISTRIBUTIONS["lognormal"]
    assert dist.mean({"sigma": sigma}) == pytest.approx(stats.lognorm(s=sigma).mean(), rel=1e-12)
