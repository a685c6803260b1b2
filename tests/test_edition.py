"""The student edition's source filter."""

import pytest

from pragmatic.edition import strip_solutions

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
