"""Plumbing around the kernel: validation, per-replication keys, chunking and exact totals.

Replication i always gets the key `fold_in(key(seed), i)`, and totals are summed in float64
over fixed blocks of replications in index order, so a result does not depend on the chunk
size. Memory is bounded by the chunk, whatever the number of replications.
"""

from __future__ import annotations

import math
import platform
import sys
from collections import defaultdict
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from .. import __version__
from .mean import DISTRIBUTIONS, PROCEDURES, Design, replicate

MAX_REPS = 2**32 - 1  # replication indices are folded into the key as uint32
BLOCK = 4096  # totals are summed per block of this many replications, in index order


class SimulationError(ValueError):
    """Bad input to the simulation engine; the message names the value and what is allowed."""


# --- validation -----------------------------------------------------------------------------

def _check(ok: bool, message: str) -> None:
    if not ok:
        raise SimulationError(message)


def resolve_params(dist: str, params: dict | None = None) -> dict:
    """The distribution's parameters: its defaults, overridden by `params`, each checked."""
    _check(dist in DISTRIBUTIONS,
           f"unknown distribution {dist!r}; allowed: {', '.join(DISTRIBUTIONS)}")
    defaults = dict(DISTRIBUTIONS[dist].defaults)
    given = {k: v for k, v in (params or {}).items() if v is not None}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise SimulationError(f"{dist} takes no parameter {unknown[0]!r}; it takes: "
                              f"{', '.join(defaults) or 'none'}")
    resolved = {**defaults, **given}
    for name, value in resolved.items():
        _check(isinstance(value, (int, float)) and math.isfinite(value),
               f"{name} must be a finite number, got {value!r}")
    if "sigma" in resolved:
        _check(0 < resolved["sigma"] <= 5, f"sigma must be in (0, 5], got {resolved['sigma']}")
    if "fraction" in resolved:
        _check(0 <= resolved["fraction"] <= 1,
               f"fraction must be in [0, 1], got {resolved['fraction']}")
    if "outlier_sd" in resolved:
        _check(resolved["outlier_sd"] > 0,
               f"outlier_sd must be positive, got {resolved['outlier_sd']}")
    return {k: float(v) for k, v in resolved.items()}


def make_design(n, level=0.95, procedures=("t", "z"), boot_reps=199) -> Design:
    _check(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 2,
           f"n must be a whole number >= 2, got {n!r}")
    _check(isinstance(level, (int, float)) and 0 < level < 1,
           f"level must be strictly between 0 and 1, got {level!r}")
    procedures = tuple(procedures)
    for p in procedures:
        _check(p in PROCEDURES, f"unknown procedure {p!r}; allowed: {', '.join(PROCEDURES)}")
    _check(len(procedures) > 0 and len(set(procedures)) == len(procedures),
           f"procedures must be a non-empty list without repeats, got {list(procedures)}")
    design = Design(int(n), float(level), procedures, int(boot_reps))
    if "boot-t" in procedures:
        _check(design.boot_rank >= 1,
               f"boot_reps={boot_reps} is too few for level {level}: need "
               f"(boot_reps + 1) * (1 - level) / 2 >= 1")
    return design


def _check_count(name, value, low, high):
    _check(isinstance(value, (int, np.integer)) and not isinstance(value, bool)
           and low <= value <= high, f"{name} must be a whole number in [{low}, {high}], got {value!r}")


# --- running ---------------------------------------------------------------------------------

@partial(jax.jit, static_argnames=("kernel", "dist", "design", "size"))
def _run_chunk(root, start, target, params, *, kernel, dist, design, size):
    """Score replications start, ..., start + size - 1 (indices wrap past 2**32 - 1; unused)."""
    index = start + jnp.arange(size, dtype=jnp.uint32)
    keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(root, index)
    score = partial(kernel, target=target, params=params, dist=dist, design=design)
    return jax.vmap(score)(keys)


def default_chunk(design: Design) -> int:
    """Replications per chunk: about 2**22 floats of intermediates, between 64 and 65,536."""
    per_rep = design.n * (design.boot_reps if "boot-t" in design.procedures else 4)
    return int(min(65_536, max(64, 2**22 // per_rep)))


class _Totals:
    """Running float64 totals of one procedure, independent of how the replications are chunked.

    Widths are summed within fixed blocks of BLOCK replications (block b holds replications
    b*BLOCK ... b*BLOCK + BLOCK - 1), and block sums are added in index order.
    """

    def __init__(self):
        self.covered = 0
        self.sums = np.zeros(2)  # sum of widths, sum of squared widths
        self._pending = np.empty(0)

    def add(self, covered: np.ndarray, width: np.ndarray) -> None:
        self.covered += int(np.count_nonzero(covered))
        w = np.concatenate([self._pending, width.astype(np.float64)])
        full = len(w) // BLOCK * BLOCK
        for block in w[:full].reshape(-1, BLOCK):
            self.sums += self._block_sums(block)
        self._pending = w[full:].copy()

    @staticmethod
    def _block_sums(block):
        block = np.array(block)  # a fresh contiguous copy: identical summation in every call
        return np.array([block.sum(), (block * block).sum()])

    def summary(self, reps: int) -> dict:
        s1, s2 = self.sums + self._block_sums(self._pending)
        coverage = self.covered / reps
        var_w = max(s2 - s1 * s1 / reps, 0.0) / (reps - 1) if reps > 1 else float("nan")
        return {
            "coverage": coverage,
            "mc_se": math.sqrt(coverage * (1 - coverage) / reps),
            "mean_width": s1 / reps,
            "width_mc_se": math.sqrt(var_w / reps),
        }


def versions() -> dict:
    import jaxlib
    return {"pragmatic": __version__, "jax": jax.__version__, "jaxlib": jaxlib.__version__,
            "numpy": np.__version__, "python": platform.python_version(),
            "backend": jax.default_backend()}


def simulate(dist: str, n: int, reps: int, seed: int, level: float = 0.95, params=None,
             procedures=("t", "z"), boot_reps: int = 199, chunk: int | None = None,
             kernel=replicate, progress: bool | None = None) -> dict:
    """Coverage and width of each interval for one distribution and one n.

    Returns the JSON object of `python -m pragmatic.sim mean --json`.
    """
    params = resolve_params(dist, params)
    design = make_design(n, level, procedures, boot_reps)
    _check_count("reps", reps, 1, MAX_REPS)
    _check_count("seed", seed, 0, 2**32 - 1)
    chunk = default_chunk(design) if chunk is None else chunk
    _check_count("chunk", chunk, 1, 2**24)
    distribution = DISTRIBUTIONS[dist]
    target = distribution.mean(params)

    root = jax.random.key(seed)
    jparams = {k: jnp.float32(v) for k, v in params.items()}
    totals = defaultdict(_Totals)  # keyed by what the kernel returns
    show = sys.stderr.isatty() if progress is None else progress
    with _progress_bar(reps, show) as bar:
        for start in range(0, reps, chunk):
            out = _run_chunk(root, jnp.uint32(start), jnp.float32(target), jparams,
                             kernel=kernel, dist=distribution, design=design, size=chunk)
            used = min(chunk, reps - start)  # the last chunk is padded to keep one compilation
            for name, (covered, width) in out.items():
                totals[name].add(np.asarray(covered)[:used], np.asarray(width)[:used])
            bar.update(used)

    return {
        "scenario": "mean", "n": design.n, "params": {"dist": dist, **params},
        "target": target, "reps": reps, "seed": seed, "level": design.level,
        "dtype": "float32", "versions": versions(),
        "results": {name: t.summary(reps) for name, t in totals.items()},
    }


def _progress_bar(total: int, show: bool):
    from tqdm import tqdm
    return tqdm(total=total, disable=not show, file=sys.stderr, unit="rep", unit_scale=True)


def run_grid(dists, ns, reps: int, seed: int, **options) -> pd.DataFrame:
    """`simulate` for every (distribution, n) pair, as one tidy table (one row per procedure)."""
    rows = []
    for dist in dists:
        for n in ns:
            rows.extend(to_rows(simulate(dist, n, reps, seed, **options)))
    return pd.DataFrame(rows)


def to_rows(result: dict) -> list[dict]:
    """Flatten one `simulate` result into one row per procedure."""
    return [{**result["params"], "n": result["n"], "procedure": name, "target": result["target"],
             "reps": result["reps"], **scores}
            for name, scores in result["results"].items()]
