"""What can be checked mechanically of a chapter's and a lab's anatomy (see contributing.md)."""

import re
from pathlib import Path

import pytest
import yaml

from pragmatic.edition import strip_solutions

REPO = Path(__file__).resolve().parent.parent


def toc_files():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    return files


PAGES = [f for f in toc_files() if f.startswith(("chapters/", "labs/"))]


def source(page):
    return (REPO / f"{page}.md").read_text()


def test_every_toc_entry_exists_and_every_page_is_in_the_toc():
    files = toc_files()
    for f in files:
        assert (REPO / f"{f}.md").exists(), f
    for folder in ("chapters", "labs"):
        for path in (REPO / folder).glob("*.md"):
            assert f"{folder}/{path.stem}" in files, f"{path} is not in _toc.yml"


def unglued(text):
    """Names the text shows with {glue:...} that no glue(...) call in the text computes."""
    used = set(re.findall(r"\{glue:(?:text|figure)\}`?\s*(\w+)", text))
    # Names glued in a loop are f-strings such as f"logn_low_{n}": each {...} matches a word.
    names = re.findall(r"glue(?:_number)?\(\s*f?\"([\w{}\[\]\"']+)\"", text)
    defined = [re.compile(re.sub(r"\{[^}]*\}", r"\\w+", name)) for name in names]
    return sorted(u for u in used if not any(d.fullmatch(u) for d in defined))


@pytest.mark.parametrize("page", PAGES)
def test_a_computing_page_glues_its_numbers(page):
    text = source(page)
    assert "```{code-cell}" in text
    assert re.search(r"\{glue:text\}`\w+", text), "no glued number in the prose"
    missing = unglued(text)
    assert not missing, f"glued in the text but never computed: {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_the_student_edition_computes_every_number_it_still_quotes(page):
    """A number glued only in a solution cell must be quoted only inside a solution."""
    missing = unglued(strip_solutions(source(page)))
    assert not missing, f"quoted outside a solution but computed only in one: {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_has_alt_text_in_the_source(page):
    text = source(page)
    figures = re.findall(r"```\{(?:glue:figure|figure)\}[^\n]*\n((?::[^\n]*\n)*)", text)
    for options in figures:
        assert re.search(r"^:alt: \S", options, re.M), f"figure without :alt: in {page}"


@pytest.mark.parametrize("page", PAGES)
def test_at_least_three_exercises_each_with_a_solution(page):
    text = source(page)
    exercises = re.findall(r"```\{exercise\}\n:label: ([\w-]+)", text)
    solutions = re.findall(r"```\{solution\} ([\w-]+)", text)
    assert len(exercises) >= 3
    assert sorted(exercises) == sorted(solutions)


@pytest.mark.parametrize("page", [p for p in PAGES if p.startswith("chapters/")])
def test_a_chapter_has_its_sections_and_an_assumption_ledger(page):
    text = source(page)
    for heading in ("Learning goals", "## The question and the data", "## The theoretical world",
                    "## Two inferences, same data", "## Assumption ledger", "## Break it",
                    "## Exercises", "## References"):
        assert heading in text, f"{page} lacks {heading!r}"
    ledger = text.split("## Assumption ledger")[1].split("\n## ")[0]
    rows = [line for line in ledger.splitlines() if line.startswith("|")]
    assert len(rows) >= 2 + 3, "the ledger needs a header and at least three assumptions"
    assert "import statsmodels" in text, "a chapter needs the frequentist analysis"
    assert re.search(r"pm\.sample\(|from pragmatic\.bayes import", text), "and the Bayesian one"


@pytest.mark.parametrize("page", [p for p in PAGES if p.startswith("labs/")])
def test_a_lab_shows_its_kernel_and_asserts_its_finding(page):
    text = source(page)
    assert "inspect.getsource" in text, "the lab must show the kernel that runs"
    assert re.search(r"^REPS = ", text, re.M), "one REPS setting scales the lab"
    assert "assert_findings(" in text
    assert "## What a pragmatic analyst does" in text and "## Exercises" in text
    assert "import pymc" not in text, "keep PyMC out of JAX notebooks (fork safety)"
