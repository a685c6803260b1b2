"""Simulation-based calibration (SBC) for chapter 9, "Trusting the artifact".

SBC checks a Bayesian computation against its own model (Cook, Gelman and Rubin 2006; Talts et
al. 2018; Modrak et al. 2025): draw the parameters from the prior, draw a dataset from the
likelihood, fit the model to that dataset, and record the rank of each true parameter among L
posterior draws (the number of draws below it). If the fitter returns independent draws from the
posterior of the model that generated the data, every rank is uniform on 0, 1, ..., L.

    from pragmatic import sbc
    compiled = nutpie.compile_pymc_model(model)          # once: the same sampler as pragmatic.bayes
    draws = [sbc.posterior_draws(compiled, {"mass": y}, seed=i, draws=396, tune=300,
                                 thin=4)["sigma2"][0] for i, y in enumerate(datasets)]
    r = sbc.ranks(truth, np.array(draws))                # 99 draws per fit: ranks 0..99
    sbc.chi2_uniform(r, n_ranks=100, bins=20)             # statistic, degrees of freedom, p-value
    band = sbc.ecdf_band(n_sims=len(r), n_ranks=100, seed=1)
    sbc.ecdf_uniform(r, band)                 # smallest pointwise tail probability, and the verdict

The page keeps the model, the simulator and the loop visible; this module holds the plumbing: a
fast path through nutpie for many small fits, and the two tests of rank uniformity, the binned
chi-square test (as in the Stan User's Guide) and the simultaneous ECDF band of Sailynoja, Burkner
and Vehtari (2022), both vectorised over repeated SBC runs so that their size and power can be
simulated.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy import stats


def _whole(name: str, value, low: int) -> int:
    """`value` as an int if it is a whole number >= low, else a one-line ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


def _probability(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


# --- fits ------------------------------------------------------------------------------------

def posterior_draws(compiled, data: dict, *, seed: int, draws: int, tune: int, chains: int = 1,
                    thin: int = 1, cores: int = 1) -> dict:
    """Posterior draws of a nutpie-compiled PyMC model with its `pm.Data` replaced by `data`.

    Returns a dict with one array per model variable, of shape (chains, draws // thin, *shape),
    keeping every `thin`-th draw after the warm-up, and `"divergences"`, the number of divergent
    transitions after the warm-up. It reads nutpie's raw trace rather than building an
    InferenceData, which is most of the cost of a small fit; use `nutpie.sample` directly (and
    `pragmatic.bayes.check_convergence`) for a fit that is reported.
    """
    import nutpie
    import pyarrow

    draws = _whole("draws", draws, 1)
    tune = _whole("tune", tune, 0)
    chains = _whole("chains", chains, 1)
    thin = _whole("thin", thin, 1)
    cores = _whole("cores", cores, 1)
    if thin > draws:
        raise ValueError(f"thin must be at most draws ({draws}), got {thin}")
    trace = nutpie.sample(compiled.with_data(**data), draws=draws, tune=tune, chains=chains,
                          cores=cores, seed=seed, progress_bar=False, return_raw_trace=True)
    draw_batches, stat_batches = trace.get_arrow_trace()
    out: dict = {}
    divergences = 0
    for draw, stat in zip(draw_batches, stat_batches):
        kept = ~np.asarray(pyarrow.array(stat.column("tuning")), dtype=bool)
        divergences += int(np.asarray(pyarrow.array(stat.column("diverging")))[kept].sum())
        for name in draw.column_names:
            if name.endswith("__"):                     # unconstrained copies (sigma2_log__)
                continue
            column = draw.column(name)
            meta = column.field.metadata or {}
            shape = [int(s) for s in meta.get(b"shape", b"").decode().split(",") if s]
            values = pyarrow.array(column)
            if hasattr(values, "flatten"):
                values = values.flatten()
            values = np.asarray(values.to_numpy(zero_copy_only=False), dtype=float)
            values = values.reshape(-1, *shape)[kept][::thin]
            out.setdefault(name, []).append(values)
    result = {name: np.stack(chunks) for name, chunks in out.items()}
    result["divergences"] = divergences
    return result


# --- ranks and the tests of their uniformity ---------------------------------------------------

def ranks(truth, draws) -> np.ndarray:
    """The rank of each true value among its posterior draws: how many draws lie below it.

    `truth` has shape (n_sims,) and `draws` (n_sims, L); the ranks are integers 0..L.
    """
    truth = np.asarray(truth, dtype=float)
    draws = np.asarray(draws, dtype=float)
    if draws.ndim != 2 or truth.shape != draws.shape[:1]:
        raise ValueError(f"truth must have shape (n_sims,) and draws (n_sims, L); got "
                         f"{truth.shape} and {draws.shape}")
    if not (np.isfinite(truth).all() and np.isfinite(draws).all()):
        raise ValueError("truth and draws must be finite numbers; got NaN or infinity")
    return (draws < truth[:, None]).sum(axis=1)


def _histogram(r, n_ranks: int) -> np.ndarray:
    """How many ranks take each value 0..n_ranks-1, along the last axis: shape (..., n_ranks)."""
    lead = r.shape[:-1]
    rows = np.arange(int(np.prod(lead)))[:, None] * n_ranks
    flat = np.bincount((rows + r.reshape(-1, r.shape[-1])).ravel(),
                       minlength=rows.size * n_ranks)
    return flat.reshape(*lead, n_ranks)


def _check_ranks(r, n_ranks: int) -> np.ndarray:
    r = np.asarray(r)
    if r.ndim < 1 or r.shape[-1] < 1:
        raise ValueError(f"ranks must be an array of shape (..., n_sims); got shape {r.shape}")
    if not np.issubdtype(r.dtype, np.integer) or r.min() < 0 or r.max() >= n_ranks:
        raise ValueError(f"ranks must be whole numbers from 0 to n_ranks - 1 = {n_ranks - 1}; "
                         f"got values from {r.min()} to {r.max()} ({r.dtype})")
    return r


def chi2_uniform(r, n_ranks: int, bins: int):
    """Pearson's chi-square test that ranks are uniform on 0..n_ranks-1, in `bins` equal bins.

    `r` has shape (..., n_sims): the test runs along the last axis, so a stack of repeated SBC
    runs gives a stack of p-values. Returns (statistic, degrees of freedom, p-value).
    """
    n_ranks = _whole("n_ranks", n_ranks, 2)
    bins = _whole("bins", bins, 2)
    if n_ranks % bins:
        raise ValueError(f"bins must divide n_ranks = {n_ranks} so that every bin holds as many "
                         f"ranks; got bins = {bins}")
    r = _check_ranks(r, n_ranks)
    n_sims = r.shape[-1]
    expected = n_sims / bins
    if expected < 5:
        raise ValueError(f"bins = {bins} leaves {expected:g} expected ranks per bin for "
                         f"{n_sims} simulations; use at most {n_sims // 5} bins")
    counts = _histogram(r, n_ranks).reshape(*r.shape[:-1], bins, n_ranks // bins).sum(axis=-1)
    statistic = ((counts - expected) ** 2 / expected).sum(axis=-1)
    return statistic, bins - 1, stats.chi2.sf(statistic, bins - 1)


@dataclass(frozen=True)
class EcdfBand:
    """A simultaneous band for the ECDF of `n_sims` ranks uniform on 0..n_ranks-1.

    The ECDF is evaluated where the ranks cross `cuts` (the count of ranks below each cut);
    `lower` and `upper` bound those counts. `gamma` is the pointwise two-sided level that gives
    the band its simultaneous coverage `prob` (Sailynoja, Burkner and Vehtari 2022).
    """
    n_sims: int
    n_ranks: int
    cuts: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    gamma: float
    prob: float

    @property
    def expected(self) -> np.ndarray:
        """The share of ranks expected below each cut."""
        return self.cuts / self.n_ranks


def _pointwise(counts, n_sims, share):
    """Two-sided binomial tail probability of each count: 2 min(P(C <= c), P(C >= c)), <= 1."""
    lower = stats.binom.cdf(counts, n_sims, share)
    upper = stats.binom.sf(counts - 1, n_sims, share)
    return np.minimum(1.0, 2 * np.minimum(lower, upper))


def ecdf_band(n_sims: int, n_ranks: int, *, prob: float = 0.95, points: int | None = None,
              reps: int = 4000, seed: int = 0) -> EcdfBand:
    """The simultaneous `prob` band for the ECDF of `n_sims` uniform ranks, by simulation.

    The ECDF is evaluated at `points` - 1 equally spaced cuts (default: every rank, so
    `points = n_ranks`). Under uniformity the count below cut j is binomial; the band keeps,
    at every cut, the counts whose two-sided binomial tail probability is at least gamma, with
    gamma chosen from `reps` simulated uniform samples so that the whole ECDF stays inside the
    band with probability `prob`. This is the simulation method of Sailynoja et al. (2022).
    """
    n_sims = _whole("n_sims", n_sims, 1)
    n_ranks = _whole("n_ranks", n_ranks, 2)
    prob = _probability("prob", prob)
    reps = _whole("reps", reps, 100)
    points = n_ranks if points is None else _whole("points", points, 2)
    if n_ranks % points:
        raise ValueError(f"points must divide n_ranks = {n_ranks}; got points = {points}")
    cuts = np.arange(1, points) * (n_ranks // points)
    share = cuts / n_ranks
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_sims, np.full(points, 1 / points), size=reps).cumsum(axis=1)[:, :-1]
    smallest = _pointwise(counts, n_sims, share).min(axis=1)
    gamma = float(np.quantile(smallest, 1 - prob, method="lower"))
    grid = np.arange(n_sims + 1)[:, None]
    inside = _pointwise(grid, n_sims, share) >= gamma
    lower = inside.argmax(axis=0)
    upper = n_sims - inside[::-1].argmax(axis=0)
    return EcdfBand(n_sims, n_ranks, cuts, lower, upper, gamma, prob)


def ecdf_counts(r, band: EcdfBand) -> np.ndarray:
    """How many ranks lie below each of the band's cuts, along the last axis of `r`."""
    r = _check_ranks(r, band.n_ranks)
    return _histogram(r, band.n_ranks).cumsum(axis=-1)[..., band.cuts - 1]


def ecdf_uniform(r, band: EcdfBand):
    """The graphical test as a test: does the ECDF of the ranks leave the band anywhere?

    Returns (smallest pointwise tail probability, rejected). The ECDF leaves the band exactly
    when the smallest pointwise probability is below `band.gamma`.
    """
    r = _check_ranks(r, band.n_ranks)
    if r.shape[-1] != band.n_sims:
        raise ValueError(f"the band is for {band.n_sims} ranks per run; got {r.shape[-1]}")
    smallest = _pointwise(ecdf_counts(r, band), band.n_sims, band.expected).min(axis=-1)
    return smallest, smallest < band.gamma


# --- the verdict -------------------------------------------------------------------------------

def uniformity(ranks: dict, band: EcdfBand, bins: int):
    """Both tests for each parameter's ranks, at the level alpha = 1 - band.prob.

    `ranks` maps a parameter's name to its ranks, one per simulation. A parameter is rejected
    when either test rejects; with two tests a parameter's false-rejection rate is at most
    2 alpha, and the table says how far each one is from the threshold.
    """
    import pandas as pd

    if not ranks:
        raise ValueError("ranks must name at least one parameter; got an empty dict")
    alpha = 1 - band.prob
    rows = {}
    for name, r in ranks.items():
        statistic, df, p = chi2_uniform(r, band.n_ranks, bins)
        smallest, outside = ecdf_uniform(r, band)
        rows[name] = {"chi-square": float(statistic), "df": df, "p (chi-square)": float(p),
                      "smallest ECDF tail probability": float(smallest), "band's gamma": band.gamma,
                      "rejected": bool(p < alpha or outside)}
    return pd.DataFrame(rows).T.astype({"chi-square": float, "df": int, "p (chi-square)": float,
                                        "smallest ECDF tail probability": float,
                                        "band's gamma": float, "rejected": bool})


def assert_calibrated(table) -> None:
    """Fail, naming the parameters, unless no test in `uniformity`'s table rejected."""
    rejected = list(table.index[table["rejected"]])
    assert not rejected, (f"SBC rejects uniform ranks for {', '.join(map(str, rejected))}: the "
                          "fit does not compute the posterior of the model that simulated the data")
