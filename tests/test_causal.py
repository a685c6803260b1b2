"""The simulated chain of chapter 5 and its estimators (pragmatic.causal)."""

import numpy as np
import patsy
import pytest
import statsmodels.api as sm

from pragmatic import causal

SIZES = causal.store_sizes(seed=11)
SMALL = causal.store_sizes(seed=11, stores=20)      # for the estimators: fast, still powerful


def test_the_effect_is_the_difference_of_the_two_potential_outcomes():
    """Same seed, promotion switched on and off by hand: the rows differ by exactly TAU."""
    on = causal.simulate(SIZES, seed=5, promo=1)
    off = causal.simulate(SIZES, seed=5, promo=0)
    assert (on["forecast"] == off["forecast"]).all()
    expected = on["kind"].map(causal.TAU)
    assert np.allclose(on["sales"] - off["sales"], expected, atol=1e-12)
    assert np.allclose(on["footfall"] - off["footfall"], on["kind"].map(causal.TAU_FOOTFALL))


def test_the_planners_never_promote_holiday_weeks_and_prefer_weak_forecasts():
    a = causal.simulate_arrays(SIZES, seed=6, reps=50)
    holiday = a["holiday"] == 1
    assert a["promo"][:, holiday].sum() == 0
    promo = a["promo"][:, ~holiday].ravel()
    forecast = a["forecast"][:, ~holiday].ravel()
    moments = causal.forecast_given_promo()
    share_se = np.sqrt(moments[1]["share"] * (1 - moments[1]["share"]) / promo.size)
    assert abs(promo.mean() - moments[1]["share"]) < 4 * share_se
    for t in (0, 1):
        f = forecast[promo == t]
        assert abs(f.mean() - moments[t]["mean"]) < 4 * f.std() / np.sqrt(f.size)
        assert abs(f.var() - moments[t]["var"]) < 0.03
    assert moments[1]["mean"] < -0.5 < 0.5 < moments[0]["mean"]


def test_an_assignment_set_by_design_is_used_as_given():
    promo = np.tile([1.0, 0.0], len(SIZES) * 2)[: len(SIZES) * 4]
    d = causal.simulate(SIZES, seed=7, weeks=np.arange(10, 14), promo=promo)
    assert (d["promo"].to_numpy() == promo).all()
    assert list(d["week"].unique()) == [10, 11, 12, 13]


def test_best_rmse_without_targeting_is_the_noise_plus_the_whole_forecast():
    promo = np.zeros(100)
    best = causal.best_rmse(promo, np.zeros(100), targeting=0.0)
    assert best == pytest.approx(np.sqrt(causal.NOISE_SD**2 + causal.GAMMA**2), rel=1e-9)
    assert causal.best_rmse(promo, promo, forecast_known=True) == causal.NOISE_SD
    # Targeting makes the promotion informative about the forecast: prediction improves.
    assert causal.best_rmse(promo, np.zeros(100), targeting=3.0) < best


def test_partial_out_is_least_squares():
    d = causal.simulate(SIZES, seed=8)
    N = np.asarray(patsy.dmatrix("C(store) + bs(week, df=8) + holiday", d))
    test = np.random.default_rng(0).uniform(size=len(d)) < 0.25
    t, y = d["promo"].to_numpy(), d["sales"].to_numpy()
    got = causal.partial_out(N[~test], N[test], t[~test], y[~test], t[test], y[test])
    fit = sm.OLS(y[~test], np.column_stack([N[~test], t[~test]])).fit()
    rmse = np.sqrt(np.mean((y[test] - fit.predict(np.column_stack([N[test], t[test]]))) ** 2))
    assert got["coef"][0] == pytest.approx(fit.params[-1], abs=1e-10)
    assert got["se"][0] == pytest.approx(fit.bse[-1], rel=1e-8)
    assert got["df"] == fit.df_resid
    assert got["rmse"][0] == pytest.approx(rmse, rel=1e-8)


def test_aipw_is_right_under_randomisation_and_wrong_under_targeting():
    """Power: the same estimator, the same columns; only how the promotion was assigned differs."""
    weeks = np.arange(1, 47)                      # ordinary weeks only
    coin = np.random.default_rng(1).integers(0, 2, len(SMALL) * len(weeks))
    rand = causal.simulate(SMALL, seed=9, weeks=weeks, promo=coin)
    planned = causal.simulate(SMALL, seed=9, weeks=weeks)
    X = np.asarray(patsy.dmatrix("C(store) + bs(week, df=6)", rand))
    truth = causal.TAU["ordinary"]
    ok = causal.aipw(rand["sales"], rand["promo"], X, seed=2)
    assert abs(ok["estimate"] - truth) < 4 * ok["se"]
    bad = causal.aipw(planned["sales"], planned["promo"], X, seed=2)
    assert truth - bad["estimate"] > 8 * bad["se"]
    # Measuring the confounder repairs it (the planners decided on the forecast alone), but
    # overlap given the forecast is thin: trimming to propensities in [0.1, 0.9] drops many rows.
    Xf = np.column_stack([X, planned["forecast"]])
    fixed = causal.aipw(planned["sales"], planned["promo"], Xf, seed=2, trim=0.1)
    assert abs(fixed["estimate"] - truth) < 4 * fixed["se"]
    assert fixed["share_trimmed"] > 0.3 and fixed["n"] == round(len(rand) * (1 - fixed["share_trimmed"]))
    assert ok["n"] == len(rand) and ok["share_trimmed"] == 0


def test_aipw_refuses_rows_without_overlap():
    d = causal.simulate(SMALL, seed=10)
    X = np.asarray(patsy.dmatrix("C(store) + bs(week, df=6) + holiday", d))
    with pytest.raises(ValueError, match="overlap"):
        causal.aipw(d["sales"], d["promo"], X)
    with pytest.raises(ValueError, match="overlap"):
        causal.aipw(d["sales"], np.zeros(len(d)), X)


def test_aipw_standard_error_matches_the_spread_of_its_estimates():
    """The influence-function SE against Monte Carlo, on a small design where it should hold.

    One covariate, a propensity between about 0.2 and 0.8, an effect that varies with x (the
    average effect is 0.5), linear outcome models that are right. With a fixed seed this is a
    regression test, not a hypothesis test. Power: two plausible wrong standard errors fail the
    same check, one too large (the plain difference of means, which ignores x) and one too small
    (the spread of the imputed effects m1 - m0 alone, leaving out the residual terms of psi).
    """
    rng = np.random.default_rng(12)
    reps, n, ate = 300, 600, 0.5
    est, se, naive, imputed, plain = (np.empty(reps) for _ in range(5))
    for r in range(reps):
        x = rng.standard_normal(n)
        t = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.3 + 0.8 * x)))).astype(float)
        y = 1 + 2 * x + (ate + 0.5 * x) * t + rng.standard_normal(n)
        X = np.column_stack([np.ones(n), x])
        fit = causal.aipw(y, t, X, seed=r)
        est[r], se[r] = fit["estimate"], fit["se"]
        naive[r] = np.sqrt(y[t == 1].var(ddof=1) / t.sum() + y[t == 0].var(ddof=1) / (n - t.sum()))
        m1 = X @ np.linalg.lstsq(X[t == 1], y[t == 1], rcond=None)[0]
        m0 = X @ np.linalg.lstsq(X[t == 0], y[t == 0], rcond=None)[0]
        imputed[r] = (m1 - m0).std(ddof=1) / np.sqrt(n)
        plain[r] = (m1 - m0).mean()        # regression imputation: the plain alternative
    spread = est.std(ddof=1)
    tol = 4 / np.sqrt(2 * (reps - 1))              # four Monte Carlo SEs of a ratio of SDs
    assert abs(se.mean() / spread - 1) < tol
    for wrong in (naive, imputed):                  # wrong standard errors fail the same check
        assert abs(wrong.mean() / spread - 1) > tol
    cover = np.mean(np.abs(est - ate) < 1.96 * se)
    assert abs(cover - 0.95) < 4 * np.sqrt(0.95 * 0.05 / reps)
    assert abs(est.mean() - ate) < 4 * spread / np.sqrt(reps)
    # The plain alternative: with outcome models that are right, regression imputation
    # estimates the same effect, within a fraction of a standard error, and is at least as
    # precise (here about a tenth more): double robustness buys protection, not precision.
    assert np.mean(np.abs(est - plain)) < 0.5 * spread
    assert 0.75 < plain.std(ddof=1) / spread < 1.05
