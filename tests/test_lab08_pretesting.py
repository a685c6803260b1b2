"""Lab 8, pre-testing parallel trends: the `pretest` scenario against statsmodels, its closed
forms and hand computations, and the lab's findings fed deliberately broken kernels.

The findings checks use a fixed seed and a tolerance of 4 Monte Carlo standard errors: they are
regression tests of the lab's findings, not hypothesis tests.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from pragmatic.sim.checks import table as findings_table
from pragmatic.sim.grid import LabGrid, to_table
from pragmatic.sim.labs import pretesting as lab
from pragmatic.sim.scenarios import pretest

REPS = 100_000  # the lab's default; its weakest findings (Wald power below 1/2 at slope 0.75,
#                 the coverage lowered by passing it at slope 0.5) are about 6 SE from failing


# --- the scenario -------------------------------------------------------------------------------

def test_the_coefficients_are_the_panels_event_study_estimates():
    """A panel with unit effects, period effects, a linear differential trend and an effect:
    the two-way fixed-effects event-study coefficients (statsmodels) are the treated-minus-
    control mean differences against the reference period's, which is what the kernel draws,
    and their covariance is sigma^2 (1/n_T + 1/n_C) (I + J): 1/2 correlation throughout."""
    rng = np.random.default_rng(8)
    pre, n_treated, n_control, sigma, slope, tau = 3, 4, 7, 1.3, 0.4, 0.9
    periods = np.arange(-(pre + 1), 1)
    units = n_treated + n_control
    treated = np.arange(units) < n_treated
    y = (2 * rng.normal(size=(units, 1)) + 3 * rng.normal(size=(1, len(periods)))
         + treated[:, None] * (slope * (periods + 1) + tau * (periods == 0))
         + sigma * rng.normal(size=(units, len(periods))))
    unit = np.repeat(np.arange(units), len(periods))
    period = np.tile(periods, units)
    events = [t for t in periods if t != -1]
    X = pd.DataFrame({f"unit{u}": (unit == u) * 1.0 for u in range(units)})
    X = X.assign(**{f"period{t}": (period == t) * 1.0 for t in periods[1:]})
    X = X.assign(**{f"event{t}": (period == t) * treated[unit] * 1.0 for t in events})
    fit = sm.OLS(y.ravel(), X).fit()
    names = [f"event{t}" for t in events]
    gap = y[treated].mean(axis=0) - y[~treated].mean(axis=0)
    np.testing.assert_allclose(fit.params[names], np.delete(gap - gap[pre], pre),
                               rtol=0, atol=1e-8)
    v = 1 / n_treated + 1 / n_control
    np.testing.assert_allclose(fit.cov_params().loc[names, names] / fit.scale,
                               v * (np.eye(len(names)) + 1), rtol=0, atol=1e-8)
    np.testing.assert_allclose(pretest.covariance(pre), 0.5 * (np.eye(pre) + 1), atol=0)


def test_the_kernel_draws_the_coefficients_from_one_normal_draw():
    key = jax.random.key(5)
    b_pre, b_post, ref = pretest.draw(key, 3, 0.75)
    e = math.sqrt(0.5) * np.asarray(jax.random.normal(key, (5,)))
    t = np.arange(-4, 1)
    want = 0.75 * (t + 1) + e - e[3]
    np.testing.assert_allclose(np.asarray(b_pre), want[:3], rtol=1e-6)
    np.testing.assert_allclose(float(b_post), want[4], rtol=1e-6)
    assert float(ref) == pytest.approx(e[3], rel=1e-6)


def test_the_pre_tests_against_float64_formulas():
    rng = np.random.default_rng(3)
    for pre in (1, 2, 3, 6):
        b = rng.normal(scale=1.5, size=(400, pre))
        wald = np.asarray(jax.jit(jax.vmap(lambda x: pretest.wald_passes(x, 0.9)))(b))
        nis = np.asarray(jax.jit(jax.vmap(lambda x: pretest.nis_passes(x, 0.9)))(b))
        stat = np.einsum("ri,ij,rj->r", b, np.linalg.inv(pretest.covariance(pre)), b)
        c = stats.chi2.ppf(0.9, pre)
        clear = np.abs(stat - c) > 1e-4  # away from float32 ties
        np.testing.assert_array_equal(wald[clear], (stat <= c)[clear])
        np.testing.assert_array_equal(nis, np.all(np.abs(b) <= stats.norm.ppf(0.95), axis=1))


def test_the_robust_intervals_and_breakdown_values_by_hand():
    b_pre, b_post, level = np.array([-1.0, 0.5, -0.3]), 4.0, 0.95
    c1, c2 = stats.norm.ppf(1 - 0.05 / 12), stats.norm.ppf(1 - 0.05 / 4)
    d_hi = max(abs(0.5 + 1.0), abs(-0.3 - 0.5), abs(0 + 0.3)) + c1
    lower, upper = pretest.robust_rm(jnp.asarray(b_pre), b_post, 0.5, level)
    assert (float(lower), float(upper)) == pytest.approx(
        (b_post - c2 - 0.5 * d_hi, b_post + c2 + 0.5 * d_hi), abs=1e-5)
    lower, upper = pretest.robust_sd(jnp.asarray(b_pre), b_post, 0.4, level)
    half = stats.norm.ppf(0.975) * math.sqrt(3) + 0.4
    assert (float(lower), float(upper)) == pytest.approx((3.7 - half, 3.7 + half), abs=1e-5)
    # at the breakdown value the interval's lower end is zero
    m = pretest.breakdown_rm(b_pre, b_post)
    assert m > 0 and float(pretest.robust_rm(jnp.asarray(b_pre), b_post, m, level)[0]) == \
        pytest.approx(0, abs=1e-5)
    m = pretest.breakdown_sd(b_pre, b_post)
    assert m > 0 and float(pretest.robust_sd(jnp.asarray(b_pre), b_post, m, level)[0]) == \
        pytest.approx(0, abs=1e-5)
    assert pretest.breakdown_rm(b_pre, 1.0) == 0 and pretest.breakdown_sd(b_pre, 1.0) == 0


def test_the_closed_forms_agree_with_each_other():
    z = stats.norm.ppf(0.975)
    for pre in (1, 2, 3, 6):
        for slope in (0.0, 0.3, 1.1):
            wald = pretest.exact("wald", pre, slope)
            nis = pretest.exact("nis", pre, slope)
            assert wald["power"] == pytest.approx(pretest.wald_power(pre, slope), abs=1e-10)
            coarser = pretest.exact("wald", pre, slope, nodes=200)  # the quadrature converged
            for key, value in wald.items():
                assert value == pytest.approx(coarser[key], abs=1e-10), key
            for got in (wald, nis):  # E[b_0 - tau | pass] = slope - E[e_(-1) | pass]
                assert got["cond_bias"] == pytest.approx(slope - got["cond_ref"], abs=1e-10)
                assert got["coverage"] == pytest.approx(
                    stats.norm.cdf(z - slope) - stats.norm.cdf(-z - slope), abs=1e-12)
            if pre == 1:  # one lead: |b| <= z is b^2 <= chi2_1 quantile
                for key in wald:
                    assert wald[key] == pytest.approx(nis[key], abs=1e-9), key
            if slope == 0:
                for got in (wald, nis):
                    assert got["cond_bias"] == pytest.approx(0, abs=1e-12)
                    assert got["cond_miss_low"] == pytest.approx(got["cond_miss_high"], abs=1e-12)
    assert pretest.sd_coverage(0.0) == pytest.approx(0.95, abs=1e-12)
    assert pretest.wald_power(3, pretest.slope_for_power(0.5, 3)) == pytest.approx(0.5, abs=1e-9)
    # one lead: the two pre-tests are one test, so they need the same slope for a given power
    assert pretest.slope_for_power(0.8, 1, rule="nis") == pytest.approx(
        pretest.slope_for_power(0.8, 1), abs=1e-6)
    for rule in pretest.RULES:  # passing raises the coverage below the crossover, lowers it above
        crossover = pretest.coverage_crossover(rule, 3)
        at = pretest.exact(rule, 3, crossover)
        assert at["cond_coverage"] == pytest.approx(at["coverage"], abs=1e-9)
        for slope, sign in ((crossover / 2, 1), (2 * crossover, -1)):
            got = pretest.exact(rule, 3, slope)
            assert sign * (got["cond_coverage"] - got["coverage"]) > 0


# --- the findings, and broken kernels -------------------------------------------------------------

def ignoring_covariance(b_pre, level):
    """A Wald test that treats the leads as independent (V = I)."""
    return pretest.wald_passes(b_pre, level, v_inv=np.eye(b_pre.shape[0]))


def wrong_reference(key, pre, slope):
    """Every coefficient measured against the first period, t = -(K+1), not t = -1."""
    b_pre, b_post, ref = pretest.draw(key, pre, slope)
    first = b_pre[0]
    return jnp.append(b_pre[1:], 0.0) - first, b_post - first, ref


def independent_post(key, pre, slope):
    """The post-period coefficient with noise of its own: no shared reference period."""
    b_pre, _, ref = pretest.draw(key, pre, slope)
    e = math.sqrt(pretest.NOISE_VAR) * jax.random.normal(jax.random.fold_in(key, 1), (2,))
    return b_pre, slope + e[0] - e[1], ref


def sd_ignoring_covariance(b_pre, b_post, params, design):
    """The smoothness interval with the standard error of two independent coefficients, sqrt 2
    instead of sqrt 3: the shared reference period forgotten."""
    out = pretest.intervals(b_pre, b_post, params, design)
    centre, half = b_post + b_pre[-1], design.z_crit * math.sqrt(2.0) + params["m"]
    return out | {"robust-sd": (centre - half, centre + half)}


SLOPES_ONLY = LabGrid(lab=lab.GRID.lab, seed=lab.GRID.seed,
                      experiments=(lab.GRID.experiment("slopes"),))


@functools.lru_cache(maxsize=None)
def findings(mutant: str | None = None) -> pd.DataFrame:
    kernels = {"ignoring covariance": functools.partial(pretest.replicate,
                                                        wald_passes=ignoring_covariance),
               "wrong reference": functools.partial(pretest.replicate, draw=wrong_reference),
               "independent post": functools.partial(pretest.replicate, draw=independent_post),
               "smoothness ignoring covariance": functools.partial(
                   pretest.replicate, intervals=sd_ignoring_covariance)}
    run = SLOPES_ONLY.run(REPS, progress=False,
                          kernels=None if mutant is None else {"slopes": kernels[mutant]})
    return findings_table(lab.slope_findings(to_table(run)))


def failed(table: pd.DataFrame) -> list[str]:
    return table.loc[~table["holds"], "claim"].tolist()


def test_the_findings_hold_for_the_right_kernel():
    assert failed(findings()) == []


@pytest.mark.parametrize("mutant, expected", [
    ("ignoring covariance", ["slope 0: the Wald pre-test passes at its level",
                             "K = 3, slope 0: Wald test, pass rate as computed"]),
    ("wrong reference", ["K = 3, slope 0.5, all draws: bias as computed",
                         "K = 3, slope 0.75, passed Wald test: bias as computed"]),
    ("independent post", ["slope 0.5, passed Wald test: b_0 is more biased than over all draws",
                          "slope 0.75, passed Wald test: the interval covers less than over all "
                          "draws",
                          "slope 0.75, passed Wald test: the extra bias is minus the reference "
                          "period's mean noise"]),
    ("smoothness ignoring covariance", ["slope 0: robust-sd covers at 0.950",
                                        "slope 0.75: robust-sd covers at 0.950"]),
])
def test_a_broken_kernel_fails_the_findings(mutant, expected):
    got = failed(findings(mutant))
    missing = [claim for claim in expected if claim not in got]
    assert not missing, f"{mutant}: these findings should fail but hold: {missing}"
