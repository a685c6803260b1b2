"""Shared kernel code of the conjugate scenarios (lab 5): the truth, drawn from the prior or
fixed, and the equal-tailed posterior intervals of a location (a mean or a slope) under two
conjugate priors, beside their frequentist twins.

The prior, in units of the noise sd sigma: theta | sigma ~ N(prior_mean, sigma^2 prior_sd^2),
and, where sigma is unknown, sigma^2 ~ scaled-inverse-chi^2(prior_df, 1) (normal-inverse-gamma).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from . import Param, Scenario
from ..engine import SimulationError


def replicate(key, target, params, *, dist, design, statistics, rows):
    """One replication: every random number it needs in one call; (theta, sigma) from the prior
    or fixed; the data, summarised by `statistics` from `rows` rows of n normals; and each
    interval scored against this replication's own theta."""
    n, nu0 = design["n"], design["prior_df"]
    z = jax.random.normal(key, (nu0 + 1 + rows * n,))
    theta, sigma = truth(z[:nu0 + 1], target, params)
    summary = statistics(z[nu0 + 1:].reshape(rows, n), theta, sigma, params)
    # Scored from centre and half-width, so the width (2 x half) does not carry the centre's
    # last-bit rounding, which XLA may compile differently on one device and on several.
    return {name: (centre + half < theta, centre - half > theta, 2 * half, False)
            for name, (centre, half) in centred_intervals(*summary, sigma, params,
                                                          design).items()}


def truth(z, target, params):
    """(theta, sigma): drawn from the prior when from_prior = 1, from nu0 + 1 standard normals
    z (nu0 = prior_df); otherwise (target, 1)."""
    nu0 = z.shape[0] - 1
    sigma = jnp.sqrt(nu0 / jnp.sum(z[:nu0] ** 2))  # sigma^2 ~ scaled-inverse-chi^2(nu0, 1)
    theta = params["prior_mean"] + sigma * params["prior_sd"] * z[nu0]
    drawn = params["from_prior"] == 1
    return jnp.where(drawn, theta, target), jnp.where(drawn, sigma, 1.0)


def posterior_intervals(estimate, information, rss, dof, sigma, params, design) -> dict:
    """{procedure: (lower, upper)}: `centred_intervals` as ends."""
    return {name: (centre - half, centre + half) for name, (centre, half)
            in centred_intervals(estimate, information, rss, dof, sigma, params, design).items()}


def centred_intervals(estimate, information, rss, dof, sigma, params, design) -> dict:
    """{procedure: (centre, half-width)} for a location whose least-squares estimate has variance
    sigma^2 / information (information = n for a mean, S_xx for a slope), with residual sum of
    squares rss on dof degrees of freedom (n - 1 for a mean, n - 2 for a slope).

    bayes-known: sigma known, theta ~ N(m0, sigma^2 / k0) with k0 = 1 / prior_sd^2: the
        posterior is N(centre, sigma^2 / (k0 + information)).  Twin: z, the flat-prior limit.
    bayes-nig: sigma unknown, normal-inverse-gamma prior: the posterior of theta is Student t
        on prior_df + dof + 1 degrees of freedom.  Twin: t, the classical interval, which is the
        posterior under p(theta, log sigma) = const.
    """
    k0, m0, nu0 = 1 / params["prior_sd"] ** 2, params["prior_mean"], design["prior_df"]
    kn = k0 + information                            # the prior adds k0 to the information
    centre = (k0 * m0 + information * estimate) / kn  # shrunk towards the prior mean
    nun = nu0 + dof + 1
    s2n = (nu0 + rss + k0 * information / kn * (estimate - m0) ** 2) / nun
    half = {"bayes-known": lambda: design.z_crit * sigma / jnp.sqrt(kn),
            "z": lambda: design.z_crit * sigma / jnp.sqrt(information),
            "bayes-nig": lambda: design.t_crit(nun) * jnp.sqrt(s2n / kn),
            "t": lambda: design.t_crit(dof) * jnp.sqrt(rss / dof / information)}
    mid = {"bayes-known": centre, "bayes-nig": centre, "z": estimate, "t": estimate}
    return {name: (mid[name], half[name]()) for name in design.procedures}


PROCEDURES = ("bayes-known", "z", "bayes-nig", "t")

PRIOR_PARAMS = (
    Param("prior_mean", "m0: the prior's mean for the target", default=0.0, low=-1e6,
          high=1e6),
    Param("prior_sd", "tau: the prior's sd for the target, in units of sigma (the prior is "
          "worth 1/tau^2 units of information)", default=1.0, low=0, low_open=True, high=1e6),
    Param("prior_df", "nu0: degrees of freedom of the prior on sigma^2, scaled-inverse-chi^2 "
          "(nu0, 1)", default=10, whole=True, low=1),
    Param("from_prior", "1: draw (theta, sigma) from the prior in every replication and score "
          "against that theta; 0: theta fixed, sigma = 1", default=0, low=0, high=1),
)


def check(p: dict) -> None:
    if p["from_prior"] not in (0, 1):
        raise SimulationError(f"from_prior must be 0 or 1, got {p['from_prior']:g}")


def scenario(name: str, description: str, size: Param, truth_param: Param, knobs: tuple,
             statistics, rows: int) -> Scenario:
    """A conjugate scenario: its size, its fixed truth, the prior's parameters and the knobs that
    break the likelihood; `statistics` summarises `rows` rows of n standard normals."""
    return Scenario(
        name=name, description=description, params=(size, truth_param, *PRIOR_PARAMS, *knobs),
        procedures=PROCEDURES, replicate=partial(replicate, statistics=statistics, rows=rows),
        target=lambda p: p["prior_mean"] if p["from_prior"] else p[truth_param.name],
        observations=lambda p: p["n"], check=check)
