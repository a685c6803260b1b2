"""The command line: JSON schema, readable table, and one-line errors with exit code 2."""

import json
import subprocess
import sys

import pytest

from pragmatic.sim import simulate


def run(*args):
    return subprocess.run([sys.executable, "-m", "pragmatic.sim", *args],
                          capture_output=True, text=True, timeout=300)


def test_json_has_the_documented_fields_and_equals_the_engine():
    out = run("mean", "--dist", "t3", "--n", "15", "--reps", "3000", "--seed", "5",
              "--level", "0.9", "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert set(got) == {"scenario", "n", "params", "target", "reps", "seed", "level", "dtype",
                        "versions", "results"}
    assert got["dtype"] == "float32" and got["scenario"] == "mean"
    for scores in got["results"].values():
        assert set(scores) == {"coverage", "mc_se", "mean_width", "width_mc_se"}
    engine = simulate("t3", 15, 3000, 5, level=0.9)
    assert got["results"] == engine["results"] and got["target"] == engine["target"]


def test_several_n_give_one_entry_each():
    out = run("mean", "--dist", "contaminated", "--fraction", "0.2", "--n", "5", "--n", "40",
              "--reps", "500", "--seed", "1", "--json")
    got = json.loads(out.stdout)
    assert [r["n"] for r in got] == [5, 40]
    assert got[0]["params"] == {"dist": "contaminated", "fraction": 0.2, "outlier_sd": 10.0}


def test_table_without_json():
    out = run("mean", "--dist", "exponential", "--n", "10", "--reps", "500", "--seed", "1")
    assert out.returncode == 0
    assert "coverage" in out.stdout and "mean_width" in out.stdout
    assert out.stderr == ""  # no progress bar when stderr is not a terminal


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
    (argv(procedure="bca"), "unknown procedure 'bca'"),
    (argv(sigma="2"), "normal takes no parameter 'sigma'"),
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
