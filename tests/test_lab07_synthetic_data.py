"""Lab 7's findings (pragmatic.copula) hold for the real synthesizer and fail for plausible
wrong ones.

The real kernel runs at 30 replications of the lab's sizes (the page runs more), where every
finding already holds by 4 Monte Carlo standard errors. Each wrong synthesizer runs at 20
replications (the row copier at 30, the real kernel's size), with twins of up to 5,000 rows,
enough for the checks it must fail:

- a "synthesizer" that copies seed rows (a bootstrap) keeps the jump: the claim that the naive
  twin erases it fails, while every fidelity check of the usual kind passes, because those
  cannot see it; the pair-by-pair claim (the copula misses the past-future rank correlation by
  more than a fresh sample does) fails too, so that claim is not true of any twin;
- Gaussian marginals in place of the inverse ECDF: the KS checks fail;
- an inverse ECDF read off the unsorted seed column: the marginals survive, the dependence does
  not, and the rank-correlation checks fail;
- no correction for ties: the status column's correlations are too weak, and the
  rank-correlation check of the naive twin fails;
- a fix that rebuilds the outcome without the jump: the fixed twins lose tau.
"""

import numpy as np
import pandas as pd
import pytest

from pragmatic import copula, loyalty
from pragmatic.sim.checks import assert_findings, table

SMALL = (1_000, 5_000)


def run(reps, rows=copula.ROWS, **options):
    fits, quality = copula.experiment(reps, rows=rows, **options)
    return copula.summarise(fits), quality


def failing(findings):
    return set(findings.loc[~findings["holds"], "claim"])


class RowCopier:
    """Wrong: 'synthetic' rows drawn with replacement from the seed (a bootstrap)."""

    def __init__(self, data):
        self.data = data.reset_index(drop=True)

    @classmethod
    def fit(cls, data):
        return cls(data)

    def sample(self, m, seed):
        rows = np.random.default_rng(seed).integers(0, len(self.data), m)
        return self.data.iloc[rows].reset_index(drop=True)


class GaussianMarginals(copula.GaussianCopula):
    """Wrong: each column drawn as mean + sd * z, a normal marginal, not the seed's own."""

    def sample(self, m, seed):
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((m, len(self.columns))) @ np.linalg.cholesky(self.correlation).T
        values = self.sorted_values
        return pd.DataFrame(values.mean(0) + values.std(0) * z, columns=list(self.columns))


class UnsortedECDF(copula.GaussianCopula):
    """Wrong: the quantile function read off the seed column as it comes, not sorted."""

    @classmethod
    def fit(cls, data):
        fitted = super().fit(data)
        return cls(fitted.columns, data.to_numpy(dtype=float), fitted.correlation)


class NoTieCorrection(copula.GaussianCopula):
    """Wrong: the correlation of the normal scores as they are, ties and all."""

    @classmethod
    def fit(cls, data):
        return super().fit(data, correct_ties=False)


@pytest.fixture(scope="module")
def real():
    return run(30)


def test_the_real_synthesizer_passes_at_every_size(real):
    summary, quality = real
    findings = table(copula.all_findings(summary, quality))
    assert findings["holds"].all(), failing(findings)
    assert_findings(findings)
    assert set(summary["rows"]) == {copula.N_SEED, *copula.ROWS}


def test_copying_rows_keeps_the_jump_and_fidelity_cannot_tell():
    summary, quality = run(30, SMALL, synthesizer=RowCopier)
    erased = table(copula.erased_findings(summary, rows=SMALL))
    for size in SMALL:
        assert f"naive twin, {size:,} rows: the estimate averages below tau/2 = 750" \
            in failing(erased)
        assert (f"naive twin, {size:,} rows: the interval covers tau in fewer than one "
                "replication in five") in failing(erased)
    fidelity = table(copula.fidelity_findings(quality))
    # The share of Platinum customers is one number, whose check has little power at this size.
    powered = fidelity[~fidelity["claim"].str.contains("ks status_platinum")]
    assert len(powered) == 15 and powered["holds"].all(), failing(powered)
    pair = table(copula.pair_findings(quality))
    assert len(pair) == 1 and not pair["holds"].any()
    with pytest.raises(AssertionError, match="findings that do not hold"):
        assert_findings(erased)


def test_gaussian_marginals_fail_the_ks_checks():
    _, quality = run(20, SMALL, synthesizer=GaussianMarginals)
    bad = failing(table(copula.fidelity_findings(quality)))
    for twin in copula.TWINS[1:]:
        for column in ("past_spending", "bookings", "age"):
            assert any(c.startswith(f"{twin}: ks {column} ") for c in bad), (twin, column)


def test_an_unsorted_inverse_ecdf_fails_the_rank_correlation_checks():
    _, quality = run(20, SMALL, synthesizer=UnsortedECDF)
    findings = table(copula.fidelity_findings(quality))
    bad = failing(findings)
    for twin in copula.TWINS[1:]:
        assert any(c.startswith(f"{twin}: max |rank corr diff|") for c in bad), twin
    copied = findings[findings["claim"].str.contains(": ks (?:past_spending|age|bookings) ")]
    assert len(copied) == 9 and copied["holds"].all()  # the marginals are still the seed's


def test_without_the_tie_correction_the_naive_twin_fails_the_rank_correlation_check():
    _, quality = run(20, SMALL, synthesizer=NoTieCorrection)
    assert any(c.startswith("naive twin: max |rank corr diff|")
               for c in failing(table(copula.fidelity_findings(quality))))


def test_a_fix_that_forgets_the_jump_loses_tau():
    def smooth(x):
        return loyalty.truth(x) - loyalty.TAU * (np.asarray(x) >= loyalty.CUTOFF)

    summary, _ = run(20, SMALL, rebuild=smooth)
    bad = failing(table(copula.fixed_findings(summary, rows=SMALL)))
    for twin in copula.TWINS[2:]:
        for size in SMALL:
            assert f"{twin}, {size:,} rows: the RD estimate averages tau = 1500" in bad


def test_pair_gap_redraws_the_replication(real):
    """copula.pair_gap, with the jump, gives the pair's fidelity that the experiment recorded for
    the naive twin and the fresh sample (the same draws); without it, the outcomes lose tau T."""
    _, quality = real
    metric = f"|rank corr diff| {copula.X}-{copula.Y}"
    recorded = quality[quality["rep"] == 1].set_index("data")[metric]
    again = copula.pair_gap(1)
    for name in (copula.TWINS[1], copula.FRESH):
        assert again[name] == pytest.approx(recorded[name], abs=1e-12), name
    assert copula.pair_gap(1, jump=False)[copula.TWINS[1]] != pytest.approx(again[copula.TWINS[1]])


def test_the_checks_need_every_cell(real):
    summary, quality = real
    with pytest.raises(KeyError):
        copula.erased_findings(summary[summary["rows"] != 5_000])
