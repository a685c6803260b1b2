"""The kernel's formulas against statsmodels and closed forms, on single datasets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from pragmatic.sim.mean import DISTRIBUTIONS, Design, bootstrap_t_interval, t_and_z_intervals

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


def bootstrap_t_reference(x, index, level):
    """A plain NumPy bootstrap-t, written from the textbook definition."""
    n, B = len(x), len(index)
    xbar, se = x.mean(), x.std(ddof=1) / np.sqrt(n)
    t_star = []
    for row in index:
        r = x[row]
        se_r = r.std(ddof=1) / np.sqrt(n)
        t_star.append((r.mean() - xbar) / se_r if se_r > 0 else np.copysign(np.inf, r.mean() - xbar))
    t_star = np.sort(t_star)
    k = int(np.floor(round((B + 1) * (1 - level) / 2, 9)))
    return xbar - t_star[B - k] * se, xbar - t_star[k - 1] * se


@pytest.mark.parametrize("n, level, B", [(5, 0.95, 199), (30, 0.9, 99), (200, 0.95, 399)])
def test_bootstrap_t_matches_numpy_reference(n, level, B):
    x = sample(n, 7)
    key = jax.random.key(11)
    design = Design(n, level, ("boot-t",), B)
    with jax.enable_x64(True):
        got = np.array(bootstrap_t_interval(key, jnp.asarray(x, dtype=jnp.float64), design))
        index = np.array(jax.random.randint(key, (B, n), 0, n))
    np.testing.assert_allclose(got, bootstrap_t_reference(x, index, level), rtol=1e-10)


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
}


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_draws_follow_their_distribution(name):
    """Kolmogorov-Smirnov against the closed-form CDF (fixed seed, so not flaky)."""
    dist = DISTRIBUTIONS[name]
    params = {k: jnp.float32(v) for k, v in dist.defaults}
    x = np.asarray(dist.draw(jax.random.key(5), 200_000, params), dtype=np.float64)
    assert stats.kstest(x, CDFS[name]).pvalue > 1e-3


@pytest.mark.parametrize("sigma", [0.25, 1.0, 1.5])
def test_lognormal_target_is_its_mean(sigma):
    dist = DISTRIBUTIONS["lognormal"]
    assert dist.mean({"sigma": sigma}) == pytest.approx(stats.lognorm(s=sigma).mean(), rel=1e-12)
