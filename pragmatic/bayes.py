"""Sampling for the chapters: one sampler, quiet pages, and checks that fail the build.

    from pragmatic.bayes import sample, check_convergence, equal_tailed

    with model:
        idata = sample(seed=SEED)
    check_convergence(idata)                 # AssertionError naming the parameter that failed
    ends, mcse = equal_tailed(idata, "slope")

`sample` calls `pm.sample` with the sampler chosen by measurement in `python -m
pragmatic.bench_samplers` (`make bench-samplers`; the README has the table): nutpie, fastest from
a cold start on the chapters' models, with the same posterior as PyMC's own sampler and NumPyro
within Monte Carlo error. It runs the chains in threads, so it is also safe where JAX is loaded.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytensor

# PyTensor looks for a system BLAS to link its C code against. A pip install has none it can
# link (NumPy's OpenBLAS has renamed symbols), so it warns on every page. Saying so up front
# stops the search and the warning; matrix products then go through NumPy, which uses its own
# OpenBLAS anyway.
pytensor.config.blas__ldflags = ""

# ArviZ 0.23 announces its 1.0 refactor with a FutureWarning on import. We pin 0.23 on purpose
# (Python 3.11), so only that message is filtered.
warnings.filterwarnings("ignore", message="\nArviZ is undergoing", category=FutureWarning)

import arviz as az  # noqa: E402  (after the filter above)
import pymc as pm  # noqa: E402

# No sampler progress messages on the page; PyMC's warnings still show.
logging.getLogger("pymc").setLevel(logging.WARNING)

SAMPLER = "nutpie"
DRAWS, TUNE, CHAINS = 2000, 1000, 4
RHAT_MAX, ESS_MIN = 1.01, 400


def sample(model: pm.Model | None = None, *, seed: int, draws: int = DRAWS, tune: int = TUNE,
           chains: int = CHAINS, sampler: str = SAMPLER, **kwargs) -> az.InferenceData:
    """Posterior draws by NUTS: `chains` chains of `draws` after `tune` warm-up steps, seeded."""
    return pm.sample(draws=draws, tune=tune, chains=chains, model=model, random_seed=seed,
                     nuts_sampler=sampler, progressbar=False, **kwargs)


def check_convergence(idata: az.InferenceData, var_names=None, rhat_max: float = RHAT_MAX,
                      ess_min: float = ESS_MIN) -> None:
    """Fail unless every parameter's R-hat < rhat_max and bulk and tail ESS > ess_min.

    These are the thresholds Vehtari et al. (2021) recommend: R-hat below 1.01 over at least
    four chains, and an effective sample size of a few hundred before quantiles are trusted.
    """
    d = az.summary(idata, var_names=var_names, kind="diagnostics")
    bad = d[(d["r_hat"] >= rhat_max) | (d["ess_bulk"] <= ess_min) | (d["ess_tail"] <= ess_min)]
    assert bad.empty, (f"sampling did not converge (need r_hat < {rhat_max}, ESS > {ess_min}):\n"
                       f"{bad[['r_hat', 'ess_bulk', 'ess_tail']]}")
    divergent = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    assert divergent == 0, f"{divergent} divergent transitions: the posterior was not explored"


def equal_tailed(idata: az.InferenceData, var: str, prob: float = 0.95, group: str = "posterior",
                 **sel):
    """The equal-tailed interval of a scalar's draws, and the Monte Carlo SE of each end.

    `sel` picks one element of a vector parameter, for example `equal_tailed(idata, "beta",
    beta_dim_0=1)`.
    """
    draws = getattr(idata, group)[var].sel(**sel)
    if draws.shape[2:]:
        raise ValueError(f"{var} has shape {draws.shape[2:]} per draw; pick one element with sel")
    tails = [(1 - prob) / 2, (1 + prob) / 2]
    ends = np.quantile(draws.values, tails)
    mcse = np.array([float(az.mcse(draws.values, method="quantile", prob=p)) for p in tails])
    return ends, mcse
