"""Lab 9's seed-training kernel (`pragmatic.seeds`), timed side by side in one run against:

- loop:  the same runs in a plain loop over seeds, one compiled run called per seed;
- floor: the same minibatches through the same matrix products alone, in the kernel's own
         formulation: per step the forward pass (x w1, h w2) and the backward products
         (d w2^T, h^T d, x^T d), with no bias, ReLU, softmax, loss, optimiser or evaluation;
- every other formulation of `pragmatic.seeds.METHODS`, and vmap with all seeds in one chunk
  (the "naive" vmap), unless the run is small.

Reported as ratios, which carry across machines better than seconds: loop_over_kernel (the
kernel's speed-up over the plain loop) and kernel_over_floor (what the loss, optimiser and
bookkeeping cost on top of the matrix products). Seconds are medians of interleaved repeats
after a first, compiling call on the same seeds.
"""

from __future__ import annotations

from functools import partial

import jax
import numpy as np

from .. import seeds
from .timing import interleaved_medians

SMALL = 32  # below this many seeds, only the kernel, the loop and the floor are timed
OTHERS = ("batched", "vmap, one chunk")  # the other formulations the benchmark can time


def floor_one(seed, rows, learning_rate, weight_decay, data, hidden):
    """The matrix products of train_one's steps, and nothing else (the weights move by a small
    multiple of the products, so that no step can be skipped or hoisted)."""
    params = seeds.init(jax.random.key(seed), hidden)

    def step(p, rows):
        x = data.x_train[rows]
        h = x @ p["w1"]
        d = h @ p["w2"]
        dh = d @ p["w2"].T
        return {**p, "w1": p["w1"] - 1e-6 * (x.T @ dh), "w2": p["w2"] - 1e-6 * (h.T @ d)}, None

    params, _ = jax.lax.scan(step, params, rows)
    return params["w1"].sum() + params["w2"].sum()


def n_seeds(reps: int) -> int:
    """Seeds timed for the benchmark's --reps: reps / 1024, from 4 to 256."""
    return int(min(256, max(4, reps // 1024)))


def rows(n: int, repeats: int, config: seeds.Config = seeds.BASELINE, log=None,
         others=True) -> list[dict]:
    """One row: every formulation's seconds for n seeds of `config`, and the ratios. The kernel,
    the loop and the floor are always timed; `others` says which more: True for all of OTHERS,
    False for none, or a tuple of their names (none with fewer than SMALL seeds). Each costs a
    compilation of several seconds on a 2-core CPU the first time."""
    ids = np.arange(n, dtype=np.int32)
    method, chunk = seeds.DEFAULT_METHOD, seeds.DEFAULT_CHUNK
    run = partial(seeds.over_seeds, seeds.train_one, ids, config)
    fns = {"kernel": partial(run, method, chunk), "loop": partial(run, "loop", 1),
           "floor": partial(seeds.over_seeds, floor_one, ids, config, method, chunk)}
    extra = {**{m: partial(run, m, chunk) for m in seeds.METHODS if m not in ("loop", method)},
             "vmap, one chunk": partial(run, "vmap", n)}
    wanted = OTHERS if others is True else tuple(others or ())
    unknown = [w for w in wanted if w not in extra]
    if unknown:
        raise ValueError(f"others must name formulations among {', '.join(OTHERS)}, "
                         f"got {unknown[0]!r}")
    if n >= SMALL:
        fns |= {w: extra[w] for w in wanted}
    seconds, cpu = interleaved_medians(fns, repeats)
    row = {"section": "seeds", "what": "seed training (lab 9)", "seeds": n,
           "config": dict(hidden=config.hidden, batch=config.batch, steps=config.steps),
           "default": f"{method}, chunk {chunk}", "seconds": seconds, "cpu_per_wall": cpu,
           "ms_per_seed": {k: 1e3 * v / n for k, v in seconds.items()},
           "loop_over_kernel": seconds["loop"] / seconds["kernel"],
           "kernel_over_floor": seconds["kernel"] / seconds["floor"],
           "backend": jax.default_backend()}
    if log:
        log(row)
    return [row]
