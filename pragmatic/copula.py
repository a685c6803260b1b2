"""A Gaussian-copula synthesizer in NumPy and SciPy, the fidelity metrics that judge it, and
lab 7's experiment ("statistical twins") with its findings as checks.

The synthesizer follows the recipe of the Synthetic Data Vault's Gaussian copula (Patki, Wedge
and Veeramachaneni 2016), which the course cites but does not install (its `sdv` and `copulas`
packages are BUSL-1.1 licensed and heavy): every column is mapped to normal scores through its
ranks, the scores' correlation matrix is the whole of the dependence, and a synthetic row is a
draw from the multivariate normal with that correlation, mapped back column by column through
the inverse of the column's empirical distribution function. Where SDV fits each column a
distribution from a list of families, we use the empirical one, so a synthetic column holds
only values of the seed column, in the seed's proportions.

Discrete columns (status_platinum, bookings, age) have ties. Tied values share their mean rank,
so a discrete column's normal score is a step function of the latent normal the copula assumes,
and every correlation with it is weakened by a factor that depends only on the column's own
frequencies (the "point-polyserial" relation of Olsson, Drasgow and Dorans 1982). `fit` divides
the factor out, so a sampled discrete column has the dependence the seed shows, and projects
the result back onto the correlation matrices when it is no longer positive definite. This
correction is ours: SDV's `copulas` takes the plain correlation of the normal scores (computed
from a distribution fitted to each column), and SDV spreads a categorical column's values at
random over each category's frequency interval before the copula sees them.

The experiment (`datasets`, `replicate`, `experiment`, `summarise`) and the findings
(`*_findings`) are the lab's; with a fixed seed the findings are regression tests, not
hypothesis tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import ndtr, ndtri

from . import loyalty
from .rd import local_linear
from .sim.checks import _finding

EIGEN_FLOOR = 1e-3  # smallest eigenvalue kept when the corrected correlation is projected


# --- the synthesizer --------------------------------------------------------------------------

def midranks(column) -> np.ndarray:
    """Ranks 1..n, tied values sharing their mean rank (as scipy.stats.rankdata, faster)."""
    _, where, counts = np.unique(np.asarray(column, dtype=float), return_inverse=True,
                                 return_counts=True)
    return (np.cumsum(counts) - (counts - 1) / 2)[where]


def normal_scores(column) -> np.ndarray:
    """Ranks (ties share their mean rank) mapped to the normal: Phi^{-1}(rank / (n + 1))."""
    return ndtri(midranks(column) / (len(column) + 1))


def tie_attenuation(column) -> float:
    """corr(Z, g(Z)) for a standard normal Z and the step function g that turns Z into this
    column's normal scores: 1 for a column without ties, less the fewer distinct values it has.

    For a latent normal Z' correlated rho with Z, the scores of a continuous column correlate
    rho * a with g(Z) (Olsson, Drasgow and Dorans 1982), whatever the other column is.
    """
    column = np.asarray(column, dtype=float)
    n = len(column)
    _, counts = np.unique(column, return_counts=True)
    upper = np.cumsum(counts)
    scores = ndtri((upper - (counts - 1) / 2) / (n + 1))          # each value's normal score
    cuts = stats.norm.pdf(ndtri(np.r_[0.0, upper / n]))           # phi at the thresholds
    share = counts / n
    covariance = np.sum(scores * (cuts[:-1] - cuts[1:]))
    variance = np.sum(scores**2 * share) - np.sum(scores * share) ** 2
    return float(covariance / math.sqrt(variance))


def nearest_correlation(matrix, floor=EIGEN_FLOOR) -> np.ndarray:
    """The matrix itself if its eigenvalues are all at least `floor`; otherwise the eigenvalues
    are raised to `floor` and the result rescaled to a unit diagonal."""
    values, vectors = np.linalg.eigh(matrix)
    if values.min() >= floor:
        return np.asarray(matrix, dtype=float)
    fixed = (vectors * np.maximum(values, floor)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)


def inverse_ecdf(sorted_values, u) -> np.ndarray:
    """The empirical quantile function: the smallest seed value whose ECDF reaches u, i.e. the
    ceil(n u)-th smallest of the n seed values, for u in (0, 1). Column by column when
    `sorted_values` is (n, p) and `u` is (m, p)."""
    n = len(sorted_values)
    k = np.clip(np.ceil(n * np.asarray(u)).astype(np.int64) - 1, 0, n - 1)
    if np.ndim(sorted_values) == 1:
        return sorted_values[k]
    return np.take_along_axis(sorted_values, k, axis=0)


@dataclass(frozen=True)
class GaussianCopula:
    """A fitted synthesizer: each column's seed values, sorted, and the latent correlation."""

    columns: tuple[str, ...]
    sorted_values: np.ndarray  # (n, p)
    correlation: np.ndarray    # (p, p)

    @classmethod
    def fit(cls, data: pd.DataFrame, correct_ties: bool = True) -> "GaussianCopula":
        if len(data) < 2 or data.shape[1] < 1:
            raise ValueError(f"data must have at least 2 rows and 1 column, got shape {data.shape}")
        for name in data.columns:
            column = data[name]
            if not pd.api.types.is_numeric_dtype(column) or not np.isfinite(column).all():
                raise ValueError(f"column {name!r} must be numbers with no NaN or infinity")
            if column.nunique() < 2:
                raise ValueError(f"column {name!r} is constant: a copula needs it to vary")
        values = data.to_numpy(dtype=float)
        scores = np.column_stack([normal_scores(v) for v in values.T])
        latent = np.corrcoef(scores, rowvar=False)
        if correct_ties:
            attenuation = np.array([tie_attenuation(v) for v in values.T])
            latent = latent / np.outer(attenuation, attenuation)
            np.fill_diagonal(latent, 1.0)
        return cls(tuple(data.columns), np.sort(values, axis=0), nearest_correlation(latent))

    def sample(self, m: int, seed) -> pd.DataFrame:
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
            raise ValueError(f"m (rows to draw) must be a whole number >= 1, got {m!r}")
        rng = np.random.default_rng(seed)
        lower = np.linalg.cholesky(self.correlation)
        # z = e @ lower.T, a draw from N(0, R); einsum does this thin product several times
        # faster than a threaded BLAS on a busy machine.
        z = np.einsum("ik,jk->ij", rng.standard_normal((m, len(self.columns))), lower)
        values = inverse_ecdf(self.sorted_values, ndtr(z))
        return pd.DataFrame(values, columns=list(self.columns))


# --- the twins --------------------------------------------------------------------------------

X, T, Y = "past_spending", "status_platinum", "future_spending"
COVARIATES = ("age", "bookings")


def naive_twin(seed_data: pd.DataFrame, m: int, seed, synthesizer=GaussianCopula):
    """Every column, the outcome and the status included, goes into the copula, as SDV does."""
    return synthesizer.fit(seed_data).sample(m, seed)


def fixed_twin(seed_data: pd.DataFrame, m: int, seed, outcome: Callable,
               synthesizer=GaussianCopula, rebuild: Callable | None = None):
    """The semi-parametric fix: take the known structure `outcome(x)` (jump included) out of
    the outcome, synthesize the residual with the covariates, and rebuild the outcome with the
    same function on the synthetic running variable. The status follows the rule x >= c.
    `rebuild` is the function put back, `outcome` unless a test plants another."""
    residual = seed_data[Y] - outcome(seed_data[X])
    training = seed_data[[X, *COVARIATES]].assign(residual=residual)
    twin = synthesizer.fit(training).sample(m, seed)
    x = twin[X]
    twin[T] = (x >= loyalty.CUTOFF).astype(int)
    twin[Y] = (rebuild or outcome)(x) + twin.pop("residual")
    return twin[list(seed_data.columns)]


def fitted_outcome(seed_data: pd.DataFrame) -> Callable:
    """The known functional form, a + b1 x + b2 x^2 + tau 1{x >= c}, with its coefficients
    estimated from the seed by least squares: what an analyst who does not know them uses."""
    x = seed_data[X].to_numpy(dtype=float) / 1e4  # scaled so the design is well conditioned
    design = np.column_stack([np.ones_like(x), x, x**2, seed_data[X] >= loyalty.CUTOFF])
    y = seed_data[Y].to_numpy(dtype=float)
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    residual = y - design @ coef
    variance = residual @ residual / (len(y) - 4) * np.linalg.inv(design.T @ design)

    def outcome(past):
        past = np.asarray(past, dtype=float)
        s = past / 1e4
        return coef[0] + coef[1] * s + coef[2] * s**2 + coef[3] * (past >= loyalty.CUTOFF)

    outcome.tau, outcome.se = float(coef[3]), float(math.sqrt(variance[3, 3]))  # classical
    return outcome


# --- fidelity ---------------------------------------------------------------------------------

def ks_distance(a, b) -> float:
    """The two-sample Kolmogorov-Smirnov distance: the largest gap between the two ECDFs.

    Both ECDFs are steps, so the gap is largest at, or just below, a value of the smaller
    sample: only those need looking up in the larger one, sorted once."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) > len(b):
        a, b = b, a
    b = np.sort(b)
    points, counts = np.unique(a, return_counts=True)
    f_a = np.cumsum(counts) / len(a)                  # F_a at each point ...
    f_a_below = np.r_[0.0, f_a[:-1]]                  # ... and just below it
    f_b = np.searchsorted(b, points, side="right") / len(b)
    f_b_below = np.searchsorted(b, points, side="left") / len(b)
    return float(max(np.abs(f_a - f_b).max(), np.abs(f_a_below - f_b_below).max()))


def rank_correlation(data: pd.DataFrame) -> np.ndarray:
    """Spearman's rank correlation matrix (ties at their mean rank)."""
    ranks = np.column_stack([midranks(v) for v in data.to_numpy(dtype=float).T])
    return np.corrcoef(ranks, rowvar=False)


def fidelity(reference: pd.DataFrame, other: pd.DataFrame, pair=None) -> dict:
    """How closely `other` copies `reference`: the KS distance of each column, the largest
    absolute difference between their rank-correlation matrices and, for a `pair` of columns,
    the difference in that pair's rank correlation."""
    out = {f"ks {c}": ks_distance(reference[c], other[c]) for c in reference.columns}
    gap = np.abs(rank_correlation(reference) - rank_correlation(other[reference.columns]))
    out["max |rank corr diff|"] = float(gap.max())
    if pair is not None:
        i, j = (list(reference.columns).index(c) for c in pair)
        out[f"|rank corr diff| {pair[0]}-{pair[1]}"] = float(gap[i, j])
    return out


# --- the experiment ---------------------------------------------------------------------------

SEED = 20260126                 # the date of the blog post the fix comes from
N_SEED = 1_000                  # customers in the seed sample
ROWS = (1_000, 5_000, 50_000)   # synthetic rows; the smaller twins are the first rows of one
BANDWIDTH = 2_000.0             # dollars each side of the cutoff, triangular kernel
LEVEL = 0.95
# All of it is simulated: the seed and the fresh sample are drawn from the theoretical world
# (they play the part of real data), the twins from a synthesizer fitted to the seed.
TWINS = ("seed sample", "naive twin", "fixed twin, known f", "fixed twin, fitted f")
FRESH = "fresh sample"
GLOBAL = "seed, global fit of f"  # the seed's least-squares tau, the fitted-f twin's source


def _seed(*keys) -> int:
    """A whole-number seed for one replication and one stream, whatever REPS is."""
    return int(np.random.SeedSequence([SEED, *keys]).generate_state(1)[0])


def datasets(rep: int, synthesizer=GaussianCopula, m: int = max(ROWS), n_seed: int = N_SEED,
             rebuild: Callable | None = None) -> dict[str, pd.DataFrame]:
    """Replication `rep`: the seed sample, its three twins of `m` rows, and a fresh sample of
    `m` customers from the same theoretical world (the yardstick for fidelity)."""
    seed_data = loyalty.simulate(n_seed, _seed(rep, 0))
    return {
        TWINS[0]: seed_data,
        TWINS[1]: naive_twin(seed_data, m, _seed(rep, 1), synthesizer),
        TWINS[2]: fixed_twin(seed_data, m, _seed(rep, 2), loyalty.truth, synthesizer, rebuild),
        TWINS[3]: fixed_twin(seed_data, m, _seed(rep, 3), fitted_outcome(seed_data),
                             synthesizer, rebuild),
        FRESH: loyalty.simulate(m, _seed(rep, 4)),
    }


def replicate(rep: int, rows=ROWS, bandwidth=BANDWIDTH, **options) -> tuple[list, list]:
    """One replication: the RD fit of the seed and of each twin at each size in `rows` (a twin
    of fewer rows is the first rows of the largest), the seed's least-squares tau (GLOBAL),
    and the fidelity of each twin and of the fresh sample to the seed."""
    data = datasets(rep, m=max(rows), **options)
    seed_data = data[TWINS[0]]

    def rd_fit(frame, name, size):
        fit = local_linear(frame[X].to_numpy()[:size], frame[Y].to_numpy()[:size],
                           loyalty.CUTOFF, bandwidth)
        return {"rep": rep, "data": name, "rows": size, "estimate": float(fit.estimate),
                "se": float(fit.se)}

    fits = [rd_fit(seed_data, TWINS[0], len(seed_data))]
    fitted = fitted_outcome(seed_data)
    fits.append({"rep": rep, "data": GLOBAL, "rows": len(seed_data), "estimate": fitted.tau,
                 "se": fitted.se})
    fits += [rd_fit(data[name], name, size) for name in TWINS[1:] for size in rows]
    quality = [{"rep": rep, "data": name, **fidelity(seed_data, data[name], pair=(X, Y)),
                "status off the rule": float(np.mean(data[name][T]
                                                     != (data[name][X] >= loyalty.CUTOFF)))}
               for name in (*TWINS[1:], FRESH)]
    return fits, quality


def experiment(reps: int, **options) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`reps` replications: (RD fits, fidelity), one row per replication, dataset (and size)."""
    fits, quality = [], []
    for rep in range(reps):
        f, q = replicate(rep, **options)
        fits += f
        quality += q
    return pd.DataFrame(fits), pd.DataFrame(quality)


def summarise(fits: pd.DataFrame, tau=loyalty.TAU, level=LEVEL) -> pd.DataFrame:
    """One row per dataset and size: the mean estimate and its spread, and the coverage of tau
    by estimate +- z se, both one-sided misses and the mean width, each with its Monte Carlo
    standard error (in the columns `pragmatic.charts.results_chart` reads)."""
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for (name, size), g in fits.groupby(["data", "rows"], sort=False):
        r = len(g)
        low, high = g["estimate"] - z * g["se"], g["estimate"] + z * g["se"]
        row = {"data": name, "rows": size, "procedure": "local linear", "reps": r,
               "mean_estimate": g["estimate"].mean(),
               "estimate_mc_se": g["estimate"].std(ddof=1) / math.sqrt(r),
               "sd_estimate": g["estimate"].std(ddof=1), "mean_se": g["se"].mean()}
        for key, hit in (("coverage", (low <= tau) & (tau <= high)), ("miss_low", high < tau),
                         ("miss_high", low > tau)):
            p = hit.mean()
            row[key] = p
            # The "plus two" standard error stays positive when no interval covers.
            q = (hit.sum() + 2) / (r + 4)
            row["mc_se" if key == "coverage" else f"{key}_mc_se"] = math.sqrt(q * (1 - q) / r)
        row["mean_width"] = (2 * z * g["se"]).mean()
        row["width_mc_se"] = (2 * z * g["se"]).std(ddof=1) / math.sqrt(r)
        rows.append(row)
    return pd.DataFrame(rows)


def fidelity_summary(quality: pd.DataFrame) -> pd.DataFrame:
    """Mean of each fidelity metric over the replications, with its Monte Carlo standard error."""
    metrics = [c for c in quality.columns if c not in ("rep", "data")]
    grouped = quality.groupby("data", sort=False)[metrics]
    means, ses = grouped.mean(), grouped.std(ddof=1) / np.sqrt(grouped.count())
    return pd.concat({"mean": means, "mc_se": ses}, axis=1)


# --- the findings -----------------------------------------------------------------------------

def _row(summary, name, size):
    rows = summary[(summary["data"] == name) & (summary["rows"] == size)]
    if len(rows) != 1:
        raise KeyError(f"expected one row for {name} with {size} rows, found {len(rows)}")
    return rows.iloc[0]


def fidelity_findings(quality: pd.DataFrame) -> list[dict]:
    """Each twin is closer to the seed than a fresh sample of its size is, column by column (KS)
    and in the largest rank-correlation difference: the yardstick is what two samples from the
    theoretical world differ by."""
    yard = quality[quality["data"] == FRESH].set_index("rep")
    metrics = [c for c in quality.columns if c.startswith(("ks ", "max |"))]
    rows = []
    for name in TWINS[1:]:
        twin = quality[quality["data"] == name].set_index("rep")
        for metric in metrics:
            gap = yard[metric] - twin[metric]  # paired by replication
            rows.append(_finding(f"{name}: {metric} within the sampling yardstick "
                                 f"({twin[metric].mean():.4f} vs {yard[metric].mean():.4f})",
                                 gap.mean(), gap.std(ddof=1) / math.sqrt(len(gap)), above=0))
    return rows


def pair_findings(quality: pd.DataFrame) -> list[dict]:
    """The fidelity check the naive twin fails: pair by pair, its past-future rank correlation is
    further from the seed's than a fresh sample's, paired by replication (the copula does not
    reproduce that pair's dependence exactly)."""
    metric = f"|rank corr diff| {X}-{Y}"
    yard = quality[quality["data"] == FRESH].set_index("rep")[metric]
    twin = quality[quality["data"] == TWINS[1]].set_index("rep")[metric]
    gap = twin - yard
    return [_finding(f"{TWINS[1]}: its {X}-{Y} rank correlation is further from the seed's than a "
                     f"fresh sample's ({twin.mean():.4f} vs {yard.mean():.4f})",
                     gap.mean(), gap.std(ddof=1) / math.sqrt(len(gap)), above=0)]


def pair_gap(rep: int, jump: bool = True, m: int = max(ROWS)) -> dict:
    """Replication `rep`'s seed, naive twin and fresh sample (the draws of `datasets`), with the
    jump taken out of every outcome (y - tau T) when `jump` is False: how far the naive twin's
    and the fresh sample's past-future rank correlations are from the seed's."""
    seed_data = loyalty.simulate(N_SEED, _seed(rep, 0))
    fresh = loyalty.simulate(m, _seed(rep, 4), covariates=False)
    if not jump:
        seed_data, fresh = (d.assign(**{Y: d[Y] - loyalty.TAU * d[T]}) for d in (seed_data, fresh))
    twin = naive_twin(seed_data, m, _seed(rep, 1))

    def rho(frame):
        return rank_correlation(frame[[X, Y]])[0, 1]

    r = rho(seed_data)
    return {"rep": rep, "jump": jump, TWINS[1]: abs(rho(twin) - r), FRESH: abs(rho(fresh) - r)}


def erased_findings(summary: pd.DataFrame, tau=loyalty.TAU, rows=ROWS) -> list[dict]:
    """The seed estimates tau; the naive twin's estimate is below tau / 2 and its interval
    nearly never covers tau, at every size."""
    seed = _row(summary, TWINS[0], N_SEED)
    out = [_finding(f"seed sample: the RD estimate averages tau = {tau:g}",
                    seed["mean_estimate"], seed["estimate_mc_se"], within=tau),
           _finding(f"seed sample: the interval does not under-cover {LEVEL}",
                    seed["coverage"], seed["mc_se"], not_below=LEVEL)]
    for size in rows:
        naive = _row(summary, TWINS[1], size)
        out.append(_finding(f"naive twin, {size:,} rows: the estimate averages below tau/2 = "
                            f"{tau / 2:g}", tau / 2 - naive["mean_estimate"],
                            naive["estimate_mc_se"], above=0))
        out.append(_finding(f"naive twin, {size:,} rows: the interval covers tau in fewer than "
                            "one replication in five", 0.2 - naive["coverage"], naive["mc_se"],
                            above=0))
    return out


def fixed_findings(summary: pd.DataFrame, tau=loyalty.TAU, rows=ROWS) -> list[dict]:
    """Both fixes bring the jump back: at every size each twin's estimate averages tau. With
    the known f its interval covers tau; with the fitted f the twin inherits the seed's error,
    so at the largest size its interval, too narrow for what the seed knows, under-covers."""
    out = []
    for name in TWINS[2:]:
        for size in rows:
            r = _row(summary, name, size)
            out.append(_finding(f"{name}, {size:,} rows: the RD estimate averages tau = {tau:g}",
                                r["mean_estimate"], r["estimate_mc_se"], within=tau))
    for size in rows:
        r = _row(summary, TWINS[2], size)
        out.append(_finding(f"{TWINS[2]}, {size:,} rows: the interval does not under-cover "
                            f"{LEVEL}", r["coverage"], r["mc_se"], not_below=LEVEL))
    large = _row(summary, TWINS[3], max(rows))
    out.append(_finding(f"{TWINS[3]}, {max(rows):,} rows: the interval covers tau less than "
                        f"{LEVEL}", LEVEL - large["coverage"], large["mc_se"], above=0))
    return out


def all_findings(summary: pd.DataFrame, quality: pd.DataFrame) -> list[dict]:
    """Every finding of the lab, in the order the page states them."""
    return (fidelity_findings(quality) + pair_findings(quality) + erased_findings(summary)
            + fixed_findings(summary))
