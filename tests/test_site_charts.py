"""A lab's interactive chart, operated in a real browser with no network, shows the number that
the lab's table on the same page shows.

On lab 1's page the reader's choices are made in the chart's lists (exponential data, the share
of intervals wholly below the mean, the t-interval), the point at n = 200 is hovered, and the
tooltip's value and Monte Carlo standard error are compared with the two-tails table above the
chart. A planted page, whose chart is built from a table with one deliberate fault, shows that
the check fails when the chart shows another series.

Against a site that is already built (no rebuild):  python tests/test_site_charts.py _build/html
"""

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from pragmatic.charts import QUANTITIES, results_chart
from pragmatic.site.assets import NODE_MODULES, SCRIPTS
from pragmatic.site.browser import OfflinePage, serve

PAGE = "labs/01-t-interval.html"
CHOICES = {"pick_setting": "exponential", "pick_quantity": "miss_low", "pick_procedure": "t"}
N = "200"
WANTED = {"distribution": "exponential", "procedure": "t", "sample size n": N,
          "quantity": QUANTITIES["miss_low"][1]}
CELL = ("below", "exponential", N)  # the same number in the lab's two-tails table
OTHERS = [("above", "exponential", N), ("below", "lognormal", N), ("below", "exponential", "100")]
SHOWN = 1e-4  # both show 4 decimals: they may differ by one unit in the last

_TABLES = """() => [...document.querySelectorAll('table')].map(table => {
  const cells = row => [...row.cells].flatMap(c => Array(c.colSpan || 1).fill(c.textContent.trim()));
  return {head: table.tHead ? [...table.tHead.rows].map(cells) : [],
          body: [...table.tBodies].flatMap(b => [...b.rows].map(cells))};
})"""


def two_tails_table(page) -> dict:
    """{(side, distribution, n): "share ± s.e."}, from the table with a 'below' and an
    'above' column per distribution (pandas' HTML of lab 1's `misses`)."""
    for table in page.evaluate(_TABLES):
        sides = next((r for r in table["head"] if "below" in r and "above" in r), None)
        dists = next((r for r in table["head"] if "exponential" in r), None)
        if sides and dists:
            return {(sides[j], dists[j], row[0]): row[j]
                    for row in table["body"] for j in range(1, len(row))}
    return {}


def tooltip_at(page, chart, n: str) -> dict:
    """Hover over each point the chart shows until one is at n; its tooltip, as {key: value}."""
    points = chart.locator('path[aria-roledescription="point"]')
    for i in range(points.count()):
        page.mouse.move(0, 0)  # off the chart: the last tooltip goes, and cannot cover the point
        points.nth(i).hover()
        tooltip = page.locator("#vg-tooltip-element.visible")
        tooltip.wait_for(timeout=5000)
        rows = tooltip.locator("tr")
        shown = {rows.nth(j).locator("td.key").inner_text(): rows.nth(j).locator(
            "td.value").inner_text() for j in range(rows.count())}
        if shown.get("sample size n") == n:
            return shown
    return {}


def number_and_se(text: str) -> tuple[float, float]:
    value, se = text.split("±")
    return float(value), float(se)


def check_lab1_chart(offline: OfflinePage) -> list[str]:
    """Operate lab 1's chart and compare its tooltip with the two-tails table: [] when they
    agree, else what is wrong."""
    page = offline.page
    table = two_tails_table(page)
    if CELL not in table:
        return [f"no two-tails table with the cell {CELL} on the page"]
    expected = number_and_se(table[CELL])
    # The check can only tell series apart if their numbers differ at the precision shown.
    alike = [k for k in OTHERS if abs(number_and_se(table[k])[0] - expected[0]) <= 2 * SHOWN]
    if alike:
        return [f"the table cannot tell {CELL} from {alike}: choose another cell"]
    choice = "option[value='exponential']"
    page.locator(f".lab-chart {choice}").first.wait_for(state="attached")  # the lists are drawn
    chart = page.locator(".lab-chart").filter(has=page.locator(choice))
    if chart.count() != 1:
        return [f"expected one chart with a choice of distribution, found {chart.count()}"]
    chart.locator("svg").wait_for()
    for name, value in CHOICES.items():
        chart.locator(f"select[name='{name}']").select_option(value)
    shown = tooltip_at(page, chart, N)
    if not shown:
        return [f"no point at n = {N} after choosing {CHOICES}"]
    problems = [f"the tooltip says {key} {shown.get(key)!r}, not {value!r}"
                for key, value in WANTED.items() if shown.get(key) != value]
    got = float(shown["value"]), float(shown["Monte Carlo s.e."])
    if abs(got[0] - expected[0]) > SHOWN or abs(got[1] - expected[1]) > SHOWN:
        problems.append(f"the chart shows {got[0]} ± {got[1]}, the table {table[CELL]}")
    return problems + [f"console: {e}" for e in offline.errors + offline.blocked]


def open_page(offline: OfflinePage, path: str) -> None:
    """Load a page; the check waits for the chart itself (not for formulas or an idle network,
    which `OfflinePage.open` waits for)."""
    offline.page.goto(offline.base + path, wait_until="load")


def test_lab_1s_chart_shows_the_value_in_its_table(site):
    with OfflinePage(site["chrome"], site["base"]) as offline:
        open_page(offline, PAGE)
        assert check_lab1_chart(offline) == []


# --- the check itself, on a planted page: the lab's table beside a chart with one fault ---------

def planted_results() -> pd.DataFrame:
    """Lab 1's columns, with a different share in every cell (k out of 10,000)."""
    rows = []
    for d, dist in enumerate(["normal", "lognormal", "exponential"]):
        for i, n in enumerate([5, 10, 20, 50, 100, 200]):
            for p, procedure in enumerate(["t", "z"]):
                low, high = (300 + 97 * d + 31 * i + 13 * p) / 1e4, (100 + 7 * d + 3 * i + p) / 1e4
                rows.append({"dist": dist, "n": n, "procedure": procedure, "reps": 10_000,
                             "coverage": 1 - low - high, "miss_low": low, "miss_high": high,
                             "mean_width": 1 / (n + p), "width_mc_se": 0.001})
    table = pd.DataFrame(rows)
    for rate, se in [("coverage", "mc_se"), ("miss_low", "miss_low_mc_se"),
                     ("miss_high", "miss_high_mc_se")]:
        table[se] = (table[rate] * (1 - table[rate]) / table["reps"]) ** 0.5
    return table


def two_tails_html(table: pd.DataFrame) -> str:
    """The two-tails table as lab 1 shows it (its `misses`, for the t-interval)."""
    t = table[(table["procedure"] == "t") & table["dist"].isin(["lognormal", "exponential"])]
    return t.assign(
        below=[f"{p:.4f} ± {se:.4f}" for p, se in zip(t["miss_low"], t["miss_low_mc_se"])],
        above=[f"{p:.4f} ± {se:.4f}" for p, se in zip(t["miss_high"], t["miss_high_mc_se"])],
    ).pivot(index="n", columns="dist", values=["below", "above"])._repr_html_()


def swap(table, column, a, b):
    return table.assign(**{column: table[column].replace({a: b, b: a})})


FAULTS = {
    "none": lambda t: t,
    "the two sides swapped": lambda t: t.rename(columns={
        "miss_low": "miss_high", "miss_high": "miss_low",
        "miss_low_mc_se": "miss_high_mc_se", "miss_high_mc_se": "miss_low_mc_se"}),
    "two distributions swapped": lambda t: swap(t, "dist", "exponential", "lognormal"),
    "the procedures swapped": lambda t: swap(t, "procedure", "t", "z"),
    "the sample sizes shifted": lambda t: t.assign(n=t["n"].replace({100: 200, 200: 100})),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_the_check_fails_when_the_chart_shows_another_series(chrome, tmp_path, fault):
    for script in SCRIPTS:
        shutil.copy(NODE_MODULES / script, tmp_path)
    results = planted_results()
    chart = results_chart(FAULTS[fault](results), "dist", "distribution")
    head = "".join(f'<script src="{Path(s).name}"></script>' for s in SCRIPTS)
    (tmp_path / "lab.html").write_text(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>planted</title>"
        f"{head}</head><body>{two_tails_html(results)}{chart.html()}</body></html>")
    with serve(tmp_path) as base, OfflinePage(chrome, base) as offline:
        open_page(offline, "lab.html")
        problems = check_lab1_chart(offline)
    assert (problems == []) == (fault == "none"), problems


if __name__ == "__main__":  # the site check alone, against a site built already
    from pragmatic.site.browser import browser

    with browser() as chrome, serve(Path(sys.argv[1])) as base, OfflinePage(chrome, base) as o:
        open_page(o, PAGE)
        found = check_lab1_chart(o)
    print("\n".join(found) or f"{PAGE}: the chart shows the table's value")
    sys.exit(bool(found))
