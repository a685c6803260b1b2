"""pretest: an event study whose treated group drifts away from the control group on a straight
line, the pre-test that is meant to catch the drift, and what passing it does to the
post-period estimate (Roth 2022, "Pretest with Caution").

Event time t = -(K+1), ..., -1 before treatment, with t = -1 the reference period, and t = 0,
the first treated period. The event-study coefficients are

    b_t = delta_t + tau 1[t = 0] + e_t - e_{-1},    e_t ~ N(0, 1/2) independent,

with the linear differential trend delta_t = slope (t + 1) (zero in the reference period) and
the effect tau = 0, the target. This is exactly the distribution of the two-way fixed-effects
event-study coefficients of a balanced panel with unit effects, period effects and normal errors
independent across units and periods, with one known variance sigma^2 in every period: e_t is the
difference between the treated and the control group's mean error in period t (the unit and
period effects cancel), with variance sigma^2 (1/n_T + 1/n_C) for n_T treated and n_C control
units, scaled to 1/2 so that every coefficient has standard error 1. So `slope` is in standard
errors per period. Every coefficient shares -e_{-1}, the reference period's noise: their
correlation is 1/2, pre with post included, whatever n_T and n_C. (Errors correlated over time,
or a variance that changes from period to period, would give other correlations.)

Procedures, each for tau, at `level`:
- conventional: b_0 -/+ z;
- robust-rm: a simple "relative magnitudes" bound in the spirit of Rambachan and Roth (2023):
  |delta_0 - delta_{-1}| <= mbar * (largest |change| of delta between consecutive pre-periods),
  made honest by Bonferroni (see `robust_rm`);
- robust-sd: a simple "smoothness" bound: delta_0 is the linear extrapolation of the last
  pre-period change, give or take m (see `robust_sd`).

Pre-tests, each at 1 - level: `wald` (b_pre' V^-1 b_pre against chi-square(K)) and `nis` (no
individually significant pre-period coefficient: every |b_t| <= z). The extra outputs hold,
for each pre-test, the indicator of passing it and each quantity times that indicator, so that
`conditional` (in the lab's module) divides one mean by the other. `exact_*` compute the same
quantities in closed form (one-dimensional integrals), for the checks.
"""

from __future__ import annotations

import math
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from . import Param, Scenario
from ._ols import score

PROCEDURES = ("conventional", "robust-rm", "robust-sd")
RULES = ("wald", "nis")  # the pre-tests
NOISE_VAR = 0.5  # Var(e_t): each coefficient b_t = ... + e_t - e_{-1} has variance 1


# --- the kernel -------------------------------------------------------------------------------

def draw(key, pre, slope):
    """One event study: the K = `pre` pre-period coefficients b_{-(K+1)}, ..., b_{-2}, the
    post-period coefficient b_0, and the reference period's noise e_{-1}."""
    e = math.sqrt(NOISE_VAR) * jax.random.normal(key, (pre + 2,))  # e_{-(K+1)}, ..., e_0
    t = jnp.arange(-(pre + 1), 1)  # their event times
    b = slope * (t + 1) + e - e[pre]  # each period against the reference period, t = -1
    return b[:pre], b[pre + 1], e[pre]


def covariance(pre: int) -> np.ndarray:
    """Cov(b_pre): 1 on the diagonal, 1/2 off it (the shared -e_{-1})."""
    return NOISE_VAR * (np.eye(pre) + np.ones((pre, pre)))


def wald_passes(b_pre, level, v_inv=None):
    """The joint Wald pre-test passes: b_pre' V^-1 b_pre <= the chi-square(K) quantile at
    `level` (a test at 1 - level)."""
    pre = b_pre.shape[0]
    v_inv = np.linalg.inv(covariance(pre)) if v_inv is None else v_inv
    return b_pre @ (v_inv @ b_pre) <= stats.chi2.ppf(level, pre)


def nis_passes(b_pre, level):
    """No individually significant pre-period coefficient: every |b_t| / se <= z (se = 1)."""
    return jnp.all(jnp.abs(b_pre) <= stats.norm.ppf((1 + level) / 2))


def robust_rm(b_pre, b_post, mbar, level):
    """Relative magnitudes, simply: tau = b_0 - delta_0 with |delta_0| <= mbar * D, D the
    largest |change| of delta between consecutive periods up to the reference (delta_{-1} = 0).

    Honest by Bonferroni: with probability >= 1 - (1 - level)/2 every change lies within
    c1 standard errors of its estimate, so D <= D_hi = max(|change-hat| + c1 se); with
    probability >= 1 - (1 - level)/2, b_0 lies within c2 of its mean. On both events (at
    least `level`) tau lies in b_0 -/+ (c2 + mbar D_hi). Every change has standard error 1.
    The price of the split: even at mbar = 0 the half-width is c2 (2.24 at level 0.95), not z.
    """
    pre = b_pre.shape[0]
    alpha = 1 - level
    c1 = stats.norm.ppf(1 - alpha / (4 * pre))  # alpha/2, shared by the K changes
    c2 = stats.norm.ppf(1 - alpha / 4)  # alpha/2 for b_0
    changes = jnp.diff(jnp.append(b_pre, 0.0))  # ..., b_{-2} - b_{-3}, 0 - b_{-2}
    d_hi = jnp.max(jnp.abs(changes) + c1)
    half = c2 + mbar * d_hi
    return b_post - half, b_post + half


def robust_sd(b_pre, b_post, m, level):
    """Smoothness, simply: delta_0 = -delta_{-2} (the straight line through the last two
    pre-periods, delta_{-1} = 0), give or take m. So tau = b_0 + b_{-2} -/+ m; Var(b_0 + b_{-2})
    = 1 + 1 + 2 (1/2) = 3. Only the change of slope into the treated period is bounded;
    Rambachan and Roth's Delta^SD bounds it between every pair of consecutive periods, so with
    m = 0 their interval fits one line through all the leads, more precisely."""
    z = stats.norm.ppf((1 + level) / 2)
    estimate = b_post + b_pre[-1]
    half = z * math.sqrt(3.0) + m
    return estimate - half, estimate + half


def intervals(b_pre, b_post, params, design) -> dict:
    z = design.z_crit
    make = {"conventional": lambda: (b_post - z, b_post + z),
            "robust-rm": lambda: robust_rm(b_pre, b_post, params["mbar"], design.level),
            "robust-sd": lambda: robust_sd(b_pre, b_post, params["m"], design.level)}
    return {name: make[name]() for name in design.procedures}


def replicate(key, target, params, *, dist, design, draw=draw, wald_passes=wald_passes,
              intervals=intervals):
    """One event study: each interval scored against tau = target, and for each pre-test the
    indicator of passing it and each quantity times that indicator (means over replications:
    P(pass) and E[quantity; pass]). `draw`, `wald_passes` and `intervals` can be replaced, for
    tests."""
    b_pre, b_post, ref = draw(key, design["pre"], params["slope"])
    b_post = b_post + target  # the effect, tau
    out = score(intervals(b_pre, b_post, params, design), target)
    error = b_post - target
    extra = {"error": error}
    for rule, passed in (("wald", wald_passes(b_pre, design.level)),
                         ("nis", nis_passes(b_pre, design.level))):
        p = passed.astype(jnp.float32)
        extra |= {f"{rule}_pass": p, f"{rule}_error": error * p, f"{rule}_error2": error**2 * p,
                  f"{rule}_ref": ref * p}
        for name in design.procedures:
            low, high, _, _ = out[name]
            extra |= {f"{rule}_{name}_low": low * p, f"{rule}_{name}_high": high * p}
    out["extra"] = extra
    return out


# --- closed forms ------------------------------------------------------------------------------

def means(pre: int, slope: float) -> tuple[np.ndarray, float]:
    """E b_pre (t = -(K+1), ..., -2) and E b_0 - tau, under the linear trend."""
    return slope * (np.arange(-(pre + 1), -1) + 1.0), float(slope)


def _normal_scores(mean, sd, z):
    """P(cover), P(wholly below 0), P(wholly above 0) of b -/+ z with b ~ N(mean, sd^2)."""
    low = stats.norm.cdf((-z - mean) / sd)
    high = stats.norm.sf((z - mean) / sd)
    return 1 - low - high, low, high


@lru_cache(maxsize=4)
def _gauss_legendre(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(nodes)


def exact(rule: str, pre: int, slope: float, level: float = 0.95, nodes: int = 400) -> dict:
    """The conventional interval's scores, unconditionally and given that `rule` passes, in
    closed form up to one-dimensional quadrature (Gauss-Legendre with `nodes` points).

    Returns pass (P(pass)), power (1 - pass), bias, coverage, miss_low, miss_high (all
    draws), and cond_bias, cond_coverage, cond_miss_low, cond_miss_high, cond_ref
    (E[e_{-1} | pass]) given that the pre-test passes. The effect tau is 0.

    b_0 = slope + e_0 - e_{-1}, and e_0 is independent of b_pre, so given anything about
    b_pre, E[b_0 - tau | .] = slope - E[e_{-1} | .].
    - nis: given e_{-1} = u, the b_t are independent N(mu_t - u, 1/2) and b_0 ~ N(slope - u,
      1/2); integrate over u ~ N(0, 1/2).
    - wald: write S = sum b_pre. Cov(b_0, b_pre) = (1/2) 1 and V 1 = (K + 1)/2 1, so
      E[b_0 | b_pre] = slope + (S - E S)/(K + 1), Var(b_0 | b_pre) = (K + 2)/(2(K + 1)), and
      E[e_{-1} | b_pre] = -(S - E S)/(K + 1). With Z = S / sd(S) ~ N(m, 1), the Wald statistic
      is Z^2 + A, A ~ noncentral chi-square(K - 1) independent of Z; integrate over z in
      (-sqrt(c), sqrt(c)) with weight phi(z - m) P(A <= c - z^2), as z = sqrt(c) sin(theta),
      which makes the integrand smooth at both ends.
    """
    z = stats.norm.ppf((1 + level) / 2)
    mu_pre, mu_0 = means(pre, slope)
    coverage, miss_low, miss_high = _normal_scores(mu_0, 1.0, z)
    out = {"bias": mu_0, "coverage": coverage, "miss_low": miss_low, "miss_high": miss_high}
    x, w = _gauss_legendre(nodes)  # on (-1, 1)
    if rule == "nis":
        s = math.sqrt(NOISE_VAR)
        u, w = 8 * s * x, 8 * s * w  # u = e_{-1} on (-8 sd, 8 sd)
        shift = mu_pre[None, :] - u[:, None]
        inside = stats.norm.cdf((z - shift) / s) - stats.norm.cdf((-z - shift) / s)
        weight = w * stats.norm.pdf(u / s) / s * np.prod(inside, axis=1)
        mean, sd, ref = mu_0 - u, s, u
    elif rule == "wald":
        c = stats.chi2.ppf(level, pre)
        sd_s = math.sqrt(pre * (pre + 1) * NOISE_VAR)  # sd of S = sum b_pre
        m = mu_pre.sum() / sd_s
        lam_a = max(float(mu_pre @ np.linalg.inv(covariance(pre)) @ mu_pre) - m * m, 0.0)
        theta = x * math.pi / 2
        zz = math.sqrt(c) * np.sin(theta)
        rest = c * np.cos(theta) ** 2  # c - z^2
        if pre == 1:
            a_cdf = np.ones_like(rest)
        elif lam_a > 0:
            a_cdf = stats.ncx2.cdf(rest, pre - 1, lam_a)
        else:
            a_cdf = stats.chi2.cdf(rest, pre - 1)
        weight = (w * math.pi / 2 * math.sqrt(c) * np.cos(theta)
                  * stats.norm.pdf(zz - m) * a_cdf)
        mean = mu_0 + (zz - m) * sd_s / (pre + 1)
        sd = math.sqrt((pre + 2) / (2 * (pre + 1)))
        ref = -(zz - m) * sd_s / (pre + 1)
    else:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    passes = float(weight.sum())
    cover, low, high = _normal_scores(mean, sd, z)
    out |= {"pass": passes, "power": 1 - passes,
            "cond_bias": float(weight @ np.broadcast_to(mean, weight.shape)) / passes,
            "cond_ref": float(weight @ ref) / passes,
            "cond_coverage": float(weight @ cover) / passes,
            "cond_miss_low": float(weight @ low) / passes,
            "cond_miss_high": float(weight @ high) / passes}
    return out


def coverage_crossover(rule: str, pre: int, level: float = 0.95) -> float:
    """The slope above which the conventional interval covers less among the event studies that
    pass `rule` than among all of them (below it, passing trims the spread of b_0 by more than
    it adds bias, and the interval covers more)."""
    from scipy.optimize import brentq

    def gap(slope):
        got = exact(rule, pre, slope, level)
        return got["cond_coverage"] - got["coverage"]
    return brentq(gap, 1e-3, 2.0, xtol=1e-10)


def wald_power(pre: int, slope: float, level: float = 0.95) -> float:
    """Power of the Wald pre-test: P(noncentral chi-square(K, mu' V^-1 mu) > c)."""
    mu_pre, _ = means(pre, slope)
    lam = float(mu_pre @ np.linalg.inv(covariance(pre)) @ mu_pre)
    c = stats.chi2.ppf(level, pre)
    return float(stats.ncx2.sf(c, pre, lam)) if lam > 0 else 1 - level


def slope_for_power(power: float, pre: int, level: float = 0.95, rule: str = "wald") -> float:
    """The slope against which the pre-test `rule` has this power (for "nis", the quantity
    Roth's `pretrends` package computes, there for any covariance)."""
    from scipy.optimize import brentq
    if rule == "wald":
        return brentq(lambda s: wald_power(pre, s, level) - power, 1e-9, 50.0, xtol=1e-12)
    high = 1.0
    while exact(rule, pre, high, level)["power"] < power:  # bracket, staying where some pass
        high *= 1.5
    return brentq(lambda s: exact(rule, pre, s, level)["power"] - power, 1e-9, high, xtol=1e-10)


def sd_coverage(m: float, level: float = 0.95) -> float:
    """robust-sd's coverage under any linear trend: b_0 + b_{-2} ~ N(tau, 3), so
    P(|N(0, 3)| <= z sqrt(3) + m) = 2 Phi(z + m / sqrt(3)) - 1."""
    z = stats.norm.ppf((1 + level) / 2)
    return float(2 * stats.norm.cdf(z + m / math.sqrt(3)) - 1)


# --- sensitivity of one event study -------------------------------------------------------------

def breakdown_rm(b_pre, b_post, level: float = 0.95) -> float:
    """The smallest mbar at which robust-rm's interval, b_0 -/+ (c2 + mbar D_hi), reaches 0
    (0 if the interval at mbar = 0 already holds it)."""
    b_pre = np.asarray(b_pre, dtype=np.float64)
    alpha = 1 - level
    c1, c2 = stats.norm.ppf(1 - alpha / (4 * len(b_pre))), stats.norm.ppf(1 - alpha / 4)
    d_hi = float(np.max(np.abs(np.diff(np.append(b_pre, 0.0))) + c1))
    return max(abs(float(b_post)) - c2, 0.0) / d_hi


def breakdown_sd(b_pre, b_post, level: float = 0.95) -> float:
    """The smallest m at which robust-sd's interval reaches 0."""
    z = stats.norm.ppf((1 + level) / 2)
    return max(abs(float(b_post) + float(b_pre[-1])) - z * math.sqrt(3.0), 0.0)


SCENARIO = Scenario(
    name="pretest",
    description="event study, K pre-periods, linear differential trend slope (t + 1) in SE "
                "units; b_0 for the effect 0, with and without passing a pre-test",
    params=(Param("pre", "K: pre-period coefficients (t = -(K+1), ..., -2; t = -1 is the "
                  "reference)", default=3, whole=True, low=1, high=24, repeat=True),
            Param("slope", "the differential trend, in standard errors of a coefficient per "
                  "period", low=-20, high=20),
            Param("mbar", "robust-rm: the post-period change is at most mbar times the largest "
                  "pre-period change", default=1.0, low=0, high=100),
            Param("m", "robust-sd: the post-period violation is the linear extrapolation "
                  "give or take m (standard errors)", default=0.0, low=0, high=100)),
    procedures=PROCEDURES,
    replicate=replicate,
    target=lambda p: 0.0,
    observations=lambda p: p["pre"] + 1,
    extra_doc=(("error", "mean of b_0 - tau over all replications: the unconditional bias"),
               *((f"{r}_pass", f"share of replications that pass the {r} pre-test")
                 for r in RULES),
               *((f"{r}_error, {r}_error2, {r}_ref",
                  f"mean of (b_0 - tau), its square and e_(-1), each times passing {r}")
                 for r in RULES),
               ("<rule>_<procedure>_low, <rule>_<procedure>_high", "the procedure's miss below "
                "and miss above, each times passing the pre-test")),
)
