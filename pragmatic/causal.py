"""Chapter 5's simulated retail chain, and the estimators the chapter compares.

All data here are simulated, so the causal effect is known. A chain of stores runs a weekly
promotion. Its planners promote in the weeks their demand forecast says will be weak, and never
in the holiday weeks at the end of the year. Sales respond to the promotion and to the demand
the forecast anticipated, so the forecast is a confounder; footfall lies on the path from the
promotion to sales, so it is a post-treatment variable.

    from pragmatic.causal import store_sizes, simulate
    sizes = store_sizes(seed=1)
    year = simulate(sizes, seed=2)              # promotions set by the planners' rule
    test = simulate(sizes, seed=3, weeks=np.arange(10, 14), promo=assigned)   # set by design

Every quantity is on the log scale: `sales` is log units sold in a store-week, so an effect of
0.30 multiplies sales by exp(0.30), about 1.35.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import integrate, special, stats

STORES = 40
WEEKS = np.arange(1, 53)
HOLIDAY_FROM = 47                 # weeks 47-52: the holiday run-up, never promoted by the planners
TARGETING = 3.0                   # how strongly the planners promote weeks forecast to be weak
BASE = -1.0                       # log-odds of a promotion in a week with an average forecast
GAMMA = 0.25                      # log footfall per standard deviation of the demand forecast
SIZE_SD = 0.5                     # spread of the stores' log size
SEASON, HOLIDAY_LIFT = 0.15, 0.6  # amplitude of the yearly cycle; extra log sales in the run-up
SD_FOOTFALL, SD_BASKET = 0.12, 0.12
# The promotion's effect on log footfall (more visitors) and on log units per visitor, in
# ordinary and in holiday weeks. The causal effect on log sales is their sum.
TAU_FOOTFALL = {"ordinary": 0.20, "holiday": 0.05}
TAU_BASKET = {"ordinary": 0.10, "holiday": 0.05}
TAU = {k: TAU_FOOTFALL[k] + TAU_BASKET[k] for k in TAU_FOOTFALL}
NOISE_SD = float(np.hypot(SD_FOOTFALL, SD_BASKET))   # what no model of sales can predict


def store_sizes(seed: int, stores: int = STORES) -> np.ndarray:
    """Each store's log size (its permanent level of sales), drawn once for the chain."""
    return np.random.default_rng(seed).normal(0.0, SIZE_SD, stores)


def simulate_arrays(sizes, seed: int, reps: int = 1, weeks=WEEKS, promo=None,
                    targeting: float = TARGETING) -> dict:
    """`reps` independent stretches of the weeks `weeks` for every store, as (reps, n) arrays.

    Rows run store by store, week by week within a store. With `promo=None` the planners
    decide: in an ordinary week a store is promoted with probability expit(BASE - targeting *
    forecast), in a holiday week never. Otherwise `promo` (0/1, broadcastable to (reps, n)) is
    the assignment, set by whoever designed the study.
    """
    rng = np.random.default_rng(seed)
    weeks = np.asarray(weeks)
    store = np.repeat(np.arange(len(sizes)), len(weeks))
    week = np.tile(weeks, len(sizes))
    holiday = week >= HOLIDAY_FROM
    n = len(store)
    forecast = rng.standard_normal((reps, n))
    if promo is None:
        p = np.where(holiday, 0.0, special.expit(BASE - targeting * forecast))
        promo = (rng.uniform(size=(reps, n)) < p).astype(float)
    else:
        promo = np.broadcast_to(np.asarray(promo, dtype=float), (reps, n)).copy()
    kind = np.where(holiday, "holiday", "ordinary")
    tau_f = np.where(holiday, TAU_FOOTFALL["holiday"], TAU_FOOTFALL["ordinary"])
    tau_b = np.where(holiday, TAU_BASKET["holiday"], TAU_BASKET["ordinary"])
    level = (np.asarray(sizes)[store] + SEASON * np.sin(2 * np.pi * week / 52)
             + HOLIDAY_LIFT * holiday)
    footfall = (6.0 + level + GAMMA * forecast + tau_f * promo
                + rng.normal(0.0, SD_FOOTFALL, (reps, n)))
    sales = footfall - 3.0 + tau_b * promo + rng.normal(0.0, SD_BASKET, (reps, n))
    return {"store": store, "week": week, "holiday": holiday.astype(float), "kind": kind,
            "forecast": forecast, "promo": promo, "footfall": footfall, "sales": sales}


def simulate(sizes, seed: int, weeks=WEEKS, promo=None, targeting: float = TARGETING):
    """One stretch of store-weeks as a DataFrame (the first replication of `simulate_arrays`)."""
    a = simulate_arrays(sizes, seed, 1, weeks, promo, targeting)
    return pd.DataFrame({k: (v[0] if np.ndim(v) == 2 else v) for k, v in a.items()})


def forecast_given_promo(targeting: float = TARGETING) -> dict:
    """Mean and variance of the forecast among promoted and unpromoted ordinary weeks.

    The forecast is N(0, 1) and P(promo | forecast) = expit(BASE - targeting * forecast), so
    these are ratios of one-dimensional integrals, computed by quadrature.
    """
    out = {}
    for t in (0, 1):
        def w(f, k):
            p = special.expit(BASE - targeting * f)
            return f**k * stats.norm.pdf(f) * (p if t else 1 - p)
        m0, m1, m2 = (integrate.quad(w, -12, 12, args=(k,))[0] for k in range(3))
        out[t] = {"share": m0, "mean": m1 / m0, "var": m2 / m0 - (m1 / m0) ** 2}
    return out


def best_rmse(promo, holiday, targeting: float = TARGETING, forecast_known: bool = False):
    """The smallest root mean squared error any prediction of these rows' sales can reach.

    Knowing store, week and promotion, the best prediction is E(sales | store, week, promo),
    whose error variance is the noise plus GAMMA^2 Var(forecast | promo, week); knowing the
    forecast too leaves only the noise. Rows are weighted as they occur in `promo`, `holiday`.
    """
    if forecast_known:
        return NOISE_SD
    moments = forecast_given_promo(targeting)
    promo, holiday = np.asarray(promo), np.asarray(holiday)
    var_f = np.where(holiday == 1, 1.0,
                     np.where(promo == 1, moments[1]["var"], moments[0]["var"]))
    return float(np.sqrt(NOISE_SD**2 + GAMMA**2 * var_f.mean()))


def partial_out(nuisance_train, nuisance_test, t_train, y_train, t_test, y_test):
    """Least squares of y on [nuisance, t], for many data sets at once (rows of t and y).

    By the Frisch-Waugh-Lovell theorem the coefficient of t is the slope of y on t after both
    are residualised on the nuisance columns. Returns the coefficient, its classical standard
    error, its residual degrees of freedom and the root mean squared error of the fitted model
    on the test rows, each of shape (reps,).
    """
    t_train, y_train = np.atleast_2d(t_train), np.atleast_2d(y_train)
    pinv = np.linalg.pinv(nuisance_train)                    # (q, n_train)
    resid = lambda v: v - (v @ pinv.T) @ nuisance_train.T
    t_res, y_res = resid(t_train), resid(y_train)
    sxx = (t_res**2).sum(axis=1)
    coef = (t_res * y_res).sum(axis=1) / sxx
    df = t_train.shape[1] - np.linalg.matrix_rank(nuisance_train) - 1
    s2 = ((y_res - coef[:, None] * t_res) ** 2).sum(axis=1) / df
    nuis = (y_train - coef[:, None] * t_train) @ pinv.T      # (reps, q)
    pred = nuis @ nuisance_test.T + coef[:, None] * np.atleast_2d(t_test)
    rmse = np.sqrt(((np.atleast_2d(y_test) - pred) ** 2).mean(axis=1))
    return {"coef": coef, "se": np.sqrt(s2 / sxx), "df": df, "rmse": rmse}


def aipw(y, t, X, folds: int = 5, seed: int = 0, clip: float = 1e-6,
         trim: float | None = None) -> dict:
    """Cross-fitted augmented inverse-probability-weighted (doubly robust) estimate of E[Y(1) - Y(0)].

    Outcome models: least squares of y on X, separately among treated and untreated rows.
    Propensity model: logistic regression (a binomial GLM fitted by IRLS) of t on X. Each fold
    is predicted by models fitted on the other folds (five by default: with two, each outcome
    model is fitted on half the rows and its noise makes the estimate less precise). The
    estimate is the mean of the efficient influence function's terms psi_i; its standard error
    is sd(psi) / sqrt(n), which treats the fitted models (and, with `trim`, the set of rows
    kept) as known.

    Without `trim`, raises ValueError if a fitted propensity is within `clip` of 0 or 1: there
    the estimand is not identified from these covariates (no overlap), and no weighting can
    repair that; `clip=0` turns the check off. With `trim`, rows whose fitted propensity lies
    outside [trim, 1 - trim] are left out of the average (Crump et al. 2009): the estimand
    becomes the average effect in the rows that remain, which `n` and `share_trimmed` describe.
    `propensity` holds every row's cross-fitted propensity, and `max_weight` the largest
    inverse-probability weight among the rows averaged.
    """
    y, t, X = np.asarray(y, float), np.asarray(t, float), np.asarray(X, float)
    fold = np.random.default_rng(seed).permutation(len(y)) % folds
    psi, keep, e_all = np.empty(len(y)), np.ones(len(y), dtype=bool), np.empty(len(y))
    for k in range(folds):
        fit, out = fold != k, fold == k
        if np.ptp(t[fit]) == 0:
            raise ValueError("every row is treated, or none is: there is no overlap")
        e = sm.GLM(t[fit], X[fit], family=sm.families.Binomial()).fit().predict(X[out])
        e_all[out] = e
        if trim is not None:
            keep[out] = (e >= trim) & (e <= 1 - trim)
            e = np.clip(e, trim, 1 - trim)        # rows outside are dropped below anyway
        elif np.any(e < clip) or np.any(e > 1 - clip):
            raise ValueError("a fitted propensity is 0 or 1: these rows have no overlap")
        m1 = sm.OLS(y[fit & (t == 1)], X[fit & (t == 1)]).fit().predict(X[out])
        m0 = sm.OLS(y[fit & (t == 0)], X[fit & (t == 0)]).fit().predict(X[out])
        psi[out] = (m1 - m0 + t[out] * (y[out] - m1) / e
                    - (1 - t[out]) * (y[out] - m0) / (1 - e))
    weight = t / e_all + (1 - t) / (1 - e_all)
    psi = psi[keep]
    return {"estimate": float(psi.mean()), "se": float(psi.std(ddof=1) / np.sqrt(len(psi))),
            "n": int(keep.sum()), "share_trimmed": float(1 - keep.mean()),
            "propensity": e_all, "max_weight": float(weight[keep].max())}
