"""The registered scenarios: each interval against statsmodels on one dataset drawn by the
scenario's own draw (float64), chunk independence, coverage against known truth (with plausible
wrong kernels that must fail), extra outputs, and one-line errors for bad input.

Coverage checks use a fixed seed and a tolerance of 4 Monte Carlo standard errors: they are
regression tests of known results, not hypothesis tests.
"""

import json
import math
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from pragmatic.sim import SimulationError, simulate_scenario
from pragmatic.sim.scenarios import REGISTRY, Design, ar1, cluster, ols_hetero, omitted
from pragmatic.sim.scenarios._ols import score, slope_intervals

SCORES = {"coverage", "mc_se", "miss_low", "miss_low_mc_se", "miss_high", "miss_high_mc_se",
          "mean_width", "width_mc_se", "width_q25", "width_median", "width_q75", "degenerate_reps"}
LEVEL = 0.9  # not the default, so a hard-coded 0.95 would show


def design(name, **sizes):
    return Design(LEVEL, REGISTRY[name].procedures, tuple(sizes.items()))


def as_numpy(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def ends(intervals):
    return {k: np.array([float(lo), float(hi)]) for k, (lo, hi) in intervals.items()}


def check(got, want):
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)


# --- statsmodels on one dataset, float64 ------------------------------------------------------

def test_registry_has_every_scenario_with_mean_first():
    import pkgutil
    from pragmatic.sim import scenarios
    modules = [m.name for m in pkgutil.iter_modules(scenarios.__path__) if m.name[0] != "_"]
    assert list(REGISTRY)[0] == "mean" and len(REGISTRY) == len(modules)
    assert {"ar1", "cluster", "ols-hetero", "omitted"} <= set(REGISTRY)
    assert set(CASES) == set(REGISTRY) - {"mean"}  # every scenario's chunk test below


@pytest.mark.parametrize("gamma, n", [(0.0, 12), (1.5, 40)])
def test_ols_hetero_intervals_match_statsmodels(gamma, n):
    with jax.enable_x64(True):
        x, y = ols_hetero.draw(jax.random.key(3), n, gamma)
        assert x.dtype == jnp.float64
        d = design("ols-hetero", n=n)
        got = ends(slope_intervals(x, y, d, d.procedures))
    x, y = as_numpy(x, y)
    model = sm.OLS(y, sm.add_constant(x))
    for name, cov in (("classical", "nonrobust"), ("HC0", "HC0"), ("HC3", "HC3"),
                      ("bayes-flat", "nonrobust")):
        check(got[name], model.fit(cov_type=cov, use_t=True).conf_int(alpha=1 - LEVEL)[1])


def test_bayes_flat_is_the_equal_tailed_posterior_interval():
    """Sampled from the posterior under p(beta, log sigma) = const: sigma^2 = RSS / chi2_{n-2},
    beta | sigma ~ N(beta-hat, sigma^2 (X'X)^-1). Its equal-tailed interval is the classical
    t-interval, within the Monte Carlo error of a sample quantile."""
    n, draws = 8, 400_000
    with jax.enable_x64(True):
        x, y = ols_hetero.draw(jax.random.key(4), n, 0.5)
        d = design("ols-hetero", n=n)
        got = ends(slope_intervals(x, y, d, ("bayes-flat", "classical")))
    assert np.array_equal(got["bayes-flat"], got["classical"])
    x, y = as_numpy(x, y)
    X = sm.add_constant(x)
    fit = sm.OLS(y, X).fit()
    rng = np.random.default_rng(0)
    sigma2 = fit.ssr / rng.chisquare(n - 2, draws)
    cov = np.linalg.inv(X.T @ X)
    slope = fit.params[1] + np.sqrt(sigma2 * cov[1, 1]) * rng.standard_normal(draws)
    q = (1 - LEVEL) / 2
    sampled = np.quantile(slope, [q, 1 - q])
    scale = math.sqrt(fit.ssr / (n - 2) * cov[1, 1])
    density = stats.t(n - 2).pdf(stats.t(n - 2).ppf(q)) / scale
    tolerance = 4 * math.sqrt(q * (1 - q) / draws) / density
    np.testing.assert_allclose(sampled, got["bayes-flat"], rtol=0, atol=tolerance)


@pytest.mark.parametrize("groups, size, icc", [(6, 4, 0.3), (25, 3, 0.0)])
def test_cluster_intervals_match_statsmodels(groups, size, icc):
    with jax.enable_x64(True):
        x, y = cluster.draw(jax.random.key(5), groups, size, icc)
        got = ends(cluster.intervals(x, y, design("cluster", groups=groups, size=size)))
    x, y = as_numpy(x, y)
    g = np.repeat(np.arange(groups), size)
    assert all(np.ptp(x[g == k]) == 0 for k in range(groups))  # x is a cluster-level regressor
    model = sm.OLS(y, sm.add_constant(x))
    check(got["naive"], model.fit(use_t=True).conf_int(alpha=1 - LEVEL)[1])
    robust = model.fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
    check(got["CR1"], robust.conf_int(alpha=1 - LEVEL)[1])
    # statsmodels' small-sample factor and d.f., written out
    n = groups * size
    resid = robust.resid
    xc = x - x.mean()
    meat = sum((xc[g == k] @ resid[g == k]) ** 2 for k in range(groups))
    factor = groups / (groups - 1) * (n - 1) / (n - 2)
    assert robust.bse[1] == pytest.approx(math.sqrt(factor * meat) / (xc @ xc), rel=1e-10)
    half = stats.t(groups - 1).ppf((1 + LEVEL) / 2) * robust.bse[1]
    check(got["CR1"], [robust.params[1] - half, robust.params[1] + half])


@pytest.mark.parametrize("n, phi", [(50, 0.6), (300, -0.4)])
def test_ar1_intervals_match_statsmodels(n, phi):
    with jax.enable_x64(True):
        y = ar1.draw(jax.random.key(6), n, phi)
        assert y.dtype == jnp.float64
        got = ends(ar1.intervals(y, design("ar1", n=n)))
    [y] = as_numpy(y)
    lags = math.floor(4 * (n / 100) ** (2 / 9))
    assert ar1.maxlags(n) == lags
    ones = np.ones((n, 1))
    check(got["naive"], sm.OLS(y, ones).fit(use_t=True).conf_int(alpha=1 - LEVEL)[0])
    hac = sm.OLS(y, ones).fit(cov_type="HAC", cov_kwds={"maxlags": lags}, use_t=False)
    check(got["HAC"], hac.conf_int(alpha=1 - LEVEL)[0])


def test_ar1_draw_is_the_recursion_from_the_stationary_start():
    """e_1 = z_1 / sqrt(1 - phi^2), e_t = phi e_(t-1) + z_t, with the draw's own innovations."""
    phi, n = 0.7, 20
    with jax.enable_x64(True):
        key = jax.random.key(8)
        y = np.asarray(ar1.draw(key, n, phi))
        z = np.asarray(jax.random.normal(key, (n,)))
    want = [z[0] / math.sqrt(1 - phi**2)]
    for t in range(1, n):
        want.append(phi * want[-1] + z[t])
    np.testing.assert_allclose(y, want, rtol=1e-13)


def test_ar1_draw_is_stationary_in_float32():
    """Across many series the first and last values have variance 1 / (1 - phi^2) and
    neighbours correlate phi (4 standard errors, normal approximations)."""
    phi, n, reps = 0.8, 30, 40_000
    y = np.asarray(jax.vmap(lambda k: ar1.draw(k, n, phi))(
        jax.random.split(jax.random.key(9), reps)), dtype=np.float64)
    var = 1 / (1 - phi**2)
    for column in (0, n - 1):
        assert abs(y[:, column].var() - var) <= 4 * var * math.sqrt(2 / reps)
    r = np.corrcoef(y[:, 10], y[:, 11])[0, 1]
    assert abs(r - phi) <= 4 * (1 - phi**2) / math.sqrt(reps)


@pytest.mark.parametrize("confounding", [0.0, 2.0])
def test_omitted_intervals_match_statsmodels(confounding):
    n = 25
    with jax.enable_x64(True):
        x, y, z = omitted.draw(jax.random.key(7), n, confounding)
        d = design("omitted", n=n)
        got = ends(slope_intervals(x, y, d, ("classical", "HC3", "bayes-flat")))
        new = omitted.draw(jax.random.key(70), n, confounding)
        mse = [float(v) for v in omitted.heldout_mse(x, y, z, *new)]
    x, y, z = as_numpy(x, y, z)
    short = sm.OLS(y, sm.add_constant(x))
    for name, cov in (("classical", "nonrobust"), ("HC3", "HC3"), ("bayes-flat", "nonrobust")):
        check(got[name], short.fit(cov_type=cov, use_t=True).conf_int(alpha=1 - LEVEL)[1])
    x_new, y_new, z_new = as_numpy(*new)
    want_short = np.mean((y_new - short.fit().predict(sm.add_constant(x_new))) ** 2)
    long = sm.OLS(y, np.column_stack([np.ones(n), x, z])).fit()
    want_long = np.mean((y_new - long.predict(np.column_stack([np.ones(n), x_new, z_new]))) ** 2)
    np.testing.assert_allclose(mse, [want_short, want_long], rtol=1e-10)


# --- the engine: chunks, JSON shape ------------------------------------------------------------

CASES = {"ols-hetero": dict(n=15, gamma=1.0), "cluster": dict(groups=7, size=3, icc=0.4),
         "ar1": dict(n=12, phi=0.5), "omitted": dict(n=10, confounding=1.0),
         "conjugate-mean": dict(n=8, phi=0.5), "conjugate-slope": dict(n=10, gamma=1.0),
         "pretest": dict(pre=2, slope=0.5)}


def strip(result):
    return {k: v for k, v in result.items() if k != "versions"}


@pytest.mark.parametrize("name", list(CASES))
def test_same_seed_same_result_for_any_chunk_size(name):
    # 5,001 is not a multiple of either chunk or of the engine's block of 4,096
    runs = [strip(simulate_scenario(name, 5_001, 4, chunk=c, **CASES[name]))
            for c in (700, 4_096)]
    assert runs[0] == runs[1]
    assert list(runs[0]["results"]) == list(REGISTRY[name].procedures)
    for scores in runs[0]["results"].values():
        assert set(scores) == SCORES and scores["width_median"] is not None


def test_replication_i_uses_its_own_key():
    """Replications 0 ... 99 of a run of 100 are the first 100 of a run of 5,000: the key of
    replication i is fold_in(key(seed), i), whatever else is run. One replication scored by
    hand with that key agrees too."""
    short = simulate_scenario("ar1", 1, 2, n=10, phi=0.3, procedures=("naive",))
    key = jax.random.fold_in(jax.random.key(2), 0)
    d = Design(0.95, ("naive",), (("n", 10),))
    miss_low, miss_high, width, _ = score(ar1.intervals(ar1.draw(key, 10, jnp.float32(0.3)), d),
                                          0.0)["naive"]
    got = short["results"]["naive"]
    assert got["miss_low"] == float(miss_low) and got["miss_high"] == float(miss_high)
    assert got["mean_width"] == pytest.approx(float(width), rel=1e-7)


def test_procedures_follow_the_order_given():
    r = simulate_scenario("ols-hetero", 100, 1, n=10, gamma=0.0, procedures=("HC3", "classical"))
    assert list(r["results"]) == r["procedures"] == ["HC3", "classical"]


def test_cli_json_has_the_documented_fields_and_equals_the_engine():
    out = subprocess.run([sys.executable, "-m", "pragmatic.sim", "cluster", "--groups", "4",
                          "--groups", "8", "--size", "5", "--icc", "0.2", "--reps", "300",
                          "--seed", "3", "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert [r["params"]["groups"] for r in got] == [4, 8] and [r["n"] for r in got] == [20, 40]
    assert set(got[0]) == {"scenario", "n", "params", "target", "reps", "seed", "level",
                           "procedures", "route", "dtype", "width_quantile_rel_resolution",
                           "versions", "results", "extra"}
    assert got[0]["route"] == "raw"  # cluster has no sufficient-statistics route
    assert got[0]["extra"] == {"design_effect": pytest.approx(1.8),
                               "effective_n": pytest.approx(20 / 1.8)}
    engine = simulate_scenario("cluster", 300, 3, groups=8, size=5, icc=0.2)
    assert got[1]["results"] == engine["results"]


def test_cli_table_and_help_of_a_scenario():
    out = subprocess.run([sys.executable, "-m", "pragmatic.sim", "omitted", "--n", "20",
                          "--confounding", "0.5", "--reps", "200", "--seed", "1",
                          "--procedure", "HC3", "--procedure", "classical"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stderr == ""
    header, columns, *rows = out.stdout.splitlines()
    assert header.startswith("omitted (n = 20, confounding = 0.5, prior_weight = 100), target 1; "
                             "200 replications, "
                             "seed 1, level 0.95; heldout_mse_correct ")
    assert columns.split()[:3] == ["n", "procedure", "coverage"]
    assert [row.split()[:2] for row in rows] == [["20", "HC3"], ["20", "classical"]]
    text = " ".join(subprocess.run([sys.executable, "-m", "pragmatic.sim", "cluster", "--help"],
                                   capture_output=True, text=True, timeout=300).stdout.split())
    for words in ("--icc ICC", "a number in [0, 1)", "allowed: naive, CR1", "(default: 0.95)"):
        assert words in text


# --- coverage against known truth, and wrong kernels that must fail ---------------------------

def within(cell, value):
    return abs(cell["coverage"] - value) <= 4 * cell["mc_se"]


def below(cell, value):
    return value - cell["coverage"] > 4 * cell["mc_se"]


def above(a, b):
    """a covers more than b, by more than 4 standard errors of the difference."""
    return a["coverage"] - b["coverage"] > 4 * math.hypot(a["mc_se"], b["mc_se"])


class ZDesign(Design):
    def t_crit(self, df):
        return self.z_crit


def z_for_t(key, target, params, *, dist, design):
    """Wrong: normal critical values where Student's t (n - 2 d.f.) belongs."""
    x, y = ols_hetero.draw(key, design["n"], params["gamma"])
    wrong = ZDesign(design.level, design.procedures, design.sizes)
    return score(slope_intervals(x, y, wrong, design.procedures), target)


def hc0_for_hc3(key, target, params, *, dist, design):
    """Wrong: HC0 reported as HC3."""
    out = ols_hetero.replicate(key, target, params, dist=dist, design=design)
    return {**out, "HC3": out["HC0"]}


def homoskedastic_findings(kernel=None):
    """gamma = 0, n = 10: the classical interval (t, 8 d.f.) is exact; HC3 covers more than
    HC0, which is too short at small n."""
    r = simulate_scenario("ols-hetero", 100_000, 11, level=0.95, n=10, gamma=0.0,
                          kernel=kernel)["results"]
    return {"classical exact": within(r["classical"], 0.95),
            "bayes-flat exact": within(r["bayes-flat"], 0.95),
            "HC3 above HC0": above(r["HC3"], r["HC0"])}


def test_ols_hetero_known_truth_at_gamma_0():
    assert all(homoskedastic_findings().values())


@pytest.mark.parametrize("kernel, fails", [(z_for_t, "classical exact"),
                                           (hc0_for_hc3, "HC3 above HC0")])
def test_ols_hetero_checks_fail_for_a_wrong_kernel(kernel, fails):
    assert not homoskedastic_findings(kernel)[fails]


def test_ols_hetero_classical_undercovers_under_heteroskedasticity():
    r = simulate_scenario("ols-hetero", 20_000, 12, level=0.95, n=100, gamma=1.0)["results"]
    assert below(r["classical"], 0.95) and above(r["HC3"], r["classical"])


def test_omitted_covers_without_confounding_and_never_with_it():
    clean = simulate_scenario("omitted", 50_000, 13, level=0.95, n=20, confounding=0.0)
    for name, cell in clean["results"].items():
        if name == "bayes-prior":  # a prior centred on the truth: covers more than promised
            assert cell["coverage"] - 0.95 > 4 * cell["mc_se"]
        else:
            assert within(cell, 0.95)
    biased = simulate_scenario("omitted", 5_000, 13, level=0.95, n=200, confounding=1.0)
    for cell in biased["results"].values():  # the short slope estimates 1.5, se about 0.06
        assert cell["coverage"] < 0.001 and cell["miss_high"] > 0.999


@pytest.mark.parametrize("n", [10, 40])
def test_omitted_heldout_mse_matches_its_closed_form(n):
    """Gaussian regressors, intercept and p slopes: E(held-out MSE) =
    s2 (1 + 1/n)(n - 2)/(n - p - 2). The short model has p = 1 and error variance 1 + C^2/2
    (its error C (z - x/2) + e is independent of x); the correct one p = 2 and variance 1."""
    c = 1.0
    extra = simulate_scenario("omitted", 20_000, 14, n=n, confounding=c)["extra"]
    for key, s2, p in (("heldout_mse_short", 1 + c**2 / 2, 1), ("heldout_mse_correct", 1, 2)):
        exact = s2 * (1 + 1 / n) * (n - 2) / (n - p - 2)
        assert abs(extra[key] - exact) <= 4 * extra[f"{key}_mc_se"]


def test_cluster_naive_undercovers_and_cr1_repairs_most_of_it():
    r = simulate_scenario("cluster", 10_000, 15, level=0.95, groups=40, size=10, icc=0.3)
    naive, cr1 = r["results"]["naive"], r["results"]["CR1"]
    assert below(naive, 0.8) and above(cr1, naive) and cr1["coverage"] > 0.92
    assert r["extra"]["design_effect"] == pytest.approx(1 + 9 * 0.3)
    # the naive interval is too short by about sqrt(design effect)
    assert cr1["width_median"] / naive["width_median"] == pytest.approx(math.sqrt(3.7), rel=0.1)


def test_cluster_without_correlation_is_ordinary_regression():
    r = simulate_scenario("cluster", 50_000, 16, level=0.95, groups=10, size=1, icc=0.0)
    assert within(r["results"]["naive"], 0.95)
    assert r["extra"] == {"design_effect": 1.0, "effective_n": 10.0}


def test_ar1_known_truth():
    """phi = 0: the t-interval is exact. phi = 0.5: the naive interval's variance is short by
    about (1 + phi)/(1 - phi) = 3, so it covers about P(|Z| < 1.645/sqrt(3)) at level 0.9."""
    white = simulate_scenario("ar1", 50_000, 17, level=0.95, n=10, phi=0.0)["results"]
    assert within(white["naive"], 0.95)
    r = simulate_scenario("ar1", 20_000, 17, level=0.9, n=400, phi=0.5)["results"]
    approx = 2 * stats.norm.cdf(stats.norm.ppf(0.95) / math.sqrt(3)) - 1
    assert abs(r["naive"]["coverage"] - approx) < 0.02
    assert above(r["HAC"], r["naive"]) and r["HAC"]["coverage"] > 0.82


# --- bad input -------------------------------------------------------------------------------

BAD = [
    ("ar1", dict(n=10, phi=1.0), "phi must be a number in (-1, 1), got 1.0"),
    ("ar1", dict(n=10, phi=-1.5), "phi must be a number in (-1, 1), got -1.5"),
    ("ar1", dict(n=1, phi=0.5), "n must be a whole number >= 2, got 1"),
    ("cluster", dict(groups=5, size=3, icc=1.0), "icc must be a number in [0, 1), got 1.0"),
    ("cluster", dict(groups=5, size=3, icc=-0.1), "icc must be a number in [0, 1), got -0.1"),
    ("cluster", dict(groups=1, size=3, icc=0.1), "groups must be a whole number >= 2, got 1"),
    ("cluster", dict(groups=5, size=0, icc=0.1), "size must be a whole number >= 1, got 0"),
    ("cluster", dict(groups=2, size=1, icc=0.1), "groups * size must be >= 3"),
    ("ols-hetero", dict(n=2, gamma=0.0), "n must be a whole number >= 3, got 2"),
    ("ols-hetero", dict(n=2.5, gamma=0.0), "n must be a whole number >= 3, got 2.5"),
    ("ols-hetero", dict(n=10, gamma=math.nan), "gamma must be a number in [-5, 5], got nan"),
    ("ols-hetero", dict(n=10), "ols-hetero needs gamma"),
    ("ols-hetero", dict(n=10, gamma=0.0, phi=0.5), "ols-hetero takes no parameter 'phi'"),
    ("ols-hetero", dict(n=10, gamma=0.0, procedures=("HC1",)), "unknown procedure 'HC1'"),
    ("ols-hetero", dict(n=10, gamma=0.0, level=1.0), "level must be strictly between 0 and 1"),
    ("omitted", dict(n=4, confounding=1.0), "n must be a whole number >= 5, got 4"),
    ("mean", dict(n=5), "unknown scenario 'mean'"),  # mean runs through `simulate`
    ("probit", dict(n=5), "unknown scenario 'probit'"),
]


@pytest.mark.parametrize("name, args, message", BAD)
def test_bad_input_is_named_in_a_clear_error(name, args, message):
    with pytest.raises(SimulationError) as err:
        simulate_scenario(name, 10, 0, **args)
    assert message in str(err.value) and "\n" not in str(err.value)


BAD_CLI = [
    (["ar1", "--n", "20", "--phi", "1", "--reps", "5", "--seed", "0"], "phi must be a number in (-1, 1)"),
    (["cluster", "--groups", "1", "--size", "5", "--icc", "0.1", "--reps", "5", "--seed", "0"],
     "groups must be a whole number >= 2, got 1"),
    (["cluster", "--groups", "5", "--size", "5", "--icc", "1", "--reps", "5", "--seed", "0"],
     "icc must be a number in [0, 1), got 1.0"),
    (["ols-hetero", "--n", "2", "--gamma", "1", "--reps", "5", "--seed", "0"],
     "n must be a whole number >= 3, got 2"),
    (["omitted", "--n", "ten", "--confounding", "1", "--reps", "5", "--seed", "0"],
     "argument --n: must be a whole number, got 'ten'"),
    (["omitted", "--n", "20", "--reps", "5", "--seed", "0"],
     "the following arguments are required: --confounding"),
    (["ar1", "--n", "20", "--n", "20", "--phi", "0", "--reps", "5", "--seed", "0"],
     "--n 20 is given more than once"),
    (["ar1", "--n", "20", "--phi", "0", "--reps", "5", "--seed", "0", "--procedure", "t"],
     "unknown procedure 't'; allowed: naive, HAC"),
    (["probit", "--n", "20"], f"unknown scenario 'probit'; allowed: {', '.join(REGISTRY)}"),
]


@pytest.mark.parametrize("args, message", BAD_CLI)
def test_bad_input_on_the_command_line_exits_2_with_one_line(args, message):
    out = subprocess.run([sys.executable, "-m", "pragmatic.sim", *args], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert message in out.stderr
