"""Plumbing around the kernel: validation, per-replication keys, chunking, devices and exact totals.

Replication i always gets the key `fold_in(key(seed), i)`; counts are integers, width totals
are summed in float64 over fixed blocks of replications in index order, and width quantiles
come from integer counts in a fixed histogram, so a result does not depend on the chunk size.
Each chunk is sharded over the devices (`jax.shard_map` over a 1-D mesh, one contiguous range
of replication indices per device), so on one platform it does not depend on the number of
devices either. Memory is bounded by the chunk, whatever the number of replications.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import sys
from collections import defaultdict
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .. import __version__

# Compiling a kernel costs seconds, once per distribution, size and procedure set: most of a
# lab's first run on 2 cores. Compiled kernels persist on disk, so a re-run of a notebook, the
# test suite after the book, or the command line after the lab, compiles nothing twice. The
# same compiled code runs either way. JAX_COMPILATION_CACHE_DIR overrides the folder.
if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    _cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    jax.config.update("jax_compilation_cache_dir", os.path.join(_cache, "assumptions-first", "jax"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
from .mean import DISTRIBUTIONS, PROCEDURES, Design, replicate

MAX_REPS = 2**32 - 1  # replication indices are folded into the key as uint32
BLOCK = 4096  # totals are summed per block of this many replications, in index order
VMAP_WIDTH = 256  # registered scenarios vmap this many replications at a time (see run_replications)
AXIS = "reps"  # the one axis of the device mesh: replications

# Width quantiles are read off a fixed histogram of log10(width): 1000 bins per decade from
# 1e-12 to 1e12. Bin j (1 ... N_BINS) holds widths in (10^(-12 + (j-1)/1000), 10^(-12 + j/1000)];
# bin 0 holds widths <= 1e-12 (zero included) and bin N_BINS + 1 those above 1e12.
BINS_PER_DECADE, LOG10_LOW, LOG10_HIGH = 1000, -12, 12
N_BINS = (LOG10_HIGH - LOG10_LOW) * BINS_PER_DECADE
# A quantile is reported as its bin's geometric midpoint: within this relative error of the
# empirical quantile.
WIDTH_QUANTILE_REL_RESOLUTION = round(10 ** (0.5 / BINS_PER_DECADE) - 1, 5)  # 0.00115


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
    procedures = _check_level_and_procedures(level, procedures, PROCEDURES)
    design = Design(int(n), float(level), procedures, int(boot_reps))
    _check(not ("boot-t" in procedures and n < 3),
           "boot-t is undefined at n = 2: every resample with spread has mean x-bar, so t* = 0 "
           "and the interval is the single point x-bar; use n >= 3")
    if design.bootstraps:
        _check(design.boot_rank >= 1,
               f"boot_reps={boot_reps} is too few for level {level}: need "
               f"(boot_reps + 1) * (1 - level) / 2 >= 1")
    return design


def _check_count(name, value, low, high):
    _check(isinstance(value, (int, np.integer)) and not isinstance(value, bool)
           and low <= value <= high, f"{name} must be a whole number in [{low}, {high}], got {value!r}")


# --- running ---------------------------------------------------------------------------------

def resolve_devices(devices=None) -> tuple:
    """The devices to shard replications over.

    None: every local device of the default backend; a whole number N: the first N of them;
    or a list of devices of one platform, e.g. `jax.devices("cpu")`, to run on a backend other
    than the default.
    """
    local = jax.local_devices()
    if devices is None:
        return tuple(local)
    if isinstance(devices, (int, np.integer)) or not hasattr(devices, "__iter__"):
        _check(isinstance(devices, (int, np.integer)) and not isinstance(devices, bool)
               and 1 <= devices <= len(local),
               f"devices must be a whole number in [1, {len(local)}] ({len(local)} local "
               f"{local[0].platform} device{'s' * (len(local) > 1)} present), got {devices!r}")
        return tuple(local[:int(devices)])
    devices = tuple(devices)
    _check(len(devices) > 0 and all(isinstance(d, jax.Device) for d in devices)
           and len(set(devices)) == len(devices) and len({d.platform for d in devices}) == 1,
           f"devices must be a whole number or a non-empty list of distinct devices of one "
           f"platform, got {devices!r}")
    return devices


@lru_cache(maxsize=None)
def _mesh(devices: tuple) -> Mesh:
    return Mesh(np.array(devices, dtype=object), (AXIS,))


def _shard_map(f, mesh: Mesh):
    """f mapped over the mesh: every argument replicated, every output split along AXIS.

    `jax.shard_map` where JAX has it (0.7 on), else its experimental predecessor. Its checks
    of replication are off where it has them: no output is meant to be replicated, and a
    kernel with a `lax.scan` started from a constant would trip them for nothing (today's
    kernels pass them too).
    """
    spec = dict(mesh=mesh, in_specs=PartitionSpec(), out_specs=PartitionSpec(AXIS))
    if hasattr(jax, "shard_map"):
        try:
            return jax.shard_map(f, check_vma=False, **spec)
        except TypeError:  # a JAX whose shard_map has no check_vma
            return jax.shard_map(f, **spec)
    from jax.experimental.shard_map import shard_map
    return shard_map(f, check_rep=False, **spec)


@partial(jax.jit, static_argnames=("kernel", "dist", "design", "size", "width", "mesh"))
def _run_chunk(root, start, target, params, *, kernel, dist, design, size, mesh, width=None):
    """Score replications start, ..., start + size - 1 (indices wrap past 2**32 - 1; unused).

    Device d of the mesh scores the d-th of its `mesh.size` equal, contiguous parts. With
    `width`, each device scores its replications `width` at a time in a loop (its part must be
    a multiple of it), so the compiled arithmetic of a replication is the same for every size
    and number of devices.
    """
    part = size // mesh.size

    def shard(root, start, target, params):
        first = start + jnp.uint32(part) * jax.lax.axis_index(AXIS).astype(jnp.uint32)
        index = first + jnp.arange(part, dtype=jnp.uint32)
        score = partial(kernel, target=target, params=params, dist=dist, design=design)

        def run(index):
            return jax.vmap(score)(jax.vmap(jax.random.fold_in, in_axes=(None, 0))(root, index))

        if width is None:
            return run(index)
        out = jax.lax.map(run, index.reshape(-1, width))
        return jax.tree_util.tree_map(lambda v: v.reshape(part, *v.shape[2:]), out)

    return _shard_map(shard, mesh)(root, start, target, params)


def default_chunk(design: Design) -> int:
    """Replications per chunk: about 2**22 floats of intermediates, between 64 and 65,536."""
    per_rep = design.n * (design.boot_reps if design.bootstraps else 4)
    return int(min(65_536, max(64, 2**22 // per_rep)))


def width_bins(width) -> np.ndarray:
    """The histogram bin of each width (see N_BINS), from log10 in float64."""
    # Widths <= 1e-12 (0 included; NaN too, by fmax) land at position <= 0: the underflow bin.
    w = np.fmax(np.asarray(width, dtype=np.float64), 10.0 ** (LOG10_LOW - 1))
    position = np.ceil((np.log10(w) - LOG10_LOW) * BINS_PER_DECADE)
    return np.clip(position, 0, N_BINS + 1, out=position).astype(np.int64)


def width_quantile(histogram: np.ndarray, q: float) -> float | None:
    """The geometric midpoint of the first bin whose cumulative count reaches q * R.

    None when that is the underflow or overflow bin, which have no midpoint.
    """
    b = int(np.searchsorted(np.cumsum(histogram), q * histogram.sum()))  # side="left": first >=
    if not 1 <= b <= N_BINS:
        return None
    return 10 ** (LOG10_LOW + (b - 0.5) / BINS_PER_DECADE)


def _finite(x: float) -> float | None:
    """x, or None where it is not a finite number: JSON has no NaN or infinity."""
    return x if math.isfinite(x) else None


class _BlockSums:
    """Sums of x and x^2 in float64, independent of how the replications are chunked.

    Values are summed within fixed blocks of BLOCK replications (block b holds replications
    b*BLOCK ... b*BLOCK + BLOCK - 1), and block sums are added in index order.
    """

    def __init__(self):
        self.sums = np.zeros(2)  # sum of x, sum of squared x
        self._pending = np.empty(0)

    def add(self, x) -> None:
        w = np.concatenate([self._pending, np.asarray(x).astype(np.float64)])
        full = len(w) // BLOCK * BLOCK
        for block in w[:full].reshape(-1, BLOCK):
            self.sums += self._block_sums(block)
        self._pending = w[full:].copy()

    @staticmethod
    def _block_sums(block):
        block = np.array(block)  # a fresh contiguous copy: identical summation in every call
        return np.array([block.sum(), (block * block).sum()])

    def mean_and_se(self, reps: int) -> tuple[float | None, float | None]:
        """The mean over replications and its Monte Carlo standard error (None if undefined)."""
        s1, s2 = self.sums + self._block_sums(self._pending)
        var = max(s2 - s1 * s1 / reps, 0.0) / (reps - 1) if reps > 1 else math.nan
        return _finite(s1 / reps), _finite(math.sqrt(var / reps))


class _Totals:
    """Running totals of one procedure, independent of how the replications are chunked.

    Misses and degenerate replications are integer counts, and so is the width histogram;
    widths are summed by `_BlockSums`.
    """

    def __init__(self):
        self.miss_low = self.miss_high = self.degenerate = 0
        self.histogram = np.zeros(N_BINS + 2, dtype=np.int64)
        self.widths = _BlockSums()

    def add(self, miss_low, miss_high, width, degenerate) -> None:
        self.miss_low += int(np.count_nonzero(miss_low))
        self.miss_high += int(np.count_nonzero(miss_high))
        self.degenerate += int(np.count_nonzero(degenerate))
        self.histogram += np.bincount(width_bins(width), minlength=len(self.histogram))
        self.widths.add(width)

    def summary(self, reps: int) -> dict:
        def share(count):  # a share of the replications and its binomial standard error
            p = count / reps
            return p, math.sqrt(p * (1 - p) / reps)

        coverage, mc_se = share(reps - self.miss_low - self.miss_high)
        miss_low, miss_low_mc_se = share(self.miss_low)
        miss_high, miss_high_mc_se = share(self.miss_high)
        mean_width, width_mc_se = self.widths.mean_and_se(reps)
        return {
            "coverage": coverage, "mc_se": mc_se,
            "miss_low": miss_low, "miss_low_mc_se": miss_low_mc_se,
            "miss_high": miss_high, "miss_high_mc_se": miss_high_mc_se,
            "mean_width": mean_width, "width_mc_se": width_mc_se,
            "width_q25": width_quantile(self.histogram, 0.25),
            "width_median": width_quantile(self.histogram, 0.5),
            "width_q75": width_quantile(self.histogram, 0.75),
            "degenerate_reps": self.degenerate,
        }


def versions(devices: tuple | None = None) -> dict:
    """Versions and platform; with `devices`, the platform, number and kind of those used."""
    import jaxlib
    out = {"pragmatic": __version__, "jax": jax.__version__, "jaxlib": jaxlib.__version__,
           "numpy": np.__version__, "python": platform.python_version(),
           "backend": jax.default_backend()}
    if devices:
        out |= {"backend": devices[0].platform, "devices": len(devices),
                "device_kind": devices[0].device_kind}
    return out


def simulate(dist: str, n: int, reps: int, seed: int, level: float = 0.95, params=None,
             procedures=("t", "z"), boot_reps: int = 199, chunk: int | None = None,
             kernel=replicate, progress: bool | None = None, devices=None) -> dict:
    """Coverage, one-sided misses and width of each interval for one distribution and one n.

    Returns one object of the JSON list that `python -m pragmatic.sim mean --json` prints, with
    the procedures in the order given. `devices` (see `resolve_devices`; default: every local
    device) changes how fast, never what: `versions` records them.
    """
    params = resolve_params(dist, params)
    design = make_design(n, level, procedures, boot_reps)
    _check_count("reps", reps, 1, MAX_REPS)
    _check_count("seed", seed, 0, 2**32 - 1)
    devices = resolve_devices(devices)
    chunk = default_chunk(design) * len(devices) if chunk is None else chunk
    _check_count("chunk", chunk, 1, 2**24)
    distribution = DISTRIBUTIONS[dist]
    target = distribution.mean(params)

    jparams = {k: jnp.float32(v) for k, v in params.items()}
    totals, _ = run_replications(reps, seed, chunk, kernel, target, jparams, distribution,
                                 design, progress, devices=devices)

    # jax returns dicts with sorted keys; report in the order asked for (a test kernel's extra
    # entries last).
    names = sorted(totals, key=lambda name: (design.procedures + (name,)).index(name))
    return {
        "scenario": "mean", "n": design.n, "params": {"dist": dist, **params},
        "target": target, "reps": reps, "seed": seed, "level": design.level,
        "boot_reps": design.boot_reps, "procedures": list(design.procedures),
        "dtype": "float32", "width_quantile_rel_resolution": WIDTH_QUANTILE_REL_RESOLUTION,
        "versions": versions(devices),
        "results": {name: totals[name].summary(reps) for name in names},
    }


def run_replications(reps: int, seed: int, chunk: int, kernel, target: float, jparams: dict,
                     dist, design, progress: bool | None, width: int | None = None,
                     devices: tuple | None = None):
    """Run `kernel` over replications 0 ... reps - 1 in chunks, and total what it returns.

    The kernel returns {procedure: (miss_low, miss_high, width, degenerate)} and, optionally,
    "extra": {name: value}, per-replication values whose mean is reported. Returns the
    procedures' `_Totals` and the extras' `_BlockSums`, both independent of the chunk size.
    With `width`, replications are vmapped `width` at a time (the chunk is rounded up to a
    multiple of it): XLA may compile a wider vmap to different float arithmetic (seen: a
    residual sum of squares differing in its last bit between 1,024 and 4,096 replications), so
    a fixed width is what makes the scores bit-identical for any chunk size.
    Each chunk is split evenly over `devices` (default: every local device), so it is rounded
    up to a multiple of their number (times `width`): each device gets whole vmaps.
    """
    mesh = _mesh(resolve_devices(devices))
    unit = mesh.size * (width or 1)
    chunk = -(-chunk // unit) * unit
    # The inputs every device reads, replicated on the mesh's devices (whatever the default).
    root, target, jparams = jax.device_put((jax.random.key(seed), jnp.float32(target), jparams),
                                           NamedSharding(mesh, PartitionSpec()))
    totals, extras = defaultdict(_Totals), defaultdict(_BlockSums)
    show = sys.stderr.isatty() if progress is None else progress
    with _progress_bar(reps, show) as bar:
        for start in range(0, reps, chunk):
            out = dict(_run_chunk(root, np.uint32(start), target, jparams, kernel=kernel,
                                  dist=dist, design=design, size=chunk, mesh=mesh,
                                  width=width))
            used = min(chunk, reps - start)  # the last chunk is padded to keep one compilation
            for name, value in out.pop("extra", {}).items():
                extras[name].add(np.asarray(value)[:used])
            for name, score in out.items():
                totals[name].add(*(np.asarray(v)[:used] for v in score))
            bar.update(used)
    return totals, extras


def _progress_bar(total: int, show):
    """A tqdm bar on stderr; `show` may be a bar already open (a lab's whole grid shares one)."""
    if hasattr(show, "update"):
        return contextlib.nullcontext(show)
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


# --- scenarios from the registry -------------------------------------------------------------

def _check_level_and_procedures(level, procedures, allowed) -> tuple:
    _check(isinstance(level, (int, float)) and 0 < level < 1,
           f"level must be strictly between 0 and 1, got {level!r}")
    procedures = tuple(procedures)
    for p in procedures:
        _check(p in allowed, f"unknown procedure {p!r}; allowed: {', '.join(allowed)}")
    _check(len(procedures) > 0 and len(set(procedures)) == len(procedures),
           f"procedures must be a non-empty list without repeats, got {list(procedures)}")
    return procedures


def simulate_scenario(scenario: str, reps: int, seed: int, level: float = 0.95,
                      procedures=None, chunk: int | None = None, kernel=None,
                      progress: bool | None = None, devices=None, route: str = "auto",
                      **params) -> dict:
    """Coverage, one-sided misses and width of each interval of a registered scenario.

    `params` are the scenario's parameters (e.g. n=50, gamma=1.0). Returns one object of the
    JSON list that `python -m pragmatic.sim SCENARIO --json` prints: the same settings and
    scores as `simulate`, with `params` holding every parameter, `route` the kernel that ran
    and `extra` the scenario's extra outputs. `route`: "raw" draws the data; "sufficient" draws
    the sufficient statistics, where the scenario has such a kernel and it scores every
    procedure asked for; "auto" is sufficient where it can be, else raw (`Scenario.route`).
    Without `procedures`, every procedure of the scenario (of its sufficient route, if that is
    asked for). `kernel` replaces the chosen route's kernel (for tests); `devices` is as in
    `simulate`.
    """
    from .scenarios import REGISTRY, Design
    _check(scenario in REGISTRY and REGISTRY[scenario].cli is None,
           f"unknown scenario {scenario!r}; allowed: "
           f"{', '.join(name for name, s in REGISTRY.items() if s.cli is None)}")
    spec = REGISTRY[scenario]
    resolved = spec.resolve(params)
    if procedures is None:  # all the scenario's, or all the sufficient route's
        procedures = (spec.sufficient_procedures if route == "sufficient" and spec.sufficient
                      else spec.procedures)
    procedures = _check_level_and_procedures(level, procedures, spec.procedures)
    _check_count("reps", reps, 1, MAX_REPS)
    _check_count("seed", seed, 0, 2**32 - 1)
    route = spec.route(procedures, route)
    observations = spec.observations(resolved)
    devices = resolve_devices(devices)
    if chunk is None:  # the sufficient route: a few values per replication, little padding
        chunk = (4096 if route == "sufficient"
                 else int(min(65_536, max(64, 2**22 // (4 * observations))))) * len(devices)
    _check_count("chunk", chunk, 1, 2**24)
    design = Design(float(level), procedures,
                    tuple((p.name, resolved[p.name]) for p in spec.params if p.whole))
    jparams = {p.name: jnp.float32(resolved[p.name]) for p in spec.params if not p.whole}
    if route == "sufficient":  # sizes as values, not shapes: one compilation for every n
        jparams |= {k: jnp.float32(v) for k, v in spec.sufficient_inputs(resolved, design).items()}
        design = Design(design.level, procedures)
    target = spec.target(resolved)
    kernel = kernel or (spec.sufficient if route == "sufficient" else spec.replicate)
    totals, extras = run_replications(reps, seed, chunk, kernel, target,
                                      jparams, None, design, progress, width=VMAP_WIDTH,
                                      devices=devices)
    names = sorted(totals, key=lambda name: (procedures + (name,)).index(name))
    extra = dict(spec.extra(resolved))
    for name, sums in sorted(extras.items()):
        mean, se = sums.mean_and_se(reps)
        extra[name], extra[f"{name}_mc_se"] = mean, se
    return {
        "scenario": scenario, "n": observations, "params": resolved, "target": target,
        "reps": reps, "seed": seed, "level": design.level, "procedures": list(procedures),
        "route": route, "dtype": "float32",
        "width_quantile_rel_resolution": WIDTH_QUANTILE_REL_RESOLUTION,
        "versions": versions(devices),
        "results": {name: totals[name].summary(reps) for name in names},
        "extra": extra,
    }
