"""Lab 05 (the frequentist coverage of Bayesian intervals): its scenarios and its findings.

- Every interval of `conjugate-mean` and `conjugate-slope`, on one dataset drawn by the
  scenario's own draw in float64, against an independent closed form (the textbook
  normal-inverse-gamma update in matrix form, scipy's quantiles, statsmodels) to 1e-8, and the
  normal-inverse-gamma interval against numerical integration of the posterior.
- The draws: errors with mean 0 and variance 1 whatever the knob, (theta, sigma) from the prior.
- Chunk independence and one-line errors, as tests/test_scenarios.py does for the others.
- The lab's checks pass on the real kernel and fail on a kernel that forgets the prior's share of
  the posterior variance and on one that uses the normal quantile in place of Student t's (both
  run at the lab's own size, where the checks must have their power), and on a planted table in
  which the Bayesian intervals survive a violation.

Coverage checks use fixed seeds and 4 Monte Carlo standard errors: regression tests of known
results, not hypothesis tests.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm
from scipy import integrate, stats

from pragmatic.sim import SimulationError, simulate_scenario
from pragmatic.sim.checks import table
from pragmatic.sim.grid import to_table
from pragmatic.sim.labs import bayes_coverage as lab
from pragmatic.sim.scenarios import REGISTRY, Design, conjugate_mean, conjugate_slope
from pragmatic.sim.scenarios._conjugate import posterior_intervals, truth
from pragmatic.sim.scenarios._ols import score

LEVEL = 0.9  # not the default, so a hard-coded 0.95 would show
PROCEDURES = ("bayes-known", "z", "bayes-nig", "t")
REPS = 20_000  # the lab's REPS


def design(**sizes):
    return Design(LEVEL, PROCEDURES, tuple(sizes.items()))


def ends(intervals):
    return {k: np.array([float(lo), float(hi)]) for k, (lo, hi) in intervals.items()}


def check(got, want):
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)


def nig_matrix_form(X, y, m0, prior_precision, nu0, sigma):
    """The textbook conjugate update for y ~ N(X b, s2 I), b | s2 ~ N(m0, s2 L0^-1) (L0 may be
    singular: a flat prior where it is zero), s2 ~ scaled-inverse-chi^2(nu0, 1) =
    inverse-gamma(nu0 / 2, nu0 / 2). Returns the last coefficient's marginal posteriors:
    (mean, sd) with s2 = sigma^2 known, and (mean, scale, df) of its Student t with s2 unknown."""
    L0 = np.asarray(prior_precision, dtype=float)
    Ln = L0 + X.T @ X
    mn = np.linalg.solve(Ln, L0 @ m0 + X.T @ y)
    an = nu0 / 2 + (len(y) - X.shape[1] + np.linalg.matrix_rank(L0)) / 2
    bn = nu0 / 2 + (y @ y + m0 @ L0 @ m0 - mn @ Ln @ mn) / 2
    vn = np.linalg.inv(Ln)[-1, -1]
    return (mn[-1], sigma * math.sqrt(vn)), (mn[-1], math.sqrt(bn / an * vn), 2 * an)


def closed_forms(X, y, m0, tau, nu0, sigma, dof):
    """Each procedure's interval from scipy: the posteriors in matrix form and the twins."""
    k = X.shape[1]
    L0 = np.zeros((k, k))
    L0[-1, -1] = 1 / tau**2
    (mk, sk), (mt, st, df) = nig_matrix_form(X, y, np.full(k, m0), L0, nu0, sigma)
    fit = sm.OLS(y, X).fit()
    se_known = sigma * math.sqrt(np.linalg.inv(X.T @ X)[-1, -1])
    return {"bayes-known": stats.norm(mk, sk).interval(LEVEL),
            "z": stats.norm(fit.params[-1], se_known).interval(LEVEL),
            "bayes-nig": stats.t(df, mt, st).interval(LEVEL),
            "t": fit.conf_int(alpha=1 - LEVEL)[-1]}, df, dof


# --- every interval against a closed form, float64 -------------------------------------------

@pytest.mark.parametrize("n, prior_df, skew, outliers, phi, tau",
                         [(2, 1, 0.0, 0.0, 0.0, 0.5), (7, 10, 1.0, 0.2, 0.6, 2.0)])
def test_conjugate_mean_intervals_match_closed_forms(n, prior_df, skew, outliers, phi, tau):
    params = {"prior_mean": 0.4, "prior_sd": tau, "from_prior": 1.0, "skew": skew,
              "outliers": outliers, "phi": phi}
    with jax.enable_x64(True):
        z = jax.random.normal(jax.random.key(3), (prior_df + 1 + 2 * n,))
        theta, sigma = truth(z[:prior_df + 1], 0.0, params)
        x = theta + sigma * conjugate_mean.errors(z[prior_df + 1:].reshape(2, n), params)
        assert x.dtype == jnp.float64
        summary = conjugate_mean.statistics(z[prior_df + 1:].reshape(2, n), theta, sigma, params)
        got = ends(posterior_intervals(*summary, sigma, params, design(n=n, prior_df=prior_df)))
    x, sigma = np.asarray(x), float(sigma)
    want, df, _ = closed_forms(np.ones((n, 1)), x, 0.4, tau, prior_df, sigma, n - 1)
    assert df == prior_df + n
    for name in PROCEDURES:
        check(got[name], want[name])
    check(got["t"], sm.stats.DescrStatsW(x).tconfint_mean(alpha=1 - LEVEL))


@pytest.mark.parametrize("n, gamma, confounding", [(3, 0.0, 0.0), (12, 0.7, 1.5)])
def test_conjugate_slope_intervals_match_closed_forms(n, gamma, confounding):
    """The intercept's prior is flat: a zero in the prior precision, so the update's shape
    parameter gains (n - 2 + 1) / 2, not n / 2."""
    prior_df, tau = 6, 0.7
    params = {"prior_mean": -0.2, "prior_sd": tau, "from_prior": 1.0, "gamma": gamma,
              "confounding": confounding}
    with jax.enable_x64(True):
        z = jax.random.normal(jax.random.key(4), (prior_df + 1 + 3 * n,))
        beta, sigma = truth(z[:prior_df + 1], 0.0, params)
        x, y = conjugate_slope.draw(z[prior_df + 1:].reshape(3, n), beta, sigma, params)
        assert y.dtype == jnp.float64
        summary = conjugate_slope.statistics(z[prior_df + 1:].reshape(3, n), beta, sigma, params)
        got = ends(posterior_intervals(*summary, sigma, params, design(n=n, prior_df=prior_df)))
    x, y, sigma = np.asarray(x), np.asarray(y), float(sigma)
    want, df, _ = closed_forms(sm.add_constant(x), y, -0.2, tau, prior_df, sigma, n - 2)
    assert df == prior_df + n - 1
    for name in PROCEDURES:
        check(got[name], want[name])


def test_the_t_posterior_is_the_posterior_by_quadrature():
    """The normal-inverse-gamma interval of the mean leaves (1 - level) / 2 of the posterior on
    each side, the posterior computed by integrating the unnormalised joint density of
    (mu, sigma^2) numerically: nothing of the conjugate algebra is used."""
    x = [0.3, 1.9, -0.4, 1.1, 2.6]
    n, m0, tau, nu0 = len(x), 0.3, 0.8, 4
    params = {"prior_mean": m0, "prior_sd": tau}
    with jax.enable_x64(True):
        xbar = jnp.mean(jnp.array(x))
        rss = jnp.sum((jnp.array(x) - xbar) ** 2)
        lo, hi = ends(posterior_intervals(xbar, n, rss, n - 1, 1.0, params,
                                          design(n=n, prior_df=nu0)))["bayes-nig"]

    def joint(mu, log_s2):
        """log p(x | mu, s2) + log p(mu | s2) + log p(s2), up to a constant, plus log s2 (the
        change of variable to log s2): normal, normal and inverse-gamma(nu0 / 2, nu0 / 2)."""
        s2 = math.exp(log_s2)
        return math.exp(-(n + 1) / 2 * log_s2 - sum((xi - mu) ** 2 for xi in x) / (2 * s2)
                        - (mu - m0) ** 2 / (2 * tau**2 * s2)
                        - (nu0 / 2 + 1) * log_s2 - nu0 / (2 * s2) + log_s2 + 10)

    def marginal(mu):
        return integrate.quad(lambda u: joint(mu, u), -12, 8, epsabs=0, epsrel=1e-12,
                              limit=200)[0]

    def mass(a, b):
        return integrate.quad(marginal, a, b, epsabs=0, epsrel=1e-12, limit=200)[0]

    total = mass(-30, 30)
    tail = (1 - LEVEL) / 2
    assert mass(-30, lo) / total == pytest.approx(tail, abs=1e-8)
    assert mass(hi, 30) / total == pytest.approx(tail, abs=1e-8)


def test_replication_i_is_scored_by_hand_with_its_own_key():
    """Replication 0 of a run is the generic replicate on key fold_in(key(seed), 0): its
    (theta, sigma) from the first nu0 + 1 normals, its data from the rest."""
    params = {"theta": 0.0, "prior_mean": 0.3, "prior_sd": 0.5, "from_prior": 1.0, "skew": 0.0,
              "outliers": 0.0, "phi": 0.0}
    d = Design(0.95, PROCEDURES, (("n", 5), ("prior_df", 3)))
    key = jax.random.fold_in(jax.random.key(9), 0)
    z = jax.random.normal(key, (3 + 1 + 2 * 5,))
    theta, sigma = truth(z[:4], 0.3, params)
    x = theta + sigma * z[4:9]  # normal errors: the first row unchanged
    xbar = jnp.mean(x)
    want = score(posterior_intervals(xbar, 5, jnp.sum((x - xbar) ** 2), 4, sigma, params, d),
                 theta)
    got = simulate_scenario("conjugate-mean", 1, 9, n=5, prior_df=3, prior_mean=0.3,
                            prior_sd=0.5, from_prior=1)["results"]
    for name in PROCEDURES:
        assert got[name]["miss_low"] == float(want[name][0])
        assert got[name]["miss_high"] == float(want[name][1])
        assert got[name]["mean_width"] == pytest.approx(float(want[name][2]), rel=1e-6)


# --- the draws ---------------------------------------------------------------------------------

def test_truth_is_fixed_or_the_prior_draw_from_its_own_normals():
    z = jnp.arange(1.0, 6.0)  # nu0 = 4: chi^2 = 1 + 4 + 9 + 16 = 30, theta's normal 5
    params = {"prior_mean": 2.0, "prior_sd": 0.5, "from_prior": 1.0}
    theta, sigma = truth(z, 7.0, params)
    assert float(sigma) == pytest.approx(math.sqrt(4 / 30))
    assert float(theta) == pytest.approx(2.0 + math.sqrt(4 / 30) * 0.5 * 5)
    theta, sigma = truth(z, 7.0, {**params, "from_prior": 0.0})
    assert (float(theta), float(sigma)) == (7.0, 1.0)


def test_prior_draws_have_the_prior_distribution():
    """nu0 / sigma^2 ~ chi^2_nu0 and (theta - m0) / (sigma tau) ~ N(0, 1): a Kolmogorov-Smirnov
    distance below 4 / sqrt(R) (far beyond its 0.999 quantile, 1.95 / sqrt(R))."""
    reps, nu0 = 50_000, 6
    params = {"prior_mean": 1.0, "prior_sd": 0.5, "from_prior": 1.0}
    z = jax.random.normal(jax.random.key(5), (reps, nu0 + 1))
    theta, sigma = jax.vmap(lambda row: truth(row, 0.0, params))(z)
    theta, sigma = np.asarray(theta, dtype=float), np.asarray(sigma, dtype=float)
    assert stats.kstest(nu0 / sigma**2, stats.chi2(nu0).cdf).statistic < 4 / math.sqrt(reps)
    assert stats.kstest((theta - 1) / (0.5 * sigma), "norm").statistic < 4 / math.sqrt(reps)


@jax.jit
def _errors(keys, params):
    return jax.vmap(lambda k: conjugate_mean.errors(jax.random.normal(k, (2, 4)), params))(keys)


@pytest.mark.parametrize("knob", [{"skew": 1.0}, {"outliers": 0.1}, {"phi": 0.6},
                                  {"skew": 0.5, "outliers": 0.05, "phi": -0.3}])
def test_errors_have_mean_0_and_variance_1_whatever_the_knob(knob):
    reps = 200_000
    params = {"skew": 0.0, "outliers": 0.0, "phi": 0.0, **knob}
    e = np.asarray(_errors(jax.random.split(jax.random.key(6), reps),
                           {k: jnp.float32(v) for k, v in params.items()}), dtype=float)
    for t in (0, e.shape[1] - 1):
        col = e[:, t]
        assert abs(col.mean()) <= 4 * col.std() / math.sqrt(reps)
        fourth = np.mean((col - col.mean()) ** 4)  # se of the variance: sqrt((m4 - s^4) / R)
        assert abs(col.var() - 1) <= 4 * math.sqrt((fourth - col.var() ** 2) / reps)
    r = np.corrcoef(e[:, 1], e[:, 2])[0, 1]
    assert abs(r - params["phi"]) <= 4 * 1.2 / math.sqrt(reps)  # generous for non-normal errors


def test_slope_noise_has_mean_square_sigma_squared_and_the_short_slope_is_biased():
    """E[exp(2 gamma x - 4 gamma^2) e^2] = 1 for x ~ N(0, 2); the short regression's slope
    estimates beta + confounding / 2, since cov(x, z) / var(x) = 1 / 2."""
    reps, n = 20_000, 50
    keys = jax.random.split(jax.random.key(7), reps)

    def draws(beta, sigma, params):
        x, y = jax.vmap(lambda k: conjugate_slope.draw(jax.random.normal(k, (3, n)), beta,
                                                       sigma, params))(keys)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    _, y = draws(0.0, 1.5, {"gamma": 0.5, "confounding": 0.0})
    square = (y / 1.5).ravel() ** 2  # the noise alone, squared
    assert abs(square.mean() - 1) <= 4 * square.std() / math.sqrt(square.size / n)
    x, y = draws(2.0, 1.0, {"gamma": 0.0, "confounding": 1.0})
    xc = x - x.mean(axis=1, keepdims=True)
    slopes = (xc * y).sum(axis=1) / (xc * xc).sum(axis=1)
    assert abs(slopes.mean() - 2.5) <= 4 * slopes.std() / math.sqrt(reps)


# --- the engine: chunks, bad input ------------------------------------------------------------

# n = 8 and the default chunk: the compilation the lab's own run uses (and the tests below reuse).
CASES = {"conjugate-mean": dict(n=8, from_prior=1, skew=0.5, outliers=0.1, phi=0.3),
         "conjugate-slope": dict(n=8, from_prior=1, gamma=0.4, confounding=0.5)}


@pytest.mark.parametrize("name", list(CASES))
def test_same_seed_same_result_for_any_chunk_size(name):
    # 5,001 is not a multiple of either chunk or of the engine's block of 4,096
    runs = [{k: v for k, v in simulate_scenario(name, 5_001, 4, chunk=c, **CASES[name]).items()
             if k != "versions"} for c in (700, None)]
    assert runs[0] == runs[1]
    assert list(runs[0]["results"]) == list(REGISTRY[name].procedures) == list(PROCEDURES)


@pytest.mark.parametrize("name, args, message", [
    ("conjugate-mean", dict(n=5, from_prior=0.5), "from_prior must be 0 or 1, got 0.5"),
    ("conjugate-mean", dict(n=1), "n must be a whole number >= 2, got 1"),
    ("conjugate-mean", dict(n=5, phi=1.0), "phi must be a number in (-1, 1), got 1.0"),
    ("conjugate-mean", dict(n=5, prior_sd=0.0), "prior_sd must be a number in (0, 1e+06]"),
    ("conjugate-mean", dict(n=5, prior_df=0), "prior_df must be a whole number >= 1, got 0"),
    ("conjugate-slope", dict(n=2), "n must be a whole number >= 3, got 2"),
    ("conjugate-slope", dict(n=5, gamma=3.0), "gamma must be a number in [-2, 2], got 3.0"),
])
def test_bad_input_is_named_in_a_clear_error(name, args, message):
    with pytest.raises(SimulationError) as err:
        simulate_scenario(name, 10, 0, **args)
    assert message in str(err.value) and "\n" not in str(err.value)


# --- the lab's findings, and kernels that must fail them --------------------------------------

def _the_mean_by_hand(key, target, params, design):
    """The real replicate of conjugate-mean, by hand: its truth, its right intervals, and the
    pieces of the posterior a mutant rewires (centre, s_n^2, k_n)."""
    n, nu0 = design["n"], design["prior_df"]
    z = jax.random.normal(key, (nu0 + 1 + 2 * n,))  # the draws of the real replicate
    theta, sigma = truth(z[:nu0 + 1], target, params)
    xbar, _, rss, _ = conjugate_mean.statistics(z[nu0 + 1:].reshape(2, n), theta, sigma, params)
    right = posterior_intervals(xbar, n, rss, n - 1, sigma, params, design)
    k0 = 1 / params["prior_sd"] ** 2
    kn = k0 + n
    centre = (k0 * params["prior_mean"] + n * xbar) / kn
    s2n = (nu0 + rss + k0 * n / kn * (xbar - params["prior_mean"]) ** 2) / (nu0 + n)
    return theta, sigma, right, centre, s2n, kn


def forgets_prior_variance(key, target, params, *, dist, design):
    """Wrong: the posterior centre is shrunk towards the prior mean, but the half-widths use the
    data's information alone (n, not n + k0), as if the prior added nothing to the precision."""
    n, nu0 = design["n"], design["prior_df"]
    theta, sigma, right, centre, s2n, _ = _the_mean_by_hand(key, target, params, design)
    half = {"bayes-known": design.z_crit * sigma / jnp.sqrt(n),
            "bayes-nig": design.t_crit(nu0 + n) * jnp.sqrt(s2n / n)}
    wrong = {**right, **{p: (centre - h, centre + h) for p, h in half.items()}}
    return score(wrong, theta)


def normal_quantile_for_t(key, target, params, *, dist, design):
    """Wrong: the normal-inverse-gamma interval uses the normal quantile in place of Student t's
    on nu0 + n degrees of freedom (the plausible slip of COURSE.md); the others are right."""
    theta, _, right, centre, s2n, kn = _the_mean_by_hand(key, target, params, design)
    half = design.z_crit * jnp.sqrt(s2n / kn)
    return score({**right, "bayes-nig": (centre - half, centre + half)}, theta)


def run(experiments, reps, kernel=None):
    """The named experiments of the lab's grid, as the lab's table, with another kernel."""
    results = []
    for e in (e for e in lab.GRID.experiments if e.name in experiments):
        for params in e.settings():
            results.append({"experiment": e.name, "result": simulate_scenario(
                e.scenario, e.reps(reps), lab.GRID.seed, level=lab.GRID.level,
                procedures=e.procedures, kernel=kernel, **params)})
    return to_table({"results": results})


def failing(findings):
    return set(findings.loc[~findings["holds"], "claim"])


def test_the_real_kernel_passes_at_a_smaller_size():
    t = run([e.name for e in lab.GRID.experiments], reps=8_000)
    findings = table(lab.calibration_findings(t) + lab.wrong_prior_findings(t)
                     + lab.violation_findings(t))
    assert findings["holds"].all(), failing(findings)


# The mutant's intervals at n = 2 are so wide that none misses on either side; the difference of
# two shares of 0 has standard error 0, and its z is 0 / 0 (a claim that then does not hold).
@pytest.mark.filterwarnings("ignore:invalid value encountered in scalar divide:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:divide by zero encountered in scalar divide:RuntimeWarning")
def test_a_kernel_that_forgets_the_prior_variance_fails_at_every_n():
    """At the lab's size: the mutant over-covers by 0.05 at n = 2 and by 0.0035 (10 standard
    errors) at n = 128, where the prior is worth 4 of 132 observations."""
    t = run(["calibration", "wrong prior"], reps=REPS, kernel=forgets_prior_variance)
    bad = failing(table(lab.calibration_findings(t)))
    for n in lab.NS:
        for procedure in lab.BAYES:
            assert f"theta from the prior, n = {n}: {procedure} covers at 0.95" in bad
        assert f"theta from the prior, n = {n}: z covers at 0.95" not in bad
    bad = failing(table(lab.wrong_prior_findings(t)))
    assert any(claim.startswith("wrong prior, n = 2: bayes-known covers 0.71") for claim in bad)


def test_a_kernel_with_the_normal_quantile_for_t_fails_at_every_n():
    """At the lab's size: under the prior predictive the mutant covers 2 F(1.96) - 1 with F the
    t distribution on nu0 + n degrees of freedom: 0.926 at n = 2, and 0.948 at n = 128, 0.0020
    or about 6 standard errors short of 0.95. Only the normal-inverse-gamma claims fail."""
    t = run(["calibration"], reps=REPS, kernel=normal_quantile_for_t)
    bad = failing(table(lab.calibration_findings(t)))
    for n in lab.NS:
        assert f"theta from the prior, n = {n}: bayes-nig covers at 0.95" in bad
        for procedure in ("bayes-known", "z", "t"):
            assert f"theta from the prior, n = {n}: {procedure} covers at 0.95" not in bad


def test_a_planted_table_where_bayes_survives_a_violation_fails():
    t = run(["AR(1)", "heteroskedastic", "confounded", "skewed", "outliers", "straight line"],
            reps=8_000)
    planted = t.copy()
    rows = planted["procedure"].isin(lab.BAYES) & (planted["n"] == 128)
    se = {0.95: math.sqrt(0.95 * 0.05 / 8_000), 0.025: math.sqrt(0.025 * 0.975 / 8_000)}
    planted.loc[rows, ["coverage", "mc_se", "miss_low", "miss_low_mc_se", "miss_high",
                       "miss_high_mc_se"]] = [0.95, se[0.95], 0.025, se[0.025], 0.025, se[0.025]]
    bad = failing(table(lab.violation_findings(planted)))
    for name in ("AR(1)", "heteroskedastic", "confounded"):
        assert f"{name}, n = 128: bayes-nig covers less than 0.95" in bad
    assert ("skewed, n = 128: more than 0.025 of the bayes-nig intervals lie wholly below theta"
            in bad)


def test_known_sigma_coverage_is_the_formula_and_averages_to_the_level_over_the_prior():
    """At theta = m0 + delta tau the bayes-known interval covers a known amount; averaged over
    delta ~ N(0, 1), the prior, it covers exactly the level (numerical integration)."""
    for n in (2, 8, 32):
        def cover(delta):
            return lab.known_sigma_coverage(n, delta * 0.5, 0.0, 0.5)["coverage"]
        average = integrate.quad(lambda d: cover(d) * stats.norm.pdf(d), -12, 12,
                                 epsabs=1e-12)[0]
        assert average == pytest.approx(0.95, abs=1e-9)
        assert cover(0.0) > 0.95 > cover(2.0)
