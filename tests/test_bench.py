"""The benchmark compares like with like: its NumPy versions compute the same statistics.

No timings are asserted here; speed is measured by `python -m pragmatic.bench`.
"""

import json
import math
import subprocess
import sys

import pytest

from pragmatic.bench import numpy_boot_t, numpy_t_z
from pragmatic.sim import DISTRIBUTIONS, simulate


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


def test_json_output_has_the_ratios_for_every_kernel_and_distribution():
    out = subprocess.run([sys.executable, "-m", "pragmatic.bench", "--json", "--reps", "1024",
                          "--repeats", "1", "--dist", "normal", "--dist", "t3"],
                         capture_output=True, text=True, timeout=600, check=True)
    rows = json.loads(out.stdout)
    assert {(r["kernel"], r["dist"]) for r in rows} == {
        (k, d) for k in ("t/z", "boot-t") for d in ("normal", "t3")}
    for r in rows:
        assert set(r["seconds"]) == {"kernel", "floor", "numpy", "loop"}
        for key in ("vs_rng_floor", "speedup_vs_numpy", "speedup_vs_loop"):
            assert r[key] > 0


def test_bad_arguments_exit_2():
    out = subprocess.run([sys.executable, "-m", "pragmatic.bench", "--reps", "3"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "--reps must be >= 64" in out.stderr
