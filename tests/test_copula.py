"""The Gaussian-copula synthesizer of lab 7 (pragmatic.copula): its parts against closed forms
and SciPy, the marginals it reproduces, the correlation it recovers on a known Gaussian, and its
seeds. Monte Carlo tolerances are 4 standard errors of the quantity checked."""

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from pragmatic import copula, loyalty


@pytest.fixture(scope="module")
def seed_data():
    return loyalty.simulate(1000, 7)


def known_gaussian(n, rho, seed):
    """n draws of a normal vector with correlation `rho`, each column then put through a
    different monotone map (a copula is blind to them): exp, a cube, a threshold (a binary
    column) and a rounding (a count-like column with ties)."""
    z = np.random.default_rng(seed).multivariate_normal(np.zeros(len(rho)), rho, size=n)
    return pd.DataFrame({"lognormal": np.exp(z[:, 0]), "cube": z[:, 1] ** 3,
                         "binary": (z[:, 2] > 0.3).astype(int),
                         "count": np.floor(2 * z[:, 3] + 5).clip(0, None)})


RHO = np.array([[1.0, 0.6, -0.4, 0.5],
                [0.6, 1.0, 0.3, 0.2],
                [-0.4, 0.3, 1.0, 0.1],
                [0.5, 0.2, 0.1, 1.0]])


def test_midranks_and_normal_scores_match_scipy():
    rng = np.random.default_rng(1)
    for column in (rng.normal(size=50), rng.integers(0, 4, 200).astype(float)):
        np.testing.assert_allclose(copula.midranks(column), stats.rankdata(column))
        np.testing.assert_allclose(copula.normal_scores(column),
                                   stats.norm.ppf(stats.rankdata(column) / (len(column) + 1)))


def test_ks_distance_and_rank_correlation_match_scipy():
    rng = np.random.default_rng(2)
    for _ in range(100):
        a = rng.integers(0, 8, rng.integers(1, 60)).astype(float)
        b = rng.integers(0, 10, rng.integers(1, 400)).astype(float)
        assert copula.ks_distance(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
        assert copula.ks_distance(b, a) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
        x, y = rng.normal(size=30), rng.lognormal(size=500)
        assert copula.ks_distance(x, y) == pytest.approx(stats.ks_2samp(x, y).statistic, abs=1e-12)
    frame = known_gaussian(300, RHO, 3)
    np.testing.assert_allclose(copula.rank_correlation(frame),
                               stats.spearmanr(frame.to_numpy()).statistic, atol=1e-12)


def test_inverse_ecdf_is_the_empirical_quantile_function():
    values = np.array([3.0, 1.0, 2.0, 2.0, 5.0])
    s = np.sort(values)
    n = len(s)
    for k in range(1, n + 1):  # u in ((k - 1)/n, k/n] gives the k-th smallest value
        for u in ((k - 1) / n + 1e-9, (k - 0.5) / n, k / n):
            assert copula.inverse_ecdf(s, u) == s[k - 1]
            # ... the smallest value whose ECDF reaches u
            assert copula.inverse_ecdf(s, u) == min(v for v in s if np.mean(values <= v) >= u)


def test_tie_attenuation_closed_forms():
    rng = np.random.default_rng(4)
    assert copula.tie_attenuation(rng.normal(size=1000)) > 0.999  # no ties: almost 1
    # A binary column with a share p of ones: the point-biserial factor phi(tau)/sqrt(p(1-p)).
    for p in (0.1, 0.41, 0.5):
        column = (np.arange(1000) < 1000 * p).astype(float)
        tau = stats.norm.ppf(1 - p)
        assert copula.tie_attenuation(column) == pytest.approx(
            stats.norm.pdf(tau) / math.sqrt(p * (1 - p)), rel=1e-12)


def test_nearest_correlation():
    np.testing.assert_array_equal(copula.nearest_correlation(RHO), RHO)  # left alone
    bad = np.array([[1.0, 0.99, 0.2], [0.99, 1.0, 0.9], [0.2, 0.9, 1.0]])
    assert np.linalg.eigvalsh(bad).min() < 0
    fixed = copula.nearest_correlation(bad)
    np.testing.assert_allclose(np.diag(fixed), 1.0)
    np.testing.assert_allclose(fixed, fixed.T)
    assert np.linalg.eigvalsh(fixed).min() > 0
    np.linalg.cholesky(fixed)


def test_it_reproduces_the_marginals(seed_data):
    """Every synthetic value is a seed value, drawn in the seed's proportions: the KS distance
    from the seed stays below 2/sqrt(m), which the distance of m draws from a distribution to
    that distribution exceeds with probability about 0.0007 (less for a discrete one)."""
    m = 100_000
    twin = copula.GaussianCopula.fit(seed_data).sample(m, 11)
    assert list(twin.columns) == list(seed_data.columns)
    for column in seed_data.columns:
        assert np.isin(twin[column], seed_data[column]).all(), column
        assert copula.ks_distance(twin[column], seed_data[column]) < 2 / math.sqrt(m), column
    p = seed_data["status_platinum"].mean()
    assert abs(twin["status_platinum"].mean() - p) < 4 * math.sqrt(p * (1 - p) / m)


def test_it_recovers_the_correlation_of_a_known_gaussian():
    """The latent correlation, whatever monotone maps the columns went through, within 4
    standard errors of a correlation estimate, (1 - rho^2)/sqrt(n), inflated for a discrete
    column by 1/a, its attenuation factor. Two discrete columns are corrected only to first
    order, so their pair is left out."""
    n = 20_000
    data = known_gaussian(n, RHO, 5)
    fitted = copula.GaussianCopula.fit(data)
    factor = np.array([copula.tie_attenuation(data[c]) for c in data.columns])
    discrete = factor < 0.999
    for i in range(4):
        for j in range(i):
            if discrete[i] and discrete[j]:
                continue
            se = (1 - RHO[i, j] ** 2) / math.sqrt(n) / (factor[i] * factor[j])
            assert abs(fitted.correlation[i, j] - RHO[i, j]) < 4 * se, (i, j)
    # Without the correction the binary column's correlations are weakened by its factor.
    scores = np.column_stack([copula.normal_scores(data[c]) for c in data.columns])
    plain = np.corrcoef(scores, rowvar=False)
    assert plain[2, 0] == pytest.approx(RHO[2, 0] * factor[2], abs=4 / math.sqrt(n))


def test_a_sample_has_the_fitted_correlation():
    """The round trip: the normal scores of a synthetic sample, corrected for ties, have the
    correlation the copula was fitted with."""
    fitted = copula.GaussianCopula.fit(known_gaussian(2_000, RHO, 6))
    m = 50_000
    again = copula.GaussianCopula.fit(fitted.sample(m, 8))
    se = (1 - fitted.correlation**2) / math.sqrt(m) / 0.79  # 0.79: the binary column's factor
    assert (np.abs(again.correlation - fitted.correlation) < 4 * se + 1e-12).all()


def test_fit_is_deterministic_and_sample_is_seeded(seed_data):
    a, b = copula.GaussianCopula.fit(seed_data), copula.GaussianCopula.fit(seed_data)
    np.testing.assert_array_equal(a.correlation, b.correlation)
    pd.testing.assert_frame_equal(a.sample(500, 3), b.sample(500, 3))
    assert not a.sample(500, 3).equals(a.sample(500, 4))
    # The smaller twins of the lab are the first rows of the largest.
    pd.testing.assert_frame_equal(a.sample(5_000, 3).iloc[:500], a.sample(500, 3))
    pd.testing.assert_frame_equal(copula.datasets(0, m=2_000)["naive twin"],
                                  copula.datasets(0, m=2_000)["naive twin"])


def test_the_fixed_twin_puts_back_the_structure(seed_data):
    twin = copula.fixed_twin(seed_data, 5_000, 9, loyalty.truth)
    assert list(twin.columns) == list(seed_data.columns)
    assert (twin["status_platinum"] == (twin["past_spending"] >= loyalty.CUTOFF)).all()
    residual = (twin["future_spending"] - loyalty.truth(twin["past_spending"])).to_numpy()
    seed_residual = np.sort(seed_data["future_spending"]
                            - loyalty.truth(seed_data["past_spending"]))
    nearest = np.clip(np.searchsorted(seed_residual, residual), 1, len(seed_residual) - 1)
    gap = np.minimum(np.abs(residual - seed_residual[nearest]),
                     np.abs(residual - seed_residual[nearest - 1]))
    assert gap.max() < 1e-6  # every synthetic residual is a seed residual


def test_fitted_outcome_is_least_squares_with_the_jump(seed_data):
    x = seed_data["past_spending"]
    design = sm.add_constant(np.column_stack([x, x**2, x >= loyalty.CUTOFF]))
    ols = sm.OLS(seed_data["future_spending"].to_numpy(), design).fit()
    outcome = copula.fitted_outcome(seed_data)
    assert outcome.tau == pytest.approx(ols.params[3], rel=1e-8)
    assert outcome.se == pytest.approx(ols.bse[3], rel=1e-8)
    np.testing.assert_allclose(outcome(x), ols.fittedvalues, rtol=1e-9)


@pytest.mark.parametrize("data, message", [
    (pd.DataFrame({"a": [1.0]}), r"at least 2 rows and 1 column, got shape \(1, 1\)"),
    (pd.DataFrame({"a": [1.0, np.nan, 2.0]}), "column 'a' must be numbers with no NaN"),
    (pd.DataFrame({"a": ["x", "y"]}), "column 'a' must be numbers"),
    (pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 3.0]}), "column 'b' is constant"),
])
def test_bad_data_is_named(data, message):
    with pytest.raises(ValueError, match=message):
        copula.GaussianCopula.fit(data)


@pytest.mark.parametrize("m", [0, -3, 2.5, True])
def test_bad_row_counts_are_named(m):
    fitted = copula.GaussianCopula.fit(pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [0.0, 1.0, 1.0]}))
    with pytest.raises(ValueError, match=r"m \(rows to draw\) must be a whole number >= 1"):
        fitted.sample(m, seed=1)
