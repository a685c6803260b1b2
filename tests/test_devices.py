"""Devices: results identical on 1 and 2 (host) devices, bad --devices refused in one line, and
the GPU check's comparison (CPU against CPU here: it passes, and fails for a wrong kernel).

No test needs a GPU: two devices are two XLA host devices, made in a subprocess by XLA_FLAGS,
which must be set before JAX is imported.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from pragmatic import gpu_check
from pragmatic.sim import SimulationError, replicate, simulate
from pragmatic.sim.scenarios import REGISTRY

REPO = Path(__file__).resolve().parent.parent

# Each case of the GPU check (every registered scenario) on 1 host device, and on all (2), the
# default, with a chunk that is a multiple of neither 2 nor 2 x the vmap width (so it is rounded
# up, and the last chunk padded, differently).
TWO_DEVICES = """
import json, os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
import jax
from pragmatic.gpu_check import cases
assert len(jax.devices()) == 2
runs = {}
for case in cases():
    reps = 601 if "boot" in case.name else 1_001
    runs[case.name] = [{k: r.get(k) for k in ("results", "extra", "versions")}
                       for r in (case.run(reps, 1, chunk=512), case.run(reps, None, chunk=701))]
print(json.dumps(runs))
"""


def run_python(code: str, *args, env=None):
    return subprocess.run([sys.executable, *(["-c", code] if code else []), *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)


def test_every_registered_scenario_is_in_the_gpu_check():
    assert set(gpu_check.SCENARIO_SETTINGS) == set(REGISTRY) - {"mean"}
    assert {case.scenario for case in gpu_check.cases()} == set(REGISTRY)
    assert any("boot-t" in case.settings.get("procedures", ()) for case in gpu_check.cases())


def test_two_devices_give_the_same_result_bit_for_bit():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = run_python(TWO_DEVICES, env=env)
    assert out.returncode == 0, out.stderr
    runs = json.loads(out.stdout)
    assert set(runs) == {case.name for case in gpu_check.cases()}
    for name, (one, two) in runs.items():
        assert [one["versions"]["devices"], two["versions"]["devices"]] == [1, 2]
        assert two["results"] == one["results"] and two["extra"] == one["extra"], name


@pytest.mark.parametrize("scenario", ["mean", "ar1"])
@pytest.mark.parametrize("value", ["0", "99", "-1"])
def test_bad_devices_on_the_command_line_exit_2_with_one_line(scenario, value):
    args = (["--dist", "normal", "--n", "5"] if scenario == "mean" else ["--n", "5", "--phi", "0"])
    out = run_python(None, "-m", "pragmatic.sim", scenario, *args, "--reps", "10", "--seed", "0",
                     "--devices", value)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    n = len(jax.local_devices())
    assert f"devices must be a whole number in [1, {n}] ({n} local cpu device" in out.stderr
    assert out.stderr.endswith(f"got {value}\n")


@pytest.mark.parametrize("devices", [0, 99, True, 1.0, [], ["cpu"], "cpu"])
def test_bad_devices_are_named_in_a_clear_error(devices):
    with pytest.raises(SimulationError) as err:
        simulate("normal", 5, 10, 0, devices=devices)
    assert "devices must be a whole number" in str(err.value) and "\n" not in str(err.value)


def test_devices_may_be_a_list_of_devices_of_another_backend():
    r = simulate("normal", 5, 100, 0, devices=jax.devices("cpu"))
    assert r["versions"]["devices"] == 1
    assert r["versions"]["backend"] == "cpu" and r["results"] == simulate("normal", 5, 100, 0)["results"]


# --- the GPU check's comparison, CPU against CPU ------------------------------------------------

def z_for_t(key, target, params, *, dist, design):
    """A plausible wrong kernel: the t-interval built with the normal critical value."""
    out = replicate(key, target, params, dist=dist, design=design)
    return out | {"t": out["z"]}


SMALL = gpu_check.Case("mean normal n=5", "mean", dict(dist="normal", n=5, procedures=("t", "z")))


def test_gpu_check_comparison_passes_for_the_same_kernel(tmp_path):
    cpus = jax.devices("cpu")
    r = gpu_check.compare(SMALL, 4_000, cpus, cpus, repeats=1, one_chunk=True)
    assert r["ok"] and r["b_chunk_independent"]
    assert r["identical_scores"] == r["scores"] == 8  # same platform, same keys: bit for bit
    assert r["a"]["reps_per_s"] > 0 and 0 < r["b"]["device_share"] <= 1
    args = argparse.Namespace(reps=4_000, quick=False, repeats=1)
    gpu_check.write(tmp_path / "check.json", [r], gpu_check.machine(cpus, cpus), ("A", "B"),
                    args, 1.0)
    report = json.loads((tmp_path / "check.json").read_text())
    assert report["labels"] == {"a": "A", "b": "B"} and report["cases"][0]["ok"] is True
    assert report["cases"][0]["a_result"]["results"]["t"]["coverage"] == r["a"]["result"][
        "results"]["t"]["coverage"]
    assert "| mean normal n=5 | 4,000 | yes |" in (tmp_path / "check.md").read_text()


def test_gpu_check_comparison_fails_for_a_wrong_kernel():
    """z for t at n = 5: coverage about 0.88 against 0.95, many standard errors apart."""
    cpus = jax.devices("cpu")
    r = gpu_check.compare(SMALL, 4_000, cpus, cpus, kernel_b=z_for_t, repeats=0)
    failed = {(row["procedure"], row["score"]) for row in r["agreement"] if not row["ok"]}
    assert not r["ok"] and ("t", "coverage") in failed and ("t", "mean_width") in failed
    assert not any(procedure == "z" for procedure, _ in failed)


def test_gpu_check_without_a_gpu_exits_2_with_one_line(tmp_path):
    try:
        jax.devices("gpu")
    except RuntimeError:
        pass
    else:
        pytest.skip("a GPU is present")
    out = run_python(None, "-m", "pragmatic.gpu_check", "--out", str(tmp_path / "gpu.json"))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("no GPU found: jax.devices('gpu') ")
    assert out.stderr.rstrip().endswith("run this on a GPU machine with requirements-gpu.txt "
                                        "installed")
    assert not list(tmp_path.iterdir())


BARE = """
import importlib.abc, sys
ABSENT = {"matplotlib", "pymc", "arviz", "myst_nb", "nutpie", "numpyro", "pytensor", "seaborn"}
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ABSENT:
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Absent())
import pragmatic.gpu_check
"""


def test_gpu_check_imports_only_what_a_bare_gpu_machine_has():
    """The GPU machine has JAX, NumPy, SciPy, pandas, statsmodels and tqdm, not the book's
    plotting and Bayesian stack."""
    out = run_python(BARE)
    assert out.returncode == 0, out.stderr


def test_gpu_check_end_to_end_with_the_cpu_standing_in_for_the_gpu(monkeypatch, tmp_path, capsys):
    """main() as the GPU machine runs it, with the CPU on both sides and two small cases."""
    cpus = jax.devices("cpu")
    monkeypatch.setattr(gpu_check, "_sides", lambda host: ((cpus, cpus, ("CPU", "GPU")), None))
    monkeypatch.setattr(gpu_check, "cases", lambda: [
        SMALL, gpu_check.Case("ols-hetero n=10", "ols-hetero", dict(n=10, gamma=1.0), 0.5)])
    monkeypatch.setattr(gpu_check, "WIDE", 512)
    out = tmp_path / "gpu.json"
    assert gpu_check.main(["--reps", "2000", "--repeats", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    first, second = report["cases"]
    assert first["reps"] == 2000 and second["reps"] == 1000 and "b_wide" not in first
    assert second["b_wide"]["vmap_width"] == 512 and second["b_chunk_independent"] is True
    assert first["identical_scores"] == first["scores"]
    printed = capsys.readouterr().out
    assert "[2/2] ols-hetero n=10: 1,000 replications" in printed and "GPU wide vmap" in printed
    assert out.with_suffix(".md").read_text().count("\n") == 4  # header, rule, two cases
