"""Benchmark: `python -m pragmatic.bench [--json] [--reps R] [--repeats K] [--threads T]`.

Every scenario kernel is timed, side by side in one run and after compilation (median of K
interleaved repeats), four ways:

- kernel: the JAX kernel through the engine, in float32;
- floor:  the same engine, keys, chunks and dtype, drawing the same random numbers but
          computing no statistics;
- numpy:  the same computation in NumPy, vectorised per chunk, in float32;
- loop:   a per-replication statsmodels loop (float64), timed on a subset and scaled;

and reported as three ratios: vs_rng_floor = kernel / floor (goal <= 1.25), speedup_vs_numpy =
numpy / kernel (goal >= 1.5) and speedup_vs_loop = loop / kernel (goal >= 100). The kernels are
the mean's (t/z intervals and bootstrap-t, every distribution; `pragmatic.bench.mean`) and every
other registered scenario's (`pragmatic.bench.scenarios`). Each ratio is measured twice, in a
fresh process each: with JAX on every core, and with the process held to one core. NumPy's
generator and statistics run on one thread, so only the one-core figures compare like with
like. The run also times the random-number generators themselves (`pragmatic.bench.generators`)
and, where the engine has it, the omitted scenario's sufficient-statistics route against its
raw-data route (`pragmatic.bench.routes`), and lab 9's seed-training kernel against a plain
loop over seeds and against its matrix products alone (`pragmatic.bench.seeds`). Ratios, not
seconds, are what carry across machines.

This package imports nothing heavy: `pragmatic.bench.report` serves JAX-free processes too.
"""
