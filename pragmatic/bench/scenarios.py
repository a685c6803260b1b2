"""Every registered scenario but `mean` (benchmarked by `pragmatic.bench.mean`), each with a
floor, a NumPy twin and a statsmodels loop, at about 30 observations per dataset in float32.

The scenarios come from `pragmatic.sim.scenarios.REGISTRY`: one registered without an entry in
TWINS makes the benchmark fail, naming it.

- floor: the scenario's own `draw`, with the same keys, through the same engine, chunks and
  vmap width, summed so that no draw is skipped: no statistics.
- NumPy twin: the same data-generating process and the same formulas, vectorised over a chunk
  of replications (arrays of shape (replications, observations)), in float32.
- loop: statsmodels' OLS(...).fit(cov_type=...) once per dataset and covariance type, float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import statsmodels.api as sm
from scipy import stats

from ..sim.engine import VMAP_WIDTH, simulate_scenario
from ..sim.scenarios import REGISTRY, ar1, cluster, ols_hetero, omitted
from .timing import kernel_row

LEVEL = 0.95
F32 = np.float32


@dataclass(frozen=True)
class Twin:
    """What the benchmark needs for one scenario besides the scenario itself."""

    params: dict  # the scenario's settings in the benchmark
    draw: Callable  # (key, params, design) -> the arrays the scenario's kernel draws
    numpy: Callable  # (rng, m, params) -> ({procedure: (lower, upper)}, {extra: values})
    loop: Callable  # (rng, params) -> None: one dataset through statsmodels


def twin(name: str) -> Twin:
    """The twin of a registered scenario, or a LookupError that names what to add."""
    if name not in TWINS:
        raise LookupError(f"scenario {name!r} is registered but has no NumPy twin: add one to "
                          f"TWINS in pragmatic/bench/scenarios.py")
    return TWINS[name]


def scenarios() -> list[str]:
    """Every registered scenario the generic engine runs (all but `mean`)."""
    return [name for name, spec in REGISTRY.items() if spec.cli is None]


# --- the floor: each scenario's draws, through the engine -------------------------------------

def floor_kernel(draw: Callable) -> Callable:
    def floor(key, target, params, *, dist, design):
        total = sum(jnp.sum(a) for a in jax.tree_util.tree_leaves(draw(key, params, design)))
        return {"draws": (total < target, total > target, jnp.abs(total), False)}
    return floor


def _omitted_draws(key, params, design):  # replicate's keys: the data, then the fresh data
    k_data, k_new = jax.random.split(key)
    n, c = design["n"], params["confounding"]
    return omitted.draw(k_data, n, c), omitted.draw(k_new, n, c)


# --- NumPy: shared regression arithmetic, one row per replication -----------------------------

def ols_fit(x, y):
    """Slope, intercept, centred x, S_xx and residuals of each row's line of y on x."""
    xbar = x.mean(axis=1, keepdims=True)
    xc = x - xbar
    sxx = np.sum(xc * xc, axis=1)
    slope = np.sum(xc * y, axis=1) / sxx
    intercept = y.mean(axis=1) - slope * xbar[:, 0]
    return slope, intercept, xc, sxx, y - intercept[:, None] - slope[:, None] * x


def classical_se(xc, sxx, resid):
    return np.sqrt(np.sum(resid * resid, axis=1) / F32(xc.shape[1] - 2) / sxx)


def hc_se(xc, sxx, resid, kind):
    e2 = resid * resid
    if kind == "HC3":
        leverage = F32(1 / xc.shape[1]) + xc * xc / sxx[:, None]
        e2 = e2 / (1 - leverage) ** 2
    return np.sqrt(np.sum(xc * xc * e2, axis=1)) / sxx


def t_crit(df):
    return F32(stats.t.ppf((1 + LEVEL) / 2, df))


def slope_intervals(x, y, procedures):
    slope, _, xc, sxx, resid = ols_fit(x, y)
    crit = t_crit(x.shape[1] - 2)
    se = {"classical": lambda: classical_se(xc, sxx, resid),
          "bayes-flat": lambda: classical_se(xc, sxx, resid),
          "HC0": lambda: hc_se(xc, sxx, resid, "HC0"),
          "HC3": lambda: hc_se(xc, sxx, resid, "HC3")}
    return {name: (slope - crit * se[name](), slope + crit * se[name]()) for name in procedures}


def normal(rng, shape):
    return rng.standard_normal(shape, dtype=F32)


# --- the twins ---------------------------------------------------------------------------------

def ols_hetero_numpy(rng, m, p):
    x = normal(rng, (m, p["n"]))
    y = 1 + 2 * x + np.exp(F32(p["gamma"]) * x) * normal(rng, (m, p["n"]))
    return slope_intervals(x, y, REGISTRY["ols-hetero"].procedures), {}


def ols_hetero_loop(rng, p):
    x = rng.standard_normal(p["n"])
    y = 1 + 2 * x + np.exp(p["gamma"] * x) * rng.standard_normal(p["n"])
    model = sm.OLS(y, sm.add_constant(x))
    for cov in ("nonrobust", "HC0", "HC3"):  # bayes-flat is the nonrobust interval
        model.fit(cov_type=cov, use_t=True).conf_int(alpha=1 - LEVEL)


def cluster_numpy(rng, m, p):
    g, size, icc = p["groups"], p["size"], F32(p["icc"])
    x_g = normal(rng, (m, g))
    u_g = np.sqrt(icc) * normal(rng, (m, g))
    e = np.sqrt(1 - icc) * normal(rng, (m, g, size))
    x = np.repeat(x_g, size, axis=1)
    y = 1 + F32(0.5) * x + np.repeat(u_g, size, axis=1) + e.reshape(m, -1)
    slope, _, xc, sxx, resid = ols_fit(x, y)
    n = g * size
    scores = np.sum((xc * resid).reshape(m, g, size), axis=2)
    cr1 = np.sqrt(F32(g / (g - 1) * (n - 1) / (n - 2)) * np.sum(scores * scores, axis=1)) / sxx
    se = {"naive": (classical_se(xc, sxx, resid), t_crit(n - 2)), "CR1": (cr1, t_crit(g - 1))}
    return {name: (slope - c * s, slope + c * s) for name, (s, c) in se.items()}, {}


def cluster_loop(rng, p):
    g, size, icc = p["groups"], p["size"], p["icc"]
    x = np.repeat(rng.standard_normal(g), size)
    y = (1 + 0.5 * x + np.repeat(math.sqrt(icc) * rng.standard_normal(g), size)
         + math.sqrt(1 - icc) * rng.standard_normal(g * size))
    model = sm.OLS(y, sm.add_constant(x))
    model.fit(use_t=True).conf_int(alpha=1 - LEVEL)
    groups = np.repeat(np.arange(g), size)
    model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True).conf_int(alpha=1 - LEVEL)


def ar1_series(rng, m, n, phi, dtype=F32):
    z = rng.standard_normal((m, n), dtype=dtype)
    y = np.empty_like(z)
    y[:, 0] = z[:, 0] / np.sqrt(1 - phi * phi)
    for t in range(1, n):
        y[:, t] = phi * y[:, t - 1] + z[:, t]
    return y


def ar1_numpy(rng, m, p):
    n = p["n"]
    y = ar1_series(rng, m, n, F32(p["phi"]))
    ybar = y.mean(axis=1)
    e = y - ybar[:, None]
    s = np.sum(e * e, axis=1)
    lags = ar1.maxlags(n)
    for lag in range(1, lags + 1):
        s += F32(2 * (1 - lag / (lags + 1))) * np.sum(e[:, lag:] * e[:, :-lag], axis=1)
    half = {"naive": t_crit(n - 1) * y.std(axis=1, ddof=1) / F32(math.sqrt(n)),
            "HAC": F32(stats.norm.ppf((1 + LEVEL) / 2)) * np.sqrt(s) / F32(n)}
    return {name: (ybar - h, ybar + h) for name, h in half.items()}, {}


def ar1_loop(rng, p):
    y = ar1_series(rng, 1, p["n"], p["phi"], dtype=np.float64)[0]
    ones = np.ones((p["n"], 1))
    sm.OLS(y, ones).fit(use_t=True).conf_int(alpha=1 - LEVEL)
    sm.OLS(y, ones).fit(cov_type="HAC", cov_kwds={"maxlags": ar1.maxlags(p["n"])},
                        use_t=False).conf_int(alpha=1 - LEVEL)


def omitted_draw(rng, m, n, c, dtype=F32):
    z = rng.standard_normal((m, n), dtype=dtype)
    x = z + rng.standard_normal((m, n), dtype=dtype)
    y = 1 + x + dtype(c) * z + rng.standard_normal((m, n), dtype=dtype)
    return x, y, z


def omitted_numpy(rng, m, p):
    n, c = p["n"], p["confounding"]
    x, y, z = omitted_draw(rng, m, n, c)
    x_new, y_new, z_new = omitted_draw(rng, m, n, c)
    intervals = slope_intervals(x, y, REGISTRY["omitted"].procedures)
    slope, intercept, *_ = ols_fit(x, y)
    short = np.mean((y_new - intercept[:, None] - slope[:, None] * x_new) ** 2, axis=1)
    X = np.stack([np.ones_like(x), x, z], axis=2)  # (m, n, 3)
    Xt = X.transpose(0, 2, 1)
    beta = np.linalg.solve(Xt @ X, Xt @ y[:, :, None])
    X_new = np.stack([np.ones_like(x_new), x_new, z_new], axis=2)
    correct = np.mean((y_new - (X_new @ beta)[:, :, 0]) ** 2, axis=1)
    return intervals, {"heldout_mse_short": short, "heldout_mse_correct": correct}


def omitted_loop(rng, p):
    n, c = p["n"], p["confounding"]
    (x, y, z), (x_new, y_new, z_new) = (omitted_draw(rng, 1, n, c, np.float64) for _ in "ab")
    x, y, z, x_new, y_new, z_new = (a[0] for a in (x, y, z, x_new, y_new, z_new))
    short = sm.OLS(y, sm.add_constant(x))
    for cov in ("nonrobust", "HC3"):  # bayes-flat is the nonrobust interval
        short.fit(cov_type=cov, use_t=True).conf_int(alpha=1 - LEVEL)
    np.mean((y_new - short.fit().predict(sm.add_constant(x_new))) ** 2)
    long = sm.OLS(y, np.column_stack([np.ones(n), x, z])).fit()
    np.mean((y_new - long.predict(np.column_stack([np.ones(n), x_new, z_new]))) ** 2)


TWINS = {
    "ols-hetero": Twin(dict(n=30, gamma=1.0),
                       lambda key, p, d: ols_hetero.draw(key, d["n"], p["gamma"]),
                       ols_hetero_numpy, ols_hetero_loop),
    "cluster": Twin(dict(groups=10, size=3, icc=0.3),
                    lambda key, p, d: cluster.draw(key, d["groups"], d["size"], p["icc"]),
                    cluster_numpy, cluster_loop),
    "ar1": Twin(dict(n=30, phi=0.5), lambda key, p, d: ar1.draw(key, d["n"], p["phi"]),
                ar1_numpy, ar1_loop),
    "omitted": Twin(dict(n=30, confounding=1.0), _omitted_draws, omitted_numpy, omitted_loop),
}


# --- running ------------------------------------------------------------------------------------

def engine_chunk(name: str, params: dict) -> int:
    """The chunk `simulate_scenario` uses by default, rounded up to its vmap width as it is."""
    observations = REGISTRY[name].observations(REGISTRY[name].resolve(params))
    chunk = int(min(65_536, max(64, 2**22 // (4 * observations))))
    return -(-chunk // VMAP_WIDTH) * VMAP_WIDTH


def run_numpy(name: str, reps: int, chunk: int, seed: int, params: dict | None = None) -> dict:
    """The NumPy twin over `reps` replications in chunks: {procedure: (coverage, mean width,
    its Monte Carlo standard error)} and {"extra": {name: mean}}."""
    tw = twin(name)
    params = REGISTRY[name].resolve(params or tw.params)
    target = F32(REGISTRY[name].target(params))
    rng = np.random.default_rng(seed)
    covered, widths, extras = {}, {}, {}
    for start in range(0, reps, chunk):
        intervals, extra = tw.numpy(rng, min(chunk, reps - start), params)
        for proc, (lower, upper) in intervals.items():
            missed = np.count_nonzero(upper < target) + np.count_nonzero(lower > target)
            covered[proc] = covered.get(proc, 0) + len(lower) - int(missed)  # as the engine counts
            w = (upper - lower).astype(np.float64)
            widths[proc] = widths.get(proc, np.zeros(2)) + [w.sum(), (w * w).sum()]
        for key, v in extra.items():
            extras[key] = extras.get(key, 0.0) + float(np.sum(v.astype(np.float64)))
    out = {}
    for proc, c in covered.items():
        s1, s2 = widths[proc]
        var = max(s2 - s1 * s1 / reps, 0.0) / max(reps - 1, 1)
        out[proc] = (c / reps, s1 / reps, math.sqrt(var / reps))
    return {**out, "extra": {k: v / reps for k, v in extras.items()}}


def run_loop(name: str, reps: int, seed: int) -> None:
    tw = twin(name)
    params = REGISTRY[name].resolve(tw.params)
    rng = np.random.default_rng(seed)
    for _ in range(reps):
        tw.loop(rng, params)


def rows(reps: int, repeats: int, loop_reps: int, names=None, log=None) -> list[dict]:
    """One row per registered scenario (see `timing.kernel_row`)."""
    twins = {name: twin(name) for name in names or scenarios()}  # all found before any timing
    out = []
    for name, tw in twins.items():
        chunk = engine_chunk(name, tw.params)
        floor = floor_kernel(tw.draw)
        out.append(kernel_row(
            run_kernel=lambda: simulate_scenario(name, reps, 0, chunk=chunk, **tw.params),
            run_floor=lambda: simulate_scenario(name, reps, 0, chunk=chunk, kernel=floor,
                                            **tw.params),
            run_numpy=lambda: run_numpy(name, reps, chunk, 0),
            run_loop=lambda: run_loop(name, loop_reps, 0),
            loop_reps=loop_reps, reps=reps, repeats=repeats,
            family="scenario", kernel=name,
            setting=", ".join(f"{k}={v:g}" for k, v in tw.params.items()),
            n=REGISTRY[name].observations(REGISTRY[name].resolve(tw.params)),
            dtype="float32", chunk=chunk))
        if log:
            log(out[-1])
    return out
