"""Lab 01's checks pass on the real kernel and fail on deliberately broken ones."""

import pandas as pd
import pytest

from pragmatic.sim import replicate, run_grid
from pragmatic.sim.checks import assert_findings, t_interval_findings

REPS, SEED = 4_000, 20110101


def z_where_t_belongs(key, target, params, *, dist, design):
    """Broken: reports the z-interval under the name of the t-interval."""
    out = replicate(key, target, params, dist=dist, design=design)
    return {**out, "t": out["z"]}


def wrong_target(key, target, params, *, dist, design):
    """Broken: scores the intervals against a target a quarter of a unit off."""
    return replicate(key, target + 0.25, params, dist=dist, design=design)


def findings_for(kernel):
    grid = run_grid(["normal", "lognormal"], [5, 20, 200], reps=REPS, seed=SEED, kernel=kernel)
    skew = pd.concat([run_grid(["lognormal"], [50], reps=REPS, seed=SEED, kernel=kernel,
                               params={"sigma": s}) for s in (0.25, 1.5)], ignore_index=True)
    return t_interval_findings(grid, skew)


def test_the_real_kernel_passes():
    findings = findings_for(replicate)
    assert findings["holds"].all(), findings.loc[~findings["holds"], "claim"].tolist()
    assert_findings(findings)


@pytest.mark.parametrize("kernel", [z_where_t_belongs, wrong_target])
def test_a_broken_kernel_fails(kernel):
    findings = findings_for(kernel)
    with pytest.raises(AssertionError, match="findings that do not hold: normal data"):
        assert_findings(findings)
