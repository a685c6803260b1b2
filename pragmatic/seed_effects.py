"""A hierarchical Bayesian model of seed effects, for lab 9, run in its own process:

    python -m pragmatic.seed_effects --in runs.npz --out summary.json [--seed S] [--draws D]

The lab trains its network in JAX, and the course keeps PyMC out of its JAX notebooks (PyMC's
own sampler forks worker processes, and JAX warns that forking can deadlock), so the notebook
calls `start`, which writes the runs to a file and starts this module on it in a fresh process
without waiting, and later `finish`, which waits and reads back a small JSON summary; neither
imports PyMC. The model (`model`) is PyMC; sampling and the convergence checks are
`pragmatic.bayes` (`sample`, `check_convergence`).

The input .npz holds `val_loss`, shape (configurations, seeds): every configuration trained on
the same seeds; `learning_rates`, one per configuration; and `base_index`, the baseline's row.

The model is hierarchical in the seeds: the seed effects beta[s] are not given a prior each but
are drawn from one normal distribution whose SD, sigma_seed, is learned from the data (partial
pooling across seeds); the configurations' effects delta[c] have a fixed prior. In units of
the baseline's seed-to-seed SD (y standardised by the baseline's mean and SD, so that the
priors below are on a scale the data fix):

    y[c, s] = mu + delta[c] + beta[s] + eps[c, s]
    beta[s] ~ Normal(0, sigma_seed)      the seed's effect, shared by every configuration
    eps[c, s] ~ Normal(0, sigma[c])      what is left: the seed's effect on this configuration
    delta[c] ~ Normal(0, EFFECT_SCALE)   each configuration's effect against the baseline
                                         (delta = 0 for the baseline)
    mu ~ Normal(0, 1); sigma_seed, sigma[c] ~ HalfNormal(1)

EFFECT_SCALE = 0.5 says that a small change to a tuned recipe rarely moves the mean loss by more
than a seed SD: a regularising prior, which pulls small, noisy differences towards zero. (A
hierarchical prior on the effects, delta[c] ~ Normal(0, tau), had divergences in tau's funnel
with only four effects to learn tau from.) The seed effects are integrated out: a seed's runs of
the configurations are one draw from a multivariate normal whose covariance is sigma_seed^2
everywhere plus sigma[c]^2 on the diagonal, and its log density has a closed form
(`seed_loglik`: the Sherman-Morrison formula for the inverse, the matrix determinant lemma
for the determinant). The model is the same; the sampler explores
2C + 1 parameters for C configurations instead of one more per seed.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

EFFECT_SCALE = 0.5  # prior SD of a configuration's effect, in seed SDs
SEED = 20_260_312
DRAWS, TUNE, CHAINS = 1000, 1000, 4


class InputError(ValueError):
    """The input file is not what the model needs: one line that says why."""


def read(path: str) -> dict:
    """val_loss (configurations, seeds), learning_rates and base_index from an .npz file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--in {path!r}: no such file")
    try:
        with np.load(p) as f:
            data = {k: f[k] for k in f.files}
    except Exception as err:  # not an npz archive
        raise InputError(f"--in {path!r} is not a NumPy .npz file ({type(err).__name__})")
    missing = [k for k in ("val_loss", "learning_rates", "base_index") if k not in data]
    if missing:
        raise InputError(f"--in {path!r} lacks {', '.join(missing)}; it needs val_loss "
                         "(configurations x seeds), learning_rates and base_index")
    y = np.asarray(data["val_loss"], dtype=float)
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 3:
        raise InputError(f"val_loss must be (configurations >= 2, seeds >= 3), got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise InputError("val_loss must be finite numbers")
    lrs = np.asarray(data["learning_rates"], dtype=float).reshape(-1)
    if lrs.shape != (y.shape[0],):
        raise InputError(f"learning_rates must have one value per configuration "
                         f"({y.shape[0]}), got {lrs.size}")
    base = int(np.asarray(data["base_index"]))
    if not 0 <= base < y.shape[0]:
        raise InputError(f"base_index must be from 0 to {y.shape[0] - 1}, got {base}")
    if np.std(y[base], ddof=1) == 0:
        raise InputError("the baseline's val_loss is the same for every seed: there is no seed "
                         "spread to model")
    return {"val_loss": y, "learning_rates": lrs, "base_index": base}


def seed_loglik(r, sigma_seed, sigma):
    """Log density of the residuals r (configurations x seeds) when each seed's column is
    normal with covariance sigma_seed^2 (shared) + diag(sigma^2): with w = 1 / sigma^2 and
    a = 1 + sigma_seed^2 sum(w), the quadratic form of a column is
    sum(w r^2) - sigma_seed^2 sum(w r)^2 / a, and the log determinant sum(log sigma^2) + log a."""
    import pytensor.tensor as pt

    n_configs, n_seeds = r.shape
    w = sigma ** -2
    a = 1 + sigma_seed**2 * w.sum()
    quad = (w[:, None] * r**2).sum(axis=0) - sigma_seed**2 * (w[:, None] * r).sum(axis=0)**2 / a
    logdet = pt.log(sigma**2).sum() + pt.log(a)
    return -0.5 * (quad.sum() + n_seeds * (logdet + n_configs * math.log(2 * math.pi)))


def model(y, base_index: int, effect_scale: float = EFFECT_SCALE):
    """The PyMC model of standardised losses y (configurations x seeds), seed effects
    integrated out."""
    import pymc as pm
    import pytensor.tensor as pt

    n_configs = y.shape[0]
    others = [c for c in range(n_configs) if c != base_index]
    with pm.Model(coords={"config": np.arange(n_configs), "other": others}) as m:
        mu = pm.Normal("mu", 0.0, 1.0)
        sigma_seed = pm.HalfNormal("sigma_seed", 1.0)
        sigma = pm.HalfNormal("sigma", 1.0, dims="config")
        delta = pm.Normal("delta", 0.0, effect_scale, dims="other")
        effect = pm.Deterministic("effect", pt.concatenate(
            [delta[:base_index], pt.zeros(1), delta[base_index:]]), dims="config")
        pm.Potential("y", seed_loglik(y - (mu + effect)[:, None], sigma_seed, sigma))
    return m


def fit(data: dict, seed: int = SEED, draws: int = DRAWS, tune: int = TUNE,
        chains: int = CHAINS) -> dict:
    """Sample the model, check convergence, and summarise in loss units."""
    from .bayes import check_convergence, sample

    y, base = data["val_loss"], data["base_index"]
    centre, scale = float(y[base].mean()), float(y[base].std(ddof=1))
    t0 = time.perf_counter()
    with model((y - centre) / scale, base):
        idata = sample(seed=seed, draws=draws, tune=tune, chains=chains)
    seconds = time.perf_counter() - t0
    names = ["mu", "sigma_seed", "sigma", "delta"]
    check_convergence(idata, var_names=names)
    post = idata.posterior

    def summary(draws_, unit=scale):
        v = np.asarray(draws_).reshape(-1) * unit
        lo, hi = np.quantile(v, [0.025, 0.975])
        return {"mean": float(v.mean()), "lower": float(lo), "upper": float(hi)}

    seed_sd = post["sigma_seed"].values
    resid_sd = post["sigma"].values  # (chain, draw, config)
    shared = seed_sd[..., None] ** 2 / (seed_sd[..., None] ** 2 + resid_sd ** 2)
    effects = post["effect"].values
    base_sd = resid_sd[..., base]
    paired_sd = np.sqrt(resid_sd ** 2 + base_sd[..., None] ** 2)  # b - a on the same seed
    unpaired_sd = np.sqrt(paired_sd ** 2 + 2 * seed_sd[..., None] ** 2)  # on other seeds
    import arviz as az
    diag = az.summary(idata, var_names=names, kind="diagnostics")
    return {
        "n_configs": int(y.shape[0]), "n_seeds": int(y.shape[1]), "base_index": base,
        "learning_rates": data["learning_rates"].tolist(), "scale": scale, "centre": centre,
        "effect_scale": EFFECT_SCALE, "draws": draws, "tune": tune, "chains": chains, "seed": seed,
        "sampling_seconds": seconds,
        "max_rhat": float(diag["r_hat"].max()), "min_ess_bulk": float(diag["ess_bulk"].min()),
        "min_ess_tail": float(diag["ess_tail"].min()),
        "divergences": int(idata.sample_stats["diverging"].sum()),
        "sigma_seed": summary(seed_sd),
        "sigma": [summary(resid_sd[..., c]) for c in range(y.shape[0])],
        "shared_share": [summary(shared[..., c], 1.0) for c in range(y.shape[0])],
        "effect": [summary(effects[..., c]) for c in range(y.shape[0])],
        "paired_sd": [summary(paired_sd[..., c]) for c in range(y.shape[0])],
        "unpaired_sd": [summary(unpaired_sd[..., c]) for c in range(y.shape[0])],
        "prob_better": [float((effects[..., c] < 0).mean()) for c in range(y.shape[0])],
        "raw_difference": [float(y[c].mean() - y[base].mean()) for c in range(y.shape[0])],
    }


class Job(NamedTuple):
    process: subprocess.Popen
    folder: tempfile.TemporaryDirectory
    stderr: object


def start(val_loss, learning_rates, base_index: int, **options) -> Job:
    """Write the runs to a temporary .npz file and start `python -m pragmatic.seed_effects` on
    it in a fresh process, without waiting (options: seed, draws, tune, chains). The calling
    process never imports PyMC; `finish` collects the result."""
    folder = tempfile.TemporaryDirectory()
    d = Path(folder.name)
    np.savez(d / "runs.npz", val_loss=np.asarray(val_loss), base_index=int(base_index),
             learning_rates=np.asarray(learning_rates))
    argv = [sys.executable, "-m", "pragmatic.seed_effects", "--in", str(d / "runs.npz"),
            "--out", str(d / "summary.json")]
    for name, value in options.items():
        argv += [f"--{name}", str(value)]
    err = open(d / "stderr.txt", "w")
    return Job(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err), folder, err)


def finish(job: Job) -> dict:
    """Wait for the process `start` began and return its summary. RuntimeError, with its error
    output, if it failed (for example when sampling did not converge); anything it wrote to
    stderr on success (a warning) is passed on to this process's stderr, not hidden."""
    code = job.process.wait()
    job.stderr.close()
    d = Path(job.folder.name)
    try:
        err = (d / "stderr.txt").read_text()
        if code != 0:
            raise RuntimeError(f"the seed-effects model failed (exit code {code}):\n{err}")
        if err:
            sys.stderr.write(err)
        return json.loads((d / "summary.json").read_text())
    finally:
        job.folder.cleanup()


def main(argv=None) -> int:
    from .cli import OneLineParser  # not pragmatic.sim.cli: that would load JAX in this process
    p = OneLineParser(prog="python -m pragmatic.seed_effects",
                      description="Fit the hierarchical model of seed effects to lab 9's runs "
                                  "and write a JSON summary.")
    p.add_argument("--in", dest="inp", required=True, help="an .npz file of runs (see above)")
    p.add_argument("--out", required=True, help="where to write the JSON summary")
    lows = {"seed": 0, "draws": 100, "tune": 100, "chains": 2}
    for name in lows:
        p.add_argument(f"--{name}", type=int, default=globals()[name.upper()])
    args = p.parse_args(argv)
    for name, low in lows.items():
        if getattr(args, name) < low:
            p.error(f"--{name}: must be a whole number >= {low}, got {getattr(args, name)}")
    try:
        data = read(args.inp)
    except InputError as err:
        p.error(str(err))
    out = Path(args.out)
    if not out.parent.is_dir():
        p.error(f"--out {args.out!r}: the folder {str(out.parent)!r} does not exist")
    result = fit(data, args.seed, args.draws, args.tune, args.chains)
    out.write_text(json.dumps(result, indent=2, allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
