"""The NumPy twin and the statsmodels loop of the `pretest` scenario (lab 8), for the benchmark.

The twin draws a chunk of m event studies at once (arrays of shape (m, K + 2)) and builds the
three intervals with the scenario's formulas, in float32. The loop does what an analyst does with
one dataset: a panel of treated and control units, the two-way fixed-effects event-study
regression in statsmodels, and the Wald pre-test from its covariance.
"""

from __future__ import annotations

import math

import numpy as np
import statsmodels.api as sm
from scipy import stats

from ..sim.scenarios import pretest

PARAMS = dict(pre=3, slope=0.5)
LEVEL = 0.95
F32 = np.float32
UNITS = 10  # treated and as many control units in the loop's panel


def draws(key, params, design):
    """The arrays the JAX kernel draws."""
    return pretest.draw(key, design["pre"], params["slope"])


def pretest_numpy(rng, m, p):
    pre, alpha = p["pre"], 1 - LEVEL
    e = F32(math.sqrt(pretest.NOISE_VAR)) * rng.standard_normal((m, pre + 2), dtype=F32)
    t = np.arange(-(pre + 1), 1, dtype=F32)
    b = F32(p["slope"]) * (t + 1) + e - e[:, [pre]]
    b_pre, b_post = b[:, :pre], b[:, pre + 1]
    z = F32(stats.norm.ppf(1 - alpha / 2))
    changes = np.diff(np.concatenate([b_pre, np.zeros((m, 1), F32)], axis=1), axis=1)
    c1, c2 = (F32(stats.norm.ppf(1 - alpha / (4 * pre))), F32(stats.norm.ppf(1 - alpha / 4)))
    rm = c2 + F32(p["mbar"]) * np.max(np.abs(changes) + c1, axis=1)
    sd_centre, sd = b_post + b_pre[:, -1], z * F32(math.sqrt(3.0)) + F32(p["m"])
    return {"conventional": (b_post - z, b_post + z), "robust-rm": (b_post - rm, b_post + rm),
            "robust-sd": (sd_centre - sd, sd_centre + sd)}, {}, None


def pretest_loop(rng, p):
    """One panel: UNITS treated and UNITS control units over K + 2 periods, unit and period
    effects, the linear differential trend; its event study and Wald pre-test."""
    pre = p["pre"]
    periods = np.arange(-(pre + 1), 1)
    treated = np.arange(2 * UNITS) < UNITS
    y = (rng.standard_normal((2 * UNITS, 1)) + rng.standard_normal((1, len(periods)))
         + treated[:, None] * p["slope"] * (periods + 1)
         + rng.standard_normal((2 * UNITS, len(periods))))
    unit = np.repeat(np.arange(2 * UNITS), len(periods))
    period = np.tile(periods, 2 * UNITS)
    events = [t for t in periods if t != -1]
    X = np.column_stack([unit == u for u in range(2 * UNITS)]
                        + [period == t for t in periods[1:]]
                        + [(period == t) & treated[unit] for t in events]).astype(float)
    fit = sm.OLS(y.ravel(), X).fit()
    leads = np.arange(X.shape[1] - len(events), X.shape[1] - 1)
    fit.wald_test(np.eye(X.shape[1])[leads], scalar=True)
    fit.conf_int(alpha=1 - LEVEL)
