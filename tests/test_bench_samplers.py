"""The sampler benchmark checks what it claims: its agreement test passes equal posteriors and
fails a shifted one, and a tiny run of every sampler produces the comparison.

No timings are asserted here; speed is measured by `python -m pragmatic.bench_samplers`.
"""

import json
import subprocess
import sys

import arviz as az
import numpy as np
import pytest

from pragmatic.bench_samplers import AGREE_MAX, agreement, summarize


def _ar1_posterior(rng, shift=0.0, chains=4, draws=1000, phi=0.5):
    """Autocorrelated draws of a scalar and a 2-vector around 0 (plus `shift` on the scalar)."""
    e = rng.standard_normal((chains, draws, 3))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0]
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + np.sqrt(1 - phi**2) * e[:, t]
    return az.from_dict(posterior={"a": x[..., 0] + shift, "b": x[..., 1:]})


def test_agreement_passes_the_same_posterior_and_fails_a_shift_of_10_mcse():
    rng = np.random.default_rng(1)
    ref = summarize(_ar1_posterior(rng))
    assert set(ref) == {"a", "b[0]", "b[1]"}
    same = agreement(summarize(_ar1_posterior(rng)), ref)
    assert same["agree"] and same["max_gap"] < AGREE_MAX
    # Shift one parameter by 10 of its (combined) MCSEs: the check must notice.
    combined = np.hypot(ref["a"]["mcse"], ref["a"]["mcse"])
    shifted = agreement(summarize(_ar1_posterior(rng, shift=10 * combined)), ref)
    assert not shifted["agree"] and shifted["worst"] == "a" and shifted["max_gap"] > AGREE_MAX


def test_summaries_leave_out_unconstrained_copies():
    # nutpie stores sigma_log__ beside sigma; the other samplers do not, so it is not compared.
    rng = np.random.default_rng(3)
    idata = az.from_dict(posterior={"sigma": np.exp(rng.standard_normal((2, 50))),
                                    "sigma_log__": rng.standard_normal((2, 50))})
    assert set(summarize(idata)) == {"sigma"}


def test_agreement_refuses_different_parameters():
    rng = np.random.default_rng(2)
    a = summarize(_ar1_posterior(rng))
    with pytest.raises(ValueError, match="different parameters"):
        agreement(a, {k: v for k, v in a.items() if k != "a"})


def test_a_tiny_run_of_every_sampler_agrees_and_reports_its_figures():
    out = subprocess.run(
        [sys.executable, "-m", "pragmatic.bench_samplers", "--json", "--quiet", "--repeats", "1",
         "--model", "engel", "--draws", "200", "--tune", "200", "--chains", "2"],
        capture_output=True, text=True, timeout=300, check=True)
    rows = json.loads(out.stdout)
    assert [r["sampler"] for r in rows] == ["pymc", "nutpie", "numpyro-parallel"]
    for r in rows:
        assert r["cold_s"] > 0 and r["warm_s"] > 0 and r["ess_per_s"] > 0
        assert np.isfinite(r["max_gap_vs_nutpie"]) and r["agrees"] in (True, False)
        assert r["worst_parameter"] in r["summary"]
        assert r["ppc_ok"]
    nutpie = next(r for r in rows if r["sampler"] == "nutpie")
    assert nutpie["max_gap_vs_nutpie"] == 0
    # nutpie is quiet: nothing on stderr while sampling or in the posterior predictive after it.
    assert nutpie["stderr_chars"]["cold"] == nutpie["stderr_chars"]["warm"] == 0
    assert nutpie["stderr_chars"]["ppc"] == 0
    # 200 draws is few, but the same model sampled three ways should still agree.
    assert all(r["agrees"] for r in rows), [(r["sampler"], r["max_gap_vs_nutpie"]) for r in rows]


@pytest.mark.parametrize("args, words", [
    (["--repeats", "0"], "--repeats: must be a whole number >= 1"),
    (["--sampler", "stan"], "--sampler: invalid choice"),
    (["--model", "iris"], "--model: invalid choice"),
    (["--draws", "ten"], "--draws: must be a whole number"),
])
def test_bad_arguments_exit_2_with_one_line(args, words):
    out = subprocess.run([sys.executable, "-m", "pragmatic.bench_samplers", *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert words in out.stderr and len(out.stderr.strip().splitlines()) == 1
