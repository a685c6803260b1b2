"""pragmatic.rd against statsmodels, and the loyalty setting against its known jump."""

import numpy as np
import pytest
import statsmodels.api as sm

from pragmatic import loyalty
from pragmatic.data import load
from pragmatic.rd import local_linear


def statsmodels_fit(x, y, cutoff, h, kernel, order, treated):
    """The textbook way: WLS of y on (1, T, xc, T xc, ...) in the window, HC1."""
    xc = x - cutoff
    keep = np.abs(xc) < h
    xc, y = xc[keep], y[keep]
    t = (xc >= 0) if treated == "above" else (xc < 0)
    w = 1 - np.abs(xc / h) if kernel == "triangular" else np.ones_like(xc)
    cols = [np.ones_like(xc), t.astype(float)]
    for p in range(1, order + 1):
        cols += [xc**p, t * xc**p]
    fit = sm.WLS(y, np.column_stack(cols), weights=w).fit(cov_type="HC1")
    return fit.params[1], fit.bse[1]


@pytest.mark.parametrize("kernel", ["triangular", "uniform"])
@pytest.mark.parametrize("order", [0, 1, 2])
def test_gov_transfers_matches_statsmodels(kernel, order):
    df = load("gov_transfers")
    x, y = df["Income_Centered"].to_numpy(), df["Support"].to_numpy()
    for h in (0.01, 0.02):
        fit = local_linear(x, y, 0.0, h, kernel, order, treated="below")
        est, se = statsmodels_fit(x, y, 0.0, h, kernel, order, "below")
        assert fit.estimate == pytest.approx(est, abs=1e-10)
        assert fit.se == pytest.approx(se, rel=1e-8)


def test_a_batch_gives_each_dataset_its_own_fit():
    d = loyalty.simulate_arrays(400, 5, seed=3)
    batch = local_linear(d["x"], d["y"], loyalty.CUTOFF, 2500.0)
    for r in range(5):
        one = local_linear(d["x"][r], d["y"][r], loyalty.CUTOFF, 2500.0)
        est, se = statsmodels_fit(d["x"][r], d["y"][r], loyalty.CUTOFF, 2500.0,
                                  "triangular", 1, "above")
        assert batch.estimate[r] == pytest.approx(one.estimate, rel=1e-12)
        assert one.estimate == pytest.approx(est, rel=1e-9)
        assert one.se == pytest.approx(se, rel=1e-8)


def test_the_loyalty_jump_is_recovered_and_its_interval_covers():
    """2,000 datasets of 2,000 customers: the local linear estimate is unbiased for tau within
    Monte Carlo error and its 95 % interval covers about 95 % (tolerances 4 MC SEs)."""
    reps = 2000
    d = loyalty.simulate_arrays(2000, reps, seed=11)
    fit = local_linear(d["x"], d["y"], loyalty.CUTOFF, 2000.0)
    bias = fit.estimate.mean() - loyalty.TAU
    assert abs(bias) < 4 * fit.estimate.std() / np.sqrt(reps)
    cover = (np.abs(fit.estimate - loyalty.TAU) < 1.959964 * fit.se).mean()
    assert abs(cover - 0.95) < 4 * np.sqrt(0.95 * 0.05 / reps)
    # Power against a wrong truth: the same intervals rarely cover a jump of zero.
    assert (np.abs(fit.estimate) < 1.959964 * fit.se).mean() < 0.2


def test_buying_up_biases_the_estimate_upwards():
    clean = loyalty.simulate_arrays(2000, 500, seed=5)
    bunched = loyalty.simulate_arrays(2000, 500, seed=5, bunching=0.8)
    assert bunched["moved"].any() and not clean["moved"].any()
    assert (bunched["x"][bunched["moved"]] >= loyalty.CUTOFF).all()
    shift = (local_linear(bunched["x"], bunched["y"], loyalty.CUTOFF, 2000.0).estimate
             - local_linear(clean["x"], clean["y"], loyalty.CUTOFF, 2000.0).estimate)
    assert shift.mean() > 10 * shift.std() / np.sqrt(500)


def test_seed_data_and_covariates():
    df = loyalty.simulate(1000, seed=1)
    assert list(df.columns) == ["past_spending", "status_platinum", "future_spending", "age",
                                "bookings"]
    assert ((df.past_spending >= loyalty.CUTOFF) == (df.status_platinum == 1)).all()
    assert df.age.min() >= 18 and df.bookings.min() >= 0
    assert df.past_spending.corr(df.bookings) > 0.3
    again = loyalty.simulate_arrays(1000, 1, seed=1)
    assert np.array_equal(df.future_spending.to_numpy(), again["y"][0])
    assert loyalty.truth(loyalty.CUTOFF) - loyalty.truth(loyalty.CUTOFF - 1e-9) == \
        pytest.approx(loyalty.TAU, abs=1e-3)


@pytest.mark.parametrize("kwargs, message", [
    ({"bandwidth": 0}, "bandwidth must be a positive number, got 0"),
    ({"bandwidth": 1.0, "kernel": "epa"}, "kernel must be one of triangular, uniform, got 'epa'"),
    ({"bandwidth": 1.0, "order": 1.5}, "order must be a whole number >= 0, got 1.5"),
    ({"bandwidth": 1.0, "treated": "left"}, "treated must be 'above' or 'below', got 'left'"),
    ({"bandwidth": 0.001}, "only 0 observations within bandwidth 0.001"),
])
def test_bad_input_is_named(kwargs, message):
    x = np.delete(np.linspace(-1, 1, 50), [24, 25])  # nothing within 0.02 of the cutoff
    with pytest.raises(ValueError, match=message):
        local_linear(x, x, **kwargs)
    with pytest.raises(ValueError, match=r"same shape, \(n,\) or \(reps, n\)"):
        local_linear(x, x[1:], bandwidth=1.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"bunching": 1.5}, r"bunching must be a number in \[0.0, 1.0\], got 1.5"),
    ({"window": 0.0}, "window must be a number > 0.0, got 0.0"),
    ({"n": 0}, "n must be a whole number >= 1, got 0"),
    ({"seed": -1}, "seed must be a whole number >= 0, got -1"),
])
def test_bad_simulation_input_is_named(kwargs, message):
    args = {"n": 10, "reps": 2, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        loyalty.simulate_arrays(**args)
