"""The student edition's launch targets and the student distribution (`make student`).

The fast tests make the student edition and the distribution from the repository. The last
ones follow every launch link of the student site built in conftest.py (from sources with a
marker planted in every solution) into a distribution made from the same sources.
"""

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from conftest import MARKER, REPO, html_dir, text_of
from pragmatic.distribution import student_distribution
from pragmatic.homework import secrets
from pragmatic.launch import launch_link
from pragmatic.edition import SKIP, INSTRUCTOR_PAGES, launch_targets, notebook_pages, student_edition

TARGETS = launch_targets(REPO)
INSTRUCTOR_REPO = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"]


def _repo_path(url: str) -> str:
    """owner/name of a repository URL, to compare repositories exactly (not by prefix)."""
    return "/".join(urlparse(url).path.strip("/").split("/")[:2]).removesuffix(".git")


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    dest = tmp_path_factory.mktemp("edition") / "student-src"
    student_edition(REPO, dest)
    return dest


@pytest.fixture(scope="module")
def distribution(tmp_path_factory):
    return student_distribution(REPO, tmp_path_factory.mktemp("dist") / "student")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def test_the_launch_link_is_the_one_the_theme_makes():
    link = launch_link("https://hub.example.edu/", "https://github.com/org/course-student.git",
                       "main", "labs/01-t-interval.ipynb")
    assert link == ("https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A//github.com/"
                    "org/course-student.git&urlpath=lab/tree/course-student/labs/01-t-interval.ipynb"
                    "&branch=main")


def test_the_student_targets_are_not_the_instructor_sources():
    assert _repo_path(TARGETS["repository"]) != _repo_path(INSTRUCTOR_REPO)


def test_the_student_edition_points_at_the_student_distribution(edition):
    config = yaml.safe_load((edition / "_config.yml").read_text())
    assert config["repository"]["url"] == TARGETS["repository"]
    assert config["repository"]["branch"] == TARGETS["branch"]
    assert config["launch_buttons"]["jupyterhub_url"] == TARGETS["jupyterhub_url"]
    assert config["launch_buttons"]["binderhub_url"] == TARGETS["binderhub_url"]
    assert config["sphinx"]["config"]["course_edition"] == "student"


def test_each_notebook_page_has_an_unexecuted_twin_without_solutions(edition):
    pages = notebook_pages(edition)
    assert {"chapters/01-two-worlds", "labs/05-bayes-coverage"} <= set(pages)
    for page in pages:
        notebook = json.loads((edition / f"{page}.ipynb").read_text())
        text = json.dumps(notebook)
        assert "{solution}" not in text and "{only} instructor" not in text, page
        for cell in notebook["cells"]:
            assert "solution" not in cell["metadata"].get("tags", []), page
            assert not cell.get("outputs"), page


def test_the_instructors_page_and_wording_are_left_out(edition):
    for page in INSTRUCTOR_PAGES:
        assert not (edition / f"{page}.md").exists()
        assert page not in (edition / "_toc.yml").read_text()
    for path in list(edition.rglob("*.md")) + list(edition.rglob("*.ipynb")):
        assert "instructor edition" not in path.read_text().lower(), path


def test_a_bad_editions_file_is_one_line_naming_what_is_missing(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    (book / "_toc.yml").write_text("root: intro\n")
    (book / "editions.yml").write_text("student:\n  repository: https://example.org/r\n")
    result = subprocess.run([sys.executable, "-m", "pragmatic.distribution", str(tmp_path / "out"),
                             "--source", str(book)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "branch, binderhub_url, jupyterhub_url" in result.stderr


@pytest.mark.parametrize("args, named", [(["."], "must be outside the sources"),
                                         (["_build/x", "--homework", "/nonexistent"],
                                          "/nonexistent")])
def test_bad_command_lines_are_one_line(args, named):
    result = subprocess.run([sys.executable, "-m", "pragmatic.distribution", *args], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and named in result.stderr


def test_the_distribution_is_a_repository_of_notebooks_with_the_package_and_data(distribution):
    assert git(distribution, "status", "--porcelain") == ""
    assert git(distribution, "rev-parse", "--abbrev-ref", "HEAD").strip() == TARGETS["branch"]
    files = set(git(distribution, "ls-files").split())
    for page in notebook_pages(REPO):
        assert f"{page}.ipynb" in files and f"{page}.md" not in files, page
    assert {"pragmatic/__init__.py", "datasets/penguins.csv", "requirements.txt", "postBuild",
            "runtime.txt", "pyproject.toml"} <= files
    assert not [f for f in files if f.startswith(("tests/", "homework/")) or "instructors" in f]
    # The notebooks' imports and data are there: the package loads a dataset from the clone.
    result = subprocess.run([sys.executable, "-c", "import pragmatic, pragmatic.data as d; "
                             "print(pragmatic.__file__, len(d.load('penguins')))"],
                            cwd=distribution, capture_output=True, text=True,
                            env={"PYTHONPATH": str(distribution), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    path, rows = result.stdout.split()
    assert Path(path).is_relative_to(distribution) and int(rows) == 344


def test_a_new_release_is_a_commit_on_top(tmp_path):
    dest = student_distribution(REPO, tmp_path / "student")
    first = git(dest, "rev-parse", "HEAD").strip()
    student_distribution(REPO, dest)
    assert git(dest, "rev-parse", "HEAD").strip() == first  # nothing changed, no commit
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=SKIP)
    page = source / "labs/04-precisely-wrong.md"
    page.write_text(page.read_text() + "\nA new closing line.\n")
    student_distribution(source, dest)
    assert git(dest, "rev-parse", "HEAD~1").strip() == first
    assert "A new closing line." in (dest / "labs/04-precisely-wrong.ipynb").read_text()


# ----- the student site, built from sources with a marker in every solution -----

LAUNCH = re.compile(r'href="(https?://[^"]+)"')


def _launch_targets_of(url: str) -> tuple[str, str, str] | None:
    """(repository, branch, path in the repository) that a launch link opens, or None."""
    parsed = urlparse(url.replace("&amp;", "&"))
    query = parse_qs(parsed.query)
    if parsed.path.endswith("/hub/user-redirect/git-pull"):
        repository, branch = query["repo"][0], query["branch"][0]
        name = _repo_path(repository).split("/")[-1]
        prefix = f"lab/tree/{name}/"
        assert query["urlpath"][0].startswith(prefix), url
        return repository, branch, query["urlpath"][0][len(prefix):]
    match = re.match(r"/v2/gh/([^/]+)/([^/]+)/([^/?]+)$", parsed.path)
    if match:
        path = query["urlpath"][0].removeprefix("lab/tree/")
        return f"https://github.com/{match[1]}/{match[2]}", match[3], path
    return None


@pytest.fixture(scope="module")
def planted_distribution(editions, homework, tmp_path_factory):
    return student_distribution(editions["source"], tmp_path_factory.mktemp("planted") / "dist",
                                homework=homework)


def test_every_launch_link_opens_a_notebook_of_the_distribution_without_solutions(
        editions, planted_distribution):
    site, opened = html_dir(editions, "student"), set()
    for page in site.rglob("*.html"):
        for url in LAUNCH.findall(page.read_text()):
            assert _repo_path(url) != _repo_path(INSTRUCTOR_REPO) or "github.com" not in url, \
                (page, url)
            target = _launch_targets_of(url)
            if target is None:
                continue
            repository, branch, path = target
            assert (_repo_path(repository), branch) == (_repo_path(TARGETS["repository"]),
                                                        TARGETS["branch"]), url
            file = planted_distribution / path
            assert file.suffix == ".ipynb" and file.is_file(), url
            if "git-pull" in url:  # the theme's link is the one pragmatic.launch prints
                assert html.unescape(url) == launch_link(TARGETS["jupyterhub_url"], repository,
                                                         branch, path)
            assert MARKER not in file.read_text(), url
            opened.add(path)
    # a JupyterHub and a Binder button on every notebook page, all of them followed
    assert opened == {f"{page}.ipynb" for page in notebook_pages(editions["source"])}


def test_the_planted_distribution_holds_no_solution(planted_distribution):
    leaks = [p for p in planted_distribution.rglob("*")
             if p.is_file() and ".git" not in p.parts and MARKER.encode() in p.read_bytes()]
    assert leaks == []


def test_only_the_instructor_edition_says_instructor_edition(editions):
    assert "instructor edition" in (html_dir(editions, "instructor") / "intro.html").read_text()
    for page in html_dir(editions, "student").rglob("*.html"):
        assert "instructor edition" not in page.read_text().lower(), page


EXERCISE = re.compile(r'<span class="caption-number">Exercise (\d+)')


@pytest.mark.parametrize("name", ["instructor", "student"])
def test_exercises_are_numbered_from_one_on_every_page(editions, name):
    pages = 0
    for page in html_dir(editions, name).rglob("*.html"):
        numbers = [int(n) for n in dict.fromkeys(EXERCISE.findall(page.read_text()))]
        if numbers:
            pages += 1
            assert numbers == list(range(1, len(numbers) + 1)), (page, numbers)
    assert pages >= 9


def test_the_launch_command_prints_the_pages_links_and_refuses_unknown_pages():
    run = [sys.executable, "-m", "pragmatic.launch"]
    result = subprocess.run(run, cwd=REPO, capture_output=True, text=True, check=True)
    homework = [f"homework/{m.stem}/{m.stem}.ipynb" for m in sorted(REPO.glob("homework/*.ipynb"))]
    assert len(homework) >= 2
    assert result.stdout.split() == [
        launch_link(TARGETS["jupyterhub_url"], TARGETS["repository"], TARGETS["branch"], path)
        for path in [f"{page}.ipynb" for page in notebook_pages(REPO)] + homework]
    result = subprocess.run(run + ["labs/01-t-interval", "--hub", "http://127.0.0.1:8000"],
                            cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.startswith("http://127.0.0.1:8000/hub/user-redirect/git-pull?")
    result = subprocess.run(run + [homework[0], "--repo", "file:///srv/student-dist"], cwd=REPO,
                            capture_output=True, text=True, check=True)
    assert "repo=file%3A///srv/student-dist&urlpath=lab/tree/student-dist/homework/" in result.stdout
    for bad, named in ((["labs/no-such-lab"], "labs/no-such-lab"), (["--hub", "hub.edu"], "hub.edu"),
                       (["homework/hw9/typo.ipynb"], "homework/hw9/typo.ipynb"),
                       (["--repo", "/srv/dist"], "/srv/dist")):
        result = subprocess.run(run + bad, cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and named in result.stderr


def test_the_distribution_holds_each_homeworks_student_notebook(planted_distribution, homework):
    for student in homework.glob("*/student"):
        shipped = planted_distribution / "homework" / student.parent.name
        assert sorted(p.name for p in shipped.iterdir()) == sorted(p.name for p in student.iterdir())


def test_no_homework_solution_or_hidden_test_reaches_a_site_or_the_distribution(
        editions, planted_distribution):
    hidden = {line for master in sorted((REPO / "homework").glob("*.ipynb"))
              for line in secrets(master)}
    assert len(hidden) > 50  # solutions, rubrics and hidden tests of every assignment
    places = [html_dir(editions, "instructor"), html_dir(editions, "student"),
              planted_distribution]
    leaks = []
    for place in places:
        for path in place.rglob("*"):
            if path.is_file() and ".git" not in path.relative_to(place).parts:
                text = text_of(path)
                leaks += [(path, line) for line in hidden if line in text]
    assert leaks == []
