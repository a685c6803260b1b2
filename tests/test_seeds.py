"""Lab 9's seed-training kernel (`pragmatic.seeds`), its benchmark and its Bayesian model.

The formulations are checked to give the same runs, seed by seed, whatever the chunk; bad input
gets one line naming the value; the model of seed effects integrates the seed effects out exactly.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from pragmatic import seed_effects, seeds
from pragmatic.bench import seeds as bench

SMALL = seeds.Config(hidden=8, batch=25, steps=40, learning_rate=0.04)
SEEDS = list(range(7))


@pytest.fixture(scope="module")
def reference():
    return seeds.train(SEEDS, SMALL, method="loop")


def same_runs(a, b, loss_tol=2e-5):
    """Losses equal to float32 rounding; accuracies differ by at most one image."""
    for m in ("val_loss", "test_loss"):
        np.testing.assert_allclose(a[m], b[m], rtol=0, atol=loss_tol, err_msg=m)
    for m, n in (("val_acc", seeds.N_VAL), ("test_acc", seeds.N_TEST)):
        assert np.all(np.abs(a[m] - b[m]) <= 1 / n + 1e-9), m


@pytest.mark.parametrize("method, chunk", [("vmap", 3), ("vmap", 7), ("batched", 4)])
def test_every_formulation_and_chunk_gives_the_same_runs(reference, method, chunk):
    same_runs(seeds.train(SEEDS, SMALL, method=method, chunk=chunk), reference)


def test_a_seed_gives_the_same_run_whatever_the_other_seeds_in_the_call(reference):
    """Seeds 5, 2 and 6 in one chunk, each at another place than in the full call (XLA may
    round the last bit differently there)."""
    alone = seeds.train([5, 2, 6], SMALL, method="vmap", chunk=3)
    np.testing.assert_array_equal(alone["seed"], [5, 2, 6])
    same_runs(alone, {m: reference[m][[5, 2, 6]] for m in seeds.METRICS}, loss_tol=1e-6)


def test_the_seed_changes_the_run_and_the_runs_learn(reference):
    assert len(np.unique(reference["val_loss"])) == len(SEEDS)
    assert np.all(reference["val_acc"] > 0.25)  # 40 steps of a tiny network: above guessing


def test_minibatches_visit_every_training_row_once_per_epoch():
    rows = seeds.minibatches(3, 50, 45)  # 20 steps per epoch: two epochs and a quarter
    assert rows.shape == (45, 50) and rows.dtype == np.int32
    for epoch in (rows[:20], rows[20:40]):
        assert sorted(epoch.ravel()) == list(range(seeds.N_TRAIN))
    assert not np.array_equal(rows[:20], rows[20:40])  # reshuffled
    np.testing.assert_array_equal(rows, seeds.minibatches(3, 50, 45))
    assert not np.array_equal(rows, seeds.minibatches(4, 50, 45))


def test_the_split_is_fixed_and_disjoint():
    parts = seeds.split_rows(1797)
    assert [len(parts[p]) for p in ("test", "val", "train")] == [seeds.N_TEST, seeds.N_VAL,
                                                                  seeds.N_TRAIN]
    assert len(np.unique(np.concatenate(list(parts.values())))) == 1797
    np.testing.assert_array_equal(parts["val"], seeds.split_rows(1797)["val"])
    d = seeds.data()
    assert float(d.x_train.max()) == 1.0 and float(d.x_train.min()) == 0.0


def test_the_floor_runs_in_the_kernels_formulation():
    out = seeds.over_seeds(bench.floor_one, np.arange(3, dtype=np.int32), SMALL, "vmap", 3)
    assert len(out) == 1 and out[0].shape == (3,) and np.all(np.isfinite(out[0]))


def test_the_benchmark_row_has_its_ratios():
    row = bench.rows(3, repeats=1, config=SMALL)[0]  # chunks of 3: compiled above
    assert set(row["seconds"]) == {"kernel", "loop", "floor"}
    assert row["loop_over_kernel"] > 0 and row["kernel_over_floor"] > 0
    assert bench.n_seeds(256) == 4 and bench.n_seeds(2**18) == 256
    with pytest.raises(ValueError, match="others must name formulations among batched, "
                                         "vmap, one chunk, got 'pmap'"):
        bench.rows(3, repeats=1, config=SMALL, others=["pmap"])


# --- bad input: one line that names the value ---------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(hidden=0), "hidden must be a whole number >= 1, got 0"),
    (dict(steps=2.5), "steps must be a whole number >= 1, got 2.5"),
    (dict(batch=5000), "batch must be at most the 1,000 training rows, got 5000"),
    (dict(learning_rate=-0.1), "learning_rate must be a finite number > 0, got -0.1"),
    (dict(learning_rate=float("nan")), "learning_rate must be a finite number > 0, got nan"),
    (dict(weight_decay=-1.0), "weight_decay must be a finite number >= 0, got -1.0"),
])
def test_a_bad_config_is_named(kwargs, message):
    with pytest.raises(seeds.SeedsError, match=f"^{message}$".replace("(", r"\(")):
        seeds.Config(**kwargs)


@pytest.mark.parametrize("bad, message", [
    ([], "non-empty"), ([[1, 2]], "non-empty"), ([1.5], "whole numbers"), (["a"], "whole"),
    ([-1], "from 0 to 2,147,483,647, got -1"), ([2**31], "got 2,147,483,648"),
])
def test_bad_seeds_are_named(bad, message):
    with pytest.raises(seeds.SeedsError, match=message):
        seeds.train(bad, SMALL)


def test_bad_method_chunk_and_config_are_named():
    with pytest.raises(seeds.SeedsError, match="method must be one of loop, vmap, batched, "
                                               "got 'pmap'"):
        seeds.train([0], SMALL, method="pmap")
    with pytest.raises(seeds.SeedsError, match="chunk must be a whole number >= 1, got 0"):
        seeds.train([0], SMALL, chunk=0)
    with pytest.raises(seeds.SeedsError, match="config must be a pragmatic.seeds.Config"):
        seeds.train([0], {"hidden": 8})
    grid = {m: np.zeros((3, 10)) for m in seeds.METRICS}
    with pytest.raises(seeds.SeedsError, match="start_seed must be a pool seed, 0 to 9, got 42"):
        seeds.agent(grid, start_seed=42, base_index=1)
    with pytest.raises(seeds.SeedsError, match="select must be one of"):
        seeds.agent(grid, select="train_loss", base_index=1)


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0"], "--seeds: must be a whole number >= 1, got '0'"),
    (["--learning-rate", "-1"], "learning_rate must be a finite number > 0, got -1.0"),
    (["--method", "pmap"], "--method: invalid choice: 'pmap'"),
    (["--out", "runs.csv"], "--out must name a .npz file, got 'runs.csv'"),
    (["--first-seed", "2147483647", "--seeds", "2"], "the seeds must end at or below"),
])
def test_the_command_line_names_bad_input_in_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        seeds.main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and err.count("\n") == 1


def test_the_command_line_trains_and_saves(tmp_path):
    out = tmp_path / "runs.npz"
    done = subprocess.run([sys.executable, "-m", "pragmatic.seeds", "--seeds", "3", "--hidden",
                           "8", "--batch", "25", "--steps", "40", "--learning-rate", "0.04",
                           "--chunk", "2", "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["seeds"] == 3 and summary["config"]["hidden"] == 8
    with np.load(out) as f:
        np.testing.assert_array_equal(f["seed"], [0, 1, 2])
        assert summary["val_loss"]["mean"] == pytest.approx(f["val_loss"].mean())
    bad = subprocess.run([sys.executable, "-m", "pragmatic.seeds", "--hidden", "0"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().endswith("--hidden: must be a whole number >= 1, got '0'")


# --- the model of seed effects -------------------------------------------------------------------

@pytest.mark.parametrize("arrays, message", [
    (dict(val_loss=np.ones(5), learning_rates=[1.0], base_index=0), "val_loss must be"),
    (dict(val_loss=np.ones((2, 5)), learning_rates=[1.0, 2.0], base_index=0), "no seed spread"),
    (dict(val_loss=np.arange(10.0).reshape(2, 5), learning_rates=[1.0], base_index=0),
     "one value per configuration"),
    (dict(val_loss=np.arange(10.0).reshape(2, 5), learning_rates=[1.0, 2.0], base_index=3),
     "base_index must be from 0 to 1, got 3"),
    (dict(val_loss=np.arange(10.0).reshape(2, 5)), "lacks learning_rates, base_index"),
])
def test_the_seed_effects_model_names_a_bad_input_file(tmp_path, capsys, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(SystemExit) as exit_:
        seed_effects.main(["--in", str(path), "--out", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and err.count("\n") == 1


def test_the_seed_effects_command_line_names_a_bad_option(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        seed_effects.main(["--in", "x.npz", "--out", str(tmp_path / "o.json"), "--chains", "1"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert err.strip().endswith("--chains: must be a whole number >= 2, got 1")


def test_a_failed_sampling_process_fails_the_notebook_with_its_message():
    """start() runs the model in a fresh process; finish() raises with that process's one-line
    error (here the input has no seed spread, so it stops before importing PyMC)."""
    job = seed_effects.start(np.ones((2, 5)), [1.0, 2.0], 0)
    with pytest.raises(RuntimeError, match="exit code 2(.|\n)*no seed spread"):
        seed_effects.finish(job)


def test_the_seed_effects_model_names_a_missing_or_foreign_file(tmp_path, capsys):
    (tmp_path / "text.npz").write_text("not an archive")
    for name, message in (("nothing.npz", "no such file"), ("text.npz", "not a NumPy .npz")):
        with pytest.raises(SystemExit):
            seed_effects.main(["--in", str(tmp_path / name), "--out", str(tmp_path / "o.json")])
        assert message in capsys.readouterr().err


def test_the_integrated_seed_likelihood_is_the_multivariate_normal_density():
    """seed_loglik is the closed form of what the model integrates out: each seed's column of
    residuals normal with covariance sigma_seed^2 everywhere plus sigma[c]^2 on the diagonal
    (checked against SciPy to 1e-8). The sampling itself runs, with its convergence checks, on
    every build of the lab."""
    from scipy import stats

    rng = np.random.default_rng(1)
    r = rng.standard_normal((4, 30))
    sigma_seed, sigma = 0.8, np.array([0.3, 0.5, 0.9, 1.4])
    cov = sigma_seed**2 * np.ones((4, 4)) + np.diag(sigma**2)
    expected = stats.multivariate_normal(np.zeros(4), cov).logpdf(r.T).sum()
    got = seed_effects.seed_loglik(r, np.float64(sigma_seed), sigma)
    got = float(got.eval() if hasattr(got, "eval") else got)
    assert got == pytest.approx(expected, abs=1e-8)
