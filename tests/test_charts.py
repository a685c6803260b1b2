"""The labs' interactive charts (pragmatic.charts) carry the lab's numbers, and nothing else.

No browser: these read the Vega-Lite spec. `test_site_charts.py` operates a chart on the built
site. The lab used is lab 5's whole grid at a few replications (seconds).
"""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from pragmatic.charts import QUANTITIES, results_chart
from pragmatic.sim.grid import lab_results
from pragmatic.sim.labs import bayes_coverage

RATES = ("coverage", "miss_low", "miss_high")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    missing = tmp_path_factory.mktemp("results") / "none.json"  # never a saved run
    table, _ = lab_results(bayes_coverage.GRID, reps=40, path=missing, progress=False)
    return table


def chart_of(table):
    return results_chart(table, "experiment", "experiment", level=bayes_coverage.LEVEL)


def records(spec) -> pd.DataFrame:
    """The chart's inline data: the one place its numbers come from."""
    assert '"url"' not in json.dumps(spec), "no data fetched from anywhere"
    reference, rows = spec["layer"]  # the promise's line; the rows' bars, lines and points
    assert all("data" not in layer for layer in rows["layer"]), "inline once, shared"
    return pd.DataFrame(rows["data"]["values"])


def selects(spec) -> dict:
    """Each drop-down list: its parameter's name and its options."""
    return {p["name"]: p["bind"]["options"] for p in spec["params"]
            if p.get("bind", {}).get("input") == "select"}


def mcse_problems(data: pd.DataFrame) -> list[str]:
    """Each rate's standard error against sqrt(p (1 - p) / R), computed here from p and R."""
    problems = []
    for rate in RATES:
        p, reps = data[rate].to_numpy(float), data["reps"].to_numpy(float)
        expected = np.sqrt(p * (1 - p) / reps)
        wrong = ~np.isclose(data[f"{rate}_se"].to_numpy(float), expected, rtol=1e-9, atol=0)
        problems += [f"{rate} s.e. of row {i}" for i in np.flatnonzero(wrong)]
    return problems


def test_the_chart_holds_every_value_of_the_labs_table(table):
    data = records(chart_of(table).spec)
    assert len(data) == len(table)
    merged = data.merge(table, left_on=["setting", "x", "procedure"],
                        right_on=["experiment", "n", "procedure"], validate="one_to_one")
    assert len(merged) == len(table)
    for name in QUANTITIES:  # coverage, both misses and the mean width, exactly
        assert (merged[f"{name}_x"] == merged[f"{name}_y"]).all(), name
    assert (merged["reps_x"] == merged["reps_y"]).all()
    assert (merged["mean_width_se"] == merged["width_mc_se"]).all(), "the engine's width s.e."


def test_each_rate_carries_its_binomial_standard_error(table):
    assert mcse_problems(records(chart_of(table).spec)) == []


def test_a_wrong_standard_error_is_caught(table):
    wrong = table.copy()  # sqrt(p (1 - p)) / R: a plausible slip
    wrong["mc_se"] = np.sqrt(wrong["coverage"] * (1 - wrong["coverage"])) / wrong["reps"]
    assert mcse_problems(records(chart_of(wrong).spec))
    swapped = table.rename(columns={"miss_low_mc_se": "miss_high_mc_se",
                                    "miss_high_mc_se": "miss_low_mc_se"})
    lopsided = (table["miss_low"] != table["miss_high"]).any()
    assert lopsided and mcse_problems(records(chart_of(swapped).spec))


def test_every_setting_procedure_and_quantity_can_be_chosen(table):
    options = selects(chart_of(table).spec)
    assert options["pick_setting"] == [e.name for e in bayes_coverage.GRID.experiments]
    assert options["pick_procedure"][1:] == list(dict.fromkeys(table["procedure"]))
    assert options["pick_procedure"][0] == "all"
    assert options["pick_quantity"] == ["coverage", "miss_low", "miss_high", "mean_width"]


def test_the_promise_is_drawn_for_coverage_and_for_each_miss(table):
    spec = chart_of(table).spec
    promise = pd.DataFrame(spec["layer"][0]["data"]["values"]).set_index("quantity")
    assert promise["promised"].to_dict() == pytest.approx(
        {"coverage": 0.95, "miss_low": 0.025, "miss_high": 0.025})


def test_it_displays_as_html_that_draws_it_offline(table):
    chart = chart_of(table)
    bundle = chart._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}  # a mime type myst-nb cannot render warns
    html = bundle["text/html"]
    assert "vegaEmbed(" in html and 'renderer: "svg"' in html and "actions: false" in html
    assert not re.search(r"<script[^>]+src=|<link|cdn|jsdelivr|unpkg", html, re.I)
    embedded = re.search(r"var spec = (\{.*\});\n", html).group(1)
    assert json.loads(embedded) == chart.spec  # the same spec, "<" escaped
    assert "</" not in embedded
    assert chart.spec["background"] == "white"
    assert "needs JavaScript" in html  # what a reader without the site's scripts sees


def test_each_display_gets_its_own_element(table):
    chart = chart_of(table)
    ids = [re.search(r'id="([^"]+)"', chart.html()).group(1) for _ in range(2)]
    assert ids[0] != ids[1]


def small(**columns) -> pd.DataFrame:
    rows = {"dist": ["normal", "normal", "t2", "t2"], "n": [5, 500, 5, 500],
            "procedure": ["t"] * 4, "reps": [100] * 4, "coverage": [0.95, 0.94, 0.97, 0.96],
            "mc_se": [0.0] * 4, "miss_low": [0.02] * 4, "miss_low_mc_se": [0.0] * 4,
            "miss_high": [0.03] * 4, "miss_high_mc_se": [0.0] * 4,
            "mean_width": [2.0, 0.2, 5.0, math.nan], "width_mc_se": [0.1, 0.01, math.nan, None]}
    return pd.DataFrame({**rows, **columns})


def test_a_value_the_engine_could_not_compute_stays_empty():
    chart = results_chart(small(), "dist", "distribution")
    json.dumps(chart.spec, allow_nan=False)  # no NaN reaches the page
    data = records(chart.spec)
    assert data["mean_width"].isna().tolist() == [False, False, False, True]
    assert data["mean_width_se"].isna().tolist() == [False, False, True, True]


def test_the_x_axis_is_logarithmic_when_n_spans_a_factor_of_ten():
    def scale(table, **kw):
        layer = results_chart(table, "dist", "distribution", **kw).spec["layer"][1]
        return layer["layer"][0]["encoding"]["x"]["scale"]["type"]
    assert scale(small()) == "log"
    assert scale(small(n=[5, 8, 5, 8])) == "linear"
    assert scale(small(n=[5, 8, 5, 8]), log_x=True) == "log"


def test_two_rows_for_one_point_are_refused():
    with pytest.raises(ValueError, match="more than one row"):
        results_chart(small(dist=["normal"] * 4, n=[5, 5, 500, 500]), "dist", "distribution")


def test_a_missing_column_is_named_in_one_line():
    table = pd.DataFrame({"n": [5], "procedure": ["t"], "dist": ["normal"]})
    with pytest.raises(ValueError, match="no column 'nope'") as error:
        results_chart(table, "nope", "setting")
    assert "\n" not in str(error.value)
