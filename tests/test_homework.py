"""The homework: otter assign builds it, otter run grades it offline, and students get no secret.

The masters in homework/ are built once into a temporary folder (about a minute on 2 cores);
the grading runs reuse it. Every submission below is made here from the built notebooks.
"""

import csv
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import psutil
import pytest

from conftest import text_of
from pragmatic.homework import built_assignments, secrets

REPO = Path(__file__).resolve().parent.parent
HOMEWORK = REPO / "homework"
MASTERS = sorted(HOMEWORK.glob("*.ipynb"))
CLI = [sys.executable, "-m", "pragmatic.homework"]
SHORT = 30  # seconds: the limit for the run that holds an endless notebook
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}

# Known-wrong answers: (assignment, text in the solution, replacement, {question: points lost}).
WRONG = {
    "hw1-two-worlds": [
        ("equivalent = bool(tost_p < 0.05)", "equivalent = True", {"q1": 1}),
        ("n_needed = int(n_grid[np.argmax(reaches)])", "n_needed = 413", {"q2": 1}),
    ],
    "hw2-when-assumptions-break": [
        ("mu_true = a_shape / (a_shape + b_shape)", "mu_true = 0.5 ** (1 / 8)", {"q1": 3}),  # median
        ('side = "below" if sum(wholly_below) > sum(wholly_above) else "above"',
         'side = "above"', {"q5": 1}),
    ],
    "hw3-designs": [
        ('eligible_side = "below"', 'eligible_side = "above"', {"q1": 2}),  # the wrong side treated
        ("post_mean = (1 - prior_share) * donut_est", "post_mean = prior_share * donut_est",
         {"q2": 2}),  # the prior's and the data's weights swapped
        ('treated="below", kernel="triangular"', 'treated="below", kernel="uniform"', {"q3": 3}),
        ('y_random = world_none["y"] + TAU * moved_random', 'y_random = world_none["y"]',
         {"q4": 2}),  # random movers without Platinum's effect
        ('cov_type="cluster", cov_kwds={"groups": pd.factorize(pre_period["State"])[0]}',
         'cov_type="nonrobust"', {"q5": 1}),  # the placebo not clustered by state
        ("sigma_pre = np.eye(3) + np.ones((3, 3))", "sigma_pre = 2 * np.eye(3)",
         {"q6": 2}),  # the shared reference period ignored
    ],
    "hw4-researcher-degrees-of-freedom": [
        ('groupby(["state", "district", "year"]', 'groupby(["district", "year"]',
         {"q1": 1}),  # district numbers repeat across states: different elections merged
        ("stats.chi2.ppf(0.95, k - 1)", "stats.chi2.ppf(0.95, k)",
         {"q2": 1}),  # Q referred to k degrees of freedom, not k - 1
        ("gain_exact = expected_max(T + 1)", "gain_exact = expected_max(T)",
         {"q3": 1}),  # the baseline left out of the runs
        ("true_winner = TAU**2 / (TAU**2 + 1) * val_winner", "true_winner = val_winner",
         {"q4": 2}),  # no regression to the mean
        ("seed_diffs.std(ddof=1) / DELTA_PLAN", "seed_diffs.std(ddof=1) / diff_mean",
         {"q5": 1}),  # power for the difference observed, not the one planned
        ("rank_chi2((log_lik(draws, y_sim) < loglik_true[:, None]).sum(axis=1))",
         "rank_chi2((draws < theta_true[:, None]).sum(axis=1))",
         {"q6": 2}),  # theta ranked again in place of the log-likelihood
    ],
}


def run(*args, **kwargs):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=REPO,
                          **kwargs)


def one_line_error(result, *words):
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def notebook(path: Path):
    return nbformat.read(path, as_version=4)


def minimal(assignment: str, source: str):
    """A notebook of one code cell that claims to be a submission for `assignment`."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = KERNEL
    nb.metadata["otter"] = {"assignment_name": assignment}
    return nb


def rows_of(grades: Path) -> dict[str, dict]:
    with open(grades, newline="") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def built(homework):
    """conftest.py's build of the masters, shared with the distribution's tests."""
    return homework


@pytest.fixture(scope="module")
def assignments(built):
    found = built_assignments(built)
    assert sorted(found) == [m.stem for m in MASTERS]
    return found


@pytest.fixture(scope="module")
def graded(built, assignments, tmp_path_factory):
    """Solutions, blank and known-wrong notebooks, and one of no known assignment, graded."""
    subs = tmp_path_factory.mktemp("submissions")
    for name in assignments:
        solution = built / name / "autograder" / f"{name}.ipynb"
        (subs / f"solution-{name}.ipynb").write_bytes(solution.read_bytes())
        (subs / f"blank-{name}.ipynb").write_bytes(
            (built / name / "student" / f"{name}.ipynb").read_bytes())
        wrong = notebook(solution)
        for old, new, _ in WRONG[name]:
            hits = [c for c in wrong.cells if old in c.source]
            assert len(hits) == 1, old
            hits[0].source = hits[0].source.replace(old, new)
        # Without otter's metadata the file name tells the assignment.
        del wrong.metadata["otter"]
        nbformat.write(wrong, subs / f"wrong-{name}.ipynb")
    anonymous = notebook(subs / f"blank-{MASTERS[0].stem}.ipynb")
    del anonymous.metadata["otter"]
    nbformat.write(anonymous, subs / "anonymous.ipynb")
    grades = subs.parent / "grades.csv"
    result = run("grade", subs, "--grades", grades, "--built", built, "--jobs", "2", timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stdout)  # the per-notebook times, for the record (pytest -s)
    return rows_of(grades)


def autograded(assignments, name):
    return [q["name"] for q in assignments[name].questions if not q["manual"]]


# --- the built assignments -------------------------------------------------------------------

def test_each_assignment_mixes_autograded_and_written_questions(assignments):
    for task in assignments.values():
        manual = [q for q in task.questions if q["manual"]]
        assert len(task.questions) >= 5 and manual and task.autograded, task.name
        assert (task.autograder.parent / f"{task.name}.ipynb").exists()
        student = list((task.autograder.parent.parent / "student").iterdir())
        assert [p.name for p in student] == [f"{task.name}.ipynb"]


def test_each_autograded_question_has_public_and_hidden_tests(built, assignments):
    for name in assignments:
        tests = notebook(built / name / "student" / f"{name}.ipynb").metadata["otter"]["tests"]
        for question in autograded(assignments, name):
            cases = [c for s in tests[question]["suites"] for c in s["cases"]]
            assert cases and not any(c["hidden"] for c in cases), (name, question)
        with zipfile.ZipFile(assignments[name].autograder) as zipped:
            for question in autograded(assignments, name):
                assert "'hidden': True" in zipped.read(f"tests/{question}.py").decode(), question


def test_masters_are_saved_without_outputs():
    for master in MASTERS:
        assert not any(c.get("outputs") for c in notebook(master).cells), master


def test_no_solution_or_hidden_test_reaches_the_student_files(built, assignments):
    for name in assignments:
        found = secrets(HOMEWORK / f"{name}.ipynb")
        # The check has something to find: the solutions and hidden tests are in the autograder.
        solution = text_of(built / name / "autograder" / f"{name}.ipynb")
        assert len(found) > 30 and sum(s in solution for s in found) > 0.5 * len(found), name
        assert any("Rubric" in s for s in found) and any(s.startswith("assert") for s in found)
        for path in (built / name / "student").rglob("*"):
            if path.is_file():
                text = text_of(path)
                leaked = [s for s in found if s in text]
                assert not leaked, (path, leaked[:3])


def test_no_secret_is_in_the_book_or_the_package():
    """The pages and the package reach students: a secret there leaks, or is not distinctive."""
    skip = {".venv", "node_modules", "_build", "tests", "homework", ".git"}
    sources = [p for p in REPO.rglob("*") if p.suffix in (".md", ".py", ".yml") and p.is_file()
               and not skip & set(p.relative_to(REPO).parts)]
    assert len(sources) > 20
    text = "\n".join(p.read_text(errors="replace") for p in sources)
    for master in MASTERS:
        found = [s for s in secrets(master) if s in text]
        assert not found, (master.name, found[:3])


def test_secrets_leave_out_what_students_see():
    found = secrets(HOMEWORK / "hw1-two-worlds.ipynb")
    assert "assert n_needed == 6649" in found                            # a hidden test
    assert any(s.startswith("- 1 point:") for s in found)                # a rubric line
    assert not any(s.startswith("diff_hat = ...") for s in found)        # the prompt students get
    assert not any("np.shape(ci90) == (2,)" in s for s in found)         # a public test
    assert not any(s.startswith("import ") for s in found)


# --- grading --------------------------------------------------------------------------------

def test_solutions_score_full_marks(graded, assignments):
    for name, task in assignments.items():
        row = graded[f"solution-{name}.ipynb"]
        assert row["assignment"] == name and row["error"] == "", row
        assert float(row["percent"]) == 100 and float(row["points"]) == task.possible
        assert row["hand_graded"].endswith("not in percent")


def test_blank_notebooks_score_zero_on_every_autograded_question(graded, assignments):
    for name in assignments:
        row = graded[f"blank-{name}.ipynb"]
        assert row["assignment"] == name and row["error"] == "", row
        assert [float(row[f"{name}:{q}"]) for q in autograded(assignments, name)] == \
            [0.0] * len(autograded(assignments, name))
        assert float(row["percent"]) == 0


def test_known_wrong_answers_lose_exactly_their_points(graded, assignments):
    for name, task in assignments.items():
        row = graded[f"wrong-{name}.ipynb"]
        assert row["assignment"] == name and row["error"] == "", row
        lost = {}
        for _, _, points in WRONG[name]:
            lost.update(points)
        for q in task.autograded:
            expected = q["points"] - lost.get(q["name"], 0)
            assert float(row[f"{name}:{q['name']}"]) == expected, (name, q["name"], row)
        assert float(row["points"]) == task.possible - sum(lost.values())


def test_a_notebook_of_no_known_assignment_gets_zero_and_the_reason(graded):
    row = graded["anonymous.ipynb"]
    assert row["assignment"] == "" and float(row["points"]) == 0
    assert "cannot tell which assignment" in row["error"]


def test_crashing_endless_and_non_notebook_submissions_get_zero_and_the_run_goes_on(
        built, assignments, tmp_path):
    name = MASTERS[0].stem
    subs = tmp_path / "submissions"
    subs.mkdir()
    nbformat.write(minimal(name, "raise RuntimeError('crashed on purpose')"), subs / "raises.ipynb")
    nbformat.write(minimal(name, "import os\nos._exit(1)"), subs / "kernel-dies.ipynb")
    nbformat.write(minimal(name, "while True:\n    pass"), subs / "endless.ipynb")
    (subs / "essay.txt").write_text("not a notebook")
    (subs / "broken.ipynb").write_text("{ not json")
    scratch = tmp_path / "scratch"  # where the graders' temporary folders go
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    grades = tmp_path / "grades.csv"
    result = run("grade", subs, "--grades", grades, "--built", built, "--timeout", SHORT,
                 timeout=600, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = rows_of(grades)
    assert sorted(rows) == sorted(p.name for p in subs.iterdir())
    for row in rows.values():
        assert float(row["points"]) == 0 and row["error"], row
    assert "RuntimeError: crashed on purpose" in rows["raises.ipynb"]["error"]
    assert "Kernel died" in rows["kernel-dies.ipynb"]["error"]
    assert f"ran out of time: stopped after {SHORT} s" == rows["endless.ipynb"]["error"]
    assert float(rows["endless.ipynb"]["seconds"]) < SHORT + 30
    assert rows["essay.txt"]["error"] == "not a notebook: a .txt file"
    assert rows["broken.ipynb"]["error"].startswith("not a notebook:")
    # Nothing the endless notebook started is still running, and nothing is left on disk.
    alive = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        info = " ".join(proc.info["cmdline"] or []) + " " + (proc.info["cwd"] or "")
        if str(scratch) in info:
            alive.append(proc)
    assert not alive, alive
    assert not list(scratch.iterdir())


# --- the command line -------------------------------------------------------------------------

def test_bad_input_gets_one_line_and_exit_2(built, tmp_path):
    one_line_error(run("grade", tmp_path / "missing", "--grades", tmp_path / "g.csv",
                       "--built", built), "missing", "not a folder")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a.ipynb").write_text("{}")
    for bad in ("0", "-5", "soon", "inf"):
        one_line_error(run("grade", subs, "--grades", tmp_path / "g.csv", "--built", built,
                           "--timeout", bad), "--timeout", repr(bad))
    for bad in ("0", "two", "1.5"):
        one_line_error(run("grade", subs, "--grades", tmp_path / "g.csv", "--built", built,
                           "--jobs", bad), "--jobs", repr(bad))
    one_line_error(run("grade", subs, "--grades", tmp_path / "g.csv", "--built", tmp_path),
                   "--built", "make homework")
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(run("grade", empty, "--grades", tmp_path / "g.csv", "--built", built), "empty")
    one_line_error(run("assign", tmp_path / "nowhere", "--out", tmp_path / "out"), "not a folder")
    one_line_error(run("assign", empty, "--out", tmp_path / "out"), "no master notebook")
    one_line_error(run("grade", subs, "--built", built), "--grades")


def test_assign_fails_in_one_line_when_a_solution_fails_its_tests(tmp_path):
    cells = [nbformat.v4.new_raw_cell("# ASSIGNMENT CONFIG\nname: tiny\nexport_cell: false"),
             nbformat.v4.new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 1"),
             nbformat.v4.new_markdown_cell("Set `x` to 2."),
             nbformat.v4.new_raw_cell("# BEGIN SOLUTION"),
             nbformat.v4.new_code_cell("x = 3  # SOLUTION"),
             nbformat.v4.new_raw_cell("# END SOLUTION"),
             nbformat.v4.new_raw_cell("# BEGIN TESTS"),
             nbformat.v4.new_code_cell("assert x == 2"),
             nbformat.v4.new_raw_cell("# END TESTS"),
             nbformat.v4.new_raw_cell("# END QUESTION")]
    masters = tmp_path / "masters"
    masters.mkdir()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = KERNEL
    nbformat.write(nb, masters / "tiny.ipynb")
    result = run("assign", masters, "--out", tmp_path / "out", timeout=600)
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "tiny.ipynb" in lines[0] and "q1 - 1" in lines[0], result.stderr
    assert not (tmp_path / "out" / "tiny").exists()  # no half-built assignment is left
