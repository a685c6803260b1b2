"""pragmatic.rd_density against rddensity on the same data, its size and power, and mutants of
it that rddensity must tell apart.

rddensity(X, c, p=order, q=order, h=h, kernel=k) reports, with its default vce="jackknife", the
local-polynomial density estimate on each side (hat.left/right, from the order-q fit), their
jackknife standard errors (sd_jk) and the t statistic of the difference (test.t_jk). Ours must
give the same numbers to 1e-8 (relative; the fits are a few small linear solves, so agreement
is to rounding, about 1e-10 for the cubic fit with the uniform kernel, the worst conditioned).
"""

import inspect
import math
import textwrap
import warnings

import numpy as np
import pytest
from scipy import stats

from pragmatic import loyalty, rd_density
from pragmatic.rd_density import density_test

with warnings.catch_warnings():  # rddensity sets warning filters when imported; keep them local
    from rddensity import rddensity

REL = 1e-8


def reference(x, cutoff, h, order, kernel):
    ref = rddensity(x, c=cutoff, p=order, q=order, h=h, kernel=kernel)
    return {"f_left": ref.hat["left"], "f_right": ref.hat["right"],
            "se_left": ref.sd_jk["left"], "se_right": ref.sd_jk["right"],
            "se_diff": ref.sd_jk["diff"], "t": ref.test["t_jk"], "p_value": ref.test["p_jk"],
            "n_left": ref.n["eff_left"], "n_right": ref.n["eff_right"]}


def assert_matches(ours, ref):
    for name in ("f_left", "f_right", "se_left", "se_right", "se_diff"):
        assert getattr(ours, name) == pytest.approx(ref[name], rel=REL), name
    assert ours.t == pytest.approx(ref["t"], rel=REL, abs=REL)
    assert ours.p_value == pytest.approx(ref["p_value"], rel=1e-6, abs=1e-12)
    assert (int(ours.n_left), int(ours.n_right)) == (ref["n_left"], ref["n_right"])


@pytest.fixture(scope="module")
def bunched():
    """Two loyalty datasets with customers bunched above the cutoff, one without."""
    d = loyalty.simulate_arrays(1500, 3, seed=11, bunching=0.3)
    return d["x"]


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("kernel", ["triangular", "uniform", "epanechnikov"])
def test_matches_rddensity(bunched, order, kernel):
    for x, h in ((bunched[0], 2000.0), (bunched[1], (1500.0, 2500.0))):
        assert_matches(density_test(x, loyalty.CUTOFF, h, order, kernel),
                       reference(x, loyalty.CUTOFF, h, order, kernel))


def test_matches_rddensity_default_test_at_its_own_bandwidth(bunched):
    """rddensity's defaults: p = 2, q = 3, its own bandwidths; ours at order 3 and those."""
    x = bunched[2]
    ref = rddensity(x, c=loyalty.CUTOFF)
    h = (ref.h["left"], ref.h["right"])
    assert_matches(density_test(x, loyalty.CUTOFF, h, order=3),
                   reference(x, loyalty.CUTOFF, h, 3, "triangular"))
    assert density_test(x, loyalty.CUTOFF, h, order=3).t == pytest.approx(ref.test["t_jk"],
                                                                          rel=REL)


def test_mass_points_as_rddensity_treats_them(bunched):
    """Spending rounded to $10: ties, which rddensity adjusts for by default."""
    x = np.round(bunched[0], -1)
    assert len(np.unique(x)) < len(x)
    assert_matches(density_test(x, loyalty.CUTOFF, (1500.0, 2500.0), order=2),
                   reference(x, loyalty.CUTOFF, (1500.0, 2500.0), 2, "triangular"))


def test_a_batch_gives_each_dataset_its_own_test(bunched):
    batch = density_test(bunched, loyalty.CUTOFF, 2000.0, order=3)
    for r in range(len(bunched)):
        one = density_test(bunched[r], loyalty.CUTOFF, 2000.0, order=3)
        for a, b in zip(batch, one):
            assert a[r] == pytest.approx(b, rel=1e-12)


def test_the_two_estimates_are_uncorrelated(bunched):
    """The module's claim that rddensity's cross term vanishes: se_diff^2 = se_l^2 + se_r^2."""
    ref = rddensity(bunched[0], c=loyalty.CUTOFF, p=2, q=2, h=2000.0)
    assert ref.sd_jk["diff"] ** 2 == pytest.approx(ref.sd_jk["left"] ** 2
                                                   + ref.sd_jk["right"] ** 2, rel=1e-9)


# --- mutants: one line of the real code changed, each a plausible slip ---------------------------

MUTANTS = {
    # a uniform kernel where the triangular one is claimed
    "uniform kernel": ("w = np.where(valid, KERNELS[kernel](u) / h, 0.0)",
                       "w = np.where(valid, KERNELS['uniform'](u) / h, 0.0)"),
    # the jackknife's scale divided by n, not n - 1: a standard error off by a factor n/(n - 1)
    "n for n - 1": ("* valid[..., None] / (n - 1)", "* valid[..., None] / n"),
    # the density is the slope over h, so its variance is over h^2; a slip divides by h
    "variance over h": ("@ s_inv)[..., 1, 1] / h**2", "@ s_inv)[..., 1, 1] / h"),
    # the empirical CDF with denominator n
    "ecdf over n": ("+ last) / (n - 1)", "+ last) / n"),
}


def mutant(monkeypatch, name):
    old, new = MUTANTS[name]
    source = textwrap.dedent(inspect.getsource(rd_density._side))
    assert old in source, f"the mutant's line is gone from _side: update MUTANTS[{name!r}]"
    namespace = dict(vars(rd_density))
    exec(compile(source.replace(old, new), "<mutant>", "exec"), namespace)
    monkeypatch.setattr(rd_density, "_side", namespace["_side"])


@pytest.mark.parametrize("name", MUTANTS)
def test_each_mutant_fails_the_comparison(monkeypatch, bunched, name):
    x = bunched[0]
    ref = reference(x, loyalty.CUTOFF, 2000.0, 3, "triangular")
    assert_matches(density_test(x, loyalty.CUTOFF, 2000.0, 3), ref)  # the real code passes
    mutant(monkeypatch, name)
    with pytest.raises(AssertionError):
        assert_matches(density_test(x, loyalty.CUTOFF, 2000.0, 3), ref)


# --- size and power ------------------------------------------------------------------------------

def test_size_without_manipulation():
    """No bunching, n = 1,000, h = $2,000, order 3 (the lab's test): rejects at 0.05 within
    4 Monte Carlo standard errors (0.0138 at 4,000 datasets). A standard error too small by
    a factor sqrt(2) would reject about 0.17 of the time."""
    reps = 4000
    x = loyalty.simulate_arrays(1000, reps, seed=2026)["x"]
    rate = np.mean(density_test(x, loyalty.CUTOFF, 2000.0, order=3).p_value < 0.05)
    assert abs(rate - 0.05) < 4 * math.sqrt(0.05 * 0.95 / reps)


def test_power_and_unbiased_estimates_at_a_known_jump():
    """Density 0.4 on [-1, 0) and 0.6 on [0, 1): the estimates average the true densities
    (within 4 Monte Carlo standard errors) and the test nearly always rejects."""
    rng = np.random.default_rng(5)
    reps, n = 500, 4000
    right = rng.random((reps, n)) < 0.6
    x = np.where(right, rng.random((reps, n)), -rng.random((reps, n)))
    out = density_test(x, 0.0, 0.8, order=2)
    for est, truth in ((out.f_left, 0.4), (out.f_right, 0.6)):
        assert abs(est.mean() - truth) < 4 * est.std() / math.sqrt(reps)
    # the jackknife standard error estimates the spread of the estimates (within 10 %)
    assert out.se_diff.mean() == pytest.approx((out.f_right - out.f_left).std(), rel=0.1)
    assert np.mean(out.p_value < 0.05) > 0.95


def test_power_grows_with_bunching():
    """The lab's setting: at n = 4,000 the test rejects more often as more customers buy up,
    and nearly always when half of those who could, do."""
    rates = []
    for share in (0.0, 0.125, 0.5):
        x = loyalty.simulate_arrays(4000, 400, seed=7, bunching=share)["x"]
        rates.append(np.mean(density_test(x, loyalty.CUTOFF, 2000.0, order=3).p_value < 0.05))
    assert rates[0] < rates[1] < rates[2] and rates[2] > 0.95


# --- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"bandwidth": None}, "bandwidth"), ({"bandwidth": -1.0}, "bandwidth"),
    ({"bandwidth": (1.0, 0.0)}, "bandwidth"), ({"bandwidth": 1.0, "order": 0}, "order"),
    ({"bandwidth": 1.0, "order": 1.5}, "order"), ({"bandwidth": 1.0, "kernel": "gauss"}, "kernel"),
    ({"bandwidth": 0.01}, "observations"),
])
def test_bad_input_is_named(kwargs, message):
    x = np.random.default_rng(0).normal(size=200)
    with pytest.raises(ValueError, match=message):
        density_test(x, 0.0, **kwargs)


def test_bad_shape_and_values():
    with pytest.raises(ValueError, match="shape"):
        density_test(np.zeros((2, 2, 2)), 0.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        density_test(np.array([0.0, np.nan]), 0.0, 1.0)
