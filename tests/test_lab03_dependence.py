"""Lab 03: the threads' standard errors are statsmodels', and the lab's checks pass on the real
kernels and fail on plausible wrong ones (at the lab's own replication counts, since a check
only has power at the size it is run at).

Wrong kernels: CR1 that ignores the clusters (the naive interval under CR1's name); CR1 with the
normal critical value in place of Student's t on G - 1 d.f.; Newey-West with no lags (L = 0); and, for the threads, a two-way interval that forgets the author dimension
(V_post + V_pair - V_pair = V_post: exactly the by-post interval, so its table is the real table
with the two-way rows replaced by the by-post rows).
"""

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from pragmatic.sim import labs, simulate_scenario
from pragmatic.sim import threads as th
from pragmatic.sim.checks import table as findings_table
from pragmatic.sim.grid import to_table
from pragmatic.sim.labs import dependence as lab
from pragmatic.sim.scenarios import ar1, cluster
from pragmatic.sim.scenarios._ols import ols_fit, score

REPS = 300  # the lab's REPS
SMALL = th.world(agents=400, posts=900, comments=8_000)


def failing(findings):
    return set(findings.loc[~findings["holds"], "claim"])


# --- the threads' intervals are statsmodels' -----------------------------------------------------

@pytest.mark.parametrize("dedup", [False, True])
def test_threads_standard_errors_match_statsmodels(dedup):
    data = th.draw(np.random.default_rng([7, 0]), SMALL)
    keep = data["template"] < 0 if dedup else np.ones(SMALL.comments, bool)
    y, post, author = (data[c][keep] for c in ("reply", "post", "author"))
    mean, se = th.standard_errors(y, post, author)
    ones = np.ones((len(y), 1))
    want = {"naive": sm.OLS(y, ones).fit(use_t=False),
            **{name: sm.OLS(y, ones).fit(cov_type="cluster", cov_kwds={"groups": groups},
                                         use_t=False)
               for name, groups in (("post", post), ("author", author),
                                    ("two-way", np.column_stack([post, author])))}}
    z = stats.norm.ppf(0.95)
    for name, fit in want.items():
        assert se[name] == pytest.approx(fit.bse[0], rel=1e-10, abs=1e-12), name
        np.testing.assert_allclose([mean - z * se[name], mean + z * se[name]],
                                   fit.conf_int(alpha=0.1)[0], rtol=0, atol=1e-8)
    # statsmodels' two-way, written out: each one-way part with its own G / (G - 1)
    resid = y - y.mean()
    def part(groups):
        labels, index = np.unique(groups, axis=0, return_inverse=True)
        sums = np.bincount(index.ravel(), weights=resid)
        return len(labels) / (len(labels) - 1) * np.sum(sums**2) / len(y) ** 2
    both = part(post) + part(author) - part(np.column_stack([post, author]))
    assert se["two-way"] == pytest.approx(math.sqrt(both), rel=1e-10)
    assert se["two-way"] > max(se["post"], se["author"]) > se["naive"]


def test_threads_world_has_holtz_sizes_and_its_targets():
    w = th.World()
    assert (w.agents, w.posts, w.comments, w.duplicates, w.reply) == (
        6_159, 13_875, 115_031, 0.341, 0.065)
    assert w.target(False) == 0.065
    assert (1 - w.duplicates) * w.target(True) + w.duplicates * w.copy_reply == pytest.approx(0.065)


def test_threads_draw_has_its_documented_shape_and_means():
    """Copies are a `duplicates` share of the comments; a comment gets a reply with probability
    `reply` (copies: copy_reply). Averaged over 40 datasets, within 4 standard errors of the
    dataset means."""
    w = th.world(agents=300, posts=600, comments=5_000)
    datasets = [th.draw(np.random.default_rng([11, i]), w) for i in range(40)]
    one = datasets[0]
    assert set(one) == {"author", "post", "template", "reply"}
    assert all(len(v) == w.comments for v in one.values())
    assert one["author"].max() < w.agents and one["post"].max() < w.posts
    assert one["template"].max() < w.templates and set(np.unique(one["reply"])) == {0.0, 1.0}
    for what, value, want in (
            ("copies", [np.mean(d["template"] >= 0) for d in datasets], w.duplicates),
            ("reply", [d["reply"].mean() for d in datasets], w.reply),
            ("copy reply", [d["reply"][d["template"] >= 0].mean() for d in datasets],
             w.copy_reply)):
        assert abs(np.mean(value) - want) <= 4 * np.std(value, ddof=1) / math.sqrt(40), what


def test_threads_replication_i_uses_its_own_generator():
    """Replication i draws from default_rng([seed, i]), whatever else is run."""
    results = th.simulate(SMALL, 1, 5)
    mean, se, _ = th.replicate(np.random.default_rng([5, 0]), SMALL)[False]
    z = stats.norm.ppf(0.975)
    assert results[0]["results"]["post"]["mean_width"] == pytest.approx(2 * z * se["post"])
    assert [r["target"] for r in results] == [SMALL.target(False), SMALL.target(True)]


# --- the lab's checks: real kernels pass, wrong kernels fail ---------------------------------

def cells(experiment, scenario, settings, reps, kernel=None):
    """The lab's table for some settings of one experiment (a wrong kernel if given)."""
    return to_table({"results": [
        {"experiment": experiment,
         "result": simulate_scenario(scenario, reps, lab.SEED, kernel=kernel, progress=False,
                                     **s)}
        for s in settings]})


def ignores_clusters(key, target, params, *, dist, design):
    """Wrong: the naive interval reported as CR1."""
    out = cluster.replicate(key, target, params, dist=dist, design=design)
    return {**out, "CR1": out["naive"]}


def normal_critical_value(key, target, params, *, dist, design):
    """Wrong: CR1 with z in place of Student's t on G - 1 degrees of freedom."""
    out = cluster.replicate(key, target, params, dist=dist, design=design)
    x, y = cluster.draw(key, design["groups"], design["size"], params["icc"])
    slope, _, xc, sxx, resid = ols_fit(x, y)
    half = design.z_crit * cluster.cr1_se(xc, sxx, resid, design["groups"])
    return {**out, **score({"CR1": (slope - half, slope + half)}, target)}


def no_lags(key, target, params, *, dist, design):
    """Wrong: Newey-West with L = 0 lags (White's variance of a mean, normal critical value)."""
    out = ar1.replicate(key, target, params, dist=dist, design=design)
    y = ar1.draw(key, design["n"], params["phi"])
    half = design.z_crit * ar1.hac_se(y, 0)
    return {**out, "HAC": (y.mean() + half < target, y.mean() - half > target, 2 * half,
                           False)}


def cluster_settings(groups, iccs):
    return [{"groups": g, "size": lab.SIZE, "icc": i} for g in groups for i in iccs]


def test_the_grid_is_registered_under_the_pages_name():
    assert labs.REGISTRY["03-dependence"] is lab.GRID
    assert {e.name for e in lab.GRID.experiments} == {"clusters", "ar1"}


def test_the_cluster_and_ar1_checks_pass_on_the_real_kernels():
    reps = REPS * lab.CHEAP
    table = pd.concat([
        cells("clusters", "cluster", cluster_settings((10, 50), (0.0, 0.1)), reps),
        cells("ar1", "ar1", [{"n": n, "phi": p} for n in (50, 1000) for p in (0.0, 0.9)], reps)])
    findings = findings_table(lab.cluster_findings(table) + lab.ar1_findings(table))
    assert findings["holds"].all(), failing(findings)


def test_cr1_that_ignores_the_clusters_fails():
    table = cells("clusters", "cluster", cluster_settings((50,), (0.0, 0.1)),
                  REPS * lab.CHEAP, kernel=ignores_clusters)
    assert "clusters, G = 50, icc = 0.1: CR1 covers more than 0.92" in failing(
        findings_table(lab.cluster_findings(table)))


def test_cr1_with_the_normal_critical_value_fails():
    table = cells("clusters", "cluster", cluster_settings((5, 10), (0.1,)), REPS * lab.CHEAP,
                  kernel=normal_critical_value)
    failed = failing(findings_table(lab.cluster_findings(table)))
    for g, floor in lab.FEW_CLUSTERS_FLOOR.items():
        assert f"clusters, G = {g}, icc = 0.1: CR1 (t on {g - 1} d.f.) covers more than {floor}" \
            in failed


def test_newey_west_without_lags_fails():
    table = cells("ar1", "ar1", [{"n": 1000, "phi": p} for p in (0.0, 0.9)], REPS * lab.CHEAP,
                  kernel=no_lags)
    assert "AR(1), n = 1000, phi = 0.9: HAC covers more than naive" in failing(
        findings_table(lab.ar1_findings(table)))


def test_the_threads_checks_pass_and_a_one_way_two_way_fails():
    table = th.table(th.simulate(th.World(), REPS, lab.SEED))
    findings = findings_table(lab.threads_findings(table))
    assert findings["holds"].all(), failing(findings)
    wrong = table.copy()
    scores = [c for c in table.columns if c not in ("experiment", "procedure", "dedup")]
    for dedup in (0, 1):
        post = (wrong["procedure"] == "post") & (wrong["dedup"] == dedup)
        two_way = (wrong["procedure"] == "two-way") & (wrong["dedup"] == dedup)
        wrong.loc[two_way, scores] = wrong.loc[post, scores].to_numpy()
    failed = failing(findings_table(lab.threads_findings(wrong)))
    for words in ("every comment", "copies dropped"):
        assert f"threads, {words}: the two-way interval covers at 0.95" in failed
