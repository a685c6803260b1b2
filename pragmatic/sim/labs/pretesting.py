"""Lab 8, pre-testing parallel trends: the grid of the `pretest` scenario it runs, the
conditional scores read off the scenario's extra outputs, and the lab's findings.

Two experiments. `slopes` runs the lab's event study (K = 3 pre-period coefficients) at every
slope of the differential trend; `pre-periods` runs K = 1, 2, 4 and 6 at a few slopes (with the
first experiment's K = 3 cells, `pre_period_table`), for the interactive chart.

A pre-test that passes in k of R replications leaves k replications to score: a share among
them has the standard error of the "plus two" estimate, sqrt(p~ (1 - p~)/(k + 4)) with
p~ = (x + 2)/(k + 4) (Agresti and Coull), positive even at 0 or 1; a conditional mean (of the
error b_0 - tau, or of a width) has the standard deviation among the k over sqrt(k). The
findings functions return rows in the form of `pragmatic.sim.checks` (claim, estimate, mc_se,
z, holds); tests/test_lab08_pretesting.py feeds them deliberately broken kernels.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pandas as pd

from ..checks import TOL, _cell, _finding
from ..grid import Experiment, LabGrid
from ..scenarios import pretest

PRE = 3  # pre-period coefficients in the lab's event study
SLOPES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)  # standard errors per period
SHOWN = 0.75  # the slope the lab follows in detail
PRES = (1, 2, 4, 6)  # the pre-period experiment; K = 3 is the slopes experiment's
ALL_PRES = tuple(sorted(PRES + (PRE,)))
CHART_SLOPES = (0.0, 0.25, 0.5, 0.75)
RULE_NAMES = {"wald": "Wald test", "nis": "no significant lead"}
FIXED_WIDTH = ("conventional", "robust-sd")  # procedures whose width never varies
MIN_PASSES = 400  # conditional scores on fewer passing replications are not shown or checked

GRID = LabGrid(lab="08-pretesting-parallel-trends", seed=20220301, experiments=(
    Experiment("slopes", "pretest", vary={"slope": SLOPES}, fixed={"pre": PRE}),
    Experiment("pre-periods", "pretest", vary={"pre": PRES, "slope": CHART_SLOPES},
               procedures=("conventional",)),
))


# --- reading the table -------------------------------------------------------------------------

def cell(table: pd.DataFrame, procedure: str = "conventional", experiment: str = "slopes",
         **where) -> pd.Series:
    """One row of the engine's table. A missing cell is an error."""
    return _cell(table, procedure, experiment=experiment, **where)


def plus_two(share: float, n: float) -> float:
    """The standard error of a share of n by the plus-two estimate (positive at 0 and 1)."""
    tilde = (share * n + 2) / (n + 4)
    return math.sqrt(tilde * (1 - tilde) / (n + 4))


def passes(row: pd.Series, rule: str) -> tuple[float, float, int]:
    """The pre-test's pass rate, its standard error, and the number of passing replications."""
    rate, reps = float(row[f"{rule}_pass"]), int(row["reps"])
    return rate, plus_two(rate, reps), round(rate * reps)


def conditional_row(row: pd.Series, rule: str) -> dict:
    """The row's procedure scored only on the replications that pass `rule`, in the shape of
    the engine's rows (coverage, misses and width, each with its standard error, and `reps`
    the number of passing replications), plus the bias of b_0 with its standard error."""
    rate, _, k = passes(row, rule)
    p = row["procedure"]
    out = {"experiment": row["experiment"], "pre": row["pre"], "slope": row["slope"],
           "procedure": f"{p} | passed {rule}", "base": p, "rule": rule, "reps": k,
           "pass": rate}
    if k == 0:
        return out
    low, high = row[f"{rule}_{p}_low"] / rate, row[f"{rule}_{p}_high"] / rate
    # conventional and robust-sd have one width for every event study; robust-rm's varies,
    # and its width among the passes is not recorded
    width, width_se = ((row["mean_width"], 0.0) if p in FIXED_WIDTH else (math.nan, math.nan))
    bias = row[f"{rule}_error"] / rate
    bias_var = max(row[f"{rule}_error2"] / rate - bias**2, 0.0)
    coverage = 1 - low - high
    out |= {"coverage": coverage, "mc_se": plus_two(coverage, k),
            "miss_low": low, "miss_low_mc_se": plus_two(low, k),
            "miss_high": high, "miss_high_mc_se": plus_two(high, k),
            "mean_width": width, "width_mc_se": width_se,
            "bias": bias, "bias_mc_se": math.sqrt(bias_var / k),
            "ref": row[f"{rule}_ref"] / rate}
    return out


def pre_period_table(table: pd.DataFrame) -> pd.DataFrame:
    """The pre-period experiment's rows, with the slopes experiment's K = 3 rows of the same
    slopes and procedures added as its own (same replications, same seed)."""
    own = table[table["experiment"] == "pre-periods"]
    k3 = table[(table["experiment"] == "slopes") & table["procedure"].isin(own["procedure"])
               & table["slope"].isin(CHART_SLOPES)]
    return pd.concat([own, k3.assign(experiment="pre-periods")], ignore_index=True)


def scores(table: pd.DataFrame, experiment: str = "slopes") -> pd.DataFrame:
    """Every procedure of an experiment on all replications and on those that pass each
    pre-test: one row per setting, procedure and condition (`rule` "all", "wald" or "nis").
    The bias is that of b_0, the conventional interval's centre."""
    rows = []
    for _, row in table[table["experiment"] == experiment].iterrows():
        rows.append({"experiment": experiment, "pre": row["pre"], "slope": row["slope"],
                     "procedure": row["procedure"], "base": row["procedure"], "rule": "all",
                     "reps": int(row["reps"]), "pass": 1.0,
                     **{k: row[k] for k in ("coverage", "mc_se", "miss_low", "miss_low_mc_se",
                                            "miss_high", "miss_high_mc_se", "mean_width",
                                            "width_mc_se")},
                     "bias": row["error"], "bias_mc_se": row["error_mc_se"]})
        rows += [conditional_row(row, rule) for rule in pretest.RULES]
    return pd.DataFrame(rows)


def score(scored: pd.DataFrame, slope: float, rule: str = "all",
          procedure: str = "conventional", pre: int = PRE) -> pd.Series:
    """One row of `scores`: a procedure on all draws (`rule` "all") or on those that pass."""
    label = procedure if rule == "all" else f"{procedure} | passed {rule}"
    return _cell(scored, label, slope=slope, pre=pre)


# --- event studies one by one (figures, the sensitivity example, exercises) --------------------

def event_studies(slope: float, pre: int = PRE, reps: int = 20_000, seed: int = GRID.seed,
                  level: float = GRID.level) -> dict:
    """`reps` event studies drawn by the scenario's own `draw` (replication i from
    fold_in(key(seed), i), as the engine does): `b` holds every coefficient, t = -(K+1) to 0,
    the reference period's 0 included, and `wald`, `nis` whether each pre-test passes."""
    @jax.jit
    def run(indices):
        keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(jax.random.key(seed), indices)
        b_pre, b_post, _ = jax.vmap(lambda k: pretest.draw(k, pre, slope))(keys)
        return (b_pre, b_post, jax.vmap(lambda b: pretest.wald_passes(b, level))(b_pre),
                jax.vmap(lambda b: pretest.nis_passes(b, level))(b_pre))

    b_pre, b_post, wald, nis = run(np.arange(reps, dtype=np.uint32))
    return {"t": np.arange(-(pre + 1), 1),
            "b": np.column_stack([b_pre, np.zeros(reps), b_post]).astype(np.float64),
            "wald": np.asarray(wald), "nis": np.asarray(nis)}


def sensitivity(b_pre, b_post, mbars, ms, level: float = GRID.level) -> pd.DataFrame:
    """The two robust intervals of one event study, at each mbar (robust-rm) and each m
    (robust-sd)."""
    b_pre = np.asarray(b_pre, dtype=np.float64)
    rows = [{"bound": "relative magnitudes", "setting": f"Mbar = {x:g}", "value": x,
             **dict(zip(("lower", "upper"), map(float, pretest.robust_rm(b_pre, b_post, x,
                                                                         level))))}
            for x in mbars]
    rows += [{"bound": "smoothness", "setting": f"M = {x:g}", "value": x,
              **dict(zip(("lower", "upper"), map(float, pretest.robust_sd(b_pre, b_post, x,
                                                                          level))))}
             for x in ms]
    return pd.DataFrame(rows)


# --- the findings -----------------------------------------------------------------------------

def control_findings(scored: pd.DataFrame, table: pd.DataFrame,
                     level: float = GRID.level) -> list[dict]:
    """Slope 0 (parallel trends hold): the Wald pre-test rejects at its level; the no-lead rule
    rejects more often (K tests); the conventional interval is unbiased and covers at `level`,
    missing (1 - level)/2 on each side; given a pass it covers more than `level` (the pre-test
    trims the spread of b_0)."""
    half = (1 - level) / 2
    row = cell(table, slope=0.0, pre=PRE)
    wald, nis = passes(row, "wald"), passes(row, "nis")
    every = score(scored, 0.0)
    rows = [_finding("slope 0: the Wald pre-test passes at its level", wald[0], wald[1],
                     within=level),
            _finding("slope 0: the no-significant-lead rule rejects more often than 1 - level",
                     level - nis[0], nis[1], above=0),
            _finding("slope 0: b_0 is unbiased", every["bias"], every["bias_mc_se"], within=0),
            _finding(f"slope 0: the conventional interval covers at {level}", every["coverage"],
                     every["mc_se"], within=level)]
    for side, words in (("miss_low", "below"), ("miss_high", "above")):
        rows.append(_finding(f"slope 0: {half:g} of the intervals lie wholly {words} the effect",
                             every[side], every[f"{side}_mc_se"], within=half))
    given = score(scored, 0.0, "wald")
    rows.append(_finding(f"slope 0, passed the Wald test: the interval covers more than {level}",
                         given["coverage"] - level, given["mc_se"], above=0))
    return rows


def power_findings(scored: pd.DataFrame, table: pd.DataFrame, slope: float = SHOWN,
                   bias_floor: float = 0.5) -> list[dict]:
    """At `slope`, the Wald pre-test misses the trend more often than it finds it, while the
    bias of b_0 exceeds `bias_floor` standard errors."""
    rate, se, _ = passes(cell(table, slope=slope, pre=PRE), "wald")
    every = score(scored, slope)
    return [_finding(f"slope {slope:g}: the Wald pre-test's power is below 0.5",
                     rate - 0.5, se, above=0),
            _finding(f"slope {slope:g}: the bias of b_0 exceeds {bias_floor:g} SE",
                     every["bias"] - bias_floor, every["bias_mc_se"], above=0)]


def harm_findings(scored: pd.DataFrame, slopes=(0.5, 0.75, 1.0), rules=pretest.RULES
                  ) -> list[dict]:
    """Where the trend is large enough to matter (above `pretest.coverage_crossover`), passing
    the pre-test makes matters worse: given a pass, b_0 is more biased and the interval covers
    less than over all draws, with more of the intervals wholly above the effect (the side of
    the trend) and fewer wholly below it."""
    rows = []
    for slope in slopes:
        every = score(scored, slope)
        for rule in rules:
            given = score(scored, slope, rule)
            if given["reps"] < MIN_PASSES:
                raise ValueError(f"slope {slope}, {rule}: only {given['reps']} passes")
            name = RULE_NAMES[rule]
            rows += [
                _finding(f"slope {slope:g}, passed {name}: b_0 is more biased than over all "
                         "draws", given["bias"] - every["bias"],
                         math.hypot(given["bias_mc_se"], every["bias_mc_se"]), above=0),
                _finding(f"slope {slope:g}, passed {name}: the interval covers less than over "
                         "all draws", every["coverage"] - given["coverage"],
                         math.hypot(given["mc_se"], every["mc_se"]), above=0),
                _finding(f"slope {slope:g}, passed {name}: more intervals lie wholly above "
                         "the effect than over all draws", given["miss_high"] - every["miss_high"],
                         math.hypot(given["miss_high_mc_se"], every["miss_high_mc_se"]), above=0),
                _finding(f"slope {slope:g}, passed {name}: fewer lie wholly below it than over "
                         "all draws", every["miss_low"] - given["miss_low"],
                         math.hypot(given["miss_low_mc_se"], every["miss_low_mc_se"]), above=0)]
    return rows


def slopes_run(scored: pd.DataFrame, pre: int = PRE) -> list[float]:
    """The slopes in the table, for K = `pre`."""
    return sorted(scored.loc[scored["pre"] == pre, "slope"].unique())


def mechanism_findings(scored: pd.DataFrame, rules=pretest.RULES) -> list[dict]:
    """The extra bias given a pass is the reference period's noise: E[b_0 - tau | pass] =
    slope - E[e_(-1) | pass], because b_0's own noise e_0 has nothing to do with the
    pre-test. Checked as (bias - slope) + E[e_(-1) | pass] = the mean of e_0 among the passes,
    whose standard error is sqrt(1/2 / k)."""
    rows = []
    for slope in [s for s in slopes_run(scored) if s > 0]:
        for rule in rules:
            given = score(scored, slope, rule)
            if given["reps"] < MIN_PASSES:
                continue
            rows.append(_finding(f"slope {slope:g}, passed {RULE_NAMES[rule]}: the extra bias is "
                                 "minus the reference period's mean noise",
                                 given["bias"] - slope + given["ref"],
                                 math.sqrt(pretest.NOISE_VAR / given["reps"]), within=0))
    return rows


def exact_findings(scored: pd.DataFrame, table: pd.DataFrame, experiment: str = "slopes",
                   level: float = GRID.level, unconditional: bool = True) -> list[dict]:
    """The simulated conventional interval against its closed form (`pretest.exact`), each
    within TOL standard errors: the pass rates, and given each pass (and over all draws, with
    `unconditional`) the bias and both misses. The coverage is not checked apart: it is one
    minus the two misses."""
    rows = []
    for _, row in table[(table["experiment"] == experiment)
                        & (table["procedure"] == "conventional")].iterrows():
        pre, slope = int(row["pre"]), float(row["slope"])
        label = f"K = {pre}, slope {slope:g}"
        for rule in pretest.RULES:
            want = pretest.exact(rule, pre, slope, level)
            rate, se, _ = passes(row, rule)
            rows.append(_finding(f"{label}: {RULE_NAMES[rule]}, pass rate as computed", rate,
                                 se, within=want["pass"]))
            given = score(scored, slope, rule, pre=pre)
            if given["reps"] < MIN_PASSES:
                continue
            for what, key in (("bias", "cond_bias"), ("miss_low", "cond_miss_low"),
                              ("miss_high", "cond_miss_high")):
                se = given["bias_mc_se"] if what == "bias" else \
                    plus_two(given[what], given["reps"])
                rows.append(_finding(f"{label}, passed {RULE_NAMES[rule]}: {what} as computed",
                                     given[what], se, within=want[key]))
        if not unconditional:
            continue
        every = score(scored, slope, "all", pre=pre)
        want = pretest.exact("wald", pre, slope, level)
        for what in ("bias", "miss_low", "miss_high"):
            se = every["bias_mc_se"] if what == "bias" else plus_two(every[what], every["reps"])
            rows.append(_finding(f"{label}, all draws: {what} as computed", every[what], se,
                                 within=want[what]))
    return rows


def robust_findings(scored: pd.DataFrame, params: dict, level: float = GRID.level) -> list[dict]:
    """robust-sd (m as run) covers at its closed-form coverage at every slope: a linear trend
    is exactly what it extrapolates, so this checks the interval's construction (its standard
    error of sqrt 3), not its robustness. robust-rm (mbar as run, >= 1) does not under-cover: a
    linear trend meets its bound. That check has little power (its coverage is near 1, and a
    cruder interval would pass it too); the interval's validity is the Bonferroni argument in
    `pretest.robust_rm`, not this simulation."""
    rows = []
    want = pretest.sd_coverage(params["m"], level)
    for slope in slopes_run(scored):
        sd, rm = score(scored, slope, procedure="robust-sd"), score(scored, slope,
                                                                    procedure="robust-rm")
        rows.append(_finding(f"slope {slope:g}: robust-sd covers at {want:.3f}", sd["coverage"],
                             plus_two(sd["coverage"], sd["reps"]), within=want))
        rows.append(_finding(f"slope {slope:g}: robust-rm does not under-cover",
                             rm["coverage"], plus_two(rm["coverage"], rm["reps"]),
                             not_below=level))
    return rows


def pre_period_findings(scored: pd.DataFrame, table: pd.DataFrame,
                        slope: float = 0.5) -> list[dict]:
    """At `slope`, each added pre-period raises the Wald pre-test's power, and raises the bias
    of b_0 among the draws that still pass (`table`: `pre_period_table`; `scored`: its
    scores)."""
    rows = []
    for low, high in zip(ALL_PRES[:-1], ALL_PRES[1:]):
        a, b = (cell(table, experiment="pre-periods", pre=k, slope=slope) for k in (low, high))
        (pa, sa, _), (pb, sb, _) = passes(a, "wald"), passes(b, "wald")
        rows.append(_finding(f"slope {slope:g}: the Wald test has more power at K = {high} than "
                             f"at K = {low}", pa - pb, math.hypot(sa, sb), above=0))
        ga, gb = (score(scored, slope, "wald", pre=k) for k in (low, high))
        rows.append(_finding(f"slope {slope:g}, passed the Wald test: b_0 is more biased at "
                             f"K = {high} than at K = {low}", gb["bias"] - ga["bias"],
                             math.hypot(ga["bias_mc_se"], gb["bias_mc_se"]), above=0))
    return rows


def exact_summary(findings: pd.DataFrame) -> pd.DataFrame:
    """The closed-form checks (claims ending "as computed"), by quantity: how many, and the
    largest |z|."""
    rows = findings[findings["claim"].str.endswith(" as computed")]
    quantity = rows["claim"].str.extract(r"[:,] ([\w ]+) as computed$")[0]
    return (rows.assign(quantity=quantity).groupby("quantity", sort=False)["z"]
            .agg(checks="size", largest_abs_z=lambda z: z.abs().max()))


def slope_findings(table: pd.DataFrame) -> list[dict]:
    """Every finding of the slopes experiment (K = 3)."""
    scored = scores(table)
    params = cell(table, slope=0.0, pre=PRE)
    return (control_findings(scored, table) + power_findings(scored, table)
            + harm_findings(scored) + mechanism_findings(scored)
            + exact_findings(scored, table)
            + robust_findings(scored, {"m": params["m"], "mbar": params["mbar"]}))


def closed_form_findings(table: pd.DataFrame) -> list[dict]:
    """Both experiments against the closed form. The pre-period experiment's unconditional
    scores are left out: b_0 does not depend on K, so they would repeat the first's."""
    return (exact_findings(scores(table), table)
            + exact_findings(scores(table, "pre-periods"), table, "pre-periods",
                             unconditional=False))


def all_findings(table: pd.DataFrame) -> list[dict]:
    """Every finding of the lab, from the engine's table of both experiments."""
    by_pre = pre_period_table(table)
    return (slope_findings(table)
            + exact_findings(scores(table, "pre-periods"), table, "pre-periods",
                             unconditional=False)
            + pre_period_findings(scores(by_pre, "pre-periods"), by_pre))


__all__ = ["GRID", "PRE", "SLOPES", "SHOWN", "PRES", "ALL_PRES", "CHART_SLOPES", "RULE_NAMES",
           "TOL", "cell", "passes", "plus_two", "conditional_row", "pre_period_table", "scores",
           "score", "event_studies", "sensitivity", "control_findings", "power_findings",
           "harm_findings", "mechanism_findings", "exact_findings", "closed_form_findings",
           "exact_summary",
           "robust_findings", "pre_period_findings", "slope_findings", "all_findings"]
