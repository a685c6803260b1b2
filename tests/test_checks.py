"""Lab 01's checks pass on the real kernel and fail on plausible wrong ones.

Each wrong kernel is a mistake a careful person could make. The tables are run at the lab's own
default sizes, because a check only has power at the size it is run at: the z-for-t kernel must
fail at every n where the lab says the t-interval holds, and at n = 200 its coverage is short by
only 0.0014.
"""

import jax
import jax.numpy as jnp
import pytest

from pragmatic.sim import mean, replicate, run_grid
from pragmatic.sim.checks import (assert_findings, bootstrap_findings, normal_findings,
                                  table)

SEED = 20110101  # the lab's
NS = [5, 10, 20, 50, 100, 200]
NORMAL_REPS, REPS = 2_000_000, 2_000  # the lab's NORMAL_REPS and REPS
BOOT_DISTS = ["normal", "lognormal", "t3", "t2", "contaminated"]
BOOT_NS = [5, 10, 20, 50]


def z_for_t(key, target, params, *, dist, design):
    """Wrong: the z critical value where Student's t belongs."""
    out = replicate(key, target, params, dist=dist, design=design)
    return {**out, "t": out["z"]}


def divisor_n(key, target, params, *, dist, design):
    """Wrong: the t-interval with the standard deviation's divisor n (ddof = 0), not n - 1."""
    out = replicate(key, target, params, dist=dist, design=design)
    x = dist.draw(jax.random.split(key)[0], design.n, params)  # the sample replicate drew
    xbar, half = jnp.mean(x), design.t_crit * jnp.std(x) / jnp.sqrt(design.n)
    return {**out, "t": (xbar + half < target, xbar - half > target, 2 * half, False)}


def no_reversal(key, target, params, *, dist, design):
    """Wrong: a bootstrap-t whose lower end uses the lower quantile of t*."""
    out = replicate(key, target, params, dist=dist, design=design)
    k_data, k_boot = jax.random.split(key)
    x = dist.draw(k_data, design.n, params)
    xbar = jnp.mean(x)
    lower, upper, degenerate = mean.bootstrap_t_interval(
        x, mean.resample(k_boot, x, design.boot_reps), design)
    # Undo the reversal: x-bar - t*_hi se becomes x-bar + t*_lo se, and so on.
    lower, upper = 2 * xbar - upper, 2 * xbar - lower
    return {**out, "boot-t": (upper < target, lower > target, upper - lower, degenerate)}


def normal_table(kernel):
    return run_grid(["normal"], NS, reps=NORMAL_REPS, seed=SEED, procedures=("t", "z"),
                    kernel=kernel)


def boot_table(kernel):
    return run_grid(BOOT_DISTS, BOOT_NS, reps=REPS, seed=SEED,
                    procedures=("t", "boot-pct", "boot-t"), kernel=kernel)


def failing(findings):
    return set(findings.loc[~findings["holds"], "claim"])


def test_the_real_kernel_passes():
    findings = table(normal_findings(normal_table(replicate))
                     + bootstrap_findings(boot_table(replicate)))
    assert findings["holds"].all(), failing(findings)
    assert_findings(findings)


def test_the_z_for_t_kernel_fails_at_every_n():
    findings = table(normal_findings(normal_table(z_for_t)))
    for n in NS:
        assert f"normal data, n = {n}: the t-interval covers at 0.95" in failing(findings), n
    with pytest.raises(AssertionError, match="findings that do not hold"):
        assert_findings(findings)


def test_the_divisor_n_kernel_fails():
    findings = table(normal_findings(normal_table(divisor_n)))
    assert "normal data, n = 5: the t-interval covers at 0.95" in failing(findings)
    with pytest.raises(AssertionError, match="findings that do not hold"):
        assert_findings(findings)


def test_the_bootstrap_t_without_the_reversal_fails():
    findings = table(bootstrap_findings(boot_table(no_reversal)))
    assert "lognormal data, n = 5: bootstrap-t covers more than t" in failing(findings)
    with pytest.raises(AssertionError, match="findings that do not hold"):
        assert_findings(findings)
