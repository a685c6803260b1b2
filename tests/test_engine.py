"""The simulation engine: reproducibility, known-truth coverage and widths, and bad input."""

import math

import pytest
from scipy import special, stats

from pragmatic.sim import SimulationError, simulate


def strip(result):
    return {k: v for k, v in result.items() if k != "versions"}


@pytest.mark.parametrize("procedures", [("t", "z"), ("t", "z", "boot-t")])
def test_same_seed_same_result_for_any_chunk_size(procedures):
    reps = 9_001 if "boot-t" in procedures else 20_011  # not a multiple of any chunk or block
    runs = [strip(simulate("lognormal", 12, reps, 4, procedures=procedures, chunk=c))
            for c in (1_000, 4_096, 7_919, 65_536)]
    assert all(run == runs[0] for run in runs[1:])


def test_t_and_z_results_do_not_depend_on_bootstrap_being_computed():
    plain = simulate("exponential", 8, 3_000, 9)["results"]
    with_boot = simulate("exponential", 8, 3_000, 9, procedures=("t", "z", "boot-t"))["results"]
    assert plain["t"] == with_boot["t"] and plain["z"] == with_boot["z"]


def test_different_seeds_give_different_results():
    a = simulate("normal", 10, 5_000, 1)["results"]["t"]
    b = simulate("normal", 10, 5_000, 2)["results"]["t"]
    assert a != b


@pytest.mark.parametrize("n", [3, 10, 50])
def test_normal_data_cover_at_the_nominal_level(n):
    r = simulate("normal", n, 200_000, 123, level=0.95)["results"]["t"]
    assert abs(r["coverage"] - 0.95) <= 4 * r["mc_se"]


@pytest.mark.parametrize("level", [0.8, 0.99])
def test_coverage_follows_the_level(level):
    r = simulate("normal", 6, 200_000, 7, level=level)["results"]["t"]
    assert abs(r["coverage"] - level) <= 4 * r["mc_se"]


def test_z_interval_coverage_matches_its_closed_form():
    """For normal data P(|T_{n-1}| <= z) is the z-interval's exact coverage."""
    n = 5
    r = simulate("normal", n, 200_000, 5)["results"]["z"]
    exact = 2 * stats.t(n - 1).cdf(stats.norm.ppf(0.975)) - 1
    assert abs(r["coverage"] - exact) <= 4 * r["mc_se"]


@pytest.mark.parametrize("n", [4, 25])
def test_t_interval_mean_width_matches_its_closed_form(n):
    """E(width) = 2 t_{n-1} c4(n) sigma / sqrt(n), with c4 the bias factor of s."""
    r = simulate("normal", n, 200_000, 8)["results"]["t"]
    c4 = math.sqrt(2 / (n - 1)) * math.exp(special.gammaln(n / 2) - special.gammaln((n - 1) / 2))
    exact = 2 * stats.t(n - 1).ppf(0.975) * c4 / math.sqrt(n)
    assert abs(r["mean_width"] - exact) <= 4 * r["width_mc_se"]


def test_lognormal_undercovers_and_improves_with_n():
    small = simulate("lognormal", 5, 50_000, 3)["results"]["t"]
    large = simulate("lognormal", 200, 50_000, 3)["results"]["t"]
    assert 0.95 - small["coverage"] > 4 * small["mc_se"]
    assert large["coverage"] - small["coverage"] > 4 * math.hypot(small["mc_se"], large["mc_se"])


def test_mc_se_is_the_binomial_standard_error():
    r = simulate("exponential", 10, 10_000, 2)["results"]["t"]
    assert r["mc_se"] == pytest.approx(math.sqrt(r["coverage"] * (1 - r["coverage"]) / 10_000))


BAD = [
    (dict(dist="gamma"), "unknown distribution 'gamma'"),
    (dict(n=1), "n must be a whole number >= 2, got 1"),
    (dict(n=2.5), "n must be a whole number >= 2, got 2.5"),
    (dict(reps=0), "reps must be a whole number in [1,"),
    (dict(seed=-1), "seed must be a whole number in [0,"),
    (dict(level=1.0), "level must be strictly between 0 and 1, got 1.0"),
    (dict(level=0), "level must be strictly between 0 and 1, got 0"),
    (dict(procedures=("t", "bca")), "unknown procedure 'bca'"),
    (dict(procedures=("boot-t",), boot_reps=10), "boot_reps=10 is too few"),
    (dict(dist="lognormal", params={"sigma": -1}), "sigma must be in (0, 5], got -1"),
    (dict(dist="contaminated", params={"fraction": 1.5}), "fraction must be in [0, 1], got 1.5"),
    (dict(dist="normal", params={"sigma": 2}), "normal takes no parameter 'sigma'"),
    (dict(chunk=0), "chunk must be a whole number"),
]


@pytest.mark.parametrize("change, message", BAD)
def test_bad_input_is_named_in_a_clear_error(change, message):
    args = dict(dist="normal", n=5, reps=10, seed=0) | change
    with pytest.raises(SimulationError) as err:
        simulate(**args)
    assert message in str(err.value) and "\n" not in str(err.value)
