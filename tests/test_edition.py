"""The student edition's source filter, and a strict build of a student edition."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pragmatic.edition import strip_solutions

REPO = Path(__file__).resolve().parent.parent

PAGE = """# Page

```{exercise}
:label: ex1

Question.
```

````{solution} ex1
:class: dropdown

Answer, with code:

```python
answer = 42
```
````

```{code-cell} ipython3
:tags: [remove-cell, solution]

glue_number("secret", 42)
```

```{code-cell} ipython3
x = 1
```

:::{solution} ex1
Colon-fenced answer.
:::

Text after.
"""


def test_solutions_and_solution_cells_are_removed_and_the_rest_kept():
    out = strip_solutions(PAGE)
    assert "Answer" not in out and "answer = 42" not in out and "secret" not in out
    assert "Colon-fenced" not in out
    assert "Question." in out and "x = 1" in out and "Text after." in out
    assert out.count("```{exercise}") == 1


def test_gated_solutions_are_refused():
    with pytest.raises(ValueError, match="gated {solution-start} blocks are not supported"):
        strip_solutions("```{solution-start} ex1\n```\ntext\n```{solution-end}\n```\n")


def test_an_unclosed_solution_is_refused():
    with pytest.raises(ValueError, match="line 1: block is never closed"):
        strip_solutions("```{solution} ex1\nnever closed\n")


HEADER = ("---\njupytext:\n  text_representation:\n    format_name: myst\n"
          "kernelspec:\n  name: python3\n  display_name: Python 3\n---\n\n")
BOOK_PAGE = HEADER + """# Page

```{code-cell} ipython3
:tags: [remove-cell]

from pragmatic.notebook import glue_number
glue_number("public", 1.5)
```

The page quotes {glue:text}`public:.1f`.

```{exercise}
:label: ex1

Question.
```

```{code-cell} ipython3
:tags: [remove-cell, solution]

glue_number("secret", 42)
```

```{solution} ex1
The answer is {glue:text}`secret`.
```

```{only} instructor
Only instructors read this line.
```

```{only} student
Only students read this line.
```
"""


def student_build(tmp_path, page: str) -> subprocess.CompletedProcess:
    """The student edition of a one-page book built with the course's strict settings."""
    book = tmp_path / "book"
    book.mkdir()
    for name in ("_config.yml", "references.bib", "editions.yml"):
        shutil.copy(REPO / name, book)
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (book / "page.md").write_text(page)
    subprocess.run([sys.executable, "-m", "pragmatic.edition", "student", str(tmp_path / "src"),
                    "--source", str(book)], check=True, capture_output=True)
    return subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", "-W", "-n",
                           "--keep-going", str(tmp_path / "src"), "--path-output",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=600)


def test_the_student_edition_of_a_page_with_solution_cells_builds_strictly(tmp_path):
    result = student_build(tmp_path, BOOK_PAGE)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    html = (tmp_path / "out" / "_build" / "html" / "page.html").read_text()
    assert "1.5" in html and "Question." in html and "42" not in html
    assert "Only students read this line." in html and "Only instructors" not in html
    assert "Only instructors" not in (tmp_path / "src" / "page.md").read_text()


def test_a_number_computed_only_in_a_solution_but_quoted_outside_fails_it(tmp_path):
    page = BOOK_PAGE.replace("The page quotes", "The page quotes {glue:text}`secret` and")
    result = student_build(tmp_path, page)
    assert result.returncode != 0
    assert "secret" in result.stdout + result.stderr


def test_the_static_check_finds_the_same_mistake_without_a_build():
    from test_anatomy import unglued
    assert unglued(strip_solutions(BOOK_PAGE)) == []
    page = BOOK_PAGE.replace("The page quotes", "The page quotes {glue:text}`secret` and")
    assert unglued(strip_solutions(page)) == ["secret"]
