"""Every registered scenario but `mean` (benchmarked by `pragmatic.bench.mean`), each with a
floor, a NumPy twin and a statsmodels loop, at about 30 observations per dataset in float32.

The scenarios come from `pragmatic.sim.scenarios.REGISTRY`: one registered without an entry in
TWINS makes the benchmark fail, naming it.

- floor: the scenario's own `draw`, with the same keys, through the same engine, chunks and
  vmap width, summed so that no draw is skipped: no statistics.
- NumPy twin: the same data-generating process and the same formulas, vectorised over a chunk
  of replications (arrays of shape (replications, observations)), in float32.
- loop: statsmodels' OLS(...).fit(cov_type=...) once per dataset and covariance type, float64
  (where statsmodels has no such interval, a conjugate posterior, its formula on the fit).

The twins and loops are in `pragmatic.bench.regression` and `pragmatic.bench.conjugate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..sim.engine import VMAP_WIDTH, simulate_scenario
from ..sim.scenarios import (REGISTRY, _conjugate, ar1, cluster, conjugate_mean, conjugate_slope,
                             ols_hetero, omitted)
from . import conjugate, pretest, regression
from .timing import kernel_row


@dataclass(frozen=True)
class Twin:
    """What the benchmark needs for one scenario besides the scenario itself."""

    params: dict  # the scenario's settings in the benchmark
    draw: Callable  # (key, params, design) -> the arrays the scenario's kernel draws
    numpy: Callable  # (rng, m, params) -> ({procedure: (lower, upper)}, {extra: values},
    #                   the targets, or None for the scenario's fixed target)
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


def _conjugate_draws(module, rows):
    """The conjugate kernel's draws: all its normals at once, the truth, then the data."""
    def draws(key, params, design):
        n, nu0 = design["n"], design["prior_df"]
        z = jax.random.normal(key, (nu0 + 1 + rows * n,))
        theta, sigma = _conjugate.truth(z[:nu0 + 1], 0.0, params)
        data = z[nu0 + 1:].reshape(rows, n)
        if module is conjugate_mean:
            return theta + sigma * conjugate_mean.errors(data, params)
        return conjugate_slope.draw(data, theta, sigma, params)
    return draws


TWINS = {
    "ar1": Twin(dict(n=30, phi=0.5), lambda key, p, d: ar1.draw(key, d["n"], p["phi"]),
                regression.ar1_numpy, regression.ar1_loop),
    "cluster": Twin(dict(groups=10, size=3, icc=0.3),
                    lambda key, p, d: cluster.draw(key, d["groups"], d["size"], p["icc"]),
                    regression.cluster_numpy, regression.cluster_loop),
    "conjugate-mean": Twin(dict(n=30, from_prior=1, skew=0.5, outliers=0.05, phi=0.3),
                           _conjugate_draws(conjugate_mean, rows=2),
                           conjugate.conjugate_mean_numpy, conjugate.conjugate_mean_loop),
    "conjugate-slope": Twin(dict(n=30, from_prior=1, prior_sd=0.5, gamma=1.0, confounding=0.5),
                            _conjugate_draws(conjugate_slope, rows=3),
                            conjugate.conjugate_slope_numpy, conjugate.conjugate_slope_loop),
    "ols-hetero": Twin(dict(n=30, gamma=1.0),
                       lambda key, p, d: ols_hetero.draw(key, d["n"], p["gamma"]),
                       regression.ols_hetero_numpy, regression.ols_hetero_loop),
    "omitted": Twin(dict(n=30, confounding=1.0), _omitted_draws, regression.omitted_numpy,
                    regression.omitted_loop),
    "pretest": Twin(pretest.PARAMS, pretest.draws, pretest.pretest_numpy, pretest.pretest_loop),
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
    fixed_target = np.float32(REGISTRY[name].target(params))
    rng = np.random.default_rng(seed)
    covered, widths, extras = {}, {}, {}
    for start in range(0, reps, chunk):
        intervals, extra, target = tw.numpy(rng, min(chunk, reps - start), params)
        target = fixed_target if target is None else target
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
