"""A lab's whole grid: run, saved from the command line, and read back only when it matches."""

import json

import pandas as pd
import pytest

from pragmatic.sim import cli, labs, simulate, simulate_scenario
from pragmatic.sim.grid import Experiment, LabGrid, lab_results, to_table
from pragmatic.sim.scenarios import REGISTRY, Design

GRID = LabGrid(lab="99-test", seed=7, experiments=(
    Experiment("hetero", "ols-hetero", vary={"n": (10, 20), "gamma": (0.0, 1.0)},
               procedures=("classical", "HC3")),
    Experiment("skew", "mean", vary={"n": (5,)}, fixed={"dist": "lognormal", "sigma": 0.5},
               reps_factor=2),
))


@pytest.fixture
def registered(monkeypatch, tmp_path):
    monkeypatch.setitem(labs.REGISTRY, GRID.lab, GRID)
    return tmp_path / "run.json"


def test_the_table_holds_every_setting_and_equals_the_engine():
    table, source = lab_results(GRID, reps=300, path="/nonexistent/run.json")
    assert source == "computed in this run (no saved run at /nonexistent/run.json)"
    assert len(table) == 4 * 2 + 1 * 2  # settings x procedures
    one = simulate_scenario("ols-hetero", 300, 7, procedures=("classical", "HC3"), n=20, gamma=1.0)
    row = table.query("experiment == 'hetero' and n == 20 and gamma == 1.0 and procedure == 'HC3'")
    assert row["coverage"].item() == one["results"]["HC3"]["coverage"]
    skew = simulate("lognormal", 5, 600, 7, params={"sigma": 0.5})  # reps_factor 2
    row = table.query("experiment == 'skew' and procedure == 't'")
    assert row["reps"].item() == 600
    assert row["miss_low"].item() == skew["results"]["t"]["miss_low"]


def test_a_saved_run_is_read_back_only_when_its_settings_match(registered):
    assert cli.main(["lab", GRID.lab, "--reps", "200", "--out", str(registered),
                     "--no-progress"]) == 0
    saved = json.loads(registered.read_text())
    # Plant a value no computation gives: a table holding it was read from the file.
    saved["results"][0]["result"]["results"]["classical"]["coverage"] = 0.123456
    registered.write_text(json.dumps(saved))
    table, source = lab_results(GRID.lab, reps=200, path=registered)
    assert source.startswith(f"read from {registered}: 200 replications, saved ")
    assert 0.123456 in table["coverage"].values
    fresh, _ = lab_results(GRID, reps=200, path="/nonexistent/run.json")
    pd.testing.assert_frame_equal(table.drop(columns="coverage"), fresh.drop(columns="coverage"))

    # Other settings: recomputed, and the reader is told why.
    table, source = lab_results(GRID.lab, reps=100, path=registered)
    assert source == (f"computed in this run ({registered} holds a run with other settings "
                      f"(200 replications, not 100))")
    assert 0.123456 not in table["coverage"].values
    other_seed = LabGrid(GRID.lab, GRID.experiments, seed=8)
    _, source = lab_results(other_seed, reps=200, path=registered)
    assert source == f"computed in this run ({registered} holds a run with other settings)"


@pytest.mark.parametrize("argv, message", [
    (["lab", "nope", "--reps", "10"], "unknown lab 'nope'; allowed: "),
    (["lab", "99-test", "--reps", "0"], "reps must be a whole number >= 1, got 0"),
    (["lab", "99-test", "--reps", "ten"], "argument --reps: invalid int value: 'ten'"),
])
def test_bad_input_is_one_line_and_exit_code_2(registered, capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv + ["--out", str(registered)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not registered.exists()


def test_a_kernel_can_be_swapped_for_a_test_and_changes_the_scores():
    class ZDesign(Design):  # the plausible wrong kernel: z critical values in place of t
        def t_crit(self, df):
            return self.z_crit

    def z_not_t(key, target, params, *, dist, design):
        z_design = ZDesign(design.level, design.procedures, design.sizes)
        return REGISTRY["ols-hetero"].replicate(key, target, params, dist=dist, design=z_design)

    swapped = to_table(GRID.run(300, progress=False, kernels={"hetero": z_not_t}))
    table, _ = lab_results(GRID, reps=300, path="/nonexistent/run.json")
    hetero = swapped["experiment"] == "hetero"
    assert (swapped.loc[hetero, "mean_width"] < table.loc[hetero, "mean_width"]).all()
    assert swapped.loc[~hetero, "coverage"].tolist() == table.loc[~hetero, "coverage"].tolist()
