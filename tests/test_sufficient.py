"""The routes of `omitted`: the sufficient-statistics draw against the raw data, and the raw
route in blocks against statsmodels.

The sufficient route draws the sample means and the scatter matrix of (x, z, y) directly
(Bartlett's decomposition of a Wishart matrix), so a replication costs the same at any n. The
raw route draws more than BLOCK observations in blocks, in two passes. Comparisons of the two
routes use a fixed seed and a tolerance of 4 combined Monte Carlo standard errors: regression
tests, not hypothesis tests.
"""

import functools
import json
import math
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm

from pragmatic.sim import SimulationError, simulate_scenario
from pragmatic.sim.scenarios import REGISTRY, Design, omitted
from pragmatic.sim.scenarios._ols import slope_intervals

LEVEL = 0.9  # not the default, so a hard-coded 0.95 would show


def population_cov(c):
    """Cov(x, z, y) from the structural equations: (x, z, y) = T (z, v, e) + (0, 0, 1)."""
    T = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0 + c, 1.0, 1.0]])
    return T @ T.T


@pytest.mark.parametrize("c", [0.0, 1.0, -3.5])
def test_the_cholesky_factor_is_the_models(c):
    L = np.asarray(omitted.cholesky(c), dtype=np.float64)
    np.testing.assert_allclose(L @ L.T, population_cov(c), rtol=0, atol=1e-6)
    assert np.all(np.triu(L, 1) == 0) and np.all(np.diag(L) > 0)


def test_the_bartlett_draw_is_wishart_with_n_minus_1_degrees_of_freedom():
    """Many draws at n = 6: E S = (n - 1) Sigma, Var S_ij = (n - 1)(Sigma_ij^2 + Sigma_ii
    Sigma_jj), and the mean error has covariance Sigma / n, each within 4 standard errors
    (normal approximations; the variance's standard error from the fourth moments of the
    draws themselves)."""
    n, c, reps = 6, 1.0, 200_000
    keys = jax.random.split(jax.random.key(21), reps)
    mean_error, L, A = jax.vmap(lambda k: omitted.draw_sufficient(k, jnp.float32(n), c))(keys)
    M = np.asarray(L, np.float64) @ np.asarray(A, np.float64)
    S = M @ np.swapaxes(M, 1, 2)
    sigma = population_cov(c)
    for i in range(3):
        for j in range(i + 1):
            s = S[:, i, j]
            assert abs(s.mean() - (n - 1) * sigma[i, j]) <= 4 * s.std() / math.sqrt(reps)
            var = (n - 1) * (sigma[i, j] ** 2 + sigma[i, i] * sigma[j, j])
            dev2 = (s - s.mean()) ** 2
            assert abs(dev2.mean() - var) <= 4 * dev2.std() / math.sqrt(reps), (i, j)
    m = np.asarray(mean_error, np.float64)
    np.testing.assert_allclose(np.cov(m.T) * n, sigma, rtol=0, atol=4 * 3 * math.sqrt(2 / reps))


def data_with(means, M, n, rng):
    """n points of (x, z, y) whose means are `means` and whose scatter matrix is M M^T."""
    centred = np.linalg.qr(rng.standard_normal((n, 3)))[0]
    centred = np.linalg.qr(centred - centred.mean(axis=0))[0]  # orthonormal, orthogonal to 1
    assert np.allclose(centred.sum(axis=0), 0) and np.allclose(centred.T @ centred, np.eye(3))
    return means + centred @ M.T


def numerical_posterior_interval(x, y, weight, level):
    """The equal-tailed posterior interval of the slope b under `prior_interval`'s prior, by
    brute force: the joint density of (b, s) on a grid, integrated numerically over s.

    Likelihood s^-n exp(-sum (y - a - b x)^2 / 2 s^2); a flat prior on a integrates out to a
    factor s with the sum taken about the means; the prior on b given s is N(1, s^2 / k),
    k = 2 weight (density proportional to 1/s); the prior on s is 1/s.
    """
    n = len(x)
    xc, yc = x - x.mean(), y - y.mean()
    k = 2 * weight
    fit = sm.OLS(yc, xc).fit()
    b = np.linspace(fit.params[0] - 15 * fit.bse[0], fit.params[0] + 15 * fit.bse[0], 6001)
    q = ((yc[None, :] - b[:, None] * xc[None, :]) ** 2).sum(axis=1) + k * (b - 1) ** 2
    log_s = np.linspace(-8, 5, 6001)
    s2 = np.exp(2 * log_s)
    # density in (b, log s): s^-n * s * s^-1 * s^-1 * exp(-q / 2 s^2) * s (d s = s d log s)
    log_density = -n * log_s[None, :] - q[:, None] / (2 * s2[None, :])
    density = np.exp(log_density - log_density.max())
    marginal = np.trapezoid(density, log_s, axis=1)
    cdf = np.concatenate([[0], np.cumsum((marginal[1:] + marginal[:-1]) / 2 * np.diff(b))])
    cdf /= cdf[-1]
    tail = (1 - level) / 2
    return np.interp([tail, 1 - tail], cdf, b)


@pytest.mark.parametrize("c, n", [(1.0, 12), (-2.0, 40)])
def test_the_sufficient_route_is_statsmodels_on_data_with_the_same_statistics(c, n):
    """One draw of the sufficient statistics (float64); raw data built to have exactly those
    means and that scatter matrix; statsmodels on those data gives the same interval, and the
    held-out errors' closed form equals E(y - fit)^2 computed directly from the population
    moments with statsmodels' coefficients."""
    d = Design(LEVEL, ("classical", "bayes-flat", "bayes-prior"))
    weight = 3.0  # a prior worth 3 observations: the posterior is far from both b-hat and 1
    with jax.enable_x64(True):
        key = jax.random.key(22)
        params = {"n": jnp.float64(n), "confounding": jnp.float64(c), "t_crit": d.t_crit(n - 2),
                  "prior_weight": jnp.float64(weight), "t_crit_prior": d.t_crit(n - 1)}
        out = omitted.replicate_sufficient(key, 1.0, params, dist=None, design=d)
        mean_error, L, A = omitted.draw_sufficient(key, jnp.float64(n), c)
        assert mean_error.dtype == jnp.float64
    M = np.asarray(L) @ np.asarray(A)
    w = data_with(np.array([0.0, 0.0, 1.0]) + np.asarray(mean_error), M, n,
                  np.random.default_rng(0))
    x, z, y = w.T
    short = sm.OLS(y, sm.add_constant(x)).fit(use_t=True)
    lower, upper = short.conf_int(alpha=1 - LEVEL)[1]
    for name in ("classical", "bayes-flat"):
        miss_low, miss_high, width, _ = out[name]
        assert float(width) == pytest.approx(upper - lower, rel=1e-10)
        assert bool(miss_low) == (upper < 1) and bool(miss_high) == (lower > 1)
    lower, upper = numerical_posterior_interval(x, y, weight, LEVEL)
    miss_low, miss_high, width, _ = out["bayes-prior"]
    assert float(width) == pytest.approx(upper - lower, rel=1e-5)
    assert bool(miss_low) == (upper < 1) and bool(miss_high) == (lower > 1)
    # the slope and its standard error, from the Cholesky factor of the scatter matrix
    assert M[2, 0] / M[0, 0] == pytest.approx(short.params[1], rel=1e-10)
    se = math.sqrt((M[2, 1] ** 2 + M[2, 2] ** 2) / (n - 2)) / M[0, 0]
    assert se == pytest.approx(short.bse[1], rel=1e-10)
    sigma = population_cov(c)
    a, b = short.params
    want_short = (1 - a) ** 2 + sigma[2, 2] - 2 * b * sigma[0, 2] + b * b * sigma[0, 0]
    long = sm.OLS(y, np.column_stack([np.ones(n), x, z])).fit()
    a, bx, bz = long.params
    g = np.array([-bx, -bz, 1.0])  # y - bx x - bz z
    want_long = (1 - a) ** 2 + g @ sigma @ g
    got = [float(out["extra"][k]) for k in ("heldout_mse_short", "heldout_mse_correct")]
    np.testing.assert_allclose(got, [want_short, want_long], rtol=1e-10)


# --- the two routes agree, and the comparison has power ----------------------------------------

AGREE = dict(n=200, confounding=0.3)  # coverage about 0.16: not at 0 or 1, where all agree
AGREE_REPS = 20_000
SUFFICIENT = ("classical", "bayes-flat", "bayes-prior")


def route_differences(kernel=None):
    """{quantity: |sufficient - raw| / combined standard error} at AGREE."""
    runs = {route: simulate_scenario("omitted", AGREE_REPS, 23, level=0.95, procedures=SUFFICIENT,
                                     route=route, kernel=kernel if route == "sufficient" else None,
                                     **AGREE)
            for route in ("sufficient", "raw")}
    z = {}
    for procedure in ("classical", "bayes-prior"):
        s, r = (runs[k]["results"][procedure] for k in ("sufficient", "raw"))
        for key, se in (("coverage", "mc_se"), ("miss_low", "miss_low_mc_se"),
                        ("miss_high", "miss_high_mc_se"), ("mean_width", "width_mc_se")):
            combined = math.hypot(s[se], r[se])
            z[f"{procedure} {key}"] = (abs(s[key] - r[key]) / combined if combined
                                       else 0 if s[key] == r[key] else math.inf)
    s_e, r_e = runs["sufficient"]["extra"], runs["raw"]["extra"]
    for key in ("heldout_mse_short", "heldout_mse_correct", "short_slope"):
        z[key] = abs(s_e[key] - r_e[key]) / math.hypot(s_e[f"{key}_mc_se"], r_e[f"{key}_mc_se"])
    return z


def test_the_routes_agree_within_monte_carlo_error():
    z = route_differences()
    assert all(v <= 4 for v in z.values()), z


def wrong_sufficient(draw):
    """The sufficient route's kernel with another draw of (mean error, L, A)."""
    return functools.partial(omitted.replicate_sufficient, draw=draw)


def chi2_without_the_2(key, n, c):
    """Wrong: chi2(k) drawn as Gamma(k/2), forgetting the scale 2."""
    mean_error, L, A = omitted.draw_sufficient(key, n, c)
    diag = jnp.diag(A)
    return mean_error, L, A - jnp.diag(diag) + jnp.diag(diag / jnp.sqrt(2.0))


def without_the_normals_below_the_diagonal(key, n, c):
    """Wrong: Bartlett's A with its diagonal only (the chi2 draws, not the normals)."""
    mean_error, L, A = omitted.draw_sufficient(key, n, c)
    return mean_error, L, jnp.diag(jnp.diag(A))


def means_without_1_over_n(key, n, c):
    """Wrong: the sample means drawn with covariance Sigma, not Sigma / n."""
    mean_error, L, A = omitted.draw_sufficient(key, n, c)
    return mean_error * jnp.sqrt(n), L, A


@pytest.mark.parametrize("draw, fails", [
    (chi2_without_the_2, "classical coverage"),
    (without_the_normals_below_the_diagonal, "classical coverage"),
    (means_without_1_over_n, "heldout_mse_short"),
])
def test_the_comparison_fails_for_a_wrong_draw(draw, fails):
    """Each plausible wrong draw moves at least one compared quantity by more than 4 combined
    standard errors. (Wishart degrees of freedom n in place of n - 1, or a scatter matrix
    about the true means, would not be caught, and does not matter: the t statistic then has
    n - 1 in place of n - 2 degrees of freedom in its denominator, which moves the coverage by
    about 0.0006 at n = 200; seeing it would take some 10^7 replications per route.)"""
    z = route_differences(wrong_sufficient(draw))
    assert z[fails] > 4, z


def test_the_sufficient_route_is_exact_without_confounding():
    """C = 0: the classical interval is exact at n = 5 (t with 3 d.f.) and at n = 10^9."""
    for n in (5, 10**9):
        r = simulate_scenario("omitted", 100_000, 24, level=LEVEL, n=n, confounding=0.0,
                              procedures=("classical",))
        assert r["route"] == "sufficient"
        cell = r["results"]["classical"]
        assert abs(cell["coverage"] - LEVEL) <= 4 * cell["mc_se"], (n, cell)


@pytest.mark.parametrize("n", [10, 40])
def test_sufficient_heldout_mse_matches_its_closed_form(n):
    """E(held-out MSE) = s2 (1 + 1/n)(n - 2)/(n - p - 2), as for the raw route
    (tests/test_scenarios.py), with a Monte Carlo error several times smaller."""
    c = 1.0
    extra = simulate_scenario("omitted", 100_000, 14, n=n, confounding=c, route="sufficient")["extra"]
    for key, s2, p in (("heldout_mse_short", 1 + c**2 / 2, 1), ("heldout_mse_correct", 1, 2)):
        exact = s2 * (1 + 1 / n) * (n - 2) / (n - p - 2)
        assert abs(extra[key] - exact) <= 4 * extra[f"{key}_mc_se"]


def test_a_billion_observations_cost_no_more_than_a_hundred():
    """n = 10^9, C = 1: the short slope is 1.5 to within about 3e-5, so the interval, about
    1.1e-4 wide, never covers 1; all misses lie above. Its width is 2 z sqrt(Var(y|x) /
    (n Var x)); the held-out errors are their population values 1 + C^2/2 and 1."""
    r = simulate_scenario("omitted", 20_000, 25, n=10**9, confounding=1.0, procedures=("classical",))
    cell = r["results"]["classical"]
    assert r["route"] == "sufficient" and r["n"] == 10**9
    assert cell["coverage"] == 0 and cell["miss_high"] == 1
    assert cell["mean_width"] == pytest.approx(2 * 1.959964 * math.sqrt(1.5 / (2 * 10**9)),
                                               rel=1e-3)
    assert r["extra"]["heldout_mse_short"] == pytest.approx(1.5, rel=1e-6)
    assert r["extra"]["heldout_mse_correct"] == pytest.approx(1.0, rel=1e-6)


# --- the raw route in blocks --------------------------------------------------------------------

def blocks_dataset(key, n, c):
    """The n observations the blockwise route draws from `key`, concatenated."""
    blocks = [omitted.draw(jax.random.fold_in(key, j), omitted.BLOCK, c)
              for j in range(-(-n // omitted.BLOCK))]
    return [np.concatenate([np.asarray(b[i], np.float64) for b in blocks])[:n] for i in range(3)]


@pytest.mark.parametrize("x64, rtol", [(True, 1e-10), (False, 1e-6)])
def test_the_blockwise_raw_route_is_statsmodels(x64, rtol):
    """n = 3 blocks and a bit: the intervals (classical and HC3) and held-out errors of the
    blockwise route equal statsmodels' on the same data (float64: to 1e-10; float32: the
    interval ends to 1e-6, the held-out errors, float32 sums of n squares, to 5e-6)."""
    n, c = 3 * omitted.BLOCK + 17, 1.0
    d = Design(LEVEL, ("classical", "HC3"), (("n", n),))
    with jax.enable_x64(x64):
        k_data, k_new = jax.random.split(jax.random.key(26))
        fit = jax.jit(omitted.fit_in_blocks, static_argnums=2)(k_data, k_new, n, jnp.asarray(c))
        x, y, z = blocks_dataset(k_data, n, c)
        x2, y2, z2 = blocks_dataset(k_new, n, c)
    slope, sxx, rss, hc3, short, correct = map(float, fit)
    crit = d.t_crit(n - 2)
    model = sm.OLS(y, sm.add_constant(x))
    for name, cov, se in (("classical", "nonrobust", math.sqrt(rss / (n - 2) / sxx)),
                          ("HC3", "HC3", math.sqrt(hc3) / sxx)):
        want = model.fit(cov_type=cov, use_t=True).conf_int(alpha=1 - LEVEL)[1]
        np.testing.assert_allclose([slope - crit * se, slope + crit * se], want, rtol=rtol)
    fitted = model.fit()
    long = sm.OLS(y, np.column_stack([np.ones(n), x, z])).fit()
    want = [np.mean((y2 - fitted.predict(sm.add_constant(x2))) ** 2),
            np.mean((y2 - long.predict(np.column_stack([np.ones(n), x2, z2]))) ** 2)]
    np.testing.assert_allclose([short, correct], want, rtol=rtol if x64 else 5e-6)


def strip(result):
    return {k: v for k, v in result.items() if k != "versions"}


@pytest.mark.parametrize("route, n", [("raw", omitted.BLOCK + 100), ("sufficient", 10**6)])
def test_every_route_is_independent_of_the_chunk(route, n):
    runs = [strip(simulate_scenario("omitted", 600, 4, chunk=chunk, route=route, n=n,
                                    confounding=1.0, procedures=("classical",)))
            for chunk in (256, 512)]
    assert runs[0] == runs[1] and runs[0]["route"] == route


def test_the_blockwise_route_at_n_equal_to_one_block_is_the_old_path():
    """n = BLOCK still draws all observations at once, as before blocks existed."""
    n = omitted.BLOCK
    d = Design(0.95, ("classical",), (("n", n),))
    key = jax.random.key(27)
    out = omitted.replicate(key, 1.0, {"confounding": jnp.float32(0.5)}, dist=None, design=d)
    x, y, _ = omitted.draw(jax.random.split(key)[0], n, 0.5)
    lower, upper = slope_intervals(x, y, d, ("classical",))["classical"]
    assert float(out["classical"][2]) == float(upper - lower)


# --- choosing the route -----------------------------------------------------------------------

def test_auto_is_sufficient_only_when_every_procedure_has_a_sufficient_form():
    spec = REGISTRY["omitted"]
    assert spec.route(("classical", "bayes-flat")) == "sufficient"
    assert spec.route(("classical", "HC3")) == "raw"
    assert spec.route(("classical",), "raw") == "raw"
    assert REGISTRY["ar1"].route(("naive",)) == "raw"


@pytest.mark.parametrize("scenario, args, message", [
    ("omitted", dict(procedures=("classical", "HC3"), route="sufficient"),
     "route sufficient cannot score HC3: it needs the raw data"),
    ("omitted", dict(route="fast"), "route must be one of auto, sufficient, raw, got 'fast'"),
    ("ar1", dict(n=10, phi=0.0, route="sufficient"), "ar1 has no sufficient-statistics route"),
])
def test_a_route_that_cannot_be_taken_is_a_one_line_error(scenario, args, message):
    params = {"n": 20, "confounding": 1.0} if scenario == "omitted" else {}
    with pytest.raises(SimulationError) as err:
        simulate_scenario(scenario, 10, 0, **(params | args))
    assert message in str(err.value) and "\n" not in str(err.value)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "pragmatic.sim", *args], capture_output=True,
                          text=True, timeout=300)


def test_cli_route():
    common = ["omitted", "--n", "50", "--confounding", "1", "--reps", "300", "--seed", "1"]
    out = run_cli(*common, "--route", "sufficient", "--procedure", "HC3")
    assert out.returncode == 2 and out.stdout == "" and out.stderr.count("\n") == 1
    assert "route sufficient cannot score HC3" in out.stderr
    out = run_cli(*common, "--route", "sufficient", "--json")  # its procedures by default
    assert out.returncode == 0, out.stderr
    [got] = json.loads(out.stdout)
    assert got["route"] == "sufficient"
    assert got["procedures"] == ["classical", "bayes-flat", "bayes-prior"]
    assert got["results"] == simulate_scenario("omitted", 300, 1, n=50, confounding=1.0,
                                               route="sufficient")["results"]
    out = run_cli("ar1", "--n", "20", "--phi", "0", "--reps", "5", "--seed", "0", "--route", "raw")
    assert out.returncode == 2 and "unrecognized arguments: --route raw" in out.stderr
