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
spent in device calls (the rest is the host's totals: counts, histogram, block sums).

It prints progress and a table, and with --out writes JSON there and a markdown table beside
it (FILE with the suffix .md). Exit codes: 0 when everything agrees, 1 when something does not,
2 for bad input or when there is no GPU (one line on stderr).

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

# The registry's scenarios at a moderate setting (every one must be here: tests check it).
SCENARIO_SETTINGS = {
    "ar1": dict(n=100, phi=0.5),
    "cluster": dict(groups=20, size=10, icc=0.2),
    "ols-hetero": dict(n=50, gamma=1.0),
    "omitted": dict(n=50, confounding=1.0),
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
        va, vb = x[score], y[score]
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


def timed_runs(case: Case, reps: int, devices, repeats: int, kernel=None, chunk=None) -> dict:
    """The result of a first run (compilation included) and the median time of `repeats` more."""
    start = time.perf_counter()
    result = case.run(reps, devices, kernel, chunk)
    first = time.perf_counter() - start
    seconds, device = [], []
    for _ in range(repeats):
        with device_clock() as spent:
            start = time.perf_counter()
            case.run(reps, devices, kernel, chunk)
            seconds.append(time.perf_counter() - start)
        device.append(spent[0])
    median = statistics.median(seconds) if seconds else first
    return {"result": result, "first_s": first, "seconds": seconds, "median_s": median,
            "reps_per_s": reps / median,
            "device_share": statistics.median(d / s for d, s in zip(device, seconds))
            if seconds else None,
            "chunk": chunk, "platform": result["versions"]["backend"],
            "devices": result["versions"]["devices"]}


def compare(case: Case, reps: int, devices_a, devices_b, *, kernel_b=None, repeats: int = 3,
            tolerance: float = TOLERANCE, one_chunk: bool = False) -> dict:
    """Run `case` on devices_a and on devices_b (kernel_b: a different kernel on b, for tests),
    check agreement and time both. With `one_chunk`, b is also timed with all replications in
    one chunk, and its result there must equal its result at the default chunk, bit for bit."""
    a = timed_runs(case, reps, devices_a, repeats)
    b = timed_runs(case, reps, devices_b, repeats, kernel=kernel_b)
    rows = agreement(a["result"], b["result"], tolerance)
    out = {"case": case.name, "scenario": case.scenario, "settings": case.settings, "reps": reps,
           "ok": all(r["ok"] for r in rows), "identical_scores": sum(r["identical"] for r in rows),
           "scores": len(rows), "agreement": rows,
           "max_diff_in_se": max((abs(r["diff"]) / r["allowed"] * tolerance for r in rows
                                  if r["diff"] is not None and r["allowed"] > 0), default=0.0),
           "a": a, "b": b, "speedup": b["reps_per_s"] / a["reps_per_s"]}
    if one_chunk:
        big = timed_runs(case, reps, devices_b, repeats, kernel=kernel_b,
                         chunk=min(reps, 2**24))
        same = {k: big["result"][k] for k in ("results", "extra") if k in big["result"]} == \
               {k: b["result"][k] for k in ("results", "extra") if k in b["result"]}
        out |= {"b_one_chunk": big, "b_chunk_independent": same,
                "speedup_one_chunk": big["reps_per_s"] / a["reps_per_s"]}
        out["ok"] = out["ok"] and same
    return out


# --- report -----------------------------------------------------------------------------------

def _rate(x: float) -> str:
    return f"{x:,.0f}"


def table(rows: list[dict], markdown: bool = False) -> str:
    head = ["case", "reps", "agree", "max |diff|/se", "identical", "CPU reps/s", "GPU reps/s",
            "speed-up", "GPU one chunk reps/s", "speed-up one chunk", "GPU device share"]
    body = []
    for r in rows:
        big = r.get("b_one_chunk")
        body.append([r["case"], f"{r['reps']:,}", "yes" if r["ok"] else "NO",
                     f"{r['max_diff_in_se']:.2f}", f"{r['identical_scores']}/{r['scores']}",
                     _rate(r["a"]["reps_per_s"]), _rate(r["b"]["reps_per_s"]),
                     f"{r['speedup']:.1f}", _rate(big["reps_per_s"]) if big else "-",
                     f"{r['speedup_one_chunk']:.1f}" if big else "-",
                     f"{r['b']['device_share']:.2f}" if r["b"]["device_share"] is not None
                     else "-"])
    if markdown:
        lines = ["| " + " | ".join(head) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])
    widths = [max(len(str(x)) for x in column) for column in zip(head, *body)]
    return "\n".join("  ".join(str(x).rjust(w) if i else str(x).ljust(w)
                               for i, (x, w) in enumerate(zip(row, widths)))
                     for row in [head, *body])


def machine(cpus, gpus) -> dict:
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), None)
    except OSError:
        pass
    return {"cpu_model": model, "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "cpu_devices": [str(d) for d in cpus], "gpu_devices": [str(d) for d in gpus],
            "gpu_kind": gpus[0].device_kind, **versions()}


def _strip(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "result"}


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
                   help="timed runs per backend after the first (default: %(default)s)")
    p.add_argument("--budget", type=_positive, default=210,
                   help="seconds; once past them, the cases left run an eighth of their "
                        "replications with one timed run each (default: %(default)s)")
    args = p.parse_args(argv)
    try:
        gpus = jax.devices("gpu")
    except RuntimeError as err:
        gpus, reason = [], str(err).splitlines()[0] if str(err) else type(err).__name__
    else:
        reason = "it returned no device"
    if not gpus:
        print(f"no GPU found: jax.devices('gpu') failed ({reason}); run this on a GPU machine "
              f"with requirements-gpu.txt installed", file=sys.stderr)
        return 2
    cpus = jax.devices("cpu")
    reps = max(1, args.reps // 16) if args.quick else args.reps
    about = machine(cpus, gpus)
    print(f"CPU: {about['cpu_model']} ({about['cpu_count']} cores); GPU: {about['gpu_kind']} "
          f"x {len(gpus)}; jax {about['jax']}", flush=True)
    rows, started = [], time.perf_counter()
    todo = cases()
    for i, case in enumerate(todo, 1):
        late = time.perf_counter() - started > args.budget
        n = max(1, case.reps(reps) // 8) if late else case.reps(reps)
        print(f"[{i}/{len(todo)}] {case.name}: {n:,} replications"
              f"{' (reduced: past the budget)' if late else ''} ...", flush=True)
        r = compare(case, n, cpus, gpus, repeats=1 if late else args.repeats, one_chunk=True)
        rows.append(r | {"reduced": late})
        print(f"    agree: {'yes' if r['ok'] else 'NO'} (max {r['max_diff_in_se']:.2f} se, "
              f"{r['identical_scores']}/{r['scores']} identical); CPU "
              f"{_rate(r['a']['reps_per_s'])}/s, GPU {_rate(r['b']['reps_per_s'])}/s "
              f"(one chunk {_rate(r['b_one_chunk']['reps_per_s'])}/s); speed-up "
              f"{r['speedup']:.1f} ({r['speedup_one_chunk']:.1f}); "
              f"{time.perf_counter() - started:.0f} s so far", flush=True)
        if args.out:  # after every case, so that a run cut short leaves what it did
            write(Path(args.out), rows, about, args, time.perf_counter() - started)
    print(table(rows), flush=True)
    if args.out:
        print(f"wrote {args.out} and {Path(args.out).with_suffix('.md')}", flush=True)
    return 0 if all(r["ok"] for r in rows) else 1


def write(out: Path, rows: list[dict], about: dict, args, seconds: float) -> None:
    """The JSON report ("a" is the CPU, "b" the GPU in each agreement row) and its table."""
    report = {"machine": about, "tolerance_se": TOLERANCE, "seed": SEED, "reps": args.reps,
              "quick": args.quick, "repeats": args.repeats, "seconds": seconds,
              "cases": [{**{k: v for k, v in r.items() if k not in ("a", "b", "b_one_chunk")},
                         "cpu": _strip(r["a"]), "gpu": _strip(r["b"]),
                         "gpu_one_chunk": _strip(r["b_one_chunk"]),
                         "cpu_result": r["a"]["result"], "gpu_result": r["b"]["result"]}
                        for r in rows]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, allow_nan=False))
    out.with_suffix(".md").write_text(table(rows, markdown=True) + "\n")


if __name__ == "__main__":
    sys.exit(main())
