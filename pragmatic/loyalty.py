"""The online travel agency's loyalty programme: Platinum status at $10,000 of past spending.

We follow one page of the Causal Book, "Synthetic data for the RDD"
(https://causalbook.com/patterns/rd/Synthetic+data+for+the+RDD): a sharp RD with running
variable past_spending X, cutoff c = $10,000, status_platinum T = 1 if X >= c, and outcome
future_spending Y = alpha + b1 X + b2 X^2 + tau T + eps, with tau = $1,500 and
eps ~ N(0, 1000^2). Another page of the book uses tau = $2,000 and one a $5,000 cutoff; we do
not mix them.

The page's text does not give alpha, b1, b2 or how X is distributed, so those are ours:
X is log-normal (right-skewed like travel spending, smooth through the cutoff, about 38 % of
customers above it), and the coefficients put expected future spending near $9,000 at the
cutoff, so tau is a 17 % jump. Age and the number of bookings are covariates that rise with
spending and are continuous at the cutoff, as an RD needs.
"""

import numpy as np
import pandas as pd

CUTOFF = 10_000.0
TAU = 1_500.0
NOISE_SD = 1_000.0
# Our choices (see the module's docstring).
ALPHA, B1, B2 = 2_000.0, 0.6, 1e-5
SPEND_MEDIAN, SPEND_LOG_SD = 9_000.0, 0.35
BUY_UP_MAX = 250.0  # a customer who buys up lands within this many dollars above the cutoff


def truth(x):
    """Expected future spending at past spending x: the noiseless outcome, jump included."""
    x = np.asarray(x, dtype=float)
    return ALPHA + B1 * x + B2 * x**2 + TAU * (x >= CUTOFF)


def _check(name, value, low, high=None, whole=False):
    """One line naming the bad value; [low, high] for fractions, > low for a positive number."""
    kinds = (int, np.integer) if whole else (int, float, np.integer, np.floating)
    ok = not isinstance(value, bool) and isinstance(value, kinds) and np.isfinite(value)
    if whole:
        ok, allowed = ok and value >= low, f"a whole number >= {low}"
    elif high is not None:
        ok, allowed = ok and low <= value <= high, f"a number in [{low}, {high}]"
    else:
        ok, allowed = ok and value > low, f"a number > {low}"
    if not ok:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def simulate_arrays(n, reps, seed, bunching=0.0, window=1000.0):
    """`reps` datasets of `n` customers: a dict of (reps, n) arrays x, treated, y, moved.

    With bunching > 0, a customer whose past spending lies within `window` dollars below the
    cutoff, and whose future-spending shock is positive (they expect to travel more), buys
    their way just above the cutoff with probability `bunching`. Every draw is made whatever
    `bunching` is, so runs with one seed and different bunching share their customers.
    """
    _check("n", n, 1, whole=True)
    _check("reps", reps, 1, whole=True)
    _check("seed", seed, 0, whole=True)
    _check("bunching", bunching, 0.0, 1.0)
    _check("window", window, 0.0)
    rng = np.random.default_rng(seed)
    shape = (reps, n)
    x_true = SPEND_MEDIAN * np.exp(SPEND_LOG_SD * rng.standard_normal(shape))
    eps = NOISE_SD * rng.standard_normal(shape)
    coin, landing = rng.random(shape), rng.uniform(0.0, BUY_UP_MAX, shape)
    moved = (x_true >= CUTOFF - window) & (x_true < CUTOFF) & (eps > 0) & (coin < bunching)
    x = np.where(moved, CUTOFF + landing, x_true)
    treated = x >= CUTOFF
    # A customer who buys up keeps the outcome of who they are (x_true) and gains the status.
    y = ALPHA + B1 * x_true + B2 * x_true**2 + TAU * treated + eps
    return {"x": x, "treated": treated, "y": y, "moved": moved}


def simulate(n, seed, covariates=True) -> pd.DataFrame:
    """One dataset of `n` customers with no manipulation, as the Causal Book's seed data."""
    d = simulate_arrays(n, 1, seed)
    x = d["x"][0]
    df = pd.DataFrame({"past_spending": x, "status_platinum": d["treated"][0].astype(int),
                       "future_spending": d["y"][0]})
    if covariates:
        rng = np.random.default_rng([seed, 1])  # its own stream: x and y match simulate_arrays
        z = np.log(x / SPEND_MEDIAN) / SPEND_LOG_SD
        df["age"] = 18 + np.rint(rng.gamma(5.0, 4.5 * np.exp(0.1 * z))).astype(int)
        df["bookings"] = rng.poisson(np.exp(1.6 + 0.5 * z))
    return df
