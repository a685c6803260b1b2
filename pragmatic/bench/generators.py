"""The random-number generators alone: JAX's threefry against NumPy's PCG64.

Per `size` values (16 times --reps), after compilation: float32 normals (JAX: threefry bits
through an inverse error function; NumPy: the ziggurat), float32 uniforms, raw 32-bit words
(also from JAX's other generators, rbg and unsafe_rbg), and resample indices in 0 ... 29 (JAX:
`jax.random.randint`, which draws two words per index and takes remainders, and
`pragmatic.sim.mean.random_index`, one word per index scaled by multiply-shift; NumPy:
`Generator.integers`, Lemire's method), the last also with the gather of a bootstrap
(`pragmatic.sim.mean.resample`: 199 resamples of a sample of 30, vmapped over samples).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..sim.mean import random_index
from .timing import interleaved_medians

INDEX_N = 30
BOOT_REPS = 199


def _jax(fn, impl=None):
    """A compiled draw from a fresh key each call, waited for (threefry unless `impl`)."""
    compiled = jax.jit(fn)
    calls = iter(range(2**31))
    return lambda: compiled(jax.random.key(next(calls), impl=impl)).block_until_ready()


def _numpy(fn):
    rng = np.random.default_rng(0)
    return lambda: fn(rng)


def _resample(index_draw, size):
    """Bootstrap resamples of size // (199 * 30) samples of 30 normals (about `size` indices)."""
    samples = max(size // (BOOT_REPS * INDEX_N), 1)

    def one(key):
        k_data, k_boot = jax.random.split(key)
        x = jax.random.normal(k_data, (INDEX_N,))
        return x[index_draw(k_boot, (BOOT_REPS, INDEX_N), INDEX_N)]

    def run(key):
        index = jnp.arange(samples, dtype=jnp.uint32)
        keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, index)
        return jax.vmap(one)(keys)
    return run


def _randint(key, shape, n):
    return jax.random.randint(key, shape, 0, n)


def cases(size: int) -> dict:
    """{what: {"jax" or "jax_randint", "jax_multiply_shift", "numpy": draw}} for `size` values."""
    return {
        "normal float32": {
            "jax": _jax(lambda k: jax.random.normal(k, (size,))),
            "numpy": _numpy(lambda rng: rng.standard_normal(size, dtype=np.float32))},
        "uniform float32": {
            "jax": _jax(lambda k: jax.random.uniform(k, (size,))),
            "numpy": _numpy(lambda rng: rng.random(size, dtype=np.float32))},
        "32-bit words": {
            "jax": _jax(lambda k: jax.random.bits(k, (size,), jnp.uint32)),
            "numpy": _numpy(lambda rng: rng.bit_generator.random_raw(size // 2))},  # 64 bits each
        # JAX's other generators (XLA's RngBitGenerator), which the engine does not use
        **{f"32-bit words, JAX impl={impl}": {
            "jax": _jax(lambda k: jax.random.bits(k, (size,), jnp.uint32), impl)}
           for impl in ("rbg", "unsafe_rbg")},
        f"index in 0..{INDEX_N - 1}": {
            "jax_randint": _jax(lambda k: _randint(k, (size,), INDEX_N)),
            "jax_multiply_shift": _jax(lambda k: random_index(k, (size,), INDEX_N)),
            "numpy": _numpy(lambda rng: rng.integers(0, INDEX_N, size, dtype=np.int32))},
        "bootstrap resamples (index + gather)": {
            "jax_randint": _jax(_resample(_randint, size)),
            "jax_multiply_shift": _jax(_resample(random_index, size))},
    }


def rows(size: int, repeats: int, log=None) -> list[dict]:
    out = []
    for what, fns in cases(size).items():
        seconds, cpu = interleaved_medians(fns, repeats)
        row = {"section": "generator", "what": what, "values": size, "seconds": seconds,
               "cpu_per_wall": cpu}
        if "numpy" in seconds:  # above 1: JAX is faster (for indices: by multiply-shift)
            row["numpy_over_jax"] = seconds["numpy"] / seconds.get(
                "jax", seconds.get("jax_multiply_shift"))
        if "jax_randint" in seconds:
            row["randint_over_multiply_shift"] = (seconds["jax_randint"]
                                                  / seconds["jax_multiply_shift"])
        out.append(row)
        if log:
            log(row)
    return out
