"""Lab 9's findings, as checks: they hold for the lab's kernel at a small size, and fail for
plausible mistakes and for a world where the claims are false (a mutation test):

- a "test set" that is the validation set (the slope of test on validation loss is then 1: no
  regression to the mean is left to see);
- a ladder whose learning rates really differ (the agent's progress then carries to the recipe,
  and the winner's-curse claim must fail);
- a kernel that ignores the seed (no spread, so nothing to ratchet on);
- an unpaired comparison presented as paired (the runs on "the same seed" are uncorrelated);
- a z-interval in place of the t-interval (it covers far less than 95 % from five seeds).
"""

from functools import partial

import numpy as np
import pytest

from pragmatic import seeds
from pragmatic.sim import checks

REPS, POOL, AGENTS = 300, 75, 1_000  # a quarter of the lab's seeds and half its agents


def holds(findings):
    return checks.table(findings)["holds"].tolist()


@pytest.fixture(scope="module")
def runs():
    return seeds.experiment(REPS, POOL)


@pytest.fixture(scope="module")
def agents(runs):
    grid, sd = runs["grid"], runs["baseline"]["val_loss"].std(ddof=1)
    return {"naive": seeds.agent(grid, runs=AGENTS, seed=1),
            "floored": seeds.agent(grid, runs=AGENTS, seed=1, floor=2 * np.sqrt(2) * sd),
            "disciplined": seeds.agent(grid, runs=AGENTS, seed=1, k=seeds.K_EVAL,
                                       t_crit=seeds.T_CRIT)}


def test_the_findings_hold_for_the_lab_kernel(runs, agents):
    b = runs["base_index"]
    findings = (seeds.spread_findings(runs["baseline"])
                + seeds.agent_findings(agents["naive"], agents["floored"], agents["disciplined"])
                + seeds.paired_findings(runs["grid"], b, b + 1)
                + seeds.interval_findings(runs["baseline"]))
    checks.assert_findings(checks.table(findings))


def test_a_test_set_that_is_the_validation_set_fails(runs):
    """Scoring the kept runs on the images they were selected on: the slope of "test" on
    validation loss is exactly 1, and the regression-to-the-mean claim fails, as it must."""
    got = holds(seeds.spread_findings(runs["baseline"]))
    assert got == [True, True, True]
    peeked = {**runs["baseline"], "test_loss": runs["baseline"]["val_loss"]}
    assert holds(seeds.spread_findings(peeked)) == [True, True, False]


def test_a_ladder_with_real_effects_fails_the_winners_curse_claim(runs, agents):
    """Plant a real effect: each rung up the ladder lowers every run's loss by one seed SD. The
    agent's progress then carries to its recipe, and the claim that it does not must fail."""
    sd = runs["baseline"]["val_loss"].std(ddof=1)
    shift = -sd * (np.arange(len(runs["learning_rates"])) - runs["base_index"])[:, None]
    real = {m: v + shift if m.endswith("loss") else v for m, v in runs["grid"].items()}
    naive = seeds.agent(real, runs=AGENTS, seed=1)
    texts = [f["claim"] for f in seeds.agent_findings(naive, agents["floored"],
                                                       agents["disciplined"])]
    got = dict(zip(texts, holds(seeds.agent_findings(naive, agents["floored"],
                                                     agents["disciplined"]))))
    assert got[next(t for t in texts if "winner's curse" in t)] is False


def test_the_table_uncertainty_widens_the_agents_standard_errors(runs, agents):
    kinds = {"naive": {}, "floored": {"floor": 2 * np.sqrt(2)
                                      * runs["baseline"]["val_loss"].std(ddof=1)},
             "disciplined": {"k": seeds.K_EVAL, "t_crit": seeds.T_CRIT}}
    spread = seeds.table_spread(runs["grid"], kinds, draws=6, runs=200)
    assert spread["naive"]["true_progress"].shape == (6,)
    args = (agents["naive"], agents["floored"], agents["disciplined"])
    plain, wide = seeds.agent_findings(*args), seeds.agent_findings(*args, spread=spread)
    assert [f["estimate"] for f in plain] == [f["estimate"] for f in wide]
    assert all(w["mc_se"] > p["mc_se"] for p, w in zip(plain, wide))


def test_a_z_interval_in_place_of_the_t_interval_fails(runs, monkeypatch):
    from scipy import stats
    assert all(holds(seeds.interval_findings(runs["baseline"])))
    monkeypatch.setattr(stats.t, "ppf", lambda q, df: stats.norm.ppf(q))
    assert not any(holds(seeds.interval_findings(runs["baseline"])))


def test_a_kernel_that_ignores_the_seed_fails(monkeypatch):
    """Every seed trains the network from seed 0's weights in seed 0's order: no spread, so the
    spread claims fail, and an agent has nothing to keep."""
    def ignoring_seed(seed, rows, learning_rate, weight_decay, data, hidden):
        return seeds.train_one(0 * seed, rows, learning_rate, weight_decay, data, hidden)

    original = seeds.minibatches
    monkeypatch.setattr(seeds, "minibatches", lambda seed, *args: original(0, *args))
    ids = np.arange(12, dtype=np.int32)
    out = seeds.over_seeds(ignoring_seed, ids, seeds.BASELINE, "vmap", seeds.DEFAULT_CHUNK)
    baseline = dict(zip(seeds.METRICS, out))
    assert np.ptp(baseline["val_loss"]) == 0
    assert not any(holds(seeds.spread_findings(baseline)))
    grid = {m: np.repeat(baseline[m][None, :], 3, axis=0) for m in seeds.METRICS}
    naive = seeds.agent(grid, runs=200, seed=1, base_index=1)
    assert naive["accepted_seed"].sum() == 0


def test_an_unpaired_comparison_presented_as_paired_fails(runs, monkeypatch):
    b = runs["base_index"]
    assert all(holds(seeds.paired_findings(runs["grid"], b, b + 1)))
    monkeypatch.setattr(seeds, "paired", partial(seeds.paired, pair=False))
    assert not any(holds(seeds.paired_findings(runs["grid"], b, b + 1)))


def test_the_disciplined_agent_keeps_no_null_change_and_its_score_is_paired(runs):
    """Algebra, not simulation: a seed or cosmetic change leaves the recipe, and so the
    disciplined agent's paired score, unchanged."""
    d = seeds.agent(runs["grid"], runs=200, seed=2, k=seeds.K_EVAL, t_crit=seeds.T_CRIT)
    assert d["accepted_seed"].sum() == 0 and d["accepted_cosmetic"].sum() == 0
