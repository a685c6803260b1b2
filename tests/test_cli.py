"""The command line: JSON schema, readable table, and one-line errors with exit code 2."""

import json
import subprocess
import sys

import pytest

from pragmatic.sim import simulate


def run(*args):
    return subprocess.run([sys.executable, "-m", "pragmatic.sim", *args],
                          capture_output=True, text=True, timeout=300)


def strict_json(text):
    """json.loads, refusing NaN and Infinity, which are not JSON."""
    def refuse(name):
        raise ValueError(f"{name} in JSON output")
    return json.loads(text, parse_constant=refuse)


SCORES = {"coverage", "mc_se", "miss_low", "miss_low_mc_se", "miss_high", "miss_high_mc_se",
          "mean_width", "width_mc_se", "width_q25", "width_median", "width_q75", "degenerate_reps"}


def test_json_has_the_documented_fields_and_equals_the_engine():
    out = run("mean", "--dist", "t3", "--n", "15", "--reps", "3000", "--seed", "5",
              "--level", "0.9", "--procedure", "boot-pct", "--procedure", "t", "--json")
    assert out.returncode == 0, out.stderr
    [got] = strict_json(out.stdout)  # a list, even for one n
    assert set(got) == {"scenario", "n", "params", "target", "reps", "seed", "level", "boot_reps",
                        "procedures", "dtype", "width_quantile_rel_resolution", "versions",
                        "results"}
    assert got["dtype"] == "float32" and got["scenario"] == "mean" and got["boot_reps"] == 199
    assert list(got["results"]) == got["procedures"] == ["boot-pct", "t"]
    for scores in got["results"].values():
        assert set(scores) == SCORES
    engine = simulate("t3", 15, 3000, 5, level=0.9, procedures=("boot-pct", "t"))
    assert got["results"] == engine["results"] and got["target"] == engine["target"]


def test_several_n_give_one_entry_each():
    out = run("mean", "--dist", "contaminated", "--fraction", "0.2", "--n", "5", "--n", "40",
              "--reps", "500", "--seed", "1", "--json")
    got = strict_json(out.stdout)
    assert [r["n"] for r in got] == [5, 40]
    assert got[0]["params"] == {"dist": "contaminated", "fraction": 0.2, "outlier_sd": 10.0}


def test_json_has_null_where_a_value_is_undefined():
    out = run("mean", "--dist", "normal", "--n", "5", "--reps", "1", "--seed", "1", "--json")
    assert out.returncode == 0, out.stderr
    assert strict_json(out.stdout)[0]["results"]["t"]["width_mc_se"] is None


def test_table_without_json():
    out = run("mean", "--dist", "lognormal", "--n", "10", "--reps", "500", "--seed", "1",
              "--procedure", "z", "--procedure", "boot-t", "--procedure", "t")
    assert out.returncode == 0
    header, columns, *rows = out.stdout.splitlines()
    assert header == ("mean of lognormal data (sigma = 1), target 1.64872; 500 replications, "
                      "seed 1, level 0.95, 199 bootstrap resamples")
    assert columns.split() == ["n", "procedure", "coverage", "se", "miss_low", "se", "miss_high",
                               "se", "mean_width", "se", "median_width"]
    assert [row.split()[1] for row in rows] == ["z", "boot-t", "t"]  # in the order given
    for row in rows:  # standard errors in significant figures: a small one never shows as 0.0000
        assert all(float(se) > 0 or se == "0" for se in row.split()[3:10:2])
    assert out.stderr == ""  # no progress bar when stderr is not a terminal


def test_help_shows_every_default():
    out = run("--help")
    text = " ".join(out.stdout.split())
    for default in ("(default: 0.95)", "(default: t, z)", "(default: 199)", "(default: 1)",
                    "(default: 0.1)", "(default: 10)", "(default: a table)"):
        assert default in text


def test_output_into_a_closed_pipe_ends_quietly():
    """Like `... | head -1`: the reader has gone before the output is written."""
    proc = subprocess.Popen([sys.executable, "-m", "pragmatic.sim", "mean", "--dist", "normal",
                             "--n", "5", "--reps", "10", "--seed", "1", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # long before the child, still importing JAX, writes anything
    stderr = proc.communicate(timeout=300)[1].decode()
    assert stderr == "" and proc.returncode == 1


def argv(scenario="mean", **options):
    """A valid command line, with some options replaced."""
    opts = {"dist": "normal", "n": "5", "reps": "10", "seed": "0"} | options
    return [scenario] + [x for key, value in opts.items() for x in (f"--{key}", value)]


BAD = [
    (argv(dist="cauchy"), "unknown distribution 'cauchy'"),
    (argv(n="1"), "argument --n: must be a whole number >= 2, got '1'"),
    (argv(reps="0"), "argument --reps: must be a whole number >= 1, got '0'"),
    (argv(reps="many"), "argument --reps: must be a whole number >= 1, got 'many'"),
    (argv(level="1.2"), "level must be strictly between 0 and 1, got 1.2"),
    (argv(level="high"), "argument --level: must be a number, got 'high'"),
    (argv("median"), "unknown scenario 'median'; allowed: mean"),
    (["meen"], "unknown scenario 'meen'; allowed: mean"),  # before the missing options
    (["meen", "--n", "1"], "unknown scenario 'meen'; allowed: mean"),
    (argv(procedure="bca"), "unknown procedure 'bca'"),
    (argv(sigma="2"), "normal takes no parameter 'sigma'"),
    (argv() + ["--n", "7", "--n", "5"], "--n 5 is given more than once"),
    (argv(n="2", procedure="boot-t"), "boot-t is undefined at n = 2"),
]


@pytest.mark.parametrize("args, message", BAD)
def test_bad_input_exits_2_with_one_line(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert message in out.stderr


def test_progress_bar_only_on_a_terminal():
    """With stderr on a pseudo-terminal, long runs show a progress bar there."""
    import fcntl
    import os
    import pty
    import struct
    import termios
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a real size
    proc = subprocess.run([sys.executable, "-m", "pragmatic.sim", "mean", "--dist", "normal",
                           "--n", "5", "--reps", "200000", "--seed", "1", "--chunk", "4096"],
                          stdout=subprocess.PIPE, stderr=follower, timeout=300)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal is closed once the child has exited and all is read
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.returncode == 0 and b"200k/200k" in shown
