"""Homework with otter-grader 7, offline and without Docker.

    python -m pragmatic.homework assign MASTERS_DIR --out OUT [--jobs N]
    python -m pragmatic.homework grade SUBMISSIONS_DIR --grades FILE.csv --built OUT [--timeout S]
                                       [--jobs N]

`assign` runs `otter assign` on every `MASTERS_DIR/*.ipynb` (otter's v1 master format). Otter runs
each solution notebook against its own public and hidden tests, and `assign` fails, with one line
and a non-zero exit, if any test fails. For each master it writes

- `OUT/<assignment>/student/`: what students get, the notebook without solutions or hidden tests;
- `OUT/<assignment>/autograder/`: `<assignment>-autograder.zip` (otter's autograder) and the
  solution notebook;
- `OUT/<assignment>/questions.json`: every question with its points, and whether it is graded by
  hand; `OUT/<assignment>/assign.log`: otter's output.

`grade` grades every entry of SUBMISSIONS_DIR (hidden files aside) with `otter run`, `--jobs` at
a time (default 1; each is one notebook's kernel, so up to the number of cores helps), each under
a wall-clock limit (the whole process tree is killed when it is reached), and
reads otter's results.json, not its exit code. The assignment of a notebook comes from the
metadata `otter assign` writes into it, or else from its file name. A file that is not a
notebook, a notebook whose assignment cannot be told, one that runs out of time and one whose
grading fails (its kernel died, say) get 0 points with the reason in `error`, and the run goes
on. The CSV has one row per submission: `submission`, `assignment`, `points`, `possible` and
`percent` count the **autograded questions only**; `hand_graded` names the written questions,
graded by hand against the rubric in the solution notebook and not included; `error` is empty
when the notebook was graded and every cell ran; `seconds` is the grading time; then one column
`<assignment>:<question>` per autograded question.

`secrets(master)` lists the distinctive text of every solution and hidden test of a master, to
check that none of it reaches students.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from .cli import OneLineParser

ASSIGN_TIMEOUT = 1800   # seconds for `otter assign` (it runs each solution notebook and its tests)
GRADE_TIMEOUT = 600     # default seconds per submission
MIN_SECRET = 20         # shorter lines are too common to prove a leak
QUESTIONS = "questions.json"


class HomeworkError(Exception):
    """Something about the homework went wrong; the message is one line for the user."""


# --- running otter under a time limit --------------------------------------------------------

def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill a process and everything it started, including kernels in sessions of their own."""
    import psutil  # here: only needed when something has to be killed

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the process group the command leads
    except ProcessLookupError:
        pass
    for child in family:  # jupyter starts kernels with start_new_session: not in that group
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    proc.wait()


def _run(command: list[str], log: Path, timeout: float, cwd: Path) -> int | None:
    """Run `command` with its output in `log`; its exit code, or None if it ran out of time.

    Its temporary files go under `cwd`, so that a killed run leaves nothing elsewhere.
    """
    scratch = cwd / "tmp"
    scratch.mkdir(exist_ok=True)
    # One BLAS thread per notebook: graded side by side, threaded BLAS oversubscribes the cores,
    # and the small fits homework makes then run many times slower.
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONUNBUFFERED": "1",
           "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            return None
        finally:
            if proc.poll() is None:  # interrupted (Ctrl-C): take the children down too
                _kill_tree(proc)


def _otter(*args: str) -> list[str]:
    return [sys.executable, "-m", "otter", *args]


def _last_error(log: Path) -> str:
    """The last line of a log that names an exception, else its last non-empty line."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b.*:", line)]
    text = (errors or lines or ["no output"])[-1]
    return text if len(text) <= 200 else text[:197] + "..."


def _failed_tests(log: Path) -> list[str]:
    """The test cases otter reports as failed ("q1 - 2"), in order."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return [re.sub(r" result:$", "", line) for line, after in zip(lines, lines[1:])
            if re.match(r"\S+ - \d+ result:$", line) and "Test case failed" in after]


# --- reading masters ------------------------------------------------------------------------

def _config(cell) -> tuple[str, dict] | None:
    """('ASSIGNMENT CONFIG' or 'BEGIN QUESTION', its YAML) for an otter raw config cell."""
    if cell.cell_type != "raw":
        return None
    head, _, body = cell.source.strip().partition("\n")
    for kind in ("ASSIGNMENT CONFIG", "BEGIN QUESTION"):
        if head.strip() == f"# {kind}":
            return kind, yaml.safe_load(body) or {}
    return None


def master_questions(master: Path) -> tuple[str, list[dict]]:
    """The assignment name of a master notebook and its questions: name, points, manual."""
    nb = nbformat.read(master, as_version=4)
    name, questions = None, []
    for cell in nb.cells:
        config = _config(cell)
        if config and config[0] == "ASSIGNMENT CONFIG":
            name = config[1].get("name")
        elif config:
            q = config[1]
            questions.append({"name": q["name"], "points": q.get("points", 1),
                              "manual": bool(q.get("manual", False))})
    if not name:
        raise HomeworkError(f"{master}: no `name:` in its # ASSIGNMENT CONFIG cell")
    return name, questions


# --- assign --------------------------------------------------------------------------------

def assign_one(master: Path, out: Path) -> float:
    """Build OUT/<assignment>/ from one master; the seconds it took."""
    name, questions = master_questions(master)
    if name != master.stem:
        raise HomeworkError(f"{master}: its config names the assignment {name!r}; name the file "
                            f"{name}.ipynb or the assignment {master.stem!r}")
    if not any(not q["manual"] for q in questions):
        raise HomeworkError(f"{master}: no autograded question")
    started = time.perf_counter()
    out = out.resolve()  # otter runs in the build folder: every path it gets is absolute
    building, final = out / f".building-{name}", out / name
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    log = out / f"{name}.assign.log"
    rc = _run(_otter("assign", "--no-pdfs", str(master.resolve()), str(building / "dist")),
              log, ASSIGN_TIMEOUT, building)
    if rc != 0:
        shutil.rmtree(building, ignore_errors=True)
        failed = _failed_tests(log) if rc is not None else []
        why = (f"ran out of time ({ASSIGN_TIMEOUT} s)" if rc is None
               else f"the solutions fail their own tests {', '.join(failed)}" if failed
               else _last_error(log))
        raise HomeworkError(f"otter assign failed for {master}: {why} (full log: {log})")
    zips = list((building / "dist" / "autograder").glob(f"{name}-autograder_*.zip"))
    if len(zips) != 1:
        raise HomeworkError(f"otter assign wrote {len(zips)} autograder zips for {master}")
    zips[0].rename(zips[0].with_name(f"{name}-autograder.zip"))  # a stable name, no timestamp
    for part in ("student", "autograder"):
        (building / "dist" / part).rename(building / part)
    (building / "dist").rmdir()
    shutil.rmtree(building / "tmp", ignore_errors=True)
    (building / QUESTIONS).write_text(json.dumps({"assignment": name, "questions": questions},
                                                 indent=1) + "\n")
    log.rename(building / "assign.log")
    shutil.rmtree(final, ignore_errors=True)
    building.rename(final)
    return time.perf_counter() - started


def _in_parallel(work, items, jobs: int):
    """work(item) for each item, `jobs` at a time, results in the items' order.

    Threads suffice: each work item waits on its own otter subprocess.
    """
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(work, items)


def assign(masters: Path, out: Path, jobs: int = 1) -> dict[str, float]:
    """Build every master in `masters` into `out`; the seconds each took."""
    out.mkdir(parents=True, exist_ok=True)
    found = sorted(masters.glob("*.ipynb"))
    seconds = _in_parallel(lambda master: assign_one(master, out), found, jobs)
    return dict(zip((master.stem for master in found), seconds))


# --- grade ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Assignment:
    name: str
    autograder: Path
    questions: tuple[dict, ...]

    @property
    def autograded(self) -> list[dict]:
        return [q for q in self.questions if not q["manual"]]

    @property
    def possible(self) -> float:
        return sum(q["points"] for q in self.autograded)

    @property
    def hand_graded(self) -> str:
        manual = [q for q in self.questions if q["manual"]]
        if not manual:
            return ""
        points = _number(sum(q["points"] for q in manual))
        return f"{', '.join(q['name'] for q in manual)}: {points} points, not in percent"


def built_assignments(built: Path) -> dict[str, Assignment]:
    """The assignments `assign` wrote into `built`, by name."""
    found = {}
    for path in sorted(built.glob(f"*/{QUESTIONS}")):
        info = json.loads(path.read_text())
        name = info["assignment"]
        zip_path = path.parent / "autograder" / f"{name}-autograder.zip"
        if zip_path.exists():
            found[name] = Assignment(name, zip_path, tuple(info["questions"]))
    return found


class Ungradable(Exception):
    """A submission that gets 0 points; the message is the reason."""


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(float(x), 4)


def _which(path: Path, nb, assignments: dict[str, Assignment]) -> str:
    """The assignment of a notebook: from otter's metadata, else from the file name."""
    named = (nb.metadata.get("otter") or {}).get("assignment_name")
    if named in assignments:
        return named
    in_name = [a for a in assignments if a in path.stem]
    if in_name:
        return max(in_name, key=len)
    raise Ungradable(f"cannot tell which assignment: the notebook's metadata names "
                     f"{named or 'none'} and its file name contains none of "
                     f"{', '.join(assignments)}")


def _read_notebook(path: Path):
    if path.is_dir():
        raise Ungradable("not a notebook: a folder")
    if path.suffix != ".ipynb":
        raise Ungradable(f"not a notebook: a {path.suffix or 'suffix-less'} file")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001  (whatever nbformat cannot read is not a notebook)
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise Ungradable(f"not a notebook: {message[:150]}") from None


def _scores(results: Path) -> dict[str, float]:
    """Each question's score in otter's results.json (Gradescope format)."""
    tests = json.loads(results.read_text())["tests"]
    return {t["name"]: float(t["score"]) for t in tests if "score" in t}


def _cell_errors(pickled: Path) -> str:
    """'k cells raised errors, first: Name: value' from otter's pickled results, or ''."""
    if not pickled.exists():
        return ""
    import dill  # otter's dependency; loading its results imports otter (seconds, once)

    with open(pickled, "rb") as f:
        notebook = dill.load(f).notebook
    errors = [out for cell in notebook.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    if not errors:
        return ""
    first = " ".join(f"{errors[0].get('ename', '')}: {errors[0].get('evalue', '')}".split())
    return f"graded, but {len(errors)} cell(s) raised errors; first: {first[:150]}"


def grade_one(path: Path, assignments: dict[str, Assignment], timeout: float) -> dict:
    """One CSV row for one submission."""
    started = time.perf_counter()
    row = {"submission": path.name, "assignment": "", "points": 0, "possible": "",
           "percent": 0.0, "hand_graded": "", "error": "", "scores": {}}
    try:
        nb = _read_notebook(path)
        name = _which(path, nb, assignments)
        task = assignments[name]
        row.update(assignment=name, possible=_number(task.possible), hand_graded=task.hand_graded,
                   scores={q["name"]: 0 for q in task.autograded})
        with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
            tmp = Path(tmp)
            # Graded under the assignment's own file name, with its name in the metadata (a
            # renamed notebook's `otter.Notebook(...)` cell then still finds itself).
            nb.metadata.setdefault("otter", {})["assignment_name"] = name
            copy = tmp / f"{name}.ipynb"
            nbformat.write(nb, copy)
            (tmp / "out").mkdir()
            log = tmp / "otter.log"
            command = _otter("run", "--no-logo", "-p", "-a", str(task.autograder.resolve()),
                             str(copy), "-o", str(tmp / "out"))
            rc = _run(command, log, timeout, tmp)
            if rc is None:
                raise Ungradable(f"ran out of time: stopped after {timeout:g} s")
            if not (tmp / "out" / "results.json").exists():
                raise Ungradable(f"grading failed: {_last_error(log)}")
            scores = _scores(tmp / "out" / "results.json")
            row["error"] = _cell_errors(tmp / "results.pkl")
        row["scores"] = {q["name"]: scores.get(q["name"], 0.0) for q in task.autograded}
        points = sum(row["scores"].values())
        row.update(points=_number(points),
                   percent=round(100 * points / task.possible, 2) if task.possible else 0.0)
    except Ungradable as why:
        row["error"] = str(why)
    row["seconds"] = round(time.perf_counter() - started, 1)
    return row


def write_grades(rows: list[dict], grades: Path, assignments: dict[str, Assignment]) -> None:
    present = [a for a in assignments if any(r["assignment"] == a for r in rows)]
    questions = [(a, q["name"]) for a in present for q in assignments[a].autograded]
    header = ["submission", "assignment", "points", "possible", "percent", "hand_graded", "error",
              "seconds"] + [f"{a}:{q}" for a, q in questions]
    grades.parent.mkdir(parents=True, exist_ok=True)
    with open(grades, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in rows:
            cells = [r[k] for k in header[:8]]
            cells += [_number(r["scores"][q]) if r["assignment"] == a else "" for a, q in questions]
            writer.writerow(cells)


def grade(submissions: Path, grades: Path, built: Path, timeout: float = GRADE_TIMEOUT,
          report=print, jobs: int = 1) -> list[dict]:
    """Grade every submission in `submissions` into the CSV `grades`; the rows."""
    assignments = built_assignments(built)
    if not assignments:
        raise HomeworkError(f"{built} holds no built assignment: run `make homework` first")
    entries = sorted(p for p in submissions.iterdir() if not p.name.startswith("."))
    rows = []
    for path, row in zip(entries, _in_parallel(lambda p: grade_one(p, assignments, timeout),
                                               entries, jobs)):
        rows.append(row)
        score = (f"{row['points']}/{row['possible']} ({row['percent']} %)" if row["assignment"]
                 else "0")
        report(f"{path.name}: {row['assignment'] or '?'} {score} in {row['seconds']} s"
               + (f"; {row['error']}" if row["error"] else ""))
    write_grades(rows, grades, assignments)
    return rows


# --- secrets -------------------------------------------------------------------------------

_MARKERS = ("# SOLUTION NO PROMPT", "# SOLUTION")


def _solution_code_lines(source: str) -> tuple[list[str], list[str]]:
    """(hidden, shown) lines of a solution code cell, as otter assign treats them."""
    hidden, shown = [], []
    block = prompt = False
    for line in source.splitlines():
        bare = line.rstrip()
        if re.match(r"\s*# BEGIN SOLUTION( NO PROMPT)?$", bare):
            block = True
        elif re.match(r"\s*# END SOLUTION$", bare):
            block = False
        elif bare.endswith("# BEGIN PROMPT"):
            prompt = True
        elif bare.endswith("# END PROMPT"):
            prompt = False
        elif prompt:
            shown.append(line)
        elif block:
            hidden.append(line)
        elif any(bare.endswith(m) for m in _MARKERS):
            code = bare
            for marker in _MARKERS:
                code = code.removesuffix(marker)
            hidden.append(code)
        elif not bare.endswith("# IGNORE"):
            shown.append(line)
    return hidden, shown


def _hidden_test(source: str) -> bool:
    head = source.lstrip().splitlines()[:1]
    if not head:
        return False
    if re.match(r'""" # BEGIN TEST CONFIG', head[0]):
        config = yaml.safe_load(source.split("\n", 1)[1].split('""" # END TEST CONFIG')[0]) or {}
        return bool(config.get("hidden", False))
    return head[0].lstrip().startswith("#") and bool(re.search(r"\bhidden\b", head[0], re.I))


def secrets(master: Path) -> list[str]:
    """The distinctive text of every solution and hidden test in an otter master notebook.

    Solutions are the code that `otter assign` removes (lines in `# BEGIN SOLUTION` blocks or
    ending in `# SOLUTION`, without the marker; `# BEGIN PROMPT` blocks are what students see
    instead), every Markdown cell in a solution block (written answers and their rubrics) and
    every line of a hidden test. Lines are stripped. Left out, since finding them would prove
    nothing: lines shorter than MIN_SECRET characters, bare imports, and lines that also appear,
    as a line or inside one, outside solutions and hidden tests (prompts, public tests, set-up
    code). Search notebooks by their cells' text: in a notebook file's JSON, quotes inside code
    are escaped.
    """
    nb = nbformat.read(master, as_version=4)
    hidden, shown = [], []
    in_solution = in_tests = False
    for cell in nb.cells:
        source = cell.source
        if cell.cell_type == "raw":
            marker = source.strip().splitlines()[0].strip() if source.strip() else ""
            in_solution = {"# BEGIN SOLUTION": True,
                           "# END SOLUTION": False}.get(marker, in_solution)
            in_tests = {"# BEGIN TESTS": True, "# END TESTS": False}.get(marker, in_tests)
            shown.extend(source.splitlines())
        elif in_solution and cell.cell_type == "code":
            secret, visible = _solution_code_lines(source)
            hidden.extend(secret)
            shown.extend(visible)
        elif in_solution or (in_tests and cell.cell_type == "code" and _hidden_test(source)):
            hidden.extend(source.splitlines())
        else:
            shown.extend(source.splitlines())
    public = "\n".join(line.strip() for line in shown)
    keep = {line.strip() for line in hidden}
    return sorted(line for line in keep
                  if len(line) >= MIN_SECRET and line not in public
                  and not re.match(r"(import \S|from \S+ import )", line)
                  and "BEGIN TEST CONFIG" not in line and "END TEST CONFIG" not in line)


# --- command line --------------------------------------------------------------------------

def _seconds(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _jobs(text: str) -> int:
    import argparse

    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


def main(argv=None) -> int:
    parser = OneLineParser(prog="python -m pragmatic.homework",
                           description="Build otter-grader homework and grade submissions offline.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    build = commands.add_parser("assign", help="otter assign every MASTERS_DIR/*.ipynb into OUT")
    build.add_argument("masters", type=Path, metavar="MASTERS_DIR")
    build.add_argument("--out", type=Path, required=True, metavar="OUT")
    build.add_argument("--jobs", type=_jobs, default=1, metavar="N",
                       help="masters built at once (default 1)")
    mark = commands.add_parser("grade", help="grade every file in SUBMISSIONS_DIR into a CSV")
    mark.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR")
    mark.add_argument("--grades", type=Path, required=True, metavar="FILE.csv")
    mark.add_argument("--built", type=Path, required=True, metavar="OUT",
                      help="where `assign` wrote the assignments")
    mark.add_argument("--timeout", type=_seconds, default=GRADE_TIMEOUT, metavar="SECONDS",
                      help=f"wall-clock limit per submission (default {GRADE_TIMEOUT})")
    mark.add_argument("--jobs", type=_jobs, default=1, metavar="N",
                      help="submissions graded at once (default 1)")
    args = parser.parse_args(argv)

    def bad(message: str):
        parser.exit(2, f"{parser.prog} {args.command}: error: {message}\n")

    try:
        if args.command == "assign":
            if not args.masters.is_dir():
                bad(f"MASTERS_DIR {args.masters} is not a folder")
            if not any(args.masters.glob("*.ipynb")):
                bad(f"MASTERS_DIR {args.masters} holds no master notebook (*.ipynb)")
            for name, seconds in assign(args.masters, args.out, args.jobs).items():
                print(f"{name}: {args.out / name}/student and /autograder in {seconds:.0f} s")
        else:
            if not args.submissions.is_dir():
                bad(f"SUBMISSIONS_DIR {args.submissions} is not a folder")
            if not any(p for p in args.submissions.iterdir() if not p.name.startswith(".")):
                bad(f"SUBMISSIONS_DIR {args.submissions} is empty")
            if args.grades.is_dir():
                bad(f"--grades {args.grades} is a folder; give the CSV file to write")
            if not args.built.is_dir() or not built_assignments(args.built):
                bad(f"--built {args.built} holds no built assignment: run `make homework` first")
            rows = grade(args.submissions, args.grades, args.built, args.timeout,
                         jobs=args.jobs)
            print(f"{len(rows)} submission(s) graded into {args.grades} (percent: autograded "
                  "questions only; hand_graded lists the written ones)")
    except HomeworkError as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
