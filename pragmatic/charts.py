"""A lab's main result as an interactive chart that needs no kernel: Altair (Vega-Lite).

`results_chart(table, ...)` turns rows of a lab's results table (`pragmatic.sim.grid.to_table`:
one row per setting, sample size and procedure) into a chart of one quantity against the sample
size. The reader picks the setting (a distribution, a γ, a prior...), the procedure and the
quantity (coverage, the two one-sided miss rates, the mean width) from drop-down lists, and
hovers over a point for its value and Monte Carlo standard error.

The chart's data travel inside it, one record per row of the table; the values and their
standard errors are the table's own columns, so the chart shows what the table shows. On the
site, `_static/vendor/` holds Vega, Vega-Lite and vega-embed (`pragmatic.site.assets`), and
the chart's HTML draws itself with them: no kernel and no network.
"""

from __future__ import annotations

import hashlib
import itertools
import json

import altair as alt
import pandas as pd

from .style import CYCLE

# Each quantity, by its column in the results table: the column of its Monte Carlo standard
# error, and its name in words. The standard errors are the engine's: sqrt(p (1 - p) / R) for a
# share of R replications, the standard deviation of the widths over sqrt(R) for the mean width.
QUANTITIES = {
    "coverage": ("mc_se", "coverage"),
    "miss_low": ("miss_low_mc_se", "share of intervals wholly below the target"),
    "miss_high": ("miss_high_mc_se", "share of intervals wholly above the target"),
    "mean_width": ("width_mc_se", "mean width"),
}
ALL = "all"  # the procedure list's first option: every procedure at once
NOT_DRAWN = ("This interactive chart needs JavaScript and the Vega scripts that the course "
             "site bundles; the static figure above shows the same results.")
_numbers = itertools.count(1)  # makes each displayed chart's element id unique on its page


def chart_data(table: pd.DataFrame, setting: str, x: str = "n") -> pd.DataFrame:
    """One record per row: the setting (as text), the sample size, the procedure, the
    replications, and each quantity with its standard error (column `<quantity>_se`)."""
    needed = [setting, x, "procedure", "reps",
              *(column for name, (se, _) in QUANTITIES.items() for column in (name, se))]
    missing = [column for column in needed if column not in table.columns]
    if missing:
        raise ValueError(f"the table has no column {', '.join(map(repr, missing))}: it needs "
                         f"{', '.join(needed)}")
    keys = table[[setting, x, "procedure"]]
    if keys.duplicated().any():
        raise ValueError(f"more than one row for some ({setting}, {x}, procedure): "
                         "pass the rows of one experiment per setting")
    data = pd.DataFrame({"setting": table[setting].map(_text), "x": table[x].astype(int),
                         "procedure": table["procedure"], "reps": table["reps"].astype(int)})
    for name, (se, _) in QUANTITIES.items():
        data[name], data[f"{name}_se"] = table[name].astype(float), table[se].astype(float)
    # JSON has no NaN: a value the engine could not compute (None in its file) stays empty
    return data.astype(object).where(data.notna(), None).reset_index(drop=True)


def _text(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def results_chart(table: pd.DataFrame, setting: str, setting_title: str, *, x: str = "n",
                  x_title: str = "sample size n", level: float = 0.95,
                  log_x: bool | None = None) -> "LabChart":
    """Coverage, both one-sided miss rates or the mean width against the sample size.

    `table`: rows of a lab's results (one per `setting`, `x` and procedure); `setting`: the
    column the reader picks from (its values in order of first appearance), called
    `setting_title` in words; `level`: the nominal level, drawn as a dashed line for coverage
    and as (1 - level) / 2 for each miss rate. The x axis is logarithmic when the sample sizes
    span a factor of 10 or more, unless `log_x` says otherwise.
    """
    data = chart_data(table, setting, x)
    settings = list(dict.fromkeys(data["setting"]))
    procedures = list(dict.fromkeys(data["procedure"]))
    ns = sorted(data["x"].unique())
    log_x = ns[-1] >= 10 * ns[0] if log_x is None else log_x

    pick_setting = alt.param(name="pick_setting", value=settings[0], bind=alt.binding_select(
        options=settings, name=f"{setting_title}: "))
    pick_quantity = alt.param(name="pick_quantity", value="coverage", bind=alt.binding_select(
        options=list(QUANTITIES), labels=[words for _, words in QUANTITIES.values()],
        name="quantity: "))
    pick_procedure = alt.param(name="pick_procedure", value=ALL, bind=alt.binding_select(
        options=[ALL, *procedures], labels=["every procedure", *procedures],
        name="procedure: "))
    words = json.dumps({name: w for name, (_, w) in QUANTITIES.items()})
    rate = "pick_quantity != 'mean_width'"

    x_axis = alt.X("x:Q", title=x_title, scale=alt.Scale(
        type="log" if log_x else "linear", domain=[ns[0] / 1.3, ns[-1] * 1.3], nice=False),
        axis=alt.Axis(values=[int(n) for n in ns], labelExpr=(
            "datum.value >= 100000 ? '10^' + format(log(datum.value) / LN10, 'd') "
            ": format(datum.value, ',d')")))
    y_axis = alt.Y("value:Q", title=None, scale=alt.Scale(zero=False))
    colour = alt.Color("procedure:N", title="procedure", legend=alt.Legend(orient="bottom"),
                       scale=alt.Scale(domain=procedures, range=CYCLE[:len(procedures)]))
    tooltip = [alt.Tooltip("setting:N", title=setting_title),
               alt.Tooltip("x:Q", title=x_title, format=",d"),
               alt.Tooltip("procedure:N", title="procedure"),
               alt.Tooltip("quantity:N", title="quantity"),
               alt.Tooltip("value_text:N", title="value"),
               alt.Tooltip("se_text:N", title="Monte Carlo s.e."),
               alt.Tooltip("reps:Q", title="replications", format=",d")]

    # The chosen rows, as bars of ±2 standard errors, lines and points (hover for the numbers).
    base = alt.Chart().encode(x_axis, colour)
    rows = alt.layer(
        base.mark_rule(opacity=0.6).encode(alt.Y("low:Q"), alt.Y2("high:Q")),
        base.mark_line(opacity=0.6).encode(y_axis),
        base.mark_point(filled=True, size=70, opacity=1).encode(y_axis, tooltip=tooltip),
        data=alt.Data(values=data.to_dict("records")),
    ).transform_filter(
        f"datum.setting == pick_setting && (pick_procedure == '{ALL}' "
        "|| datum.procedure == pick_procedure) && isValid(datum[pick_quantity])"
    ).transform_calculate(
        value="datum[pick_quantity]",
        se="datum[pick_quantity + '_se']",
        low="datum.value - 2 * datum.se",
        high="datum.value + 2 * datum.se",
        quantity=f"{words}[pick_quantity]",
        value_text=f"format(datum.value, {rate} ? '.4f' : '.4~g')",
        se_text=f"isValid(datum.se) ? format(datum.se, {rate} ? '.4f' : '.2~g') "
                ": 'not recorded'",
    )
    # What a nominal interval promises: the level for coverage, half the rest for each miss.
    promise = pd.DataFrame({"quantity": ["coverage", "miss_low", "miss_high"],
                            "promised": [level, (1 - level) / 2, (1 - level) / 2]})
    reference = alt.Chart(alt.Data(values=promise.to_dict("records"))).transform_filter(
        "datum.quantity == pick_quantity").mark_rule(color="black", strokeDash=[5, 4]).encode(
        y="promised:Q", tooltip=alt.Tooltip("promised:Q", title="the promise", format=".3f"))

    chart = alt.layer(reference, rows).add_params(
        pick_setting, pick_quantity, pick_procedure).properties(
        width="container", height=300, background="white",
        # two lines: the quantity, and the setting it is shown for
        title=alt.Title(alt.expr(f"[{words}[pick_quantity], "
                                 f"{json.dumps(setting_title + ': ')} + pick_setting]"),
                        anchor="start"),
        description=(f"Interactive chart of the lab's results against {x_title}, one line per "
                     f"procedure, with bars of two Monte Carlo standard errors; lists below it "
                     f"choose the {setting_title}, the quantity and the procedure."),
    ).configure_view(stroke=None)
    return LabChart(chart.to_dict())


class LabChart:
    """A Vega-Lite spec that displays itself as HTML, which draws it with the site's vega-embed
    or says why it cannot.

    The bundle holds no `application/vnd.vegalite.v6+json`: myst-nb warns of a mime type it
    cannot render (which fails the strict build), and JupyterLab 4.6 renders Vega-Lite 3 to 5
    only and prefers text/html to it anyway. `spec` is there for any other use.
    """

    def __init__(self, spec: dict):
        self.spec = spec

    def json(self) -> str:
        # "<" escaped, so that no "</script>" in a label can end the script early
        return json.dumps(self.spec, separators=(",", ":")).replace("<", "\\u003c")

    def html(self) -> str:
        digest = hashlib.sha1(self.json().encode()).hexdigest()[:10]
        element = f"lab-chart-{digest}-{next(_numbers)}"
        # White behind the chart and its lists, black text: readable in the site's dark mode.
        style = (f"#{element}{{background:#fff;color:#000;padding:.5em;margin:.5em 0}} "
                 f"#{element} select{{background:#fff;color:#000;max-width:100%}} "
                 f"#{element} .vega-embed{{display:block}}")
        return f"""<style>{style}</style>
<div id="{element}" class="lab-chart"><div><p>{NOT_DRAWN}</p></div></div>
<script>
(function () {{
  var element = document.getElementById("{element}").firstElementChild;
  var spec = {self.json()};
  function draw() {{
    if (typeof vegaEmbed !== "function") return false;
    element.textContent = "";
    vegaEmbed(element, spec, {{renderer: "svg", actions: false}}).then(function () {{
      // Vega-Lite fits the chart to its container again only when the window resizes: tell it
      // when the page's layout (not the window) changes the container's width.
      var width = element.clientWidth;
      if (window.ResizeObserver) new ResizeObserver(function () {{
        if (element.clientWidth === width) return;
        width = element.clientWidth;
        window.dispatchEvent(new Event("resize"));
      }}).observe(element);
    }}).catch(function (error) {{
      element.textContent = "The chart could not be drawn: " + error;
    }});
    return true;
  }}
  if (!draw()) window.addEventListener("load", draw);
}})();
</script>"""

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        title = self.spec.get("description", "An interactive chart")
        return {"text/html": self.html(), "text/plain": title}
