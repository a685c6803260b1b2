"""The benchmark compares like with like: its NumPy versions compute the same statistics, every
registered scenario is in it, and the bootstrap's index draw has the bias it states.

No timings are asserted here; speed is measured by `python -m pragmatic.bench`.
"""

import json
import math
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pragmatic.bench import routes, scenarios
from pragmatic.bench.mean import numpy_boot_t, numpy_t_z
from pragmatic.sim import DISTRIBUTIONS, simulate
from pragmatic.sim.engine import simulate_scenario
from pragmatic.sim.mean import multiply_shift, random_index
from pragmatic.sim.scenarios import REGISTRY


@pytest.mark.parametrize("dist", list(DISTRIBUTIONS))  # the benchmark runs them all
def test_numpy_t_z_agrees_with_the_jax_kernel(dist):
    reps = 100_000
    jax_res = simulate(dist, 30, reps, 1)["results"]
    np_res = numpy_t_z(dist, reps, 65_536, 2)
    for proc in ("t", "z"):
        a, (b, width) = jax_res[proc]["coverage"], np_res[proc]
        se = math.sqrt(2 * a * (1 - a) / reps)
        assert abs(a - b) <= 4 * se
        assert width == pytest.approx(jax_res[proc]["mean_width"], rel=0.02)


def test_numpy_bootstrap_t_agrees_with_the_jax_kernel():
    reps = 4_000
    a = simulate("lognormal", 30, reps, 1, procedures=("boot-t",))["results"]["boot-t"]["coverage"]
    b = numpy_boot_t("lognormal", reps, 500, 2)
    assert abs(a - b) <= 4 * math.sqrt(2 * a * (1 - a) / reps)


# --- every registered scenario, with a NumPy twin that computes the same intervals -------------

def test_every_registered_scenario_but_mean_has_a_twin():
    assert scenarios.scenarios() == [name for name in REGISTRY if name != "mean"]
    assert set(scenarios.TWINS) == set(scenarios.scenarios())


def test_a_scenario_without_a_twin_stops_the_benchmark_before_any_timing(monkeypatch):
    monkeypatch.setitem(REGISTRY, "newcomer", REGISTRY["ar1"])
    with pytest.raises(LookupError, match="'newcomer' is registered but has no NumPy twin"):
        scenarios.rows(reps=64, repeats=1, loop_reps=10)


def agrees(jax_scores: dict, twin_scores: tuple, reps: int) -> bool:
    """Coverage and mean width agree within 4 combined Monte Carlo standard errors."""
    a, (b, width, width_se) = jax_scores["coverage"], twin_scores
    coverage_se = math.sqrt(2 * max(a * (1 - a), 1 / reps) / reps)
    width_tolerance = 4 * math.hypot(width_se, jax_scores["width_mc_se"]) + 1e-6 * abs(width)
    return (abs(a - b) <= 4 * coverage_se
            and abs(width - jax_scores["mean_width"]) <= width_tolerance)


@pytest.mark.parametrize("name", scenarios.scenarios())
def test_numpy_twin_of_each_scenario_agrees_with_its_jax_kernel(name):
    """Same coverage and mean width for every procedure, within Monte Carlo error; and the check
    is sharp enough to tell the procedures apart, so a twin that built another interval (HC0 for
    HC3, say) would fail it."""
    reps, params = 20_000, scenarios.twin(name).params
    got = simulate_scenario(name, reps, 1, **params)
    twin = scenarios.run_numpy(name, reps, 4_096, 2)
    results = got["results"]
    assert set(twin) - {"extra"} == set(results)
    for proc, scores in results.items():
        assert agrees(scores, twin[proc], reps), proc
        for other in results:
            if results[other] != scores:  # bayes-flat is the classical interval: not told apart
                assert not agrees(scores, twin[other], reps), (proc, other)
    for key, mean in twin["extra"].items():
        assert abs(mean - got["extra"][key]) <= 4 * math.sqrt(2) * got["extra"][f"{key}_mc_se"]


# --- the bootstrap's index draw ------------------------------------------------------------------

@pytest.mark.parametrize("n", [3, 7, 30, 1_000, 2**16 - 1, 2**16])
def test_multiply_shift_index_has_the_stated_bias_counted_exactly(n):
    """floor(u n / 2**32) maps the 2**32 words u onto 0 ... n - 1 in runs: index i takes the
    words from ceil(i 2**32 / n) to ceil((i + 1) 2**32 / n) - 1. The kernel's arithmetic is
    checked at both ends of every run (and on random words against exact integer arithmetic),
    and the runs' lengths are counted: each is floor(2**32 / n) or one more, so the probability
    of every index is within 2**-32 of 1/n, far below 1e-6."""
    starts = [-(-i * 2**32 // n) for i in range(n + 1)]  # ceil(i 2**32 / n); starts[n] = 2**32
    first = jnp.asarray(np.array(starts[:-1], dtype=np.uint32))
    last = jnp.asarray(np.array([s - 1 for s in starts[1:]], dtype=np.uint32))
    np.testing.assert_array_equal(np.asarray(multiply_shift(first, n)), np.arange(n))
    np.testing.assert_array_equal(np.asarray(multiply_shift(last, n)), np.arange(n))
    words = np.random.default_rng(n).integers(0, 2**32, 10_000, dtype=np.uint64)
    np.testing.assert_array_equal(
        np.asarray(multiply_shift(jnp.asarray(words.astype(np.uint32)), n)),
        [int(u) * n >> 32 for u in words])
    counts = np.diff(np.array(starts, dtype=object))
    assert counts.sum() == 2**32
    assert set(counts) <= {2**32 // n, 2**32 // n + 1}
    bias = max(abs(c / 2**32 - 1 / n) for c in set(counts))
    assert bias < 2**-32 < 1e-6


def test_random_index_is_multiply_shift_of_32_bit_words_and_randint_above_2_16():
    key = jax.random.key(3)
    np.testing.assert_array_equal(
        np.asarray(random_index(key, (50, 30), 30)),
        np.asarray(multiply_shift(jax.random.bits(key, (50, 30), jnp.uint32), 30)))
    big = np.asarray(random_index(key, (10_000,), 2**20))
    assert big.min() >= 0 and big.max() < 2**20 and len(np.unique(big)) > 9_000


# --- the command line ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bench_rows():
    """Every section, every scenario, both kernels of the mean, JAX held to one core: small."""
    return run_bench("--reps", "256", "--repeats", "1", "--loop-reps", "10", "--dist", "normal",
                     "--threads", "1")


def run_bench(*args):
    out = subprocess.run([sys.executable, "-m", "pragmatic.bench", "--json", "--quiet", *args],
                         capture_output=True, text=True, timeout=900, check=True)
    return json.loads(out.stdout)


def test_json_has_every_kernel_and_every_registered_scenario(bench_rows):
    kernels = [r for r in bench_rows if r["section"] == "kernel"]
    assert {(r["kernel"], r["setting"] if r["family"] == "mean" else None) for r in kernels} == (
        {("t/z", "normal"), ("boot-t", "normal")} | {(name, None) for name in REGISTRY
                                                     if name != "mean"})
    for r in kernels:
        assert r["threads"] == "1"
        assert set(r["seconds"]) == {"kernel", "floor", "numpy", "loop"}
        for key in ("vs_rng_floor", "speedup_vs_numpy", "speedup_vs_loop", "numpy_over_floor"):
            assert r[key] > 0 and math.isfinite(r[key])


def test_both_thread_settings_run_in_their_own_processes():
    rows = run_bench("--reps", "64", "--repeats", "1", "--section", "routes")
    assert [r["threads"] for r in rows] == ["all"] * 2 + ["1"] * 2
    cores = rows[0]["machine"]["cores_allowed"]
    assert cores["1"] == 1 and cores["all"] == len(os.sched_getaffinity(0))


def test_one_thread_runs_are_held_to_one_core(bench_rows):
    """Measured, not assumed: CPU time over wall time of every timed call stays at one core."""
    one = [r for r in bench_rows if r["threads"] == "1" and r["section"] == "kernel"]
    assert one and all(r["machine"]["cores_allowed"]["1"] == 1 for r in one)
    for r in one:
        assert all(v <= 1.05 for v in r["cpu_per_wall"].values()), r["cpu_per_wall"]


def test_json_has_the_generators_and_the_route_comparison(bench_rows):
    gens = [r for r in bench_rows if r["section"] == "generator"]
    assert len(gens) == 7
    for r in gens:
        assert all(s > 0 for s in r["seconds"].values())
    assert any(r.get("randint_over_multiply_shift", 0) > 0 for r in gens)
    route_rows = [r for r in bench_rows if r["section"] == "route"]
    assert sorted({r["n"] for r in route_rows}) == [10**4, 10**6]
    for r in route_rows:
        assert r["available"] == routes.available()
        if r["available"]:  # both routes ran, as asked, and the ratio is a number
            assert r["routes_ran"] == {"sufficient": "sufficient", "raw": "raw"}
            assert r["raw_over_sufficient"] > 0 and math.isfinite(r["raw_over_sufficient"])
        else:
            assert "not available" in r["note"]


def test_table_says_which_figures_compare_like_with_like(bench_rows):
    from pragmatic.bench.table import format_table
    table = format_table(bench_rows)
    assert "Only the one-core figures compare like with like" in table
    assert all(name in table for name in REGISTRY if name != "mean")


def test_bad_arguments_exit_2():
    out = subprocess.run([sys.executable, "-m", "pragmatic.bench", "--reps", "3"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "--reps must be >= 64" in out.stderr
