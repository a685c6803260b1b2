"""Lab 4's checks pass on the real kernels and fail on plausible wrong ones.

The grid runs at the lab's own default size (REPS below is the lab's), because a check only has
power at the size it is run at. Each wrong kernel is a mistake a careful person could make: a
data-generating process that forgets the confounder, a Wishart draw without the chi-square's
factor 2, sample means drawn with the spread of single observations; and a planted table in
which the informative prior was forgotten (its interval is the flat one).
"""

import functools
import re
from pathlib import Path

import jax.numpy as jnp
import pandas as pd
import pytest

from pragmatic.sim.checks import assert_findings, table
from pragmatic.sim.grid import to_table
from pragmatic.sim.labs import precisely_wrong as lab
from pragmatic.sim.scenarios import omitted
from test_sufficient import chi2_without_the_2, means_without_1_over_n  # the same wrong draws

PAGE = Path(__file__).resolve().parent.parent / "labs" / "04-precisely-wrong.md"
REPS = int(re.search(r"^REPS = ([\d_]+)", PAGE.read_text(), re.M).group(1))


def run_grid(sufficient=None, raw=None):
    """The lab's grid, with the kernel of either route replaced."""
    kernels = {name: k for name, k in (("growing n", sufficient), ("raw data", raw)) if k}
    return to_table(lab.GRID.run(REPS, progress=False, kernels=kernels))


def failing(findings):
    return set(findings.loc[~findings["holds"], "claim"])


@pytest.fixture(scope="module")
def real():
    return run_grid()


def test_the_real_kernels_pass(real):
    findings = table(lab.all_findings(real))
    assert findings["holds"].all(), failing(findings)
    assert_findings(findings)


def test_the_control_check_fails_with_confounding(real):
    """'Covers at 0.95' holds at every n without confounding and at no n with it."""
    assert table(lab.nominal_findings(real, 0.0))["holds"].all()
    assert not table(lab.nominal_findings(real, lab.SHOWN))["holds"].any()


def without_confounding(kernel):
    """Wrong: the data drawn as if C were 0, whatever C is asked for."""
    @functools.wraps(kernel)
    def wrong(key, target, params, *, dist, design):
        return kernel(key, target, {**params, "confounding": jnp.zeros_like(params["confounding"])},
                      dist=dist, design=design)
    return wrong


def test_a_kernel_that_forgets_the_confounder_fails():
    findings = table(lab.all_findings(run_grid(without_confounding(omitted.replicate_sufficient),
                                               without_confounding(omitted.replicate))))
    for n in lab.NS:
        assert f"C = 0.2, n = {n:.0e}: the covers-at-0.95 check fails" in failing(findings), n
    assert "C = 0.2, n = 1e+09: coverage is below 0.01" in failing(findings)
    assert "C = 0.2, n = 1e+03: HC3 covers less than 0.05" in failing(findings)
    with pytest.raises(AssertionError, match="findings that do not hold"):
        assert_findings(findings)


def test_a_wrong_wishart_draw_fails():
    kernel = functools.partial(omitted.replicate_sufficient, draw=chi2_without_the_2)
    findings = table(lab.all_findings(run_grid(sufficient=kernel)))
    for n in lab.NS:
        assert f"C = 0, n = {n:.0e}, classical (growing n): covers at 0.95" in failing(findings)
    assert "C = 0, n = 1e+03: the routes agree on coverage" in failing(findings)


def test_means_with_the_wrong_spread_fail():
    kernel = functools.partial(omitted.replicate_sufficient, draw=means_without_1_over_n)
    results = run_grid(sufficient=kernel)
    findings = table(lab.prediction_findings(results) + lab.route_findings(results))
    assert "C = 0.2, n = 1e+02: the short model's held-out MSE is its expected value" in \
        failing(findings)
    assert "C = 0.2, n = 1e+03: the routes agree on heldout_mse_short" in failing(findings)


def test_a_forgotten_prior_fails(real):
    """Planted: the bayes-prior rows carry the flat prior's interval, as a kernel that ignored
    `prior_weight` would report. The claims that the prior helps at n = 10^2 fail."""
    planted = real.copy()
    scores = ["coverage", "mc_se", "miss_low", "miss_high", "mean_width", "width_mc_se"]
    prior = planted["procedure"] == "bayes-prior"
    flat = planted.loc[planted["procedure"] == "classical"].set_index(
        ["experiment", "n", "confounding"])[scores]
    keys = pd.MultiIndex.from_frame(planted.loc[prior, ["experiment", "n", "confounding"]])
    planted.loc[prior, scores] = flat.loc[keys].to_numpy()
    failed = failing(table(lab.prior_findings(planted)))
    assert failed == {"C = 0.2, n = 1e+02: the informative prior covers more than the flat one",
                      "C = 0.2, n = 1e+02: the informative prior's interval is narrower than "
                      "the flat one"}, failed
