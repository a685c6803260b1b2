"""The readable table of `python -m pragmatic.bench`: each figure as 'all cores | one core'."""

from __future__ import annotations

import math

from .timing import THREADS

GOALS = {"vs_rng_floor": ("<=", 1.25), "speedup_vs_numpy": (">=", 1.5),
         "speedup_vs_loop": (">=", 100)}
LIKE_WITH_LIKE = ("Only the one-core figures compare like with like: NumPy's generator and "
                  "statistics run on one thread, while XLA uses every core it is allowed.")


def _number(x, digits: int) -> str:
    if not isinstance(x, (int, float)) or not math.isfinite(x):
        return "–"
    return f"{x:.{0 if abs(x) >= 100 else digits}f}"


def _pair(by_threads: dict, get, digits: int = 2) -> str:
    """One figure under each thread setting: 'all | 1'."""
    return " | ".join(_number(get(by_threads[t]), digits) if t in by_threads else "–"
                      for t in THREADS)


def _render(header: list[str], records: list[list[str]]) -> list[str]:
    """Columns as wide as their widest cell; the first two left-aligned, the rest right."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *records)]
    return [" ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                     for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
            for cells in (header, *records)]


def _grouped(rows: list[dict], section: str, key) -> dict:
    groups = {}
    for r in rows:
        if r["section"] == section:
            groups.setdefault(key(r), {})[r["threads"]] = r
    return groups


def format_table(rows: list[dict], machine: dict | None = None) -> str:
    lines = [*([f"Machine: {machine}"] if machine else []),
             "Every figure twice, as 'JAX on all cores | JAX on one core'. " + LIKE_WITH_LIKE,
             "Goals: " + ", ".join(f"{k} {op} {v:g}" for k, (op, v) in GOALS.items())
             + ". Seconds: medians of interleaved repeats after compilation. numpy/floor: "
             "the NumPy twin's time over the floor's, the most speedup_vs_numpy could be if the "
             "statistics cost nothing."]
    kernels = _grouped(rows, "kernel", lambda r: (r["kernel"], r["setting"]))
    if kernels:
        lines += [""] + _render(
            ["kernel", "setting", "reps", "kernel s", "vs_rng_floor", "speedup_vs_numpy",
             "speedup_vs_loop", "numpy/floor", "kernel cpu/wall"],
            [[kernel, setting, next(iter(by.values()))["reps"],
              _pair(by, lambda r: r["seconds"]["kernel"], 3),
              _pair(by, lambda r: r["vs_rng_floor"]), _pair(by, lambda r: r["speedup_vs_numpy"]),
              _pair(by, lambda r: r["speedup_vs_loop"], 0),
              _pair(by, lambda r: r["numpy_over_floor"]),
              _pair(by, lambda r: r["cpu_per_wall"]["kernel"])]
             for (kernel, setting), by in kernels.items()])
    generators = _grouped(rows, "generator", lambda r: r["what"])
    if generators:
        values = next(iter(next(iter(generators.values())).values()))["values"]
        lines += [""] + _render(
            [f"generator ({values:,} values)", "", "jax s", "jax randint s", "numpy s",
             "numpy/jax", "randint/multiply-shift"],
            [[what, "", _pair(by, lambda r: r["seconds"].get("jax", r["seconds"].get(
                "jax_multiply_shift")), 3),
              _pair(by, lambda r: r["seconds"].get("jax_randint"), 3),
              _pair(by, lambda r: r["seconds"].get("numpy"), 3),
              _pair(by, lambda r: r.get("numpy_over_jax")),
              _pair(by, lambda r: r.get("randint_over_multiply_shift"))]
             for what, by in generators.items()])
        lines.append("numpy/jax above 1: JAX draws faster. For indices, jax s is the "
                     "multiply-shift draw (pragmatic.sim.mean.random_index).")
    route_rows = _grouped(rows, "route", lambda r: r["n"])
    if route_rows:
        lines.append("")
        available = [by for by in route_rows.values() if all(r["available"] for r in by.values())]
        if not available:
            note = next(iter(next(iter(route_rows.values())).values()))["note"]
            lines.append(f"sufficient-statistics route vs raw data (omitted): {note}")
        else:
            lines += _render(
                ["route (omitted)", "", "reps", "sufficient s", "raw s", "raw/sufficient"],
                [[f"n = {n:,}", "", next(iter(by.values()))["reps"],
                  _pair(by, lambda r: r["seconds"]["sufficient"], 3),
                  _pair(by, lambda r: r["seconds"]["raw"], 3),
                  _pair(by, lambda r: r["raw_over_sufficient"], 1)]
                 for n, by in route_rows.items()])
    seed_rows = _grouped(rows, "seeds", lambda r: r["seeds"])
    if seed_rows:
        by = next(iter(seed_rows.values()))
        first = next(iter(by.values()))
        lines += [""] + _render(
            [f"seed training, lab 9 ({first['seeds']:,} seeds)", "", *[f"{k} ms/seed"
                                                                      for k in first["seconds"]],
             "loop/kernel", "kernel/floor"],
            [[f"default: {first['default']}", "",
              *[_pair(by, lambda r, k=k: r["ms_per_seed"][k]) for k in first["seconds"]],
              _pair(by, lambda r: r["loop_over_kernel"]),
              _pair(by, lambda r: r["kernel_over_floor"])]])
        lines.append("loop/kernel above 1: the default formulation beats a plain loop over "
                     "seeds; kernel/floor: its time over that of its matrix products alone.")
    return "\n".join(lines)
