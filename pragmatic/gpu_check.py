"""GPU against CPU: the same simulations on both backends, their agreement and their speed.

    python -m pragmatic.gpu_check [--out FILE] [--reps R] [--quick] [--repeats K]

For every registered scenario (`mean` on normal data, and on lognormal data with a bootstrap;
each registry scenario at a moderate setting) it runs the same simulation, same seed and same
replication keys, on the CPU backend (`jax.devices("cpu")`) and on the GPU backend
(`jax.devices("gpu")`), and checks that every coverage, one-sided miss rate and mean width (and
every extra output with a standard error) agrees within TOLERANCE combined Monte Carlo standard
errors, |a - b| <= 4 sqrt(se_a^2 + se_b^2). The two runs share their keys, so they are not
independent and agree far more closely than that: a failure means a kernel computes something
different on the GPU, not bad luck. It also times each backend (replications per second after
compilation, the median of a few runs) and gives the speed-up GPU / CPU, once at the engine's
default chunk and once with the whole run in one chunk on the GPU, and the share of the time
spent in device calls (the rest is the host's totals: counts, histogram, block sums). For the
registry's scenarios, which the engine vmaps VMAP_WIDTH (256) replications at a time, it also
times the GPU with a vmap WIDE wide, and records whether that changes any score.

It prints progress and a table, and with --out writes JSON there and a markdown table beside
it (FILE with the suffix .md), after every case. Exit codes: 0 when everything agrees, 1 when
something does not, 2 for bad input or when there is no GPU (one line on stderr).

`--host-devices` compares one CPU device with all of them instead (run it with
XLA_FLAGS=--xla_force_host_platform_device_count=N): no GPU needed, and every score must then be
identical, since one platform computes the same replications with the same keys.

It imports only JAX, NumPy, SciPy, pandas and tqdm (through the engine), so it runs on a bare
GPU machine with `PYTHONPATH=. python -m pragmatic.gpu_check`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import jax

from .sim import engine
from .sim.engine import simulate, simulate_scenario, versions
from .sim.scenarios import REGISTRY

TOLERANCE = 4  # combined Monte Carlo standard errors
SEED = 20_260_101
DEFAULT_REPS = 2**21  # replications of the cheapest case; the others take a share of them
WIDE = 8192  # a wider vmap, timed on the GPU beside the engine's VMAP_WIDTH

# The registry's scenarios at a moderate setting (every one must be here: tests check it).
SCENARIO_SETTINGS = {
    "ar1": dict(n=100, phi=0.5),
    "cluster": dict(groups=20, size=10, icc=0.2),
    "conjugate-mean": dict(n=30, phi=0.5),
    "conjugate-slope": dict(n=50, gamma=1.0),
    "ols-hetero": dict(n=50, gamma=1.0),
    "omitted": dict(n=50, confounding=1.0),
    "pretest": dict(pre=3, slope=0.5),
}
# Compared scores: (score, its Monte Carlo standard error).
SCORES = (("coverage", "mc_se"), ("miss_low", "miss_low_mc_se"),
          ("miss_high", "miss_high_mc_se"), ("mean_width", "width_mc_se"))


@dataclass(frozen=True)
class Case:
    """One simulation to run on both backends: a scenario, its settings and its share of --reps
    (costly kernels get fewer replications, so that every case takes a few seconds)."""

    name: str
    scenario: str
    settings: dict = field(hash=False)
    share: float = 1.0

    def reps(self, reps: int) -> int:
        return max(1, round(reps * self.share))

    def run(self, reps: int, devices, kernel=None, chunk=None, seed: int = SEED) -> dict:
        options = dict(devices=devices, chunk=chunk, progress=False)
        if kernel is not None:
            options["kernel"] = kernel
        if self.scenario == "mean":
            return simulate(reps=reps, seed=seed, **self.settings, **options)
        return simulate_scenario(self.scenario, reps, seed, **self.settings, **options)


def cases() -> list[Case]:
    mean = [Case("mean normal n=30", "mean", dict(dist="normal", n=30, procedures=("t", "z"))),
            Case("mean lognormal n=30 boot-t", "mean",
                 dict(dist="lognormal", n=30, procedures=("t", "z", "boot-t")), share=2**-8)]
    shares = {"ar1": 2**-3, "cluster": 2**-3, "ols-hetero": 2**-2, "omitted": 2**-2}
    return mean + [Case(f"{name} {' '.join(f'{k}={v:g}' for k, v in settings.items())}", name,
                        settings, shares.get(name, 2**-3))
                   for name, settings in SCENARIO_SETTINGS.items()]


# --- agreement --------------------------------------------------------------------------------

def agreement(a: dict, b: dict, tolerance: float = TOLERANCE) -> list[dict]:
    """Each score of two results of one simulation: its two values, their difference, the
    allowed difference (tolerance * sqrt(se_a^2 + se_b^2)) and whether it is within it.

    A score undefined (None) on one side must be undefined on the other.
    """
    pairs = [(procedure, score, a["results"][procedure], b["results"][procedure], se)
             for procedure in a["results"] for score, se in SCORES]
    pairs += [("extra", key, a["extra"], b["extra"], f"{key}_mc_se")
              for key in a.get("extra", {}) if f"{key}_mc_se" in a["extra"]]
    rows = []
    for procedure, score, x, y, se in pairs:
        va, vb = (None if v is None else float(v) for v in (x[score], y[score]))
        row = {"procedure": procedure, "score": score, "a": va, "b": vb, "identical": va == vb}
        if va is None or vb is None or x[se] is None or y[se] is None:
            row |= {"diff": None, "allowed": None, "ok": va == vb}
        else:
            allowed = tolerance * math.hypot(x[se], y[se])
            row |= {"diff": vb - va, "allowed": allowed, "ok": abs(vb - va) <= allowed}
        rows.append(row)
    return rows


@contextmanager
def device_clock():
    """Seconds spent in the engine's device calls (dispatch until the outputs are ready), by
    wrapping `engine._run_chunk` for the duration: a diagnostic, not part of the engine."""
    original, spent = engine._run_chunk, [0.0]

    def timed(*args, **kwargs):
        start = time.perf_counter()
        out = jax.block_until_ready(original(*args, **kwargs))
        spent[0] += time.perf_counter() - start
        return out

    engine._run_chunk = timed
    try:
        yield spent
    finally:
        engine._run_chunk = original


@contextmanager
def vmap_width(width: int | None):
    """The engine's vmap width for registered scenarios (VMAP_WIDTH) set to `width` for the
    duration (None: unchanged): a diagnostic of whether a wider vmap pays on a GPU. Results are
    bit-identical across chunk sizes at one width; another width may change last bits."""
    original = engine.VMAP_WIDTH
    engine.VMAP_WIDTH = width or original
    try:
        yield
    finally:
        engine.VMAP_WIDTH = original


def timed_runs(case: Case, reps: int, runs: dict, repeats: int) -> dict:
    """Each run of `runs` ({name: dict(devices=..., kernel=..., chunk=..., width=...)}): the
    result of a first run (compilation included), then `repeats` timed rounds, the runs taking
    turns within each round so that a busy machine slows them alike; the median of each."""

    def once(spec):
        with vmap_width(spec.get("width")):
            return case.run(reps, spec["devices"], spec.get("kernel"), spec.get("chunk"))

    out = {}
    for name, spec in runs.items():
        start = time.perf_counter()
        result = once(spec)
        out[name] = {"result": result, "first_s": time.perf_counter() - start, "seconds": [],
                     "device_s": [], "chunk": spec.get("chunk"), "vmap_width": spec.get("width"),
                     "platform": result["versions"]["backend"],
                     "devices": result["versions"]["devices"]}
    for _ in range(repeats):
        for name, spec in runs.items():
            with device_clock() as spent:
                start = time.perf_counter()
                once(spec)
                out[name]["seconds"].append(time.perf_counter() - start)
            out[name]["device_s"].append(spent[0])
    for timing in out.values():
        seconds = timing["seconds"] or [timing["first_s"]]
        timing["median_s"] = statistics.median(seconds)
        timing["reps_per_s"] = reps / timing["median_s"]
        timing["device_share"] = (statistics.median(d / s for d, s in zip(timing["device_s"],
                                                                         timing["seconds"]))
                                  if timing["seconds"] else None)
    return out


def _scores(result: dict) -> dict:
    return {k: result[k] for k in ("results", "extra") if k in result}


def compare(case: Case, reps: int, devices_a, devices_b, *, kernel_b=None, repeats: int = 3,
            tolerance: float = TOLERANCE, one_chunk: bool = False, wide: int | None = None) -> dict:
    """Run `case` on devices_a and on devices_b (kernel_b: a different kernel on b, for tests),
    check agreement and time both. With `one_chunk`, b is also timed with all replications in
    one chunk, and its result there must equal its result at the default chunk, bit for bit.
    With `wide` (registered scenarios only), b is also timed in one chunk vmapped `wide`
    replications at a time, and whether that changes any score is recorded."""
    runs = {"a": dict(devices=devices_a), "b": dict(devices=devices_b, kernel=kernel_b)}
    if one_chunk:
        runs["b_one_chunk"] = runs["b"] | dict(chunk=min(reps, 2**24))
    if wide and case.scenario != "mean":
        runs["b_wide"] = runs["b"] | dict(chunk=min(reps, 2**24), width=wide)
    t = timed_runs(case, reps, runs, repeats)
    a, b = t["a"], t["b"]
    rows = agreement(a["result"], b["result"], tolerance)
    out = {"case": case.name, "scenario": case.scenario, "settings": case.settings, "reps": reps,
           "ok": all(r["ok"] for r in rows), "identical_scores": sum(r["identical"] for r in rows),
           "scores": len(rows), "agreement": rows,
           "max_diff_in_se": max((abs(r["diff"]) / r["allowed"] * tolerance for r in rows
                                  if r["diff"] is not None and r["allowed"] > 0), default=0.0),
           **t, "speedup": b["reps_per_s"] / a["reps_per_s"]}
    if one_chunk:
        same = _scores(t["b_one_chunk"]["result"]) == _scores(b["result"])
        out |= {"b_chunk_independent": same, "ok": out["ok"] and same,
                "speedup_one_chunk": t["b_one_chunk"]["reps_per_s"] / a["reps_per_s"]}
    if "b_wide" in t:
        out |= {"b_wide_identical": _scores(t["b_wide"]["result"]) == _scores(b["result"]),
                "speedup_wide": t["b_wide"]["reps_per_s"] / a["reps_per_s"]}
    return out


# --- report -----------------------------------------------------------------------------------

def _rate(x: float) -> str:
    return f"{x:,.0f}"


def table(rows: list[dict], labels=("CPU", "GPU"), markdown: bool = False) -> str:
    """One line per case; `labels` name the two sides (a, b)."""
    a, b = labels
    head = ["case", "reps", "agree", "max |diff|/se", "identical", f"{a} reps/s", f"{b} reps/s",
            "speed-up", f"{b} device share", f"{b} one chunk reps/s", "speed-up one chunk",
            f"{b} wide vmap reps/s", "wide identical"]
    body = []
    for r in rows:
        big, wide = r.get("b_one_chunk"), r.get("b_wide")
        share = r["b"]["device_share"]
        body.append([r["case"], f"{r['reps']:,}", "yes" if r["ok"] else "NO",
                     f"{r['max_diff_in_se']:.2f}", f"{r['identical_scores']}/{r['scores']}",
                     _rate(r["a"]["reps_per_s"]), _rate(r["b"]["reps_per_s"]),
                     f"{r['speedup']:.2f}", "-" if share is None else f"{share:.2f}",
                     _rate(big["reps_per_s"]) if big else "-",
                     f"{r['speedup_one_chunk']:.2f}" if big else "-",
                     f"{_rate(wide['reps_per_s'])} ({wide['vmap_width']:,})" if wide else "-",
                     ("yes" if r["b_wide_identical"] else "no") if wide else "-"])
    if markdown:
        lines = ["| " + " | ".join(head) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])
    widths = [max(len(str(x)) for x in column) for column in zip(head, *body)]
    return "\n".join("  ".join(str(x).rjust(w) if i else str(x).ljust(w)
                               for i, (x, w) in enumerate(zip(row, widths)))
                     for row in [head, *body])


def machine(a, b) -> dict:
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), None)
    except OSError:
        pass
    return {"cpu_model": model, "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "a_devices": [str(d) for d in a], "b_devices": [str(d) for d in b],
            "b_kind": b[0].device_kind, **versions()}


def write(out: Path, rows: list[dict], about: dict, labels, args, seconds: float) -> None:
    """The JSON report (side a is labels[0], side b labels[1]) and the markdown table beside it."""
    report = {"machine": about, "labels": {"a": labels[0], "b": labels[1]},
              "tolerance_se": TOLERANCE, "seed": SEED, "reps": args.reps, "quick": args.quick,
              "repeats": args.repeats, "seconds": seconds,
              "cases": [{k: ({n: v for n, v in r[k].items() if n != "result"}
                             if k in ("a", "b", "b_one_chunk", "b_wide") else r[k]) for k in r}
                        | {"a_result": r["a"]["result"], "b_result": r["b"]["result"]}
                        for r in rows]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, allow_nan=False))
    out.with_suffix(".md").write_text(table(rows, labels, markdown=True) + "\n")


# --- command line -----------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _sides(host_devices: bool):
    """(devices a, devices b, labels), or a one-line reason why there is no side b."""
    try:
        cpus = jax.devices("cpu")
    except RuntimeError as err:  # e.g. JAX_PLATFORMS=cuda
        return None, (f"no CPU backend: jax.devices('cpu') failed ({str(err).splitlines()[0]}); "
                      f"unset JAX_PLATFORMS or add cpu to it")
    if host_devices:
        if len(cpus) < 2:
            return None, ("--host-devices needs 2 or more CPU devices, found 1: set XLA_FLAGS="
                          "--xla_force_host_platform_device_count=N before the run")
        return (cpus[:1], cpus, ("1 CPU device", f"{len(cpus)} CPU devices")), None
    try:
        gpus = jax.devices("gpu")
    except RuntimeError as err:
        gpus, reason = [], str(err).splitlines()[0] if str(err) else type(err).__name__
    else:
        reason = "it returned no device"
    if not gpus:
        return None, (f"no GPU found: jax.devices('gpu') failed ({reason}); run this on a GPU "
                      f"machine with requirements-gpu.txt installed")
    return (cpus, gpus, ("CPU", "GPU")), None


def main(argv=None) -> int:
    p = _Parser(prog="python -m pragmatic.gpu_check",
                description="The same simulations on the CPU and on the GPU: agreement within "
                            "Monte Carlo error, throughput and speed-up.")
    p.add_argument("--out", help="write JSON here, and a markdown table beside it (.md)")
    p.add_argument("--reps", type=_positive, default=DEFAULT_REPS,
                   help="replications of the cheapest case; the others take a fixed share "
                        "(default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="a sixteenth of --reps: a smoke test")
    p.add_argument("--repeats", type=_positive, default=3,
                   help="timed runs per side after the first (default: %(default)s)")
    p.add_argument("--budget", type=_positive, default=210,
                   help="seconds; once past them, the cases left run an eighth of their "
                        "replications with one timed run each (default: %(default)s)")
    p.add_argument("--host-devices", action="store_true",
                   help="compare 1 CPU device with all of them instead of the CPU with the GPU "
                        "(no GPU needed; XLA_FLAGS=--xla_force_host_platform_device_count=N "
                        "makes N)")
    args = p.parse_args(argv)
    sides, reason = _sides(args.host_devices)
    if sides is None:
        print(reason, file=sys.stderr)
        return 2
    a, b, labels = sides
    one_chunk = not args.host_devices
    reps = max(1, args.reps // 16) if args.quick else args.reps
    about = machine(a, b)
    print(f"{labels[0]} against {labels[1]}; CPU: {about['cpu_model']} ({about['cpu_count']} "
          f"cores); {labels[1]}: {about['b_kind']} x {len(b)}; jax {about['jax']}", flush=True)
    rows, started = [], time.perf_counter()
    todo = cases()
    for i, case in enumerate(todo, 1):
        late = time.perf_counter() - started > args.budget
        n = max(1, case.reps(reps) // 8) if late else case.reps(reps)
        print(f"[{i}/{len(todo)}] {case.name}: {n:,} replications"
              f"{' (reduced: past the budget)' if late else ''} ...", flush=True)
        r = compare(case, n, a, b, repeats=1 if late else args.repeats, one_chunk=one_chunk,
                    wide=None if args.host_devices else WIDE)
        rows.append(r | {"reduced": late})
        big = (f" (one chunk {_rate(r['b_one_chunk']['reps_per_s'])}/s, speed-up "
               f"{r['speedup_one_chunk']:.2f})" if one_chunk else "")
        print(f"    agree: {'yes' if r['ok'] else 'NO'} (max {r['max_diff_in_se']:.2f} se, "
              f"{r['identical_scores']}/{r['scores']} identical); {labels[0]} "
              f"{_rate(r['a']['reps_per_s'])}/s, {labels[1]} {_rate(r['b']['reps_per_s'])}/s, "
              f"speed-up {r['speedup']:.2f}{big}; {time.perf_counter() - started:.0f} s so far",
              flush=True)
        if args.out:  # after every case, so that a run cut short leaves what it did
            write(Path(args.out), rows, about, labels, args, time.perf_counter() - started)
    print(table(rows, labels), flush=True)
    if args.out:
        print(f"wrote {args.out} and {Path(args.out).with_suffix('.md')}", flush=True)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
