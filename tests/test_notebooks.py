"""Every page, run top to bottom as a student's notebook, shows what its site page shows.

JupyterLab opens a page through jupytext and runs it in a kernel started in the page's folder.
The book's build runs the same code cells, in the same order, in a kernel started in the same
folder; so rather than execute every page a second time, these tests read the notebooks that
the build executed (conftest.py), after checking that their code is exactly the code jupytext
gives a student. Each must hold an image for every figure the page shows and print every
number its text quotes (see contributing.md, "One source, two renderings").
"""

import re

import jupytext
import nbformat
import pytest

from conftest import MARKER
from test_anatomy import PAGES, source

GLUE_CALL = re.compile(r"\bglue(?:_number)?\(")


def glue_cells(page):
    notebook = jupytext.reads(source(page), fmt="md:myst")
    return [c for c in notebook.cells if c.cell_type == "code" and GLUE_CALL.search(c.source)]


@pytest.mark.parametrize("page", PAGES)
def test_cells_that_glue_are_hidden_on_the_site_and_shown_in_a_notebook(page):
    """A glued value is displayed by its cell, so the cell's output must not also reach the site."""
    for cell in glue_cells(page):
        tags = set(cell.metadata.get("tags", []))
        assert tags & {"remove-cell", "remove-output"}, (
            f"{page}: a cell that glues must be tagged remove-cell or remove-output:\n"
            f"{cell.source[:200]}")
        assert "display=False" not in cell.source, (
            f"{page}: glue with display=False hides the value from a notebook reader:\n"
            f"{cell.source[:200]}")


@pytest.mark.parametrize("page", PAGES)
def test_the_page_is_saved_as_jupytext_saves_it(page):
    """Opening a page in JupyterLab and letting it autosave must not change the file."""
    text = source(page)
    assert jupytext.writes(jupytext.reads(text, fmt="md:myst"), fmt="md:myst") == text


@pytest.fixture(params=PAGES)
def executed(request, book):
    page = request.param
    assert book["instructor"].returncode == 0, "the book did not build; see test_book.py"
    path = book["root"] / "instructor" / "_build" / "jupyter_execute" / f"{page}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    code = [c.source.strip() for c in jupytext.reads(source(page), fmt="md:myst").cells
            if c.cell_type == "code"]
    # The build ran the planted copy, where solution cells begin with a marker comment.
    ran = [c.source.replace(f"# {MARKER}\n", "", 1).strip() for c in notebook.cells
           if c.cell_type == "code"]
    assert ran == code, f"{page}: the build ran different code from what a student opens"
    return page, notebook


def outputs(notebook):
    for cell in notebook.cells:
        yield from cell.get("outputs", [])


def test_every_figure_the_page_shows_is_an_image_in_the_notebook(executed):
    page, notebook = executed
    figures = re.findall(r"```\{glue:figure\}\s*(\w+)", source(page))
    assert figures, f"{page} shows no glued figure"
    shown = {out.metadata.get("scrapbook", {}).get("name")
             for out in outputs(notebook)
             if out.output_type == "display_data" and "image/png" in out.get("data", {})}
    missing = [name for name in figures if name not in shown]
    assert not missing, f"{page}: figures glued but not displayed in the notebook: {missing}"


def test_every_number_the_text_quotes_is_printed_in_the_notebook(executed):
    page, notebook = executed
    quoted = set(re.findall(r"\{glue:text\}`(\w+)", source(page)))
    printed = set()
    for out in outputs(notebook):
        if out.output_type == "stream":
            printed |= set(re.findall(r"^(\w+) = \S", out.text, re.M))
    missing = sorted(quoted - printed)
    assert not missing, f"{page}: numbers quoted in the text but not printed: {missing}"
