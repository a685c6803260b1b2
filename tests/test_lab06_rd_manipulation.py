"""Lab 06's checks have power: they pass on the real kernel, and fail on a density test with a
standard error missing a factor and on planted wrong results.

The small grid here is the lab's own at its default replications, at the two sample sizes where
the narrow claims are made and only at the shares those claims name, so it runs in seconds.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pragmatic import loyalty
from pragmatic.rd_density import density_test
from pragmatic.sim import manipulation as lab

NS = (1000, 4000)
SHARES = (0.0, 1 / 4, 1 / 8)  # the control, and DIAGONAL's shares at these sizes


def holds(findings):
    return pd.DataFrame(findings).set_index("claim")["holds"]


@pytest.fixture(scope="module")
def table():
    return lab.run(lab.MISS_REPS, ns=NS, shares=SHARES)


def test_the_real_kernel_passes(table):
    found = holds(lab.control_findings(table, NS) + lab.miss_findings(table, NS))
    assert found.all(), found[~found]
    assert len(found) == 5 * len(NS) + 3 * len(NS)  # no claim skipped at MISS_REPS


def one_sided_se(x, cutoff, bandwidth, order=2, kernel="triangular"):
    """A density test whose standard error of the difference forgets the left side's
    variance: se_diff = se_right, too small by about sqrt(2)."""
    out = density_test(x, cutoff, bandwidth, order, kernel)
    t = (out.f_right - out.f_left) / out.se_right
    return out._replace(se_diff=out.se_right, t=t, p_value=2 * stats.norm.sf(np.abs(t)))


def test_a_density_se_missing_a_factor_fails_the_size_check():
    broken = lab.run(lab.MISS_REPS, ns=(1000,), shares=(0.0,), test=one_sided_se)
    found = holds(lab.control_findings(broken, (1000,)))
    size = [c for c in found.index if "density test rejects" in c]
    assert len(size) == 1 and not found[size].any()
    assert found.drop(size).all()  # the RD fits are untouched by the density test


def plant(table, n, share, **values):
    wrong = table.copy()
    mask = (wrong["n"] == n) & np.isclose(wrong["share"], share)
    for column, value in values.items():
        wrong.loc[mask, column] = value
    return wrong


@pytest.mark.parametrize("n, share, values, check", [
    (1000, 0.0, {"power": 0.15}, "control"),                 # an over-sized test
    (4000, 0.0, {"bias": 60.0}, "control"),                  # a biased fit without manipulation
    (4000, 0.0, {"coverage": 0.85}, "control"),              # an interval that under-covers
    (1000, 1 / 4, {"power": 0.9}, "miss"),                   # a test that sees the manipulation
    (4000, 1 / 8, {"excess": -10.0}, "miss"),                # a shift smaller than the s.e.
    (4000, 1 / 8, {"coverage_pass": 0.95}, "miss"),          # passing restores coverage
])
def test_planted_wrong_results_fail(table, n, share, values, check):
    wrong = plant(table, n, share, **values)
    findings = {"control": lab.control_findings, "miss": lab.miss_findings}[check]
    assert holds(findings(table, NS)).all()
    assert not holds(findings(wrong, NS)).all()


def test_bias_and_donut_claims_fail_on_a_table_without_manipulation(table):
    """Relabel the control rows as the largest share: no shift, full coverage, no power.
    (Their shift is exactly 0 with no Monte Carlo error; give it the bias's.)"""
    control = table[table["share"] == 0]
    fake = control.assign(share=0.5, shift_mc_se=control["bias_mc_se"])
    both = pd.concat([table[table["share"] == 0], fake])
    bias = holds(lab.bias_findings(both, NS, (0.0, 0.5)))
    donut = holds(lab.donut_findings(both, NS, (0.0, 0.5)))
    assert not bias.any() and not donut.any()


def test_missing_cells_are_errors(table):
    with pytest.raises(KeyError, match="share = 0.5"):
        lab.bias_findings(table, NS, (0.0, 0.5))
    with pytest.raises(ValueError, match="include 0"):
        lab.run(10, ns=(1000,), shares=(0.5,))


def test_the_window_changes_no_fit():
    d = loyalty.simulate_arrays(2000, 20, seed=3, bunching=0.25)
    packed = lab.in_window(d["x"], d["y"])
    for procedure in lab.PROCEDURES:
        full, window = lab.fit(d["x"], d["y"], procedure), lab.fit(*packed, procedure)
        np.testing.assert_allclose(window.estimate, full.estimate, rtol=1e-9)
        np.testing.assert_allclose(window.se, full.se, rtol=1e-9)
        assert (window.n_left == full.n_left).all() and (window.n_right == full.n_right).all()


def test_cells_repeat_and_shifts_are_paired():
    """A cell repeats exactly (seeded per chunk), and each dataset's shift is measured
    against itself without manipulation, so at share 0 it is exactly 0."""
    a, b = (lab.run_cell(1000, 0.25, 30) for _ in range(2))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    t = lab.run(30, ns=(1000,), shares=(0.0, 0.25))
    control = lab.cell(t, 1000, 0.0)
    assert control["shift"] == 0 and control["shift_mc_se"] == 0
