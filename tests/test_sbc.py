"""Simulation-based calibration (pragmatic.sbc): the plumbing, the two uniformity tests, their
size, and the power that chapter 9 asserts, with a mutation that must fail the same check."""

import numpy as np
import pytest
from scipy import stats

from pragmatic import sbc

L = 99                # draws per fit: ranks 0..99
N_RANKS = L + 1


def normal_mean_ranks(rng, sims, sigma, *, scale_bug=False):
    """SBC of the conjugate normal mean: mu ~ N(0, 1), y_1..10 ~ N(mu, sigma^2), sigma known.

    The posterior is exact (NumPy). With scale_bug=True the posterior's spread is computed
    with the variance sigma^2 where its standard deviation belongs, the chapter's artifact.
    """
    n = 10
    mu = rng.standard_normal(sims)
    y = mu[:, None] + sigma * rng.standard_normal((sims, n))
    precision = 1 + n / sigma**2
    mean = y.sum(1) / sigma**2 / precision
    sd = (sigma**2 if scale_bug else sigma) / np.sqrt(sigma**2 + n)   # sqrt(1 / precision)
    draws = mean[:, None] + sd * rng.standard_normal((sims, L))
    return {"mu": sbc.ranks(mu, draws)}


def test_ranks_count_the_draws_below_the_truth():
    r = sbc.ranks([0.5, -3.0, 3.0], [[0.0, 1.0, 0.2], [0.0, 1.0, 0.2], [0.0, 1.0, 0.2]])
    assert r.tolist() == [2, 0, 3]


def test_chi2_uniform_is_pearsons_test_on_equal_bins():
    rng = np.random.default_rng(1)
    r = rng.integers(0, N_RANKS, 500)
    statistic, df, p = sbc.chi2_uniform(r, N_RANKS, 20)
    expected = stats.chisquare(np.bincount(r // 5, minlength=20))
    assert df == 19
    assert np.isclose(statistic, expected.statistic) and np.isclose(p, expected.pvalue)


def test_ecdf_counts_and_band():
    rng = np.random.default_rng(2)
    band = sbc.ecdf_band(200, N_RANKS, prob=0.95, seed=3)
    r = rng.integers(0, N_RANKS, (3, 200))
    naive = (r[..., None] < band.cuts).sum(axis=-2)
    assert (sbc.ecdf_counts(r, band) == naive).all()
    centre = 200 * band.expected
    assert (band.lower <= centre).all() and (centre <= band.upper).all()
    assert (np.diff(band.lower) >= 0).all() and (np.diff(band.upper) >= 0).all()
    assert 0 < band.gamma < 0.05


def test_both_tests_hold_their_size_on_uniform_ranks():
    """Uniform ranks: each test rejects at its nominal 5 %, within 4 Monte Carlo SEs."""
    runs, sims = 3000, 200
    r = np.random.default_rng(4).integers(0, N_RANKS, (runs, sims))
    band = sbc.ecdf_band(sims, N_RANKS, prob=0.95, seed=5)
    tolerance = 4 * np.sqrt(0.05 * 0.95 / runs)
    assert abs(np.mean(sbc.chi2_uniform(r, N_RANKS, 20)[2] < 0.05) - 0.05) < tolerance
    assert abs(np.mean(sbc.ecdf_uniform(r, band)[1]) - 0.05) < tolerance


def test_an_exact_posterior_passes_and_the_artifacts_bug_fails_the_same_check():
    """The chapter's claim in miniature: exact passes; the variance-as-scale bug is rejected.

    With sigma = 0.5 the bug multiplies the posterior's spread by sigma^2 / sigma = 0.5: half
    the right width, a gross error that 200 simulations see.
    """
    band = sbc.ecdf_band(200, N_RANKS, prob=0.99, seed=6)
    rng = np.random.default_rng(7)
    good = sbc.uniformity(normal_mean_ranks(rng, 200, sigma=0.5), band, bins=20)
    sbc.assert_calibrated(good)
    bad = sbc.uniformity(normal_mean_ranks(rng, 200, sigma=0.5, scale_bug=True), band, bins=20)
    with pytest.raises(AssertionError, match="rejects uniform ranks for mu"):
        sbc.assert_calibrated(bad)


def test_the_check_has_power_against_the_bug_over_many_runs():
    """Over 200 runs of 200 simulations, the bug is rejected every time; exact in <= 4 %."""
    band = sbc.ecdf_band(200, N_RANKS, prob=0.99, seed=8)
    rng = np.random.default_rng(9)
    exact = [sbc.uniformity(normal_mean_ranks(rng, 200, 0.5), band, 20)["rejected"].any()
             for _ in range(200)]
    buggy = [sbc.uniformity(normal_mean_ranks(rng, 200, 0.5, scale_bug=True), band, 20)
             ["rejected"].any() for _ in range(200)]
    assert np.mean(buggy) == 1.0
    assert np.mean(exact) <= 0.02 + 4 * np.sqrt(0.02 * 0.98 / 200)


@pytest.fixture(scope="module")
def compiled_normal_mean():
    """A tiny PyMC model compiled once with nutpie: mu ~ N(0, 1), y_1..10 ~ N(mu, 1)."""
    import pragmatic.bayes  # noqa: F401  (configures PyTensor and quiets PyMC first)
    import nutpie
    import pymc as pm

    with pm.Model() as model:
        y = pm.Data("y", np.zeros(10))
        mu = pm.Normal("mu", 0, 1)
        pm.Normal("obs", mu, 1, observed=y)
    return nutpie.compile_pymc_model(model)


def test_posterior_draws_match_nutpies_inference_data(compiled_normal_mean):
    import nutpie

    data = {"y": np.linspace(-1, 2, 10)}
    raw = sbc.posterior_draws(compiled_normal_mean, data, seed=11, draws=60, tune=50, chains=2,
                              thin=3)
    idata = nutpie.sample(compiled_normal_mean.with_data(**data), draws=60, tune=50, chains=2,
                          seed=11, progress_bar=False, cores=1)
    assert raw["mu"].shape == (2, 20)
    np.testing.assert_array_equal(raw["mu"], idata.posterior["mu"].values[:, ::3])
    assert raw["divergences"] == int(idata.sample_stats["diverging"].sum())
    assert "mu_log__" not in raw and set(raw) == {"mu", "divergences"}


def test_sbc_of_a_pymc_fit_passes_and_a_mismatched_simulator_fails(compiled_normal_mean):
    """The same PyMC fit against its own simulator (passes) and one with noise sd 2 (fails)."""
    sims = 100
    rng = np.random.default_rng(12)
    band = sbc.ecdf_band(sims, 50, prob=0.99, seed=13)
    verdicts = {}
    for noise in (1.0, 2.0):
        mu = rng.standard_normal(sims)
        y = mu[:, None] + noise * rng.standard_normal((sims, 10))
        draws = [sbc.posterior_draws(compiled_normal_mean, {"y": y[i]}, seed=100 + i, draws=196,
                                     tune=200, thin=4)["mu"][0] for i in range(sims)]
        verdicts[noise] = sbc.uniformity({"mu": sbc.ranks(mu, np.array(draws))}, band, bins=10)
    sbc.assert_calibrated(verdicts[1.0])
    with pytest.raises(AssertionError, match="mu"):
        sbc.assert_calibrated(verdicts[2.0])


@pytest.mark.parametrize("call, message", [
    (lambda: sbc.ranks([1.0, 2.0], [[0.0], [1.0], [2.0]]), r"truth must have shape \(n_sims,\)"),
    (lambda: sbc.ranks([np.nan], [[0.0]]), "must be finite numbers"),
    (lambda: sbc.chi2_uniform(np.zeros(100, int), 100, 7), "bins must divide n_ranks = 100"),
    (lambda: sbc.chi2_uniform(np.zeros(50, int), 100, 20), "leaves 2.5 expected ranks per bin"),
    (lambda: sbc.chi2_uniform(np.full(100, 100), 100, 20), "whole numbers from 0 to n_ranks - 1"),
    (lambda: sbc.chi2_uniform(np.zeros(100), 100, 20), "whole numbers from 0 to n_ranks - 1"),
    (lambda: sbc.chi2_uniform(np.zeros(100, int), 100, 1.5), "bins must be a whole number >= 2"),
    (lambda: sbc.ecdf_band(100, 100, prob=1.0), "prob must be a number strictly between 0 and 1"),
    (lambda: sbc.ecdf_band(100, 100, points=7), "points must divide n_ranks = 100"),
    (lambda: sbc.ecdf_band(0, 100), "n_sims must be a whole number >= 1, got 0"),
    (lambda: sbc.ecdf_uniform(np.zeros(10, int), sbc.ecdf_band(20, 10, reps=100)),
     "the band is for 20 ranks per run; got 10"),
    (lambda: sbc.uniformity({}, sbc.ecdf_band(20, 10, reps=100), 2), "at least one parameter"),
    (lambda: sbc.posterior_draws(None, {}, seed=1, draws=10, tune=0, thin=11),
     r"thin must be at most draws \(10\), got 11"),
    (lambda: sbc.posterior_draws(None, {}, seed=1, draws=0, tune=0), "draws must be a whole"),
])
def test_bad_input_is_named_in_one_line(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert "\n" not in str(error.value)
