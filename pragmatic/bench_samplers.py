"""Sampler benchmark: `python -m pragmatic.bench_samplers [--json] [--repeats K]`.

Which NUTS sampler should `pragmatic.bayes.sample` hand to `pm.sample`: PyMC's own ("pymc",
chains in two worker processes), nutpie (chains in Rust threads) or NumPyro on JAX? This module
measures it on three small models written like the Part I chapters' (see MODELS):

- best:    BEST-style two groups with Student t errors, penguins body mass, Adelie v Chinstrap;
- engel:   normal regression of food expenditure on income whose log sigma is linear in log income;
- randhie: negative-binomial regression of doctor visits on three covariates (1,000 rows drawn
           once with seed 0 from the 20,190; with 5,000, one run of one sampler took 40-80 s).

Every (model, sampler) run happens in a fresh Python process, so the first call pays for
compilation honestly (on-disk compile caches are whatever earlier runs left, as on a page build).
In each process it times the first `pm.sample` call (cold: compile plus sampling) and a second,
identical call (warm), then runs `pm.sample_posterior_predictive` and counts what went to stderr.
Repeats are interleaved across samplers (round 1: every sampler once, then round 2, ...) and the
table reports medians. ESS/s is the smallest bulk ESS over all parameters divided by the warm
time. Agreement: for each parameter, |mean_a - mean_b| / sqrt(mcse_a^2 + mcse_b^2) against
nutpie's run; the sampler agrees if the largest such gap is below 4. Ratios, not seconds, are
what carry across machines.

NumPyro runs its chains in one of two ways: "vectorized" (jax.vmap, one process, one device) or
"parallel" (jax.pmap, one XLA host device per chain; this module sets
XLA_FLAGS=--xla_force_host_platform_device_count=CHAINS in that child only). On a 2-core
machine "vectorized" was not sane: 3.7 times slower than "parallel" warm on engel with 2 chains
of 200, and one randhie run (4 x 3000 steps, 5,000 rows) had not finished after 230 s where
"parallel" took 95 s. So it is left out by default; `--sampler numpyro-vectorized` measures it.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time

SEED = 20261129
DRAWS, TUNE, CHAINS = 2000, 1000, 4
AGREE_MAX = 4.0              # the largest standardized gap allowed, in combined MCSEs
SAMPLERS = ("pymc", "nutpie", "numpyro-parallel", "numpyro-vectorized")
DEFAULT_SAMPLERS = ("pymc", "nutpie", "numpyro-parallel")   # vectorized: see the docstring
PPC_DRAWS = 100              # posterior predictive from the first draws of each chain
MODELS = ("best", "engel", "randhie")
RANDHIE_ROWS = 1000
REFERENCE = "nutpie"


# ----------------------------------------------------------------------------------------------
# The models (built in the child process, after pragmatic.bayes has set up PyTensor).

def build_model(name: str):
    import numpy as np
    import pymc as pm

    from .data import load

    if name == "best":
        df = load("penguins").dropna(subset=["body_mass_g"])
        df = df[df["species"].isin(["Adelie", "Chinstrap"])]
        groups = ["Adelie", "Chinstrap"]
        g = df["species"].map({s: i for i, s in enumerate(groups)}).to_numpy()
        y = df["body_mass_g"].to_numpy() / 1000          # kg
        m, s = y.mean(), y.std()
        with pm.Model(coords={"species": groups}) as model:
            mu = pm.Normal("mu", mu=m, sigma=10 * s, dims="species")
            sigma = pm.HalfNormal("sigma", sigma=10 * s, dims="species")
            nu_minus_one = pm.Exponential("nu_minus_one", lam=1 / 29)   # Kruschke (2013)
            pm.StudentT("y", nu=nu_minus_one + 1, mu=mu[g], sigma=sigma[g], observed=y)
            pm.Deterministic("difference", mu[1] - mu[0])
        return model

    if name == "engel":
        df = load("engel")
        x = df["income"].to_numpy() / 1000               # thousands of Belgian francs
        y = df["foodexp"].to_numpy() / 1000
        with pm.Model() as model:
            intercept = pm.Normal("intercept", mu=0, sigma=10)
            slope = pm.Normal("slope", mu=0, sigma=10)
            log_sigma_0 = pm.Normal("log_sigma_0", mu=0, sigma=5)   # log sigma at income 1
            log_sigma_slope = pm.Normal("log_sigma_slope", mu=0, sigma=2)
            sigma = pm.math.exp(log_sigma_0 + log_sigma_slope * np.log(x))
            pm.Normal("y", mu=intercept + slope * x, sigma=sigma, observed=y)
        return model

    if name == "randhie":
        df = load("randhie")
        rows = np.random.default_rng(0).choice(len(df), size=RANDHIE_ROWS, replace=False)
        df = df.iloc[np.sort(rows)]
        covariates = ["lncoins", "idp", "physlm"]
        X = df[covariates].to_numpy()
        with pm.Model(coords={"covariate": covariates}) as model:
            intercept = pm.Normal("intercept", mu=0, sigma=5)
            beta = pm.Normal("beta", mu=0, sigma=1, dims="covariate")
            alpha = pm.HalfNormal("alpha", sigma=5)                 # NB shape (overdispersion)
            pm.NegativeBinomial("mdvis", mu=pm.math.exp(intercept + X @ beta), alpha=alpha,
                                observed=df["mdvis"].to_numpy())
        return model

    raise ValueError(f"unknown model {name!r}; allowed: {', '.join(MODELS)}")


# ----------------------------------------------------------------------------------------------
# Posterior summaries and the agreement check (pure functions; tested directly).

def summarize(idata) -> dict:
    """Per scalar parameter (vectors flattened as name[i]): mean, MCSE of the mean, bulk ESS, R-hat."""
    import arviz as az

    post = idata.posterior
    mean = post.mean(("chain", "draw"))
    mcse = az.mcse(post, method="mean")
    ess = az.ess(post, method="bulk")
    rhat = az.rhat(post)
    out = {}
    for var in post.data_vars:
        if var.endswith("__"):
            continue  # nutpie also stores the unconstrained values (sigma_log__): not compared
        vals = [a[var].values.ravel() for a in (mean, mcse, ess, rhat)]
        shape = post[var].shape[2:]
        for i in range(len(vals[0])):
            key = var if not shape else f"{var}[{i}]"
            out[key] = {k: float(v[i]) for k, v in zip(("mean", "mcse", "ess_bulk", "r_hat"), vals)}
    return out


def agreement(a: dict, b: dict) -> dict:
    """The standardized gap |mean_a - mean_b| / sqrt(mcse_a^2 + mcse_b^2) per shared parameter.

    Returns {"gaps": {param: gap}, "max_gap": float, "worst": param, "agree": max_gap < AGREE_MAX}.
    Parameters present in only one summary are an error: the runs must be of the same model.
    """
    if set(a) != set(b):
        raise ValueError(f"different parameters: {sorted(set(a) ^ set(b))}")
    gaps = {k: abs(a[k]["mean"] - b[k]["mean"]) / (a[k]["mcse"] ** 2 + b[k]["mcse"] ** 2) ** 0.5
            for k in a}
    worst = max(gaps, key=gaps.get)
    return {"gaps": gaps, "max_gap": gaps[worst], "worst": worst, "agree": gaps[worst] < AGREE_MAX}


# ----------------------------------------------------------------------------------------------
# One run, in its own process.

def _sample_kwargs(sampler: str) -> dict:
    if sampler == "pymc":
        return {"sampler": "pymc", "cores": 2}
    if sampler == "nutpie":
        return {"sampler": "nutpie"}
    if sampler.startswith("numpyro-"):
        return {"sampler": "numpyro",
                "nuts_sampler_kwargs": {"chain_method": sampler.split("-", 1)[1]}}
    raise ValueError(f"unknown sampler {sampler!r}; allowed: {', '.join(SAMPLERS)}")


class _Stderr:
    """Capture what is written to file descriptor 2 (Python, C, Rust and XLA alike)."""

    def __enter__(self):
        import tempfile
        sys.stderr.flush()
        self.file = tempfile.TemporaryFile()
        self.saved = os.dup(2)
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.file.seek(0)
        self.text = self.file.read().decode(errors="replace")
        self.file.close()


def _threads() -> int:
    return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else -1


def child(model_name: str, sampler: str, draws: int, tune: int, chains: int) -> dict:
    """Build the model, sample twice (cold, warm), check posterior predictive; return a record."""
    stderr = {}
    t0 = time.perf_counter()
    with _Stderr() as err:
        from . import bayes  # first: it sets pytensor.config.blas__ldflags
        import pymc as pm
        model = build_model(model_name)
    setup = time.perf_counter() - t0
    stderr["import"] = err.text
    kwargs = _sample_kwargs(sampler)
    seconds = {}
    for call in ("cold", "warm"):
        with _Stderr() as err:
            t0 = time.perf_counter()
            idata = bayes.sample(model, seed=SEED, draws=draws, tune=tune, chains=chains, **kwargs)
            seconds[call] = time.perf_counter() - t0
        stderr[call] = err.text
    threads_after = _threads()
    with _Stderr() as err:
        t0 = time.perf_counter()
        with model:
            ppc = pm.sample_posterior_predictive(idata.isel(draw=slice(0, PPC_DRAWS)),
                                                 random_seed=SEED, progressbar=False)
        seconds["ppc"] = time.perf_counter() - t0
    stderr["ppc"] = err.text
    obs = list(ppc.posterior_predictive.data_vars)
    summary = summarize(idata)
    stats = idata.sample_stats
    return {
        "model": model_name, "sampler": sampler, "draws": draws, "tune": tune, "chains": chains,
        "seconds": {"setup": setup, **seconds},
        "library_sampling_time": float(idata.posterior.attrs.get("sampling_time", float("nan"))),
        "min_ess_bulk": min(v["ess_bulk"] for v in summary.values()),
        "max_r_hat": max(v["r_hat"] for v in summary.values()),
        "divergences": int(stats["diverging"].sum()) if "diverging" in stats else -1,
        "ppc_ok": bool(obs) and ppc.posterior_predictive[obs[0]].shape[:2] == (chains, min(draws, PPC_DRAWS)),
        "threads_after_sampling": threads_after,
        "stderr": stderr,
        "summary": summary,
    }


def run_child(model_name: str, sampler: str, draws: int, tune: int, chains: int,
              timeout: float = 600) -> dict:
    """`child` in a fresh interpreter; its JSON is the last line of its stdout."""
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    if sampler == "numpyro-parallel":
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={chains}"
    cmd = [sys.executable, "-m", "pragmatic.bench_samplers", "--child", model_name, sampler,
           "--draws", str(draws), "--tune", str(tune), "--chains", str(chains)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{model_name}/{sampler} failed (exit {out.returncode}):\n"
                           f"{out.stderr[-3000:]}")
    record = json.loads(out.stdout.strip().splitlines()[-1])
    record["seconds"]["process"] = wall
    record["stderr"]["uncaptured"] = out.stderr
    return record


# ----------------------------------------------------------------------------------------------
# The benchmark: interleaved repeats, medians, agreement with the reference.

def run(models=MODELS, samplers=DEFAULT_SAMPLERS, repeats: int = 2, draws: int = DRAWS, tune: int = TUNE,
        chains: int = CHAINS, log=None) -> list[dict]:
    records = {(m, s): [] for m in models for s in samplers}
    for r in range(repeats):
        for m in models:
            # Rotate the order each round so no sampler always runs first (or after the same one).
            order = list(samplers[r % len(samplers):]) + list(samplers[:r % len(samplers)])
            for s in order:
                rec = run_child(m, s, draws, tune, chains)
                records[m, s].append(rec)
                if log:
                    log(f"round {r + 1}/{repeats} {m:<8} {s:<19} cold {rec['seconds']['cold']:6.2f} s"
                        f"  warm {rec['seconds']['warm']:6.2f} s")
    rows = []
    for m in models:
        ref = records[m, REFERENCE][0]["summary"] if (m, REFERENCE) in records else None
        for s in samplers:
            recs = records[m, s]
            med = lambda f: statistics.median(f(x) for x in recs)
            warm = med(lambda x: x["seconds"]["warm"])
            row = {
                "model": m, "sampler": s, "repeats": len(recs),
                "draws": draws, "tune": tune, "chains": chains,
                "cold_s": med(lambda x: x["seconds"]["cold"]),
                "warm_s": warm,
                "setup_s": med(lambda x: x["seconds"]["setup"]),
                "process_s": med(lambda x: x["seconds"]["process"]),
                "ppc_s": med(lambda x: x["seconds"]["ppc"]),
                "min_ess_bulk": med(lambda x: x["min_ess_bulk"]),
                "ess_per_s": med(lambda x: x["min_ess_bulk"] / x["seconds"]["warm"]),
                "max_r_hat": max(x["max_r_hat"] for x in recs),
                "divergences": max(x["divergences"] for x in recs),
                "ppc_ok": all(x["ppc_ok"] for x in recs),
                "threads_after_sampling": max(x["threads_after_sampling"] for x in recs),
                "stderr_chars": {k: max(len(x["stderr"][k]) for x in recs)
                                 for k in recs[0]["stderr"]},
                "stderr_sample": next((x["stderr"][k][:400] for x in recs for k in ("cold", "warm", "ppc")
                                       if x["stderr"][k].strip()), ""),
                "summary": recs[0]["summary"],
            }
            if ref is not None:
                try:
                    agree = agreement(recs[0]["summary"], ref)
                except ValueError as e:  # keep the timings even if the comparison is impossible
                    agree = {"max_gap": float("nan"), "worst": str(e), "agree": False}
                row["max_gap_vs_" + REFERENCE] = agree["max_gap"]
                row["worst_parameter"] = agree["worst"]
                row["agrees"] = agree["agree"]
            rows.append(row)
        base = [r for r in rows if r["model"] == m and r["sampler"] == REFERENCE]
        for r in rows:
            if r["model"] == m and base:
                r["cold_vs_" + REFERENCE] = r["cold_s"] / base[0]["cold_s"]
                r["warm_vs_" + REFERENCE] = r["warm_s"] / base[0]["warm_s"]
    return rows


def machine() -> dict:
    from importlib.metadata import version
    pkgs = ("pymc", "pytensor", "nutpie", "numpyro", "jax", "arviz", "numba")
    return {**{p: version(p) for p in pkgs}, "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "machine": platform.machine()}


def format_table(rows: list[dict]) -> str:
    r0 = rows[0]
    lines = [f"chains={r0['chains']} draws={r0['draws']} tune={r0['tune']}, medians of "
             f"{r0['repeats']} interleaved repeats, one fresh process per run; {machine()}",
             f"{'model':<8} {'sampler':<19} {'cold s':>7} {'warm s':>7} {'cold/nutpie':>11} "
             f"{'warm/nutpie':>11} {'ESS/s':>7} {'minESS':>7} {'max R-hat':>9} {'div':>4} "
             f"{'gap vs nutpie':>13} {'agree':>5} {'stderr':>6} {'ppc':>4}"]
    for r in rows:
        err = r["stderr_chars"]["cold"] + r["stderr_chars"]["warm"] + r["stderr_chars"]["ppc"]
        lines.append(
            f"{r['model']:<8} {r['sampler']:<19} {r['cold_s']:>7.2f} {r['warm_s']:>7.2f} "
            f"{r.get('cold_vs_nutpie', float('nan')):>11.2f} {r.get('warm_vs_nutpie', float('nan')):>11.2f} "
            f"{r['ess_per_s']:>7.0f} {r['min_ess_bulk']:>7.0f} {r['max_r_hat']:>9.4f} "
            f"{r['divergences']:>4} {r.get('max_gap_vs_nutpie', float('nan')):>13.2f} "
            f"{'yes' if r.get('agrees') else 'NO':>5} {err:>6} {'ok' if r['ppc_ok'] else 'FAIL':>4}")
    lines.append(f"gap vs nutpie: largest |mean difference| / combined MCSE over parameters "
                 f"(agree if < {AGREE_MAX:g}); stderr: characters written during sampling and "
                 f"posterior predictive; ppc: pm.sample_posterior_predictive afterwards")
    return "\n".join(lines)


def _child_main(argv) -> int:
    """`--child MODEL SAMPLER ...`: one run, JSON on the last line of stdout.

    Parsed without pragmatic.sim (which imports JAX): only the NumPyro runs should load JAX, and
    PyMC's own sampler forks its workers, which a process that has started JAX warns about.
    """
    import argparse
    p = argparse.ArgumentParser(prog="python -m pragmatic.bench_samplers --child")
    p.add_argument("--child", nargs=2, required=True)
    for opt in ("--draws", "--tune", "--chains"):
        p.add_argument(opt, type=int, required=True)
    args = p.parse_args(argv)
    m, s = args.child
    print(json.dumps(child(m, s, args.draws, args.tune, args.chains)))
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--child"]:
        return _child_main(argv)
    from .sim.cli import OneLineParser, _whole  # imports JAX: not in the child runs
    from .bench.report import print_rows
    parser = OneLineParser(prog="python -m pragmatic.bench_samplers", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per row")
    parser.add_argument("--repeats", type=_whole(1), default=2,
                        help="fresh-process runs per model and sampler (median; default 2)")
    parser.add_argument("--model", action="append", choices=MODELS,
                        help="only these models (repeatable; default all)")
    parser.add_argument("--sampler", action="append", choices=SAMPLERS,
                        help="only these samplers (repeatable; default all but numpyro-vectorized; "
                             "nutpie, the reference, always runs)")
    parser.add_argument("--draws", type=_whole(10), default=DRAWS, help=f"default {DRAWS}")
    parser.add_argument("--tune", type=_whole(10), default=TUNE, help=f"default {TUNE}")
    parser.add_argument("--chains", type=_whole(2), default=CHAINS, help=f"default {CHAINS}")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    samplers = tuple(dict.fromkeys(args.sampler or DEFAULT_SAMPLERS))
    if REFERENCE not in samplers:
        samplers = (REFERENCE, *samplers)
    log = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    rows = run(models=tuple(args.model or MODELS), samplers=samplers, repeats=args.repeats,
               draws=args.draws, tune=args.tune, chains=args.chains, log=log)
    return print_rows(rows, args.json, format_table, machine())


if __name__ == "__main__":
    sys.exit(main())
